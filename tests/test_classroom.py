"""Classroom pieces on their own: hidden tests, student-facing reports, the learner's record,
feedback, finding code in submissions, limits and the harness's clean-up of interrupted tests."""

from __future__ import annotations

import importlib
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
import zipfile
from pathlib import Path

import psutil
import pytest

from grader import state
from grader.classroom import feedback, rows, submissions
from grader.classroom.gradebook import choose_python
from grader.classroom.limits import TOKEN_ENV, Identity, Members
from grader.course import ROOT, SOLUTIONS
from grader.impl import Root
from grader.outcomes import Result
from grader.reports import write as write_reports
from grader.reports.common import WITHHELD
from grader.runner import InfrastructureError, Run, RunOptions, run
from grader.scale import Scale

from . import gradescope_schema
from .synthetic_class import BORROWS_REFERENCE

progress = importlib.import_module("grader.progress")  # `from grader import progress` is the notebook function

SECRET = "the secret edge case is a blank line"
M1 = "Process a huge log with stable memory (streaming)"


def hidden_suite(folder: Path) -> Path:
    """DIR/loglens/ with hidden tests that use the public suite's own fixture (``loglens``)."""
    (folder / "loglens").mkdir(parents=True)
    (folder / "loglens" / "test_hidden_edges.py").write_text(
        textwrap.dedent(
            f'''
            import pytest

            M1 = pytest.mark.milestone(1, "{M1}")


            @M1
            @pytest.mark.points(2)
            def test_hidden_blank_line(loglens):
                """a blank line is malformed"""
                assert loglens.parse_line(b"") is None, "expected None for a blank line"


            @M1
            def test_hidden_impossible(loglens):
                """a check the reference fails on purpose (to see its message withheld)"""
                assert loglens.parse_line(b"") == "nothing", "{SECRET}"
            '''
        )
    )
    return folder


# ---- hidden tests -------------------------------------------------------------------------------


def test_hidden_tests_count_use_the_suites_fixtures_and_stay_hidden(tmp_path):
    hidden = hidden_suite(tmp_path / "hidden")
    done = run(
        RunOptions(
            ["loglens"], impl="solutions", scale="quick", extra_tests=[str(hidden)], keyword="hidden or combined_line"
        )
    )
    by_name = {r.nodeid.split("::")[-1]: r for r in done.results}
    assert by_name["test_hidden_blank_line"].outcome == "passed", by_name["test_hidden_blank_line"].message
    assert by_name["test_hidden_blank_line"].hidden and by_name["test_hidden_blank_line"].points == 2
    assert by_name["test_hidden_blank_line"].milestone == 1
    assert by_name["test_hidden_impossible"].outcome == "failed"
    assert SECRET in by_name["test_hidden_impossible"].message
    assert not by_name["test_parses_a_combined_line_with_request_time"].hidden
    assert by_name["test_hidden_blank_line"].nodeid.startswith("loglens/"), "hidden ids name their project"
    assert done.max_score == 4 and done.score == 3, (done.score, done.max_score)

    out = tmp_path / "reports"
    write_reports(done, ["gradescope", "markdown", "junit", "classroom"], out, hidden_visibility="after_published")
    results = json.loads((out / "results.json").read_text())
    gradescope_schema.validate(results)
    tests = {t["name"].split("· ")[-1]: t for t in results["tests"]}
    assert tests["a blank line is malformed"]["visibility"] == "after_published"
    assert tests["a check the reference fails on purpose (to see its message withheld)"]["output"] == WITHHELD
    assert results["score"] == 3
    for name in ("results.json", "summary.md", "junit.xml", "classroom.json"):
        assert SECRET not in (out / name).read_text(), f"{name} shows a hidden test's message"

    shown = tmp_path / "shown"
    write_reports(done, ["gradescope", "markdown"], shown, show_hidden=True)
    assert SECRET in (shown / "results.json").read_text() and SECRET in (shown / "summary.md").read_text()
    assert '"visibility": "after_due_date"' in (shown / "results.json").read_text(), "the default visibility"

    stubs = run(RunOptions(["loglens"], impl="labs", scale="quick", extra_tests=[str(hidden)], keyword="hidden"))
    assert {r.outcome for r in stubs.results} == {"not started"}, [(r.nodeid, r.message) for r in stubs.results]


