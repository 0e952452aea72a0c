"""Notebooks: stored without outputs, never importing or running the reference directly (a
student copy has none), and every one runs top to bottom against the reference."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from grader.classroom.release import reference_uses, strip_notebook
from grader.course import NOTEBOOKS, ROOT, SUITES

ALL = sorted(p for p in NOTEBOOKS.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
HELPERS = sorted(p for p in NOTEBOOKS.rglob("*.py") if ".ipynb_checkpoints" not in p.parts)


def test_there_are_notebooks():
    assert (NOTEBOOKS / "00-start-here.ipynb").exists()


@pytest.mark.parametrize("path", ALL, ids=[str(p.relative_to(NOTEBOOKS)) for p in ALL])
def test_stored_without_outputs(path):
    nb = json.loads(path.read_text())
    dirty = [i for i, c in enumerate(nb["cells"]) if c.get("outputs") or c.get("execution_count") is not None]
    assert not dirty, f"{path.name}: cells {dirty} have outputs or execution counts; clear them before committing"


@pytest.mark.parametrize("path", ALL + HELPERS, ids=[str(p.relative_to(NOTEBOOKS)) for p in ALL + HELPERS])
def test_code_never_uses_the_reference_directly(path):
    """A student copy (iolab release) has no solutions/: a cell that imports it, or runs
    `python -m solutions.x`, or names it as the code to run, fails there. Experiments go through
    grader.impl.resolve() (the learner's labs; the reference under IOLAB_IMPL=solutions) and
    grader.experiment.reference() where comparing with the reference is optional."""
    text = path.read_text(encoding="utf-8")
    uses = strip_notebook(text)[1] if path.suffix == ".ipynb" else reference_uses(text)
    assert not uses, (
        f"{path.relative_to(ROOT)} uses the reference directly, which a student copy does not have:\n  "
        + "\n  ".join(uses)
    )


@pytest.mark.parametrize("hints", sorted(SUITES.glob("*/hints.toml")), ids=lambda p: p.parent.name)
def test_hints_never_send_a_learner_to_the_reference(hints):
    """Hints are read in the student copy, which has no solutions/ to run or read."""
    found = [line for line in hints.read_text(encoding="utf-8").splitlines() if re.search(r"\bsolutions\b", line)]
    assert not found, f"{hints.relative_to(ROOT)} names solutions/, which a student copy does not have: {found}"


@pytest.mark.slow
@pytest.mark.parametrize("path", ALL, ids=[str(p.relative_to(NOTEBOOKS)) for p in ALL])
def test_notebook_executes(path, tmp_path):
    """Runs like CI does: pytest --nbval-lax with IOLAB_IMPL=solutions at quick scale."""
    env = dict(os.environ, IOLAB_IMPL="solutions", IOLAB_SCALE="quick", MPLBACKEND="Agg")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--nbval-lax",
            "-q",
            "-p",
            "no:cacheprovider",
            "--nbval-cell-timeout=600",
            "-o",
            "addopts=",
            str(path),
        ],
        cwd=path.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert result.returncode == 0, f"{path.name} failed under nbval:\n{result.stdout[-4000:]}\n{result.stderr[-2000:]}"
