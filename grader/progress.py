"""Course progress: every project and milestone, from a quick check of the learner's code."""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass

from rich.table import Table

from .course import available_projects
from .outcomes import NOT_STARTED, PASSED, SKIPPED
from .runner import RunOptions, run

PASSED_ALL, FAILING, UNTOUCHED = "passed", "failing", "not started"


@dataclass
class Row:
    project: str
    title: str
    milestones: dict[int, tuple[str, str]]  # number -> (state, milestone text)
    score: float
    max_score: float


def course_progress(impl: str | None = None, on_event: Callable[[dict], None] | None = None) -> list[Row]:
    rows = []
    for proj in available_projects():
        done = run(RunOptions([proj.name], impl=impl, scale="quick"), on_event)
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
BAR = 20


def render(rows: list[Row]) -> Table:
    table = Table(title="iolab progress (quick checks of your labs)", title_justify="left")
    table.add_column("project")
    table.add_column("progress")
    table.add_column("milestones")
    for row in rows:
        share = row.score / row.max_score if row.max_score else 0.0
        filled = round(share * BAR)
        bar = f"[green]{'█' * filled}[/][dim]{'░' * (BAR - filled)}[/] {100 * share:3.0f}%"
        marks = "  ".join(f"[{STYLE[state]}]M{n} {state}[/]" for n, (state, _) in row.milestones.items())
        table.add_row(row.project, bar, marks)
    return table


def render_html(rows: list[Row]) -> str:
    colors = {PASSED_ALL: "#2e7d32", FAILING: "#c62828", UNTOUCHED: "#b26a00"}
    out = ["<table><tr><th>project</th><th>progress</th><th>milestones</th></tr>"]
    for row in rows:
        share = row.score / row.max_score if row.max_score else 0.0
        bar = (
            f"<div style='width:160px;background:#eee'><div style='width:{160 * share:.0f}px;height:10px;"
            f"background:#2e7d32'></div></div>{100 * share:.0f}%"
        )
        marks = "<br>".join(
            f"<span style='color:{colors[s]}'>M{n} {s}</span>: {html.escape(t)}" for n, (s, t) in row.milestones.items()
        )
        out.append(
            f"<tr><td>{html.escape(row.project)}</td><td>{bar}</td><td style='text-align:left'>{marks}</td></tr>"
        )
    out.append("</table>")
    return "".join(out)
