"""``iolab doctor``: is this machine ready for the course? Says what is missing and how to get it."""

from __future__ import annotations

import importlib.metadata
import shutil
import sys
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table

from .course import ROOT
from .needs import HOW, check_need

PACKAGES = (
    "jupyterlab",
    "ipykernel",
    "ipywidgets",
    "nbval",
    "pytest",
    "pytest-timeout",
    "matplotlib",
    "psutil",
    "hdrhistogram",
    "rich",
    "hypothesis",
    "orjson",
)
TOOLS = {
    "pg_ctl": ("postgres", "PostgreSQL projects (postgreslift, queuesmith)"),
    "chromium": ("chromium", "browser checks of the live-tail page (livetail)"),
    "strace": ("strace", "fsync-order checks (safestate)"),
    "goaccess": ("goaccess", "the LogLens benchmark"),
    "jq": ("jq", "the StreamFoundry benchmark"),
    "mlr": ("mlr", "the StreamFoundry benchmark (Miller)"),
}
MIN_FREE_GB = 5


@dataclass
class Finding:
    what: str
    ok: bool
    detail: str
    optional: bool = False


def diagnose() -> list[Finding]:
    found = [Finding("Python", sys.version_info >= (3, 11), f"{sys.version.split()[0]} (3.11 or newer needed)")]
    for name in PACKAGES:
        try:
            found.append(Finding(name, True, importlib.metadata.version(name)))
        except importlib.metadata.PackageNotFoundError:
            found.append(Finding(name, False, "missing: run `make lab` (or pip install -e '.[dev]')"))
    for tool, (need, why) in TOOLS.items():
        missing = check_need(need)
        found.append(Finding(tool, missing is None, why if missing is None else f"{why}; {missing}", optional=True))
    free = shutil.disk_usage(ROOT).free / 1e9
    found.append(
        Finding(
            "free disk",
            free >= MIN_FREE_GB,
            f"{free:.1f} GB free ({MIN_FREE_GB} GB recommended: full-scale stress tests write 1 GB inputs)",
            optional=True,
        )
    )
    return found


def render(findings: list[Finding], console: Console) -> None:
    table = Table(title="iolab doctor", title_justify="left")
    table.add_column("")
    table.add_column("check")
    table.add_column("detail")
    for f in findings:
        mark = "[green]✔[/]" if f.ok else ("[yellow]![/]" if f.optional else "[red]✘[/]")
        table.add_row(mark, f.what, f.detail)
    console.print(table)
    missing = [f for f in findings if not f.ok and not f.optional]
    console.print("[green]ready[/]" if not missing else f"[red]{len(missing)} required item(s) missing[/]")


__all__ = ["HOW", "Finding", "diagnose", "render"]
