"""The learner's own record: attempts and first-pass times per project and milestone.

Every check of the learner's labs (``iolab check``, ``iolab grade``, ``iolab progress``, the
notebooks' ``check()`` and ``progress()``) is an attempt. A milestone counts as passed the first
time a run that covered all of its tests saw them all pass; that moment and the number of
attempts it took are kept for good.

The record is one JSON file in the learner's own state directory (``$IOLAB_STATE_DIR``, else
``$XDG_STATE_HOME/iolab``, else ``~/.local/state/iolab``), never in the course folder: a fresh
copy of the course keeps the learner's history, and a student copy handed in never carries it.
Writes are atomic (a temporary file renamed over the old one) and serialized with a lock, so a
notebook and a terminal checking at the same moment cannot lose an attempt.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .outcomes import PASSED, SKIPPED
from .runner import Run

ENV = "IOLAB_STATE_DIR"
OFF = "IOLAB_RECORD"  # IOLAB_RECORD=0 turns recording off (a shared demo account, say)
VERSION = 1


def state_dir() -> Path:
    explicit = os.environ.get(ENV)
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_STATE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "state"
    return base / "iolab"


def state_file() -> Path:
    return state_dir() / "progress.json"


def enabled() -> bool:
    return os.environ.get(OFF, "1").strip().lower() not in ("0", "no", "false", "off")


def load(path: Path | None = None) -> dict[str, Any]:
    """The record, or an empty one (a missing or unreadable file starts afresh)."""
    path = path or state_file()
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return _empty()
    if not isinstance(doc, dict) or doc.get("version") != VERSION or not isinstance(doc.get("projects"), dict):
        return _empty()
    return doc


def record(run: Run, *, complete: bool = True, now: float | None = None, path: Path | None = None) -> dict[str, Any]:
    """Add one attempt from ``run``; ``complete`` is False when a filter (``-k``) may have left
    out some of a milestone's tests, so that no milestone is marked passed on part of its tests."""
    path = path or state_file()
    now = time.time() if now is None else now
    with _locked(path):
        doc = load(path)
        for name in run.projects:
            _add(doc["projects"].setdefault(name, _project()), run, name, complete, now)
        _save(path, doc)
    return doc


def maybe_record(run: Run, *, complete: bool = True) -> None:
    """Record ``run`` if it checked the learner's own labs and recording is on; never fails the
    command that asked (a read-only home directory costs the record, not the check)."""
    if run.root.label != "labs" or not enabled():
        return
    with contextlib.suppress(OSError):
        record(run, complete=complete)


def reset(path: Path | None = None) -> bool:
    """Delete the record; True if there was one."""
    path = path or state_file()
    with _locked(path):
        existed = path.exists()
        path.unlink(missing_ok=True)
    return existed


# ---- internals ----------------------------------------------------------------------------------


def _empty() -> dict[str, Any]:
    return {"version": VERSION, "projects": {}}


def _project() -> dict[str, Any]:
    return {
        "attempts": 0,
        "first_attempt": None,
        "last_attempt": None,
        "best_score": 0.0,
        "max_score": 0.0,
        "milestones": {},
    }


def _add(entry: dict[str, Any], run: Run, name: str, complete: bool, now: float) -> None:
    results = [r for r in run.for_project(name) if r.outcome != SKIPPED and not r.hidden]
    if not results:
        return
    entry["attempts"] += 1
    entry["first_attempt"] = entry["first_attempt"] or now
    entry["last_attempt"] = now
    by_milestone: dict[int, list[str]] = {}
    for r in results:
        if r.milestone is not None:
            by_milestone.setdefault(r.milestone, []).append(r.outcome)
    covers_all = complete and run.options.milestone is None
    if covers_all:
        entry["best_score"] = max(entry["best_score"], sum(r.score for r in results))
        entry["max_score"] = sum(r.points for r in results)
    for number, outcomes in by_milestone.items():
        mine = entry["milestones"].setdefault(
            str(number), {"attempts": 0, "first_attempt": None, "first_pass": None, "attempts_to_pass": None}
        )
        mine["attempts"] += 1
        mine["first_attempt"] = mine["first_attempt"] or now
        if complete and mine["first_pass"] is None and all(o == PASSED for o in outcomes):
            mine["first_pass"] = now
            mine["attempts_to_pass"] = mine["attempts"]


def _save(path: Path, doc: dict[str, Any]) -> None:
    """Write to a temporary file in the same folder, fsync, rename over the old file, fsync the
    folder: a crash leaves either the old record or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=".progress-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=1, sort_keys=True)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
