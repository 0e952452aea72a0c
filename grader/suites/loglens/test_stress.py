"""Stress: memory flat in input size, a memory budget, throughput against the reference, 1 GB."""

from __future__ import annotations

import json

import pytest

from grader.harness.memflat import check_flat, flat_runs
from grader.harness.throughput import compare as compare_speed
from grader.harness.together import side_by_side

from .truth import compare

M1 = pytest.mark.milestone(1, "Process a huge log with stable memory (streaming)")
M2 = pytest.mark.milestone(2, "Add a new metric without breaking performance")
BUDGET_MB = 150  # the curriculum's memory budget for LogLens
MIN_RATIO = 0.25  # at least a quarter of the reference's throughput, measured in the same run

pytestmark = pytest.mark.stress


def summarize(cli, path, *extra):
    found = cli.measure("summary", str(path), "--json", "--jobs", "1", *extra)
    assert found.returncode == 0, found.describe()
    return found


@M1
@pytest.mark.hint(3)
def test_memory_flat_from_n_to_4n(loglens_cli, reference_cli, log, scale, evidence):
    """peak memory at 4N lines is about the same as at N lines"""
    n = scale.pick(20_000, 250_000, 1_000_000)
    small, large = log("access", n, seed=31), log("access", 4 * n, seed=31)
    run_small, run_large, reference = side_by_side(
        lambda: summarize(loglens_cli, small.path),
        lambda: summarize(loglens_cli, large.path),
        lambda: summarize(reference_cli, large.path),
    )
    problems = compare(json.loads(run_large.stdout), large.truth, name=large.path.name)
    assert not problems, "\n".join(problems)
    flat = flat_runs(evidence, n, run_small, 4 * n, run_large, reference, f"Memory while summarizing {4 * n:,} lines")
    assert flat.flat, (
        f"memory grows with the input: {flat.explain()}. Something keeps per-line data: the whole input "
        "(read() or readlines()), every latency, or every distinct route."
    )


@M1
@pytest.mark.hint(3)
def test_high_cardinality_stays_in_budget(loglens_cli, log, scale, evidence):
    """with half the requests on never-repeated /users/<id> paths, memory stays flat and under 150 MB"""
    n = scale.pick(20_000, 150_000, 500_000)
    small, large = log("access-hc", n, seed=32), log("access-hc", 4 * n, seed=32)
    run_small, run_large = side_by_side(
        lambda: summarize(loglens_cli, small.path), lambda: summarize(loglens_cli, large.path)
    )
    evidence.value("peak_mb", {"N": round(run_small.peak_mb, 1), "4N": round(run_large.peak_mb, 1)})
    flat = check_flat(n, run_small.peak_rss, 4 * n, run_large.peak_rss)
    unique = large.truth.unique_route_records
    assert flat.flat, (
        f"with {unique:,} distinct paths, memory grows with the input: {flat.explain()}. "
        "A table of every route grows without bound; keep a fixed number of counters (TopK)."
    )
    assert run_large.peak_mb < BUDGET_MB, (
        f"peak memory {run_large.peak_mb:.0f} MB on {4 * n:,} lines exceeds the {BUDGET_MB} MB budget"
    )


@M2
@pytest.mark.hint(4)
def test_throughput_against_the_reference(loglens_cli, reference_cli, log, scale, evidence):
    """throughput is at least a quarter of the reference's, measured in the same run"""
    found = log("access", scale.pick(50_000, 300_000, 2_000_000), seed=33)
    ratio = compare_speed(
        lambda: summarize(loglens_cli, found.path), lambda: summarize(reference_cli, found.path), rounds=3
    )
    lines = found.truth.lines
    evidence.value(
        "lines_per_second",
        {
            "yours": round(lines / ratio.learner_seconds),
            "reference": round(lines / ratio.reference_seconds),
        },
    )
    evidence.value("throughput_ratio", round(ratio.ratio, 3))
    assert ratio.ratio >= MIN_RATIO, (
        f"{ratio.explain(f'{lines:,} lines')}; at least {MIN_RATIO} is expected. Look for work done per line "
        "that could be done once (timestamp parsing, regex compilation, sorting) or a data structure with a "
        "linear scan on each add."
    )


@M1
@pytest.mark.hint(3)
def test_one_gigabyte_log(loglens_cli, log, scale, evidence):
    """a 1 GB log is summarized exactly, under the memory budget (full scale only)"""
    if scale.name != "full":
        pytest.skip("runs at --scale full (it generates a 1 GB log)")
    found = log("access", 6_000_000, seed=34)
    run = loglens_cli.measure("summary", str(found.path), "--json", timeout=3000)
    assert run.returncode == 0, run.describe()
    problems = compare(json.loads(run.stdout), found.truth, name=found.path.name)
    assert not problems, "\n".join(problems)
    evidence.value("peak_mb", round(run.peak_mb, 1))
    evidence.value("seconds", round(run.wall, 1))
    assert run.peak_mb < BUDGET_MB, f"peak memory {run.peak_mb:.0f} MB exceeds the {BUDGET_MB} MB budget"
