"""labs/ is generated from solutions/: in sync, well-formed, and never clobbering a learner's edits."""

from __future__ import annotations

import pytest

from grader import stubs
from grader.course import LABS, SOLUTIONS


def test_labs_are_in_sync_with_solutions():
    problems = stubs.drift(stubs.plan(SOLUTIONS, LABS), LABS)
    assert not problems, "run `iolab dev stubs`:\n" + "\n".join(problems)


SOURCE = '''def parse(line):
    """Spec stays."""
    # BEGIN SOLUTION: split the line
    return line.split()
    # END SOLUTION


class Box:
    # BEGIN SOLUTION
    __slots__ = ("x",)
    # END SOLUTION

    def get(self):
        value = 1
        # BEGIN SOLUTION: return the value
        return value
        # END SOLUTION


# BEGIN SOLUTION
def _helper():
    return 2
    # END SOLUTION
'''


def test_regions_become_stubs():
    out = stubs.stub_source(SOURCE, "demo")
    assert 'raise NotImplementedError("TODO(demo.parse): split the line")' in out.replace("'", '"')
    assert 'raise NotImplementedError("TODO(demo.Box.get): return the value")' in out.replace("'", '"')
    assert '"""Spec stays."""' in out
    assert "__slots__" not in out and "_helper" not in out, "class- and module-level regions are dropped"
    assert "value = 1" in out, "code outside a region stays"
    compile(out, "<stub>", "exec")


@pytest.mark.parametrize(
    ("source", "words"),
    [
        ("def f():\n    # BEGIN SOLUTION\n    pass\n", "never closed"),
        ("def f():\n    # END SOLUTION\n    pass\n", "without a BEGIN"),
        ("def f():\n    # BEGIN SOLUTION\n    # BEGIN SOLUTION\n    pass\n    # END SOLUTION\n", "cannot nest"),
        ("def f(:\n", "not valid Python"),
    ],
)
def test_bad_markers_are_reported(source, words):
    with pytest.raises(stubs.StubError, match=words):
        stubs.stub_source(source, "demo")


def test_refuses_to_overwrite_an_edited_lab(tmp_path):
    solutions, labs = tmp_path / "solutions", tmp_path / "labs"
    (solutions / "demo").mkdir(parents=True)
    (solutions / "__init__.py").write_text("")
    (solutions / "demo" / "__init__.py").write_text(SOURCE)
    stubs.write(stubs.plan(solutions, labs), labs)
    assert stubs.drift(stubs.plan(solutions, labs), labs) == []
    edited = labs / "demo" / "__init__.py"
    edited.write_text(edited.read_text().replace("raise NotImplementedError", "return 42  #"))
    (solutions / "demo" / "__init__.py").write_text(SOURCE + "\nX = 1\n")
    planned = stubs.plan(solutions, labs)
    assert planned.edited == ["demo/__init__.py"]
    with pytest.raises(stubs.StubError, match="changed since they were generated"):
        stubs.write(planned, labs)
    assert "return 42" in edited.read_text(), "the learner's edit must survive a refused run"
    stubs.write(planned, labs, force=True)
    assert "X = 1" in edited.read_text()


def test_check_command_reports_drift(run_iolab):
    result = run_iolab("dev", "stubs", "--check")
    assert result.returncode == 0, result.stdout + result.stderr