def test_hidden_test_with_a_public_tests_id_is_refused(tmp_path):
    folder = tmp_path / "hidden" / "loglens"
    folder.mkdir(parents=True)
    (folder / "test_parse.py").write_text(
        "def test_parses_a_combined_line_with_request_time(loglens):\n    assert loglens, 'x'\n"
    )
    options = RunOptions(["loglens"], impl="solutions", scale="quick", extra_tests=[str(tmp_path / "hidden")])
    options.keyword = "combined_line"
    with pytest.raises(InfrastructureError, match="same id"):
        run(options)


def test_hidden_tests_of_other_projects_are_not_collected(tmp_path):
    hidden = hidden_suite(tmp_path / "hidden")
    (hidden / "safestate").mkdir()
    (hidden / "safestate" / "test_other.py").write_text("def test_other():\n    assert False, 'not this project'\n")
    (hidden / "test_stray.py").write_text("def test_stray():\n    assert False, 'not in a project folder'\n")
    done = run(RunOptions(["loglens"], impl="solutions", scale="quick", extra_tests=[str(hidden)], keyword="hidden"))
    assert {r.nodeid.split("::")[-1] for r in done.results} == {"test_hidden_blank_line", "test_hidden_impossible"}


def test_gradescope_results_of_a_real_run_follow_the_schema(tmp_path):
    done = run(RunOptions(["loglens"], impl="labs", scale="quick", keyword="parse"))
    write_reports(done, ["gradescope"], tmp_path)
    doc = json.loads((tmp_path / "results.json").read_text())
    gradescope_schema.validate(doc)
    assert doc["tests"] and all(t["status"] == "failed" for t in doc["tests"]), "stubs are not started: failed"
    assert all(t["output"].startswith("not started") for t in doc["tests"])


def test_a_checkout_is_graded_not_the_course_labs(tmp_path):
    """``--impl DIR`` with DIR/labs: the checkout's labs run, also in-process (pytest puts the
    course's folder, which has a labs package too, first on sys.path when it imports the suites)."""
    shutil.copytree(SOLUTIONS, tmp_path / "checkout" / "labs", ignore=shutil.ignore_patterns("__pycache__"))
    done = run(RunOptions(["loglens"], impl=str(tmp_path / "checkout"), scale="quick", keyword="parse"))
    assert done.results and all(r.outcome == "passed" for r in done.results), [
        (r.nodeid, r.outcome) for r in done.results if r.outcome != "passed"
    ]


def test_gradescope_visibility_must_be_one_gradescope_knows(tmp_path):
    done = Run(RunOptions(["loglens"]), Root("labs", None, "labs"), Scale("quick"))
    with pytest.raises(ValueError, match="after_due_date"):
        write_reports(done, ["gradescope"], tmp_path, hidden_visibility="after-due-date")


# ---- the learner's record -----------------------------------------------------------------------


def _run(outcomes: dict[str, tuple[int, str]], milestone: int | None = None, label: str = "labs") -> Run:
    results = [
        Result(nodeid=f"demo/test_x.py::{name}", project="demo", name=name, outcome=outcome, milestone=m, points=1)
        for name, (m, outcome) in outcomes.items()
    ]
    for r in results:
        r.score = 1.0 if r.outcome == "passed" else 0.0
    return Run(RunOptions(["demo"], milestone=milestone), Root("labs", None, label), Scale("quick"), results)


