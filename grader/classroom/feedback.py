"""Per-student feedback from the gradebook, in Markdown and HTML (the same content).

Written for the student: the score per project and milestone, how grading ended, what failed
with the message and the hint, and what is not started. Hidden tests appear as "hidden test N"
with their outcome and points only, unless the instructor passes ``--show-hidden``.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..outcomes import NOT_STARTED, PASSED, SKIPPED, Result
from ..reports.common import SYMBOL, student_message
from .rows import FINE, GRADED, MISSING, Row

STATUS_TEXT = {
    GRADED: "graded",
    MISSING: "not handed in",
}


@dataclass
class _Test:
    symbol: str
    name: str
    milestone: str
    points: str
    outcome: str
    message: str  # empty when passed, or withheld


def write(
    student: str, rows: Sequence[Row], results: dict[str, list[Result]], folder: Path, show_hidden: bool
) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    md = folder / f"{student}.md"
    page = folder / f"{student}.html"
    md.write_text(markdown(student, rows, results, show_hidden), encoding="utf-8")
    page.write_text(to_html(student, rows, results, show_hidden), encoding="utf-8")
    return [md, page]


def markdown(student: str, rows: Sequence[Row], results: dict[str, list[Result]], show_hidden: bool) -> str:
    total, worth = sum(r.score for r in rows), sum(r.max_score for r in rows)
    lines = [f"# iolab feedback for {student}", "", f"**{total:g} / {worth:g} points**", ""]
    for row in rows:
        lines += [f"## {row.project}: {row.score:g} / {row.max_score:g}", ""]
        lines.append(f"Grading: {STATUS_TEXT.get(row.status, row.status)}" + (f". {row.reason}" if row.reason else ""))
        lines.append("")
        if row.milestone_max:
            lines += ["| milestone | points |", "|---|---|"]
            for key in sorted(row.milestone_max, key=int):
                lines.append(f"| M{key} | {row.milestones.get(key, 0):g} / {row.milestone_max[key]:g} |")
            lines.append("")
        tests = _tests(results.get(row.project, []), show_hidden)
        if tests:
            lines += ["| | test | milestone | points |", "|---|---|---|---|"]
            lines += [f"| {t.symbol} | {_cell(t.name)} | {t.milestone} | {t.points} |" for t in tests]
            lines.append("")
        failures = [t for t in tests if t.message and t.outcome != NOT_STARTED]
        if failures:
            lines += ["### What to fix", ""]
            for t in failures:
                lines += [f"- **{t.name}** ({t.outcome})", "", "  ```", *[f"  {x}" for x in t.message.splitlines()]]
                lines += ["  ```", ""]
        waiting = [t for t in tests if t.outcome == NOT_STARTED]
        if waiting:
            lines += [f"{len(waiting)} test(s) not started yet.", ""]
        if row.status not in FINE:
            lines += [f"> Grading of this project ended early ({row.status}): {row.reason}", ""]
    return "\n".join(lines)


def to_html(student: str, rows: Sequence[Row], results: dict[str, list[Result]], show_hidden: bool) -> str:
    esc = html.escape
    total, worth = sum(r.score for r in rows), sum(r.max_score for r in rows)
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>iolab feedback: {esc(student)}</title>",
        "<style>body{font-family:system-ui,sans-serif;max-width:60em;margin:2em auto;padding:0 1em}"
        "td,th{padding:.2em .6em;text-align:left}table{border-collapse:collapse}"
        "tr:nth-child(even){background:#f4f4f4}pre{background:#f7f7f7;padding:.6em;white-space:pre-wrap}"
        ".passed{color:#2e7d32}.failed,.error{color:#c62828}.notstarted{color:#b26a00}"
        ".blocked{color:#6a1b9a}.note{border-left:4px solid #c62828;padding-left:.8em}</style></head><body>",
        f"<h1>iolab feedback for {esc(student)}</h1><p><b>{total:g} / {worth:g} points</b></p>",
    ]
    for row in rows:
        parts.append(f"<h2>{esc(row.project)}: {row.score:g} / {row.max_score:g}</h2>")
        status = STATUS_TEXT.get(row.status, row.status)
        parts.append(f"<p>Grading: {esc(status)}" + (f". {esc(row.reason)}" if row.reason else "") + "</p>")
        if row.milestone_max:
            cells = "".join(
                f"<tr><td>M{k}</td><td>{row.milestones.get(k, 0):g} / {row.milestone_max[k]:g}</td></tr>"
                for k in sorted(row.milestone_max, key=int)
            )
            parts.append(f"<table><tr><th>milestone</th><th>points</th></tr>{cells}</table>")
        tests = _tests(results.get(row.project, []), show_hidden)
        if tests:
            cells = "".join(
                f"<tr class='{t.outcome.replace(' ', '')}'><td>{t.symbol}</td><td>{esc(t.name)}</td>"
                f"<td>{t.milestone}</td><td>{t.points}</td></tr>"
                for t in tests
            )
            parts.append(f"<table><tr><th></th><th>test</th><th>milestone</th><th>points</th></tr>{cells}</table>")
        failures = [t for t in tests if t.message and t.outcome != NOT_STARTED]
        if failures:
            parts.append("<h3>What to fix</h3>")
            for t in failures:
                parts.append(f"<p><b>{esc(t.name)}</b> ({esc(t.outcome)})</p><pre>{esc(t.message)}</pre>")
        waiting = [t for t in tests if t.outcome == NOT_STARTED]
        if waiting:
            parts.append(f"<p class='notstarted'>{len(waiting)} test(s) not started yet.</p>")
        if row.status not in FINE:
            parts.append(
                f"<p class='note'>Grading of this project ended early ({esc(row.status)}): {esc(row.reason)}</p>"
            )
    parts.append("</body></html>")
    return "\n".join(parts)


def _tests(results: list[Result], show_hidden: bool) -> list[_Test]:
    tests = []
    hidden_number = 0
    for r in results:
        if r.outcome == SKIPPED:
            continue
        case = r.nodeid.split("[", 1)[1].removesuffix("]") if "[" in r.nodeid else ""
        name = r.name if not case or r.name.endswith(f"[{case}]") else f"{r.name} [{case}]"
        if r.hidden:
            hidden_number += 1
            name = f"{r.name} (hidden)" if show_hidden else f"hidden test {hidden_number}"
        tests.append(
            _Test(
                symbol=SYMBOL.get(r.outcome, "?"),
                name=name,
                milestone=f"M{r.milestone}" if r.milestone else "",
                points=f"{r.score:g}/{r.points:g}",
                outcome=r.outcome,
                message="" if r.outcome == PASSED else student_message(r, show_hidden),
            )
        )
    return tests


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
