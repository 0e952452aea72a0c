"""The dataset cache: ``datasets/generated/<kind>-<lines>-s<seed><suffix>[.gz]`` plus its truth.

Files are written under a temporary name and renamed when complete, so an interrupted
generation never leaves a half-written dataset that a later run would trust.
"""

from __future__ import annotations

import gzip as gzip_module
import json
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, NamedTuple

from ..course import DATASETS
from . import accesslog, events
from .accesslog import LogSpec


class Kind(NamedTuple):
    """A dataset kind: its generator (``generate(spec, on_bytes) -> (chunks, truth)``), the truth
    class that reads the truth file back (``from_json``), and the data file's suffix.

    The defaults describe an access log, so an access-log kind names only its first three fields."""

    description: str
    spec: Any  # a frozen dataclass with ``lines`` and ``seed``; the cache fills those in
    line_bytes: int  # average bytes per line, for sizes given in bytes and for the progress bar
    generate: Callable[..., tuple[Any, Any]] = accesslog.generate
    truth_type: Any = accesslog.Truth
    suffix: str = ".log"


def _events(description: str, spec: events.EventSpec, line_bytes: int) -> Kind:
    return Kind(description, spec, line_bytes, events.generate, events.EventTruth, ".ndjson")


KINDS: dict[str, Kind] = {
    "access": Kind(
        "nginx combined + request time; realistic route mix, 0.1% malformed, mixed offsets", LogSpec(0), 172
    ),
    "access-plain": Kind("nginx combined without request time", LogSpec(0, latency=False), 166),
    "access-clean": Kind(
        "the realistic mix without broken lines (for agreement checks against other tools)",
        LogSpec(0, malformed=0.0),
        172,
    ),
    "access-hc": Kind(
        "high cardinality: half the requests go to never-repeated /users/<id>",
        LogSpec(0, unique_paths=0.5),
        168,
    ),
    "access-hostile": Kind(
        "CRLF endings, no final newline, 1% malformed, one 4 MB line without a newline",
        LogSpec(0, crlf=True, final_newline=False, malformed=0.01, giant_line=4 << 20),
        173,
    ),
    "events": _events(
        "NDJSON analytics events; CSV-hostile text fields, 0.5% replayed duplicates", events.EventSpec(0), 178
    ),
    "events-hostile": _events(
        "events with 1% broken records (bad JSON, bad UTF-8, non-objects), two 1.5 MB lines, no final newline",
        events.EventSpec(0, bad=0.01, giant_lines=2, final_newline=False),
        180,
    ),
}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kKmMgG]?)([bB]?)\s*$")
_UNITS = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9}


@dataclass(frozen=True)
class Dataset:
    path: Path
    truth_path: Path
    kind: str = "access"

    @property
    def truth(self) -> Any:
        """The kind's truth object (``accesslog.Truth`` for access logs, ``events.EventTruth`` for events)."""
        return kind_of(self.kind).truth_type.from_json(json.loads(self.truth_path.read_text()))


def kind_of(name: str) -> Kind:
    """The registered kind ``name`` (LookupError, listing the known ones, if there is none)."""
    if name not in KINDS:
        raise LookupError(f"unknown dataset kind {name!r}; known: {', '.join(KINDS)}")
    return KINDS[name]


def data_dir() -> Path:
    """Where generated data lives: $IOLAB_DATA_DIR, else datasets/generated in the course."""
    return Path(os.environ.get("IOLAB_DATA_DIR") or DATASETS / "generated")


def parse_size(text: str, kind: str = "access") -> int:
    """'250k' or '1M' lines; '200MB' or '1GB' bytes (converted with the kind's average line length)."""
    match = _SIZE.match(text)
    if not match:
        raise ValueError(f"not a size: {text!r} (examples: 250k, 1M lines; 200MB, 1GB)")
    number, unit, in_bytes = match.groups()
    value = float(number) * _UNITS[unit.lower()]
    if in_bytes:
        value /= kind_of(kind).line_bytes
    if value < 1:
        raise ValueError(f"size {text!r} is less than one line")
    return int(value)


def ensure(
    kind: str,
    lines: int,
    seed: int = 1,
    *,
    gzip: bool = False,
    progress: bool | None = None,
    on_bytes: Callable[[int], None] | None = None,
) -> Dataset:
    """Return the cached dataset, generating it first if needed.

    ``progress``: show a progress bar on stderr (default: only for a million lines or more).
    """
    found = kind_of(kind)
    folder = data_dir()
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{kind}-{lines}-s{seed}"
    path = folder / (stem + found.suffix + (".gz" if gzip else ""))
    truth_path = folder / (stem + ".truth.json")
    if path.exists() and truth_path.exists():
        return Dataset(path, truth_path, kind)
    spec = replace(found.spec, lines=lines, seed=seed)
    if progress is None:
        progress = lines >= 1_000_000
    _write(found, spec, path, truth_path, gzip, lines * found.line_bytes if progress else 0, on_bytes)
    return Dataset(path, truth_path, kind)


def _write(
    kind: Kind,
    spec: Any,
    path: Path,
    truth_path: Path,
    gzip: bool,
    bar_bytes: int,
    on_bytes: Callable[[int], None] | None,
) -> None:
    """Generate into temporary files and rename them into place; ``bar_bytes`` > 0 shows a bar."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    bar = _Bar(path.name, bar_bytes) if bar_bytes else None

    def tick(n: int) -> None:
        if bar:
            bar.advance(n)
        if on_bytes:
            on_bytes(n)

    chunks, truth = kind.generate(spec, tick)
    try:
        opener = gzip_module.open if gzip else open
        with opener(partial, "wb") as out:  # type: ignore[operator]
            for chunk in chunks:
                out.write(chunk)
        truth_partial = truth_path.with_name(f".{truth_path.name}.{os.getpid()}.partial")
        truth_partial.write_text(json.dumps(truth.to_json()))
        os.replace(partial, path)
        os.replace(truth_partial, truth_path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        if bar:
            bar.close()


class _Bar:
    """A rich progress bar on stderr (works in a terminal and in a notebook)."""

    def __init__(self, label: str, total: int) -> None:
        from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

        self._progress = Progress(
            "[bold]generating[/] " + label,
            BarColumn(),
            DownloadColumn(),
            TimeRemainingColumn(),
            console=_stderr_console(),
            transient=False,
        )
        self._task = self._progress.add_task("gen", total=total)
        self._progress.start()

    def advance(self, n: int) -> None:
        self._progress.advance(self._task, n)

    def close(self) -> None:
        self._progress.stop()


def _stderr_console():
    from rich.console import Console

    return Console(file=sys.stderr)
