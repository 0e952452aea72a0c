"""Reports from one run: terminal, JSON, JUnit XML, Gradescope, GitHub Classroom, Markdown, plots."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..runner import Run

FORMATS = ("terminal", "json", "junit", "gradescope", "classroom", "markdown", "plots")


def parse_formats(text: str) -> list[str]:
    chosen = [f.strip() for f in text.split(",") if f.strip()]
    unknown = [f for f in chosen if f not in FORMATS]
    if unknown:
        raise ValueError(f"unknown report format(s) {', '.join(unknown)}; choose from {', '.join(FORMATS)}")
    return chosen


def write(
    run: Run, formats: Sequence[str], out: Path, show_hidden: bool = False, hidden_visibility: str = "after_due_date"
) -> list[Path]:
    """Write every requested file report into ``out``; returns the paths written.

    ``terminal`` is printed by the CLI, not written here. Hidden tests' messages are withheld
    from the student-facing formats unless ``show_hidden``; Gradescope shows hidden tests
    according to ``hidden_visibility`` (after_due_date, after_published, hidden or visible).
    """
    from . import classroom, gradescope, jsonreport, junit, markdown, plots

    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    if "json" in formats:
        written.append(jsonreport.write(run, out / "report.json"))
    if "junit" in formats:
        written.append(junit.write(run, out / "junit.xml", show_hidden))
    if "gradescope" in formats:
        written.append(gradescope.write(run, out / "results.json", show_hidden, hidden_visibility))
    if "classroom" in formats:
        written.append(classroom.write(run, out / "classroom.json", show_hidden))
    if "markdown" in formats:
        written.append(markdown.write(run, out / "summary.md", show_hidden))
    if "plots" in formats:
        written += plots.write(run, out)
    return written
