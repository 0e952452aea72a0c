"""The class at a glance: gradebook.csv, summary.md and the summary plots.

gradebook.csv has one row per student and project: student, project, score, max, one column
per milestone (points earned; what each milestone is worth is in summary.md), status, reason,
duration (seconds). The plots: the score distribution per project, and the tests most students
fail (failed, error or blocked; "not started" counted apart).
"""

from __future__ import annotations

import csv
import io
import os
import statistics
import tempfile
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from .rows import FINE, STATUSES, Row

MOST_FAILED = 15


def write_csv(rows: Sequence[Row], path: Path) -> Path:
    milestones = sorted({k for r in rows for k in (*r.milestone_max, *r.milestones)}, key=int)
    buffer = io.StringIO()
    out = csv.writer(buffer)
    out.writerow(["student", "project", "score", "max", *(f"M{m}" for m in milestones), "status", "reason", "duration"])
    for r in sorted(rows, key=lambda r: (r.student, r.project)):
        per = [_number(r.milestones[m]) if m in r.milestones else "" for m in milestones]
        out.writerow(
            [
                r.student,
                r.project,
                _number(r.score),
                _number(r.max_score),
                *per,
                r.status,
                r.reason,
                f"{r.duration:.1f}",
            ]
        )
    _atomic(path, buffer.getvalue())
    return path


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def write_summary(rows: Sequence[Row], path: Path, notes: Sequence[str] = ()) -> Path:
    students = sorted({r.student for r in rows})
    lines = ["# iolab gradebook summary", "", f"{len(students)} submissions, {len(rows)} rows.", ""]
    lines += [f"- {note}" for note in notes]
    if notes:
        lines.append("")
    lines += ["## Status", "", "| status | rows |", "|---|---|"]
    counts = Counter(r.status for r in rows)
    lines += [f"| {status} | {counts[status]} |" for status in STATUSES if counts[status]]
    lines += ["", "## Scores per project", ""]
    lines += [
        "| project | graded | mean % | median % | min % | max % | worth per milestone |",
        "|---|---|---|---|---|---|---|",
    ]
    for project in sorted({r.project for r in rows}):
        mine = [r for r in rows if r.project == project]
        shares = [100 * r.score / r.max_score for r in mine if r.max_score and r.status in FINE]
        worth = max((r.milestone_max for r in mine), key=len, default={})
        per = ", ".join(f"M{k}: {v:g}" for k, v in sorted(worth.items(), key=lambda kv: int(kv[0])))
        if shares:
            lines.append(
                f"| {project} | {len(shares)} | {statistics.mean(shares):.0f} | {statistics.median(shares):.0f} "
                f"| {min(shares):.0f} | {max(shares):.0f} | {per} |"
            )
        else:
            lines.append(f"| {project} | 0 | | | | | {per} |")
    problems = [r for r in rows if r.status not in FINE]
    if problems:
        lines += ["", "## Rows to look at", "", "| student | project | status | reason |", "|---|---|---|---|"]
        lines += [f"| {r.student} | {r.project} | {r.status} | {r.reason.replace('|', '/')} |" for r in problems]
    failed = most_failed(rows)
    if failed:
        lines += ["", "## Most failed tests", "", "| test | failing | not started |", "|---|---|---|"]
        lines += [f"| {test} | {bad} | {todo} |" for test, bad, todo in failed]
    _atomic(path, "\n".join(lines) + "\n")
    return path


def most_failed(rows: Sequence[Row], top: int = MOST_FAILED) -> list[tuple[str, int, int]]:
    """(test id, students failing it, students not started on it): most failing first, then
    most often not started (a class that has not begun still shows where it stands)."""
    bad = Counter(t for r in rows for t in r.failing)
    todo = Counter(t for r in rows for t in r.not_started)
    ranked = sorted(set(bad) | set(todo), key=lambda t: (-bad[t], -todo[t], t))[:top]
    return [(t, bad[t], todo[t]) for t in ranked]


def write_plots(rows: Sequence[Row], folder: Path) -> list[Path]:
    from matplotlib.ticker import MaxNLocator

    from ..harness.plots import _save, plt

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    projects = sorted({r.project for r in rows})
    if projects:
        fig, axes = plt.subplots(len(projects), 1, figsize=(7, 0.5 + 2.2 * len(projects)), dpi=110, squeeze=False)
        for ax, project in zip(axes[:, 0], projects, strict=True):
            shares = [100 * r.score / r.max_score for r in rows if r.project == project and r.max_score]
            ax.hist(shares, bins=[0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100.01], color="#1f77b4", edgecolor="white")
            ax.set_title(f"{project}: score distribution ({len(shares)} students)", fontsize=10)
            ax.set_xlim(0, 100)
            ax.set_ylabel("students")
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        axes[-1, 0].set_xlabel("score (%)")
        fig.tight_layout()
        written.append(_save(fig, folder / "score-distribution.png"))
    failed = most_failed(rows)
    if failed:
        fig, ax = plt.subplots(figsize=(8, 0.8 + 0.35 * len(failed)), dpi=110)
        labels = [_short(t) for t, _, _ in failed]
        ax.barh(range(len(failed)), [b for _, b, _ in failed], color="#c62828", label="failing")
        ax.barh(
            range(len(failed)),
            [n for _, _, n in failed],
            left=[b for _, b, _ in failed],
            color="#f0b35b",
            label="not started",
        )
        ax.set_yticks(range(len(failed)), labels, fontsize=8)
        ax.invert_yaxis()
        ax.set_xlabel("students")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title("Most failed tests", fontsize=10)
        ax.legend(loc="lower right", fontsize=8)
        fig.tight_layout()
        written.append(_save(fig, folder / "most-failed.png"))
    return written


def _short(nodeid: str) -> str:
    path, _, name = nodeid.partition("::")
    return f"{path.split('/')[0]} · {name}"[:70]


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}"


def _atomic(path: Path, text: str) -> None:
    """Readers (a spreadsheet open on the CSV, a second shell) never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
        f.write(text)
    os.chmod(temp, 0o644)
    os.replace(temp, path)
