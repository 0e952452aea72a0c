"""The runner: results per test, survival when the test process dies, timeouts, hidden tests."""

from __future__ import annotations

import textwrap

import pytest

from grader.runner import InfrastructureError, RunOptions, run

pytestmark = pytest.mark.slow


def extra(tmp_path, body: str):
    folder = tmp_path / "extra" / "loglens"
    folder.mkdir(parents=True)
    (folder / "test_runnerdemo.py").write_text(textwrap.dedent(body))
    return tmp_path / "extra"


# jobs=2: pytest-xdist workers, as `iolab check` runs them on a machine with two cores or more
JOBS = pytest.mark.parametrize("jobs", [1, 2])


def by_name(done):
    return {r.nodeid.split("::")[-1]: r for r in done.results}


@JOBS
def test_a_dead_test_process_loses_nothing_else(tmp_path, jobs):
    tests = extra(
        tmp_path,
        """
        import os, signal

        def test_runnerdemo_first():
            pass

        def test_runnerdemo_dies():
            os.kill(os.getpid(), signal.SIGKILL)

        def test_runnerdemo_after():
            pass
    """,
    )
    done = run(
        RunOptions(
            ["loglens"], impl="solutions", scale="quick", extra_tests=[str(tests)], keyword="runnerdemo", jobs=jobs
        )
    )
    got = by_name(done)
    assert set(got) == {"test_runnerdemo_first", "test_runnerdemo_dies", "test_runnerdemo_after"}
    assert got["test_runnerdemo_first"].outcome == "passed" and got["test_runnerdemo_after"].outcome == "passed"
    assert got["test_runnerdemo_dies"].outcome == "error" and "died" in got["test_runnerdemo_dies"].message
    assert done.restarts == 1
    assert all(r.hidden for r in done.results), "tests from --extra-tests are hidden"


@JOBS
def test_timeouts_stubs_and_crashes_are_told_apart(tmp_path, jobs):
    tests = extra(
        tmp_path,
        """
        import time
        import pytest

        @pytest.mark.timeout(1)
        def test_runnerdemo_hangs():
            time.sleep(30)

        def test_runnerdemo_stub():
            raise NotImplementedError("TODO(loglens.parse_line): match the line")

        def test_runnerdemo_assert():
            assert 1 == 2, "expected one thing, got another"

        def test_runnerdemo_crash(impl):
            impl("loglens").parse_line(None)
    """,
    )
    got = by_name(
        run(
            RunOptions(
                ["loglens"], impl="solutions", scale="quick", extra_tests=[str(tests)], keyword="runnerdemo", jobs=jobs
            )
        )
    )
    assert (
        got["test_runnerdemo_hangs"].outcome == "failed"
        and "did not finish in time" in got["test_runnerdemo_hangs"].message
    )
    assert got["test_runnerdemo_stub"].outcome == "not started"
    assert got["test_runnerdemo_stub"].message == "not started: TODO(loglens.parse_line): match the line"
    assert (
        got["test_runnerdemo_assert"].outcome == "failed"
        and got["test_runnerdemo_assert"].message == "expected one thing, got another"
    )
    crash = got["test_runnerdemo_crash"]
    assert (
        crash.outcome == "error"
        and "your code raised TypeError" in crash.message
        and "solutions/loglens/parse.py" in crash.message
    )


@JOBS
def test_a_suite_that_cannot_be_collected_is_an_infrastructure_error(tmp_path, jobs):
    tests = extra(tmp_path, "def test_runnerdemo_broken(:\n    pass\n")
    with pytest.raises(InfrastructureError, match="could not collect") as raised:
        run(
            RunOptions(
                ["loglens"], impl="solutions", scale="quick", extra_tests=[str(tests)], keyword="runnerdemo", jobs=jobs
            )
        )
    said = str(raised.value)
    assert "test_runnerdemo.py" in said and "SyntaxError: invalid syntax" in said, said
    assert said.count("SyntaxError") == 1 and "importlib" not in said, f"one short message, not frames:\n{said}"


def test_milestone_selection():
    done = run(RunOptions(["loglens"], impl="solutions", scale="quick", milestone=2, keyword="sketch"))
    assert done.results and all(r.milestone == 2 for r in done.results)
