"""`iolab release`: the student copy works without the reference and never contains it; the
GitHub Classroom workflow it ships is valid and does what it says."""

from __future__ import annotations

import base64
import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from grader import stubs
from grader.classroom import release as release_mod
from grader.classroom.templates import CLASSROOM_WORKFLOW
from grader.cli import _parser
from grader.course import NOTEBOOKS, ROOT, SOLUTIONS

pytestmark = pytest.mark.slow


def test_the_release_is_a_working_student_copy(run_iolab, tmp_path):
    out = tmp_path / "student"
    done = run_iolab("release", "--out", str(out), "--check")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "its own quick check:" in done.stdout and "not started" in done.stdout, done.stdout

    assert not (out / "solutions").exists() and not (out / "tests" / "variants").exists()
    shipped_tests = {p.name for p in (out / "tests").glob("*.py")}
    for course_only in ("test_grading.py", "test_variants.py", "test_stubs.py", "test_signatures.py"):
        assert course_only not in shipped_tests, f"{course_only} needs the reference; it must stay out"
    for path in (out / "tests").glob("*.py"):
        assert "solutions" not in path.read_text(), f"{path.name} mentions the reference"
    planned = stubs.plan(SOLUTIONS, out / "labs")
    assert stubs.drift(planned, out / "labs") == [], "labs/ must be freshly generated stubs"
    assert "## For students" in (out / "README.md").read_text()
    assert "## For course maintainers" not in (out / "README.md").read_text()
    assert (out / ".github" / "workflows" / "classroom.yml").read_text() == CLASSROOM_WORKFLOW
    for notebook in out.rglob("*.ipynb"):
        cells = json.loads(notebook.read_text())["cells"]
        assert all(not c.get("outputs") and c.get("execution_count") is None for c in cells), notebook
    for helper in NOTEBOOKS.rglob("*.py"):  # modules the notebooks import (crashlab.py) ship with them
        assert (out / helper.relative_to(ROOT)).is_file(), f"{helper.relative_to(ROOT)} is missing from the copy"

    # `iolab demo` runs the reference: in the copy it must say so in one line and exit 2
    env = {k: v for k, v in os.environ.items() if not k.startswith("IOLAB_")}
    env["PYTHONPATH"] = str(out)
    demo = subprocess.run(
        [sys.executable, "-m", "grader", "demo", "loglens", "--scale", "quick"],
        cwd=out,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert demo.returncode == 2, demo.stdout + demo.stderr
    assert len(demo.stderr.strip().splitlines()) == 1 and "reference solution" in demo.stderr, demo.stderr

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=out, capture_output=True, text=True, check=True).stdout.strip()

    assert git("rev-list", "--count", "HEAD") == "1", "a fresh history: one commit"
    assert git("status", "--porcelain") == "", "the check left files behind in the copy"
    again = run_iolab("release", "--out", str(out))
    assert again.returncode == 2 and "not empty" in again.stderr, again.stderr


def test_a_leaked_solution_fails_the_release_loudly(tmp_path):
    """A misspelled marker pair makes the stub generator copy a region through: the scan, which
    matches markers loosely, must catch it, and nothing may be left in --out."""
    course_copy = tmp_path / "course"
    shutil.copytree(
        ROOT,
        course_copy,
        ignore=shutil.ignore_patterns(".git", ".venv", "__pycache__", "generated", ".*cache", ".hypothesis"),
    )
    parse = course_copy / "solutions" / "loglens" / "parse.py"
    text = parse.read_text()
    begin = text.index("# BEGIN SOLUTION")
    end = text.index("# END SOLUTION", begin)
    region = text[begin:end]
    parse.write_text(
        text[:begin] + region.replace("# BEGIN SOLUTION", "# begin solutions", 1) + "# end solutions" + text[end + 14 :]
    )
    out = tmp_path / "student"
    with pytest.raises(release_mod.ReleaseError, match="leaked") as caught:
        release_mod.release(out, source=course_copy)
    assert "solutions/loglens/parse.py" in str(caught.value) and "labs/loglens/parse.py" in str(caught.value)
    assert not out.exists(), "a copy that leaks must not be left where it could be handed out"


