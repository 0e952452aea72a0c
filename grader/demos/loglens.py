"""``iolab demo loglens``: the reference next to the naive version on the same big log."""

from __future__ import annotations

import sys
from pathlib import Path

from rich.console import Console

from ..data import ensure
from ..harness import plots
from ..harness.rss import measure
from ..impl import resolve

LINES = {"quick": 200_000, "standard": 2_000_000, "full": 6_000_000}


def demo(scale: str, out: Path, console: Console) -> list[Path]:
    lines = LINES[scale]
    console.print(f"[bold]LogLens demo[/]: {lines:,} log lines, the reference vs the naive version")
    found = ensure("access", lines, seed=2025, progress=console.is_terminal)
    size_mb = found.path.stat().st_size / 1e6
    runs = {}
    reference = resolve("solutions")  # `iolab demo` checked that this copy has it
    for label, argv in (
        ("reference", [sys.executable, "-m", f"{reference.package}.loglens", "summary", str(found.path), "--json"]),
        ("naive", [sys.executable, "-m", "grader.demos.naive_loglens", str(found.path)]),
    ):
        console.print(f"  running {label} ...")
        runs[label] = measure(argv, env=reference.env(), timeout=3600)  # this checkout's code, from any folder
        if runs[label].returncode != 0:
            console.print(f"[red]{label} failed:[/] {runs[label].describe()}")
    out.mkdir(parents=True, exist_ok=True)
    paths = [
        plots.memory_timeline(
            {k: m.timeline for k, m in runs.items()},
            out / "loglens-memory.png",
            f"Memory while summarizing a {size_mb:,.0f} MB log",
        ),
        plots.bars(
            {k: lines / m.wall for k, m in runs.items()},
            out / "loglens-throughput.png",
            "Throughput",
            "lines per second",
        ),
        plots.bars({k: m.peak_mb for k, m in runs.items()}, out / "loglens-peak-memory.png", "Peak memory", "MB"),
    ]
    for label, m in runs.items():
        console.print(
            f"  {label:>9}: {m.wall:6.1f} s, {lines / m.wall:>10,.0f} lines/s, "
            f"peak {m.peak_mb:7.1f} MB (exit {m.returncode})"
        )
    return paths
