"""grader.experiment: a notebook experiment that reaches a stub says so in one line and goes on;
anything else is a real error and keeps its traceback."""

from __future__ import annotations

import pytest

from grader import experiment, impl
from grader.course import SOLUTIONS
from grader.outcomes import NotStarted


def stub() -> None:
    raise NotImplementedError("TODO(demo.piece): write the piece")


def test_a_stub_is_one_line_naming_the_piece_and_its_file(capsys):
    with experiment.your_code() as tried:
        stub()
        raise AssertionError("not reached: the stub raised")
    assert not tried.ok and tried.todo is not None
    out = capsys.readouterr().out
    assert out.count("\n") == 1, out
    assert "not written yet: TODO(demo.piece): write the piece" in out and "test_experiment.py" in out, out


def test_written_code_runs_and_returns():
    with experiment.your_code() as tried:
        value = 6 * 7
    assert tried.ok and value == 42
    assert experiment.attempt(lambda a, b=0: a + b, 40, b=2) == 42


@pytest.mark.parametrize(
    "error",
    [
        NotImplementedError("a plain NotImplementedError is not a stub"),
        ValueError("TODO(demo.piece): a bug in written code that happens to say TODO"),
        ExceptionGroup("mixed", [NotImplementedError("TODO(demo.a)"), KeyError("real")]),
    ],
)
def test_any_other_error_keeps_its_traceback(error, capsys):
    def fail() -> None:
        raise error

    with pytest.raises(type(error)):
        experiment.attempt(fail)
    assert capsys.readouterr().out == "", "a real error must not be reported as 'not written yet'"


@pytest.mark.parametrize(
    "error",
    [
        NotStarted("demo.cli", "the command line"),  # a subprocess that reached a stub
        ExceptionGroup("tasks", [NotImplementedError("TODO(demo.a): a"), NotStarted("demo.b")]),
    ],
)
def test_stubs_reached_elsewhere_are_one_line_too(error, capsys):
    def fail() -> None:
        raise error

    assert experiment.attempt(fail) is None
    out = capsys.readouterr().out
    assert out.startswith("not written yet: TODO(demo.") and out.count("\n") == 1, out


def test_a_message_cut_short_at_a_quote_reads_cleanly(capsys):
    experiment.not_written_yet("TODO(safestate.validate_app): reject empty,")
    out = capsys.readouterr().out
    assert out == "not written yet: TODO(safestate.validate_app): reject empty; this experiment runs once it is\n", out


def test_the_reference_only_where_the_copy_has_it(monkeypatch, tmp_path):
    found = experiment.reference()
    assert (found is not None) == (SOLUTIONS / "__init__.py").exists()
    monkeypatch.setattr(impl, "ROOT", tmp_path)  # a course folder without the reference: a student copy
    assert experiment.reference() is None
