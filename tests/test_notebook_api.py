"""The notebook API outside a notebook: check() returns a result object and degrades to plain HTML."""

from __future__ import annotations

import pytest

from grader import check
from grader.notebook import CheckResult

pytestmark = pytest.mark.slow


def test_check_against_the_reference_passes():
    result = check("loglens", milestone=2, impl="solutions", keyword="sketch", display=False)
    assert isinstance(result, CheckResult) and result.passed and bool(result)
    assert result.summary().endswith("passed") and "sketch" in result._repr_html_().lower()


def test_check_on_fresh_labs_says_not_started():
    result = check("loglens", milestone=2, keyword="sketch", display=False)
    assert not result.passed
    assert {r.outcome for r in result.results} == {"not started"}
    assert "TODO(loglens.LatencySketch" in result._repr_html_()
