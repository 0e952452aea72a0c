"""Report plots: score per project and milestone, plus every plot the stress tests attached."""

from __future__ import annotations

import shutil
from pathlib import Path

from ..runner import Run


def write(run: Run, out: Path) -> list[Path]:
    from ..harness.plots import _save, plt

    written: list[Path] = []
    projects = run.projects
    if projects:
        fig, ax = plt.subplots(figsize=(7, 0.6 + 0.5 * len(projects)), dpi=110)
        for i, name in enumerate(projects):
            results = run.for_project(name)
            total = sum(r.points for r in results if r.outcome != "skipped") or 1
            ax.barh(i, 100 * sum(r.score for r in results) / total, color="#2ca02c")
        ax.set_yticks(range(len(projects)), projects)
        ax.set_xlim(0, 100)
        ax.set_xlabel("score (%)")
        ax.invert_yaxis()
        written.append(_save(fig, out / "plots" / "scores.png"))
    for r in run.results:
        for artifact in r.artifacts:
            source = Path(artifact)
            if source.suffix == ".png" and source.exists():
                target = out / "plots" / f"{r.project}-{source.parent.name[-60:]}-{source.name}"
                shutil.copyfile(source, target)
                written.append(target)
    return written
