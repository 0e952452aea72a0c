"""Gradebook rows: one per student and project, composed from what the worker left behind.

A row's status says how grading ended; its reason says why in one line:
- ``graded``: the suite ran to its end (the reason lists problems on the way: tests that timed
  out, killed the test process or could not import one module);
- ``missing``: the submission has no folder for the project;
- ``import error``: the project's package cannot be imported (syntax error, crash, endless
  loop at import time), so no test could say anything: score 0;
- ``timeout``: the submission reached its wall-clock limit (finished tests count);
- ``killed``: it broke another limit (too many processes, a flood of output; finished tests count);
- ``flagged``: graded, but its code imports the reference solution: look at it by hand;
- ``invalid``: the entry holds no gradable code (an unreadable zip, no labs folder);
- ``error``: the grader could not run the suite (the reason has pytest's words).
"""

from __future__ import annotations

import errno
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..outcomes import BLOCKED, ERROR, FAILED, PASSED, SKIPPED, Result

GRADED, MISSING, IMPORT_ERROR, TIMEOUT, KILLED, FLAGGED, INVALID, BROKEN = (
    "graded",
    "missing",
    "import error",
    "timeout",
    "killed",
    "flagged",
    "invalid",
    "error",
)
STATUSES = (GRADED, FLAGGED, MISSING, IMPORT_ERROR, TIMEOUT, KILLED, INVALID, BROKEN)
FINE = (GRADED, MISSING)  # statuses that need no look from the instructor
DIED = "the test process died"
SLOW = "did not finish in time"
GRADER_BROKE = "the check itself failed with"
TOO_LARGE = f"[Errno {errno.EFBIG}]"  # RLIMIT_FSIZE: Python ignores SIGXFSZ, so the write fails


@dataclass
class Verdict:
    """Why the gradebook stopped a submission early."""

    status: str  # TIMEOUT or KILLED
    reason: str


@dataclass
class ProjectMax:
    """What a project is worth, from the reference run (missing rows still get their max)."""

    max_score: float
    milestone_max: dict[str, float]
    tests: int


@dataclass
class Row:
    student: str
    project: str
    score: float
    max_score: float
    status: str
    reason: str = ""
    duration: float = 0.0
    milestones: dict[str, float] = field(default_factory=dict)
    milestone_max: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    failing: list[str] = field(default_factory=list)  # test ids that failed, errored or were blocked
    not_started: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Row:
        return cls(**{k: v for k, v in doc.items() if k in cls.__dataclass_fields__})


def read_results(path: Path) -> list[Result]:
    """Results from a runner's results.jsonl (the last result per test wins; junk is skipped)."""
    found: dict[str, Result] = {}
    try:
        lines = path.read_bytes().splitlines()
    except OSError:
        return []
    for line in lines:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict) and event.get("event") == "result":
            try:
                result = Result.from_json(event)
            except TypeError:
                continue
            found[result.nodeid] = result
    return list(found.values())


