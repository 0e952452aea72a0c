"""Every report format from one run: fields per each consumer's spec, hidden tests withheld."""

from __future__ import annotations

import base64
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from grader import impl, scale
from grader.outcomes import Result
from grader.reports import FORMATS, classroom, gradescope, parse_formats, write
from grader.runner import Run, RunOptions

GRADESCOPE_STATUS = {"passed", "failed"}
GRADESCOPE_VISIBILITY = {"hidden", "after_due_date", "after_published", "visible"}


def fake_run() -> Run:
    results = [
        Result("loglens/test_a.py::test_ok", "loglens", "works", "passed", 2.0, 2.0, 1, "M1", duration=0.5),
        Result(
            "loglens/test_a.py::test_bad",
            "loglens",
            "breaks",
            "failed",
            1.0,
            0.0,
            1,
            "M1",
            message="expected 3, got 4",
            hint=2,
            hint_count=4,
            hint_text="Make parsing a stage.",
        ),
        Result(
            "loglens/test_b.py::test_todo",
            "loglens",
            "todo",
            "not started",
            1.0,
            0.0,
            2,
            "M2",
            message="not started: TODO(loglens.parse_line): match the line",
        ),
        Result(
            "loglens/test_b.py::test_crash",
            "loglens",
            "crash",
            "error",
            1.0,
            0.0,
            2,
            "M2",
            message="your code raised KeyError: 'x'",
        ),
        Result(
            "loglens/test_c.py::test_big",
            "loglens",
            "big",
            "skipped",
            1.0,
            0.0,
            1,
            "M1",
            message="runs at --scale full",
        ),
        Result(
            "hidden/loglens/test_h.py::test_secret",
            "loglens",
            "secret",
            "failed",
            3.0,
            0.0,
            2,
            "M2",
            message="the secret expectation",
            hidden=True,
        ),
    ]
    run = Run(RunOptions(["loglens"]), impl.resolve("solutions"), scale.resolve("quick"), results=results)
    run.elapsed = 12.3
    return run


def test_format_names():
    assert parse_formats("json, junit") == ["json", "junit"]
    with pytest.raises(ValueError, match="unknown report format"):
        parse_formats("json,pdf")


def test_gradescope_results_json():
    doc = gradescope.document(fake_run())
    assert doc["score"] == 2.0 and sum(t["max_score"] for t in doc["tests"]) == 8.0, "skipped tests count for nothing"
    assert "max_score" not in doc, "Gradescope's results.json has no top-level max_score (only per test)"
    assert doc["extra_data"]["max_score"] == 8.0
    assert isinstance(doc["execution_time"], int) and doc["visibility"] in GRADESCOPE_VISIBILITY
    assert isinstance(doc["output"], str) and len(doc["tests"]) == 5
    for test in doc["tests"]:
        assert set(test) >= {"name", "score", "max_score", "status", "output", "visibility"}
        assert test["status"] in GRADESCOPE_STATUS and test["visibility"] in GRADESCOPE_VISIBILITY
        assert isinstance(test["score"], float | int) and 0 <= test["score"] <= test["max_score"]
    secret = next(t for t in doc["tests"] if "secret" in t["name"])
    assert secret["visibility"] == "after_due_date"
    assert "the secret expectation" not in secret["output"], "hidden messages are withheld by default"
    assert (
        "the secret expectation"
        in next(t for t in gradescope.document(fake_run(), show_hidden=True)["tests"] if "secret" in t["name"])[
            "output"
        ]
    )
    failing = next(t for t in doc["tests"] if "breaks" in t["name"])
    assert "expected 3, got 4" in failing["output"] and "hint 2 of 4" in failing["output"]


def test_classroom_runner_json_and_points_line():
    run = fake_run()
    doc = classroom.document(run)
    assert doc["version"] == 1 and doc["status"] in {"pass", "fail", "error"} and doc["max_score"] == 8.0
    assert {t["status"] for t in doc["tests"]} <= {"pass", "fail", "error"}
    assert sum(t["score"] for t in doc["tests"]) == run.score
    assert json.loads(base64.b64decode(classroom.encoded(run))) == doc
    assert classroom.points_line(run) == "Points 2/8"


def test_every_file_format_is_written_and_parses(tmp_path):
    paths = write(fake_run(), [f for f in FORMATS if f != "terminal"], tmp_path)
    names = {p.name for p in paths}
    assert {"report.json", "junit.xml", "results.json", "classroom.json", "summary.md", "scores.png"} <= names
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["score"] == 2.0 and len(report["tests"]) == 6
    suite = ET.parse(tmp_path / "junit.xml").getroot().find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"), suite.get("skipped")) == (
        "6",
        "3",
        "1",
        "1",
    )
    markdown = (tmp_path / "summary.md").read_text()
    assert "loglens: 2 / 8" in markdown and "expected 3, got 4" in markdown
    assert "the secret expectation" not in markdown


def test_markdown_goes_to_the_github_step_summary(tmp_path, monkeypatch):
    summary = tmp_path / "step-summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    write(fake_run(), ["markdown"], tmp_path / "out")
    assert "## iolab: 2 / 8 points" in summary.read_text()


@pytest.mark.slow
def test_a_real_run_writes_every_format(run_iolab, tmp_path: Path):
    result = run_iolab(
        "grade", "loglens", "--impl", "solutions", "--scale", "quick", "--format", "all", "--out", str(tmp_path)
    )
    assert result.returncode == 0, result.stdout[-1500:] + result.stderr[-1500:]
    assert "Points " in result.stdout and "::notice" in result.stdout
    doc = json.loads((tmp_path / "results.json").read_text())
    assert doc["score"] == sum(t["max_score"] for t in doc["tests"]) > 0
    ET.parse(tmp_path / "junit.xml")
    plots = list((tmp_path / "plots").glob("*.png"))
    assert any("memory-timeline" in p.name for p in plots), "stress plots are collected into the report"
