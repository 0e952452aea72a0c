"""How the plugin names a test in reports: the docstring's first line, plus the case when parametrized."""

from __future__ import annotations

from types import SimpleNamespace

from grader.plugin import _display_name


def documented():
    """checks one thing

    More detail that reports do not show.
    """


def test_docstring_first_line_is_the_name():
    item = SimpleNamespace(function=documented, name="test_x")
    assert _display_name(item) == "checks one thing"  # type: ignore[arg-type]


def test_parametrized_case_is_named():
    item = SimpleNamespace(function=documented, name="test_x[case-b]", callspec=SimpleNamespace(id="case-b"))
    assert _display_name(item) == "checks one thing [case-b]"  # type: ignore[arg-type]


def test_no_docstring_falls_back_to_the_test_name():
    item = SimpleNamespace(function=lambda: None, name="test_y[1]", callspec=SimpleNamespace(id="1"))
    assert _display_name(item) == "test_y[1]"  # type: ignore[arg-type]
