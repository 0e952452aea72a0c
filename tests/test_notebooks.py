"""Notebooks: stored without outputs, and every one runs top to bottom against the reference."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from grader.course import NOTEBOOKS, ROOT

ALL = sorted(p for p in NOTEBOOKS.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def test_there_are_notebooks():
    assert (NOTEBOOKS / "00-start-here.ipynb").exists()


@pytest.mark.parametrize("path", ALL, ids=[str(p.relative_to(NOTEBOOKS)) for p in ALL])
def test_stored_without_outputs(path):
    nb = json.loads(path.read_text())
    dirty = [i for i, c in enumerate(nb["cells"]) if c.get("outputs") or c.get("execution_count") is not None]
    assert not dirty, f"{path.name}: cells {dirty} have outputs or execution counts; clear them before committing"


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
