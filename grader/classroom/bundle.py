"""Gradescope: ``iolab gradescope-bundle PROJECT... --out autograder.zip`` and what it runs there.

The zip holds, at its root (as Gradescope wants): ``setup.sh`` (run once when Gradescope builds
the image: Python 3.11+, the course, then ``bundle warm``), ``run_autograder`` (run for every
submission: ``bundle run``), ``iolab-bundle.json`` (projects, scale, limits, visibility), the
instructor's course in ``course/`` (with the reference: stress checks measure against it) and
the hidden tests in ``hidden/``.

``warm`` grades the reference once at build time: it must pass, it fills the dataset cache the
submissions then read, and it records what each project is worth (``iolab-worth.json``).
``run`` grades ``/autograder/submission`` exactly as ``iolab gradebook`` grades one student (own
process, limits, own user), and writes ``/autograder/results/results.json``: one entry per test
(hidden tests with the configured visibility and their messages withheld), plus one entry per
project that could not be graded (missing, import error, stopped at a limit) worth what the
project is worth, so the student sees why and the total stays right. A results.json saying
"grading did not finish" is written first, so a run killed by Gradescope's own timeout still
tells the student something.

``IOLAB_AUTOGRADER_ROOT`` points both at another folder laid out like ``/autograder`` (the
course's tests do this); nothing here touches ``/autograder`` otherwise.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .. import course
from ..impl import Root
from ..outcomes import SKIPPED, Result
from ..reports import gradescope
from ..runner import Run, RunOptions
from ..scale import Scale
from . import templates
from .gradebook import Settings, grade_class, load_results
from .limits import Limits
from .release import ALWAYS_SKIP, SKIP_TOP, _git_files, _walk
from .rows import FINE, FLAGGED, GRADED, ProjectMax, Row

CONFIG = "iolab-bundle.json"
WORTH = "iolab-worth.json"
COURSE_PARTS = ("grader/", "solutions/", "labs/", "datasets/samples/")
COURSE_FILES = ("pyproject.toml", "README.md", "environment.yml", "Makefile", ".gitignore")


def build(
    projects: Sequence[str],
    out: Path,
    scale: str = "standard",
    extra_tests: Sequence[Path] = (),
    hidden_visibility: str = gradescope.HIDDEN_VISIBILITY,
    show_hidden: bool = False,
    limits: Limits | None = None,
) -> Path:
    """Write the autograder zip; returns its path."""
    if hidden_visibility not in gradescope.VISIBILITIES:
        raise ValueError(f"unknown visibility {hidden_visibility!r}; choose from {', '.join(gradescope.VISIBILITIES)}")
    if not (course.SOLUTIONS / "__init__.py").exists():
        raise LookupError("the bundle is made from the instructor's copy of the course (there is no solutions/ here)")
    limits = limits or Limits.defaults(scale, len(projects))
    config = {
        "projects": list(projects),
        "scale": scale,
        "hidden_visibility": hidden_visibility,
        "show_hidden": show_hidden,
        "limits": limits.to_json(),
        "extra_tests": ["hidden"] if extra_tests else [],
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        _add_text(zf, "setup.sh", templates.GRADESCOPE_SETUP, executable=True)
        _add_text(zf, "run_autograder", templates.GRADESCOPE_RUN, executable=True)
        _add_text(zf, CONFIG, json.dumps(config, indent=1) + "\n")
        for rel in _course_files(course.ROOT):
            zf.write(course.ROOT / rel, f"course/{rel}")
        for folder in extra_tests:
            for project in projects:
                hidden = Path(folder) / project
                for path in sorted(hidden.rglob("*")) if hidden.is_dir() else []:
                    if path.is_file() and "__pycache__" not in path.parts:
                        zf.write(path, f"hidden/{project}/{path.relative_to(hidden).as_posix()}")
            conftest = Path(folder) / "conftest.py"
            if conftest.exists():
                zf.write(conftest, "hidden/conftest.py")
    return out


def _course_files(root: Path) -> list[str]:
    candidates = _git_files(root)
    if candidates is None:
        candidates = sorted(_walk(root))
    keep = []
    for rel in candidates:
        parts = rel.split("/")
        if ALWAYS_SKIP & set(parts) or parts[0] in SKIP_TOP or rel.endswith((".pyc", ".pyo")):
            continue
        if (rel in COURSE_FILES or rel.startswith(COURSE_PARTS)) and (root / rel).is_file():
            keep.append(rel)
    return keep


def _add_text(zf: zipfile.ZipFile, name: str, text: str, executable: bool = False) -> None:
    info = zipfile.ZipInfo(name, date_time=time.localtime()[:6])
    info.external_attr = (0o100755 if executable else 0o100644) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    zf.writestr(info, text)


# ---- inside the Gradescope image ----------------------------------------------------------------


def warm(config_path: Path) -> int:
    """At image build: grade the reference once (it must pass); keep what each project is worth."""
    config = json.loads(config_path.read_text())
    source = config_path.parent
    with tempfile.TemporaryDirectory(prefix="iolab-warm-") as temp:
        settings = _settings(config, source, Path(temp) / "empty", Path(temp) / "out")
        settings.submissions.mkdir()
        grade_class(settings, say=print)
        stored = json.loads((settings.out / "reference.json").read_text())
    (source / WORTH).write_text(json.dumps(stored["worth"], indent=1) + "\n")
    worth = ", ".join(f"{p} {w['max_score']:g} points" for p, w in stored["worth"].items())
    print(f"the reference passes; worth: {worth}")
    return 0


def run(autograder: Path) -> int:
    """Grade ``autograder/submission`` into ``autograder/results/results.json`` (always written)."""
    source = autograder / "source"
    results_path = autograder / "results" / "results.json"
    results_path.parent.mkdir(parents=True, exist_ok=True)
    config = json.loads((source / CONFIG).read_text())
    _write(results_path, _unfinished(config))
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="iolab-gradescope-") as temp:
        entries = Path(temp) / "submissions"
        entries.mkdir()
        upload = _upload(autograder / "submission")
        (entries / ("submission.zip" if upload.is_file() else "submission")).symlink_to(upload)
        settings = _settings(config, source, entries, Path(temp) / "out")
        worth_file = source / WORTH
        if worth_file.exists():
            settings.worth = {p: ProjectMax(**w) for p, w in json.loads(worth_file.read_text()).items()}
        rows = grade_class(settings, say=print)
        results = load_results(settings.out, "submission")
    doc = results_document(rows, results, config, time.monotonic() - started)
    _write(results_path, doc)
    print(f"score {doc['score']:g}; " + "; ".join(f"{r.project}: {r.status} {r.reason}".strip() for r in rows))
    return 0


def _settings(config: dict[str, Any], source: Path, submissions: Path, out: Path) -> Settings:
    return Settings(
        submissions=submissions,
        out=out,
        projects=list(config["projects"]),
        scale=config["scale"],
        jobs=1,
        extra_tests=[source / p for p in config.get("extra_tests", []) if (source / p).is_dir()],
        show_hidden=bool(config.get("show_hidden")),
        limits=Limits(**config["limits"]),
    )


def _upload(folder: Path) -> Path:
    """What the student uploaded: the folder, or the one zip in it (unpacked with the gradebook's
    checks, like any zip submission)."""
    entries = [p for p in folder.iterdir() if not p.name.startswith(".")] if folder.is_dir() else []
    if len(entries) == 1 and entries[0].is_file() and entries[0].suffix.lower() == ".zip":
        return entries[0]
    return folder


def results_document(rows: Sequence[Row], results: dict[str, list[Result]], config: dict, seconds: float) -> dict:
    """results.json (Gradescope's schema) for one submission's rows and results."""
    projects = list(config["projects"])
    found = [r for p in projects for r in results.get(p, [])]
    scale = Scale(config["scale"])
    run = Run(RunOptions(projects, scale=scale.name), Root("labs", None, "submission"), scale, found, seconds)
    doc = gradescope.document(run, bool(config.get("show_hidden")), config.get("hidden_visibility", "after_due_date"))
    notes = []
    for row in rows:
        if row.status in (GRADED, FLAGGED) and not row.reason:
            continue
        ran = sum(r.points for r in results.get(row.project, []) if r.outcome != SKIPPED)
        notes.append(f"{row.project}: {row.status}" + (f" ({row.reason})" if row.reason else ""))
        if row.status not in FINE or row.status == "missing":
            doc["tests"].append(
                {
                    "name": f"{row.project} · could not be graded in full ({row.status})",
                    "score": 0.0,
                    "max_score": max(0.0, row.max_score - ran),
                    "status": "failed",
                    "output": row.reason or row.status,
                    "visibility": "visible",
                }
            )
    doc["score"] = sum(r.score for r in rows)
    doc["execution_time"] = round(seconds)
    if notes:
        doc["output"] += "\n" + "\n".join(notes)
    return doc


def _unfinished(config: dict) -> dict:
    return {
        "score": 0.0,
        "output": "iolab: grading did not finish (the autograder was stopped before writing results). "
        "Please resubmit; if it happens again, tell your instructor.",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [],
    }


def _write(path: Path, doc: dict) -> None:
    temp = path.with_name(path.name + ".tmp")
    temp.write_text(json.dumps(doc, indent=2) + "\n")
    temp.replace(path)


def main(argv: Sequence[str]) -> int:
    if len(argv) == 2 and argv[0] == "warm":
        return warm(Path(argv[1]))
    if len(argv) == 2 and argv[0] == "run":
        return run(Path(argv[1]))
    print("usage: python -m grader.classroom.bundle warm CONFIG | run AUTOGRADER_ROOT", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
