"""report.json: everything, for tools and dashboards."""

from __future__ import annotations

import json
from pathlib import Path

from ..runner import Run, summary_counts


def document(run: Run) -> dict:
    projects = {}
    for name in run.projects:
        results = run.for_project(name)
        projects[name] = {
            "score": sum(r.score for r in results),
            "max_score": sum(r.points for r in results if r.outcome != "skipped"),
            "counts": summary_counts(results),
        }
    return {
        "impl": run.root.label,
        "scale": run.scale.name,
        "elapsed_seconds": round(run.elapsed, 2),
        "score": run.score,
        "max_score": run.max_score,
        "all_passed": run.all_passed,
        "projects": projects,
        "tests": [r.to_json() for r in run.results],
    }


def write(run: Run, path: Path) -> Path:
    path.write_text(json.dumps(document(run), indent=2) + "\n")
    return path
