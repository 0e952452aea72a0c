"""Gradescope's results.json (https://gradescope-autograders.readthedocs.io/en/latest/specs/)."""

from __future__ import annotations

import json
from pathlib import Path

from ..outcomes import PASSED, SKIPPED
from ..runner import Run
from .common import student_message, title

HIDDEN_VISIBILITY = "after_due_date"
VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")  # Gradescope's own names


def document(run: Run, show_hidden: bool = False, hidden_visibility: str = HIDDEN_VISIBILITY) -> dict:
    if hidden_visibility not in VISIBILITIES:
        raise ValueError(f"unknown visibility {hidden_visibility!r}; Gradescope knows {', '.join(VISIBILITIES)}")
    tests = []
    for number, r in enumerate((r for r in run.results if r.outcome != SKIPPED), 1):
        test = {
            "name": title(r),
            "number": str(number),
            "score": r.score,
            "max_score": r.points,
            "status": "passed" if r.outcome == PASSED else "failed",
            "output": student_message(r, show_hidden) or "passed",
            "visibility": hidden_visibility if r.hidden else "visible",
        }
        if r.milestone:
            test["tags"] = [f"milestone-{r.milestone}"]
        tests.append(test)
    counts: dict[str, int] = {}
    for r in run.results:
        counts[r.outcome] = counts.get(r.outcome, 0) + 1
    summary = ", ".join(f"{n} {k}" for k, n in counts.items())
    return {
        "score": run.score,
        "execution_time": round(run.elapsed),
        "output": f"iolab grade ({run.scale.name} scale): {summary}",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
        # Gradescope takes the maximum from the assignment; ours goes where the schema allows extras.
        "extra_data": {"max_score": run.max_score, "scale": run.scale.name},
    }


def write(run: Run, path: Path, show_hidden: bool = False, hidden_visibility: str = HIDDEN_VISIBILITY) -> Path:
    path.write_text(json.dumps(document(run, show_hidden, hidden_visibility), indent=2) + "\n")
    return path
