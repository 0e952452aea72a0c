"""The grader against the reference (everything passes) and against fresh stubs (nothing started)."""

from __future__ import annotations

import json

import pytest

from .conftest import projects

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("project", projects())
def test_reference_scores_full_marks(project, run_iolab, tmp_path):
    """`iolab grade PROJECT --impl solutions` (standard scale) passes every test."""
    result = run_iolab("grade", project, "--impl", "solutions", "--format", "json,junit", "--out", str(tmp_path))
    report = json.loads((tmp_path / "report.json").read_text())
    failing = [
        (t["nodeid"], t["outcome"], t["message"][:400])
        for t in report["tests"]
        if t["outcome"] not in ("passed", "skipped")
    ]
    assert not failing, "\n".join(map(str, failing))
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert report["score"] == report["max_score"] > 0
    skipped = [t for t in report["tests"] if t["outcome"] == "skipped"]
    assert all("full" in t["message"] or "needs" in t["message"] for t in skipped), skipped


@pytest.mark.parametrize("project", projects())
def test_fresh_labs_are_not_started(project, run_iolab, tmp_path):
    """`iolab grade PROJECT` on fresh stubs: every test 'not started', no traceback, exit 1."""
    result = run_iolab("grade", project, "--scale", "quick", "--format", "terminal,json", "--out", str(tmp_path))
    assert result.returncode == 1, f"exit {result.returncode}\n{result.stdout[-1500:]}\n{result.stderr[-1500:]}"
    assert "Traceback" not in result.stdout + result.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    wrong = [
        (t["nodeid"], t["outcome"], t["message"][:300])
        for t in report["tests"]
        if t["outcome"] not in ("not started", "skipped")
    ]
    assert not wrong, "\n".join(map(str, wrong))
    assert all(t["message"].startswith("not started: TODO(") for t in report["tests"] if t["outcome"] == "not started")
