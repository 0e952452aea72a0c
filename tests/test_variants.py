"""Every planted bug is caught by the test that names its mistake, with a helpful message."""

from __future__ import annotations

import pytest

from grader.runner import RunOptions, run

from .variants import all_variants, materialize

VARIANTS = all_variants()


@pytest.mark.parametrize(("project", "variant"), VARIANTS, ids=[f"{p}:{v.name}" for p, v in VARIANTS])
def test_variant_is_caught(project, variant, tmp_path):
    package = materialize(project, variant, tmp_path)
    _, test_name = variant.test.split("::")
    done = run(RunOptions([project], impl=str(package), scale="quick", keyword=test_name.split("[")[0]))
    named = [r for r in done.results if r.nodeid.split("[")[0] == f"{project}/{variant.test}".split("[")[0]]
    assert named, f"the test {variant.test} did not run for variant {variant.name}"
    caught = [r for r in named if r.outcome in variant.outcomes and variant.message in r.message]
    assert caught, (
        f"variant {variant.name} ({variant.mistake}) should fail {variant.test} with a message containing "
        f"{variant.message!r}; got " + "; ".join(f"{r.outcome}: {r.message[:300]}" for r in named)
    )


def test_every_available_project_has_enough_variants():
    from .conftest import projects

    counts = {p: sum(1 for q, _ in VARIANTS if q == p) for p in projects()}
    too_few = {p: n for p, n in counts.items() if n < 8}
    assert not too_few, f"each project ships at least 8 planted bugs; too few: {too_few}"
