"""Course progress: every project and milestone, from a quick check of the learner's code, next
to the learner's own record (attempts, when each milestone first passed; see grader.state)."""

from __future__ import annotations

import html
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.table import Table

from .course import available_projects
from .outcomes import NOT_STARTED, PASSED, SKIPPED
from .runner import CHECK_JOBS, Run, RunOptions, run

PASSED_ALL, FAILING, UNTOUCHED = "passed", "failing", "not started"


@dataclass
class Row:
    project: str
    title: str
    milestones: dict[int, tuple[str, str]]  # number -> (state, milestone text)
    score: float
    max_score: float


def course_progress(
    impl: str | None = None,
    on_event: Callable[[dict], None] | None = None,
    on_run: Callable[[Run], None] | None = None,
) -> list[Row]:
    """Quick-check every project; ``on_run`` sees each project's run (to record the attempt)."""
    rows = []
    for proj in available_projects():
        done = run(RunOptions([proj.name], impl=impl, scale="quick", jobs=CHECK_JOBS), on_event)
        if on_run:
            on_run(done)
        per: dict[int, list] = {}
        texts: dict[int, str] = {}
        for r in done.results:
            if r.milestone is None or r.outcome == SKIPPED:
                continue
            per.setdefault(r.milestone, []).append(r.outcome)
            texts[r.milestone] = r.milestone_text
        milestones = {}
        for number in sorted(per):
            outcomes = per[number]
            if all(o == PASSED for o in outcomes):
                state = PASSED_ALL
            elif all(o == NOT_STARTED for o in outcomes):
                state = UNTOUCHED
            else:
                state = FAILING
            milestones[number] = (state, texts[number])
        rows.append(Row(proj.name, proj.title, milestones, done.score, done.max_score))
    return rows


STYLE = {PASSED_ALL: "green", FAILING: "red", UNTOUCHED: "yellow"}
COLORS = {PASSED_ALL: "#2e7d32", FAILING: "#c62828", UNTOUCHED: "#b26a00"}
BAR = 20


def render(rows: list[Row], record: dict[str, Any] | None = None) -> Table:
    """The terminal table: a bar per project, attempts, and each milestone with its first pass."""
    projects = (record or {}).get("projects", {})
    table = Table(title="iolab progress (quick checks of your labs)", title_justify="left")
    table.add_column("project")
    table.add_column("progress")
    table.add_column("attempts", justify="right")
    table.add_column("milestones")
    for row in rows:
        share = row.score / row.max_score if row.max_score else 0.0
        filled = round(share * BAR)
        bar = f"[green]{'█' * filled}[/][dim]{'░' * (BAR - filled)}[/] {100 * share:3.0f}%"
        mine = projects.get(row.project, {})
        marks = "\n".join(
            f"[{STYLE[state]}]M{n} {state}[/]" + _first_pass(mine.get("milestones", {}).get(str(n)))
            for n, (state, _) in row.milestones.items()
        )
        table.add_row(row.project, bar, str(mine.get("attempts", 0)), marks)
    return table


def render_html(rows: list[Row], record: dict[str, Any] | None = None) -> str:
    projects = (record or {}).get("projects", {})
    out = ["<table><tr><th>project</th><th>progress</th><th>attempts</th><th>milestones</th></tr>"]
    for row in rows:
        share = row.score / row.max_score if row.max_score else 0.0
        bar = (
            f"<div style='width:160px;background:#eee'><div style='width:{160 * share:.0f}px;height:10px;"
            f"background:#2e7d32'></div></div>{100 * share:.0f}%"
        )
        mine = projects.get(row.project, {})
        marks = "<br>".join(
            f"<span style='color:{COLORS[s]}'>M{n} {s}</span>: {html.escape(t)}"
            + html.escape(_first_pass(mine.get("milestones", {}).get(str(n))))
            for n, (s, t) in row.milestones.items()
        )
        out.append(
            f"<tr><td>{html.escape(row.project)}</td><td>{bar}</td><td>{mine.get('attempts', 0)}</td>"
            f"<td style='text-align:left'>{marks}</td></tr>"
        )
    out.append("</table>")
    return "".join(out)


def _first_pass(mine: dict[str, Any] | None) -> str:
    """`` · first passed 2025-11-21 14:03, attempt 4, 1h 20m after the first`` (or nothing)."""
    if not mine or not mine.get("first_pass"):
        return ""
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(mine["first_pass"]))
    spent = _duration(mine["first_pass"] - (mine.get("first_attempt") or mine["first_pass"]))
    return f" · first passed {when}, attempt {mine.get('attempts_to_pass') or 1}" + (
        f", {spent} after the first" if spent else ""
    )


def _duration(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 1:
        return ""
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes:02d}m"
    return f"{hours // 24}d {hours % 24}h"