def test_the_scan_finds_a_region_pasted_anywhere_in_labs_or_notebooks(tmp_path):
    labs = tmp_path / "labs"
    stubs.write(stubs.plan(SOLUTIONS, labs), labs)
    assert release_mod.scan(SOLUTIONS, [labs]) == [], "fresh stubs leak nothing"
    region = max(release_mod.regions(SOLUTIONS), key=lambda r: len(r.lines))
    helper = labs / "loglens" / "my_helpers.py"
    helper.write_text("def mine(x):\n" + "".join(f"    {line}\n" for line in region.lines))
    notebook = tmp_path / "notebooks" / "nb.ipynb"
    notebook.parent.mkdir()
    notebook.write_text(json.dumps({"cells": [{"cell_type": "code", "source": ["\n".join(region.lines)]}]}))
    leaks = release_mod.scan(SOLUTIONS, [labs, tmp_path / "notebooks"])
    assert {Path(leak.found_in).name for leak in leaks} == {"my_helpers.py", "nb.ipynb"}, leaks


def test_notebooks_are_stripped_and_reference_uses_reported():
    nb = {
        "cells": [
            {"cell_type": "code", "execution_count": 3, "outputs": [{"output_type": "stream"}], "metadata": {},
             "source": ["from solutions.loglens import parse_line\n"]},
            {"cell_type": "markdown", "metadata": {}, "source": ["# title"]},
        ],
        "metadata": {"widgets": {"state": {}}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }  # fmt: skip
    text, uses = release_mod.strip_notebook(json.dumps(nb))
    stripped = json.loads(text)
    assert uses == ["cell 1: line 1: from solutions.loglens import ..."], uses
    assert stripped["cells"][0]["outputs"] == [] and stripped["cells"][0]["execution_count"] is None
    assert "widgets" not in stripped["metadata"] and stripped["cells"][1]["source"] == ["# title"]


def test_the_classroom_workflow_is_valid_and_its_command_does_what_it_promises(run_iolab, tmp_path):
    doc = yaml.safe_load(CLASSROOM_WORKFLOW)
    triggers = doc.get("on", doc.get(True))  # YAML 1.1 reads a bare `on` as true
    assert "push" in triggers
    assert doc["permissions"]["checks"] == "write", "the grading reporter updates a check run"
    (job,) = doc["jobs"].values()
    assert job["name"] == "Autograding Tests", "the check run the Classroom reads is named so"
    steps = job["steps"]
    uses = [s.get("uses", "") for s in steps]
    for action in ("actions/checkout@", "actions/setup-python@"):
        assert any(u.startswith(action) for u in uses), f"no {action} step"
    grade = next(s for s in steps if "iolab grade" in s.get("run", ""))
    argv = shlex.split(grade["run"])
    assert argv[0] == "iolab"
    args = _parser().parse_args(argv[1:])  # the command exists and takes these options
    formats = args.format.split(",")
    assert {"markdown", "classroom", "plots"} <= set(formats) and args.out == "reports"
    reporter = next(s for s in steps if "autograding-grading-reporter" in s.get("uses", ""))
    runner = reporter["with"]["runners"]
    assert reporter["env"][f"{runner.upper()}_RESULTS"] == f"${{{{ steps.{grade['id']}.outputs.result }}}}"
    assert "always()" in reporter["if"]
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert upload["with"]["path"].rstrip("/") == args.out and "always()" in upload["if"]

    # run it as the workflow does, in a GitHub-like environment, on fresh labs
    outputs, summary = tmp_path / "github_output", tmp_path / "step_summary"
    env = {"GITHUB_OUTPUT": str(outputs), "GITHUB_STEP_SUMMARY": str(summary), "IOLAB_SCALE": "quick"}
    done = run_iolab(*argv[1:-1], str(tmp_path / "reports"), "loglens", env=env)
    assert done.returncode == 1, "fresh labs: some tests not started, exit 1"
    assert "::notice title=Autograding complete::Points 0/" in done.stdout, done.stdout[-500:]
    (line,) = [x for x in outputs.read_text().splitlines() if x.startswith("result=")]
    result = json.loads(base64.b64decode(line.removeprefix("result=")))
    assert result["status"] == "fail" and result["max_score"] > 0 and result["tests"]
    assert summary.read_text().startswith("## iolab: 0 / ")
    assert (tmp_path / "reports" / "plots" / "scores.png").exists()


@pytest.mark.parametrize(
    ("code", "uses"),
    [
        ("import solutions.runtime as rt", 1),
        ("import os, solutions", 1),
        ("from solutions.loglens import parse_line", 1),
        ('argv = [sys.executable, "-m", "solutions.loglens", "summary", path]', 1),
        ('root = resolve("solutions")', 1),
        ('crashlab.kill_experiment("atomic", 40, impl="solutions")', 1),
        ('program = "import sys; from solutions.safestate.atomic import write_atomic"', 1),
        ('subprocess.run("python -m solutions.runtime serve", shell=True)', 1),
        ("!python -m solutions.loglens summary big.log", 1),  # IPython shell escape
        ("x = await run()\nimport solutions", 1),  # top-level await parses
        ("def broken(:\n    import solutions", 1),  # not Python at all: judged line by line
        ("from grader.impl import resolve\nROOT = resolve()", 0),
        ('loglens = ROOT.module("loglens")', 0),
        ('if ROOT.package == "solutions":\n    print("IOLAB_IMPL=solutions: yours is the reference")', 0),
        ('client = f"from {ROOT.package}.runtime.workloads import probe_clients"', 0),
        ("# python -m solutions.loglens, in a comment", 0),
        ("from .solutions import helper", 0),  # a relative import is some other package
    ],
)
def test_reference_uses_in_notebook_code(code, uses):
    found = release_mod.reference_uses(code)
    assert len(found) == uses, f"{code!r}: expected {uses} use(s) of the reference, found {found}"


def test_a_notebook_that_needs_the_reference_fails_the_release(tmp_path):
    """A cell that imports solutions would fail in the student copy: `iolab release` must refuse
    (exit 1), say which notebook and cell, and leave nothing in --out."""
    course_copy = tmp_path / "course"
    shutil.copytree(
        ROOT,
        course_copy,
        ignore=shutil.ignore_patterns(".git", ".venv", "__pycache__", "generated", ".*cache", ".hypothesis"),
    )
    notebook = course_copy / "notebooks" / "01-loglens" / "01-streams-and-backpressure.ipynb"
    nb = json.loads(notebook.read_text())
    cell = {"cell_type": "code", "execution_count": None, "id": "uses-ref", "metadata": {}, "outputs": []}
    nb["cells"].insert(2, {**cell, "source": ["from solutions.loglens import parse_line\n"]})
    notebook.write_text(json.dumps(nb, indent=1))
    helper = course_copy / "notebooks" / "02-safestate" / "crashlab.py"
    helper.write_text(helper.read_text() + '\n\nDEMO = ["python", "-m", "solutions.safestate"]\n')

    out = tmp_path / "student"
    env = {k: v for k, v in os.environ.items() if not k.startswith("IOLAB_")}
    env["PYTHONPATH"] = str(course_copy)  # the copy's own grader, so that its folder is the course
    done = subprocess.run(
        [sys.executable, "-m", "grader", "release", "--out", str(out)],
        cwd=course_copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    message = " ".join(done.stderr.split())  # rich wraps long lines
    assert "01-streams-and-backpressure.ipynb, cell 3: line 1: from solutions.loglens import" in message, message
    assert "crashlab.py: line" in message and "solutions.safestate" in message, message
    assert not out.exists(), "a copy whose notebooks need the reference must not be left where it could be handed out"
