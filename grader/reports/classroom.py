"""GitHub Classroom: the runner-result JSON its grading reporter reads, and the Points line.

The reporter (github-education-resources/autograding-grading-reporter) takes, per runner, a
base64 of ``{"version": 1, "status": "pass"|"fail"|"error", "max_score": N, "tests": [...]}``
from ``<RUNNER>_RESULTS``; the Classroom reads the ``Points x/y`` line from the job.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

from ..outcomes import ERROR, PASSED, SKIPPED
from ..runner import Run
from .common import student_message, title


def document(run: Run, show_hidden: bool = False) -> dict:
    graded = [r for r in run.results if r.outcome != SKIPPED]
    if run.all_passed:
        status = "pass"
    elif run.score == 0 and any(r.outcome == ERROR for r in graded):
        status = "error"  # nothing passed and something crashed: likely the submission cannot even run
    else:
        status = "fail"
    return {
        "version": 1,
        "status": status,
        "max_score": run.max_score,
        "tests": [
            {
                "name": title(r),
                "status": "pass" if r.outcome == PASSED else ("error" if r.outcome == ERROR else "fail"),
                "score": r.score,
                "message": student_message(r, show_hidden),
                "test_code": r.nodeid,
                "filename": r.nodeid.split("::")[0],
                "line_no": 0,
                "execution_time": f"{r.duration:.2f}s",
            }
            for r in graded
        ],
    }


def points_line(run: Run) -> str:
    return f"Points {_number(run.score)}/{_number(run.max_score)}"


def encoded(run: Run, show_hidden: bool = False) -> str:
    return base64.b64encode(json.dumps(document(run, show_hidden)).encode()).decode()


def write(run: Run, path: Path, show_hidden: bool = False) -> Path:
    """Write classroom.json; in GitHub Actions also set the step output ``result`` (the base64
    document the grading reporter reads from ``<RUNNER>_RESULTS``)."""
    path.write_text(json.dumps(document(run, show_hidden), indent=2) + "\n")
    outputs = os.environ.get("GITHUB_OUTPUT")
    if outputs:
        with open(outputs, "a", encoding="utf-8") as f:
            f.write(f"result={encoded(run, show_hidden)}\n")
    return path


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}"