def test_record_counts_attempts_and_keeps_the_first_pass(tmp_path):
    path = tmp_path / "progress.json"
    state.record(_run({"a": (1, "failed"), "b": (2, "not started")}), now=1000.0, path=path)
    state.record(_run({"a": (1, "passed"), "b": (2, "failed")}), complete=False, now=2000.0, path=path)
    state.record(_run({"a": (1, "passed"), "b": (2, "failed")}), now=3000.0, path=path)
    state.record(_run({"a": (1, "failed"), "b": (2, "failed")}), now=4000.0, path=path)
    doc = state.load(path)
    demo = doc["projects"]["demo"]
    assert demo["attempts"] == 4 and demo["first_attempt"] == 1000.0 and demo["last_attempt"] == 4000.0
    assert demo["best_score"] == 1.0 and demo["max_score"] == 2.0
    m1, m2 = demo["milestones"]["1"], demo["milestones"]["2"]
    assert m1["first_pass"] == 3000.0, "a -k run (complete=False) never marks a pass; a later regression keeps it"
    assert m1["attempts_to_pass"] == 3 and m1["attempts"] == 4
    assert m2["first_pass"] is None and m2["attempts"] == 4
    assert not list(tmp_path.glob(".progress-*")), "no temporary file left behind"
    assert state.reset(path) and not path.exists() and not state.reset(path)


