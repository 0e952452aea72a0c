"""The terminal report (rich): a table per project, then what to fix first, with hints."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from ..outcomes import BLOCKED, ERROR, FAILED, NOT_STARTED, PASSED, SKIPPED
from ..runner import Run
from .common import SYMBOL

STYLE = {PASSED: "green", FAILED: "red", ERROR: "red", NOT_STARTED: "yellow", BLOCKED: "magenta", SKIPPED: "dim"}


def show(run: Run, console: Console, first_failures: int | None = None, show_hidden: bool = True) -> None:
    for name in run.projects:
        results = run.for_project(name)
        got = sum(r.score for r in results)
        total = sum(r.points for r in results if r.outcome != SKIPPED)
        table = Table(title=f"{name}: {got:g}/{total:g} points", title_justify="left", expand=False)
        table.add_column("")
        table.add_column("test")
        table.add_column("milestone", justify="center")
        table.add_column("outcome")
        table.add_column("s", justify="right")
        for r in results:
            style = STYLE[r.outcome]
            table.add_row(
                f"[{style}]{SYMBOL[r.outcome]}[/]",
                r.name,
                str(r.milestone or ""),
                f"[{style}]{r.outcome}[/]",
                f"{r.duration:.1f}",
            )
        console.print(table)
    problems = [r for r in run.results if r.outcome in (FAILED, ERROR, BLOCKED)]
    if first_failures is not None:
        problems = problems[:first_failures]
    for r in problems:
        console.print(f"\n[bold red]{SYMBOL[r.outcome]} {r.project}: {r.name}[/]  [dim]({r.nodeid})[/]")
        if r.hidden and not show_hidden:
            console.print("  (hidden test)")
            continue
        console.print("  " + r.message.replace("\n", "\n  "), markup=False, highlight=False)
        if r.hint_text:
            console.print(f"  [cyan]hint {r.hint} of {r.hint_count}:[/] {r.hint_text}", highlight=False)
    not_started = [r for r in run.results if r.outcome == NOT_STARTED]
    if not_started:
        todos = sorted({r.message.removeprefix("not started: ").split(":")[0] for r in not_started})
        console.print(f"\n[yellow]{len(not_started)} test(s) not started.[/] Stubs still to write: " + ", ".join(todos))
    console.print(f"\n[bold]{run.score:g} / {run.max_score:g} points[/] in {run.elapsed:.1f}s ({run.scale.name} scale)")
