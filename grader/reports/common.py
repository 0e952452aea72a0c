"""What every report says the same way: labels, symbols, the message a student may see."""

from __future__ import annotations

from ..outcomes import BLOCKED, ERROR, FAILED, NOT_STARTED, PASSED, SKIPPED, Result

SYMBOL = {PASSED: "✔", FAILED: "✘", ERROR: "✘", NOT_STARTED: "○", BLOCKED: "⊘", SKIPPED: "–"}
WITHHELD = "(hidden test: its details are not shown to students)"


def student_message(result: Result, show_hidden: bool) -> str:
    """The message for student-facing reports: hidden tests say only that they failed."""
    if result.outcome == PASSED:
        return ""
    if result.hidden and not show_hidden:
        return WITHHELD
    text = result.message
    if result.hint_text:
        text += f"\nhint {result.hint} of {result.hint_count}: {result.hint_text}"
    return text


def title(result: Result) -> str:
    milestone = f"M{result.milestone} · " if result.milestone else ""
    return f"{result.project} · {milestone}{result.name}"
