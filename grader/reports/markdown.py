"""A Markdown summary (appended to $GITHUB_STEP_SUMMARY when that is set)."""

from __future__ import annotations

import os
from pathlib import Path

from ..runner import Run
from .common import SYMBOL, student_message


def render(run: Run, show_hidden: bool = False) -> str:
    lines = [f"## iolab: {run.score:g} / {run.max_score:g} points", ""]
    lines.append(f"Implementation `{run.root.label}`, scale `{run.scale.name}`, {run.elapsed:.0f}s.")
    lines.append("")
    for name in run.projects:
        results = run.for_project(name)
        got = sum(r.score for r in results)
        total = sum(r.points for r in results if r.outcome != "skipped")
        lines += [f"### {name}: {got:g} / {total:g}", "", "| | test | milestone | points |", "|---|---|---|---|"]
        for r in results:
            milestone = f"M{r.milestone}" if r.milestone else ""
            lines.append(f"| {SYMBOL[r.outcome]} | {r.name} | {milestone} | {r.score:g}/{r.points:g} |")
        problems = [r for r in results if r.outcome not in ("passed", "skipped", "not started")]
        if problems:
            lines += ["", "<details><summary>What failed, and hints</summary>", ""]
            for r in problems:
                message = student_message(r, show_hidden).replace("\n", "\n    ")
                lines += [f"- **{r.name}** ({r.outcome})", "", f"    {message}", ""]
            lines.append("</details>")
        not_started = [r for r in results if r.outcome == "not started"]
        if not_started:
            lines += ["", f"{len(not_started)} test(s) not started yet."]
        lines.append("")
    return "\n".join(lines)


def write(run: Run, path: Path, show_hidden: bool = False) -> Path:
    text = render(run, show_hidden)
    path.write_text(text)
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as f:
            f.write(text + "\n")
    return path
