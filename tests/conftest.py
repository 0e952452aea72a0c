"""The course's own tests: the grader against the reference, the stubs, planted bugs, notebooks, tools."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from grader.course import ROOT, available_projects

IOLAB = [sys.executable, "-m", "grader"]


def projects() -> list[str]:
    return [p.name for p in available_projects()]


def iolab(*args: str, env: dict[str, str] | None = None, timeout: float = 1800, cwd: Path | None = None):
    """Run the real `iolab` command (as `python -m grader`) from the course root."""
    full = dict(os.environ)
    full["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), full.get("PYTHONPATH")]))
    full.pop("IOLAB_IMPL", None)
    full.pop("IOLAB_SCALE", None)
    if env:
        full.update(env)
    return subprocess.run(
        [*IOLAB, *args], cwd=cwd or ROOT, env=full, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture
def run_iolab():
    return iolab


@pytest.fixture(scope="session", autouse=True)
def _learner_record_elsewhere(tmp_path_factory):
    """The course's own runs of `iolab grade` on labs must not add attempts to the record of
    whoever runs the tests (grader.state): point it at a temporary folder."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("IOLAB_STATE_DIR", str(tmp_path_factory.mktemp("learner-state")))
        yield