def compose(
    student: str,
    project: str,
    folder: Path,
    verdict: Verdict | None,
    worth: ProjectMax | None,
    stopped_before: bool = False,
) -> tuple[Row, list[Result]]:
    """The row for one project of one submission, from ``folder`` (the worker's OUT/<project>)."""
    results = read_results(folder / "results.jsonl")
    preflight = read_json(folder / "preflight.json")
    done = read_json(folder / "done.json")
    graded = [r for r in results if r.outcome != SKIPPED]
    row = Row(
        student=student,
        project=project,
        score=sum(r.score for r in graded),
        max_score=worth.max_score if worth else sum(r.points for r in graded),
        status=GRADED,
        duration=round(float(done.get("elapsed", 0.0)), 1),
        milestone_max=dict(worth.milestone_max) if worth else {},
    )
    for r in graded:
        if r.milestone is not None:
            key = str(r.milestone)
            row.milestones[key] = row.milestones.get(key, 0.0) + r.score
            if not worth:
                row.milestone_max[key] = row.milestone_max.get(key, 0.0) + r.points
        row.counts[r.outcome] = row.counts.get(r.outcome, 0) + 1
    row.failing = sorted(r.nodeid for r in graded if r.outcome in (FAILED, ERROR, BLOCKED))
    row.not_started = sorted(r.nodeid for r in graded if r.outcome == "not started")
    for key in row.milestone_max:
        row.milestones.setdefault(key, 0.0)

    if stopped_before or (verdict and not preflight and not results):
        assert verdict is not None
        row.status, row.reason = verdict.status, f"not graded: {verdict.reason} before this project"
        return row, results
    state = preflight.get("status")
    if state == "missing":
        row.status, row.reason = MISSING, preflight.get("reason", f"labs/{project} is not in the submission")
        return row, results
    if state in ("package error", "import timeout"):
        row.status, row.reason = IMPORT_ERROR, preflight.get("reason") or _first_import_error(preflight)
        return row, results
    if state == "output limit":
        row.status, row.reason = KILLED, preflight["reason"]
        return row, results
    problems = _problems(preflight, done, results, worth)
    if verdict and "elapsed" not in done:
        row.status = verdict.status
        problems.insert(0, f"{verdict.reason}; {len(graded)} tests had finished")
    elif done.get("error"):
        row.status = BROKEN
        problems.insert(0, "the suite could not run: " + done["error"].strip().splitlines()[-1][:300])
    elif preflight.get("imports_reference"):
        row.status = FLAGGED
        problems.insert(
            0, "its code imports the reference solution (" + ", ".join(preflight["imports_reference"]) + ")"
        )
    row.reason = "; ".join(p if len(p) <= 240 else p[:237] + "..." for p in problems)
    return row, results


def _problems(preflight: dict, done: dict, results: list[Result], worth: ProjectMax | None) -> list[str]:
    problems = []
    broken = [m for m in preflight.get("modules", []) if not m.get("ok")]
    if broken:
        problems.append(f"cannot import {broken[0]['module']}: {broken[0].get('error', '')}")
    died = [r for r in results if r.outcome == ERROR and r.message.startswith(DIED)]
    if died:
        how = died[0].message.split("(", 1)[-1].split(")")[0]
        problems.append(f"{len(died)} test(s) killed the test process ({how})")
    inside = [r for r in results if r.outcome == ERROR and r.message.startswith(GRADER_BROKE)]
    if inside:
        first = inside[0].message.removeprefix(GRADER_BROKE).split(" (at ")[0].strip()
        problems.append(f"{len(inside)} test(s) broke inside the grader's own code ({first}: files gone?)")
    flood = [r for r in results if TOO_LARGE in r.message]
    if flood:
        problems.append(f"{len(flood)} test(s) hit the file-size limit (File too large: a flood of output?)")
    slow = [r for r in results if SLOW in r.message]
    if slow:
        problems.append(f"{len(slow)} test(s) did not finish in time")
    ran = len([r for r in results if r.outcome != SKIPPED])
    if worth and "elapsed" in done and not done.get("error") and ran < worth.tests:
        problems.append(f"{worth.tests - ran} test(s) never ran (the test process died too often)")
    return problems


def _first_import_error(preflight: dict) -> str:
    for module in preflight.get("modules", []):
        if not module.get("ok"):
            return f"cannot import {module['module']}: {module.get('error', '')}"
    return "cannot import the package"


def read_json(path: Path) -> dict:
    """A JSON object from a file a submission's worker wrote; {} when it is missing, cut short or not an object."""
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


def worth_of(rows_results: list[Result]) -> ProjectMax:
    """A project's worth from a complete run (the reference's)."""
    graded = [r for r in rows_results if r.outcome != SKIPPED]
    milestones: dict[str, float] = {}
    for r in graded:
        if r.milestone is not None:
            milestones[str(r.milestone)] = milestones.get(str(r.milestone), 0.0) + r.points
    return ProjectMax(sum(r.points for r in graded), milestones, len(graded))


def passed_all(results: list[Result]) -> bool:
    graded = [r for r in results if r.outcome != SKIPPED]
    return bool(graded) and all(r.outcome == PASSED for r in graded)