def test_record_survives_two_writers_at_once(tmp_path):
    path = tmp_path / "progress.json"
    code = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(ROOT)!r})
        from pathlib import Path
        from tests.test_classroom import _run
        from grader import state
        for _ in range(25):
            state.record(_run({{"a": (1, "failed")}}), path=Path({str(path)!r}))
        """
    )
    writers = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(2)]
    for writer in writers:
        assert writer.wait(timeout=120) == 0
    assert state.load(path)["projects"]["demo"]["attempts"] == 50, "an attempt was lost between two writers"


def test_record_is_only_for_the_learners_labs(tmp_path, monkeypatch):
    monkeypatch.setenv("IOLAB_STATE_DIR", str(tmp_path))
    state.maybe_record(_run({"a": (1, "passed")}, label="solutions"))
    assert not state.state_file().exists()
    monkeypatch.setenv("IOLAB_RECORD", "0")
    state.maybe_record(_run({"a": (1, "passed")}))
    assert not state.state_file().exists()
    monkeypatch.delenv("IOLAB_RECORD")
    state.maybe_record(_run({"a": (1, "passed")}))
    assert state.load()["projects"]["demo"]["attempts"] == 1


def test_progress_table_shows_bars_attempts_and_first_passes(tmp_path):
    from rich.console import Console

    path = tmp_path / "progress.json"
    record = state.record(_run({"a": (1, "passed"), "b": (2, "failed")}), now=time.time() - 3700, path=path)
    record = state.record(_run({"a": (1, "passed"), "b": (2, "passed")}), path=path)
    row = progress.Row("demo", "Demo", {1: (progress.PASSED_ALL, "one"), 2: (progress.PASSED_ALL, "two")}, 1, 2)
    console = Console(record=True, width=160)
    console.print(progress.render([row], record))
    text = console.export_text()
    assert "50%" in text and "█" in text, text
    assert "first passed" in text and "attempt 2, 1h 01m after the first" in text, text
    page = progress.render_html([row], record)
    assert "first passed" in page and "<td>2</td>" in page


def test_iolab_progress_reset(run_iolab, tmp_path):
    path = tmp_path / "progress.json"
    state.record(_run({"a": (1, "passed")}), path=path)
    done = run_iolab("progress", "--reset", env={"IOLAB_STATE_DIR": str(tmp_path)})
    assert done.returncode == 0 and "cleared" in done.stdout and not path.exists(), done.stdout + done.stderr
    again = run_iolab("progress", "--reset", env={"IOLAB_STATE_DIR": str(tmp_path)})
    assert "nothing to clear" in again.stdout


# ---- feedback and rows --------------------------------------------------------------------------


def test_feedback_withholds_hidden_tests_unless_asked(tmp_path):
    results = [
        Result("loglens/test_a.py::test_a", "loglens", "public <check>", "failed", message="expected 1, got 2"),
        Result("loglens/test_h.py::test_h", "loglens", "hidden name", "failed", message=SECRET, hidden=True),
        Result("loglens/test_p.py::test_p[x1]", "loglens", "param", "not started", message="not started: TODO(x)"),
    ]
    row = rows.Row("ann", "loglens", 0, 3, rows.GRADED, milestone_max={"1": 3.0}, milestones={"1": 0.0})
    written = feedback.write("ann", [row], {"loglens": results}, tmp_path, show_hidden=False)
    md, page = (p.read_text() for p in written)
    for text in (md, page):
        assert SECRET not in text and "hidden name" not in text and "hidden test 1" in text
        assert "expected 1, got 2" in text and "param [x1]" in text
    assert "public &lt;check&gt;" in page, "HTML is escaped"
    md_shown = feedback.markdown("ann", [row], {"loglens": results}, show_hidden=True)
    assert SECRET in md_shown and "hidden name (hidden)" in md_shown


def test_a_submission_that_imports_the_reference_is_flagged(tmp_path):
    code = tmp_path / "code"
    labs = code / "labs" / "loglens"
    labs.mkdir(parents=True)
    (code / "labs" / "__init__.py").write_text("")
    for path in (SOLUTIONS / "loglens").glob("*.py"):
        (labs / path.name).write_text(path.read_text())
    with (labs / "parse.py").open("a") as f:
        f.write(BORROWS_REFERENCE)
    out = tmp_path / "out" / "loglens"
    out.mkdir(parents=True)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    subprocess.run(
        [sys.executable, "-m", "grader.classroom.preflight", str(code), "loglens", str(out / "preflight.json")],
        env=env,
        check=True,
        timeout=120,
    )
    report = json.loads((out / "preflight.json").read_text())
    assert report["status"] == "ok" and "solutions.loglens.parse" in report["imports_reference"], report
    (out / "done.json").write_text(json.dumps({"elapsed": 1.0}))
    row, _ = rows.compose("nina", "loglens", out, None, None)
    assert row.status == rows.FLAGGED and "imports the reference" in row.reason


# ---- finding the code in a submission -----------------------------------------------------------


def _labs(folder: Path) -> Path:
    (folder / "loglens").mkdir(parents=True)
    (folder / "loglens" / "__init__.py").write_text("X = 1\n")
    return folder


def test_submissions_are_found_in_every_usual_shape(tmp_path):
    entries = tmp_path / "class"
    _labs(entries / "alice" / "labs")  # a checkout
    _labs(entries / "bob")  # the labs folder itself
    _labs(entries / "carol" / "carol-main" / "labs")  # one top folder around it
    packed = _labs(tmp_path / "dan-src" / "repo-main" / "labs")
    with zipfile.ZipFile(entries / "dan.zip", "w") as zf:
        for path in packed.rglob("*"):
            zf.write(path, path.relative_to(tmp_path / "dan-src").as_posix())
    _labs(entries / "dan")  # same name as the zip: both are kept, told apart
    (entries / ".DS_Store").write_text("")
    (entries / "_notes").mkdir()
    (entries / "README.txt").write_text("not a submission")
    (entries / "éva müller").mkdir()
    found = submissions.discover(entries)
    assert [s.student for s in found] == ["alice", "bob", "carol", "dan", "dan.zip", "va_m_ller"]
    for sub in found[:5]:
        before = submissions.fingerprint(sub)
        root = submissions.materialize(sub, tmp_path / "graded" / sub.student)
        assert (root / "labs" / "loglens" / "__init__.py").read_text() == "X = 1\n"
        assert (root / "labs" / "__init__.py").exists()
        assert submissions.fingerprint(sub) == before, "grading must not change the original"
    with pytest.raises(submissions.InvalidSubmission, match="no labs/ folder"):
        submissions.materialize(found[5], tmp_path / "graded" / "eva")


def test_a_zip_that_reaches_outside_its_folder_or_is_too_big_is_refused(tmp_path, monkeypatch):
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("labs/loglens/__init__.py", "")
        zf.writestr("../../outside.py", "print('escaped')")
    with pytest.raises(submissions.InvalidSubmission, match="outside its own folder"):
        submissions.materialize(submissions.Submission("evil", evil), tmp_path / "out")
    assert not (tmp_path / "outside.py").exists()
    big = tmp_path / "big.zip"
    with zipfile.ZipFile(big, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("labs/loglens/__init__.py", "x" * 5000)
    monkeypatch.setattr(submissions, "MAX_BYTES", 1000)
    with pytest.raises(submissions.InvalidSubmission, match="limits"):
        submissions.materialize(submissions.Submission("big", big), tmp_path / "out2")


# ---- limits, users, processes -------------------------------------------------------------------


def test_processes_of_a_submission_are_found_and_all_killed(tmp_path):
    token = "test-token-" + str(os.getpid())
    env = dict(os.environ, **{TOKEN_ENV: token})
    # a parent that starts a child in a session of its own, then both sleep
    code = "import subprocess, time; subprocess.Popen(['sleep', '300'], start_new_session=True); time.sleep(300)"
    parent = subprocess.Popen([sys.executable, "-c", code], env=env, start_new_session=True)
    members = Members(None, token)
    deadline = time.monotonic() + 20
    while len(members.pids()) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(members.pids()) == 2, members.pids()
    assert members.kill_all() and not members.pids()
    parent.wait(timeout=10)
    if os.geteuid() == 0:  # by user: everything that user runs goes at once
        identity = Identity(60690, 60690)
        for _ in range(3):
            subprocess.Popen(["sleep", "300"], user=identity.uid, group=identity.gid, start_new_session=True)
        time.sleep(0.3)
        assert len(Members(identity, "").pids()) == 3
        assert Members(identity, "").kill_all() and not Members(identity, "").pids()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to start a process as another user")
def test_harness_limits_stay_under_the_graders_own(tmp_path):
    """Under the gradebook's lower hard limits, a test's ``limits(memory=4 GB)`` must not fail
    (only root may raise a hard limit): the lower of the two applies."""
    identity = Identity(65534, 65534)
    python, site = choose_python(identity)
    code = textwrap.dedent(
        """
        import resource, subprocess, sys
        from grader.harness.proc import limits
        resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))
        resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))
        probe = "import resource as r; print(*r.getrlimit(r.RLIMIT_AS), *r.getrlimit(r.RLIMIT_FSIZE))"
        cap = limits(4 << 30, fsize=8 << 20)
        out = subprocess.run([sys.executable, "-c", probe], preexec_fn=cap, capture_output=True)
        print(out.stdout.decode().strip())
        """
    )
    done = subprocess.run(
        [python, "-c", code],
        env={"PYTHONPATH": os.pathsep.join([str(ROOT), *site]), "PATH": os.environ["PATH"]},
        user=identity.uid,
        group=identity.gid,
        extra_groups=[],
        cwd="/",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(3 << 30)] * 2 + [str(1 << 20)] * 2, done.stdout


def test_an_interrupted_measure_kills_its_program_and_leaves_no_timer():
    """A test's own timeout interrupts ``measure``: the program dies with it, and no timer thread
    keeps the test process alive (it used to wait out the full 600 s at exit)."""
    from grader.harness.rss import measure

    class Interrupted(Exception):  # noqa: N818 (what happened, not an error)
        pass

    def interrupt(*_):
        raise Interrupted

    before = {t.ident for t in threading.enumerate()}
    old = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, 0.5)
    try:
        with pytest.raises(Interrupted):
            measure(["sleep", "30"], timeout=600, interval=0.05)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    mine = [p for p in psutil.Process().children() if p.status() != psutil.STATUS_ZOMBIE]
    assert not [p for p in mine if p.cmdline() == ["sleep", "30"]], "the measured program outlived its test"
    lingering = [t for t in threading.enumerate() if t.ident not in before and not t.daemon and t.is_alive()]
    assert not lingering, f"threads that would keep the test process alive: {lingering}"


def test_a_reader_that_goes_away_is_not_an_error(tmp_path):
    """`iolab ... | head`: when the reader closes the pipe, exit 141 without a traceback."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), IOLAB_STATE_DIR=str(tmp_path))
    read, write = os.pipe()
    os.close(read)
    with os.fdopen(write, "wb") as closed:
        done = subprocess.run(
            [sys.executable, "-m", "grader", "progress", "--reset"],
            stdout=closed,
            stderr=subprocess.PIPE,
            env=env,
            timeout=120,
            check=False,
        )
    assert done.returncode == 141 and b"Traceback" not in done.stderr, done.stderr.decode()
