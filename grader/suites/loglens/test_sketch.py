"""LatencySketch: quantiles within 1% relative error, in memory that does not grow with N."""

from __future__ import annotations

import gc
import math
import random
import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from .model import nearest_rank

pytestmark = pytest.mark.milestone(2, "Add a new metric without breaking performance")
QS = (0.0, 0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0)


def assert_close(sketch, values, what):
    for q in QS:
        exact = nearest_rank(values, q)
        got = sketch.quantile(q)
        assert got is not None and abs(got - exact) <= 0.01 * exact + 1e-9, (
            f"{what}: quantile({q}) should be within 1% of the exact nearest-rank value {exact!r} "
            f"(rank ceil({q}*{len(values)}) of the sorted values), got {got!r}"
        )


@pytest.mark.hint(3)
def test_empty_sketch(loglens):
    """an empty sketch has count 0 and no quantiles"""
    sketch = loglens.LatencySketch()
    assert sketch.count == 0 and sketch.quantile(0.5) is None and sketch.max is None, (
        f"an empty sketch should have count 0, quantile(0.5) None and max None; got "
        f"{sketch.count}, {sketch.quantile(0.5)!r}, {sketch.max!r}"
    )


@pytest.mark.hint(3)
def test_small_exact_examples(loglens):
    """nearest-rank on a small example: p50 of 1..10 is 5, p95 is 10, p10 is 1"""
    sketch = loglens.LatencySketch()
    for v in range(1, 11):
        sketch.add(float(v))
    for q, want in [(0.5, 5), (0.95, 10), (0.1, 1), (0.0, 1), (1.0, 10)]:
        got = sketch.quantile(q)
        assert got is not None and abs(got - want) <= 0.01 * want, (
            f"values 1..10: quantile({q}) is {want} (the value at rank max(1, ceil({q}*10))); got {got}"
        )
    assert (sketch.count, sketch.min, sketch.max) == (10, 1.0, 10.0), (
        f"count, min and max are exact: expected (10, 1.0, 10.0), got {(sketch.count, sketch.min, sketch.max)}"
    )


distributions = st.one_of(
    st.lists(st.floats(0.0, 1e6, allow_nan=False), min_size=1, max_size=400),
    st.lists(st.integers(0, 100_000).map(float), min_size=1, max_size=400),
    st.builds(
        lambda seed, n, mu, sigma: [random.Random(seed).lognormvariate(mu, sigma) for _ in range(n)],
        st.integers(0, 2**32),
        st.integers(1, 2000),
        st.floats(-3, 8),
        st.floats(0.01, 3),
    ),
    st.lists(st.sampled_from([0.0, 1.0, 1.5, 250.0, 1e-3, 9999.0]), min_size=1, max_size=300),
)


@settings(max_examples=200, deadline=None)
@given(values=distributions)
@pytest.mark.hint(3)
def test_quantiles_within_one_percent(loglens, values):
    """every quantile is within 1% of the exact nearest-rank value, for any distribution"""
    sketch = loglens.LatencySketch(relative_accuracy=0.01)
    for v in values:
        sketch.add(v)
    assert sketch.count == len(values), f"count should be {len(values)}, got {sketch.count}"
    assert sketch.max == max(values), f"max is exact: expected {max(values)!r}, got {sketch.max!r}"
    assert_close(sketch, values, f"{len(values)} values")


@settings(max_examples=100, deadline=None)
@given(left=distributions, right=distributions)
@pytest.mark.hint(3)
def test_merge_summarizes_both_streams(loglens, left, right):
    """merging two sketches answers like one sketch of both streams"""
    a, b = loglens.LatencySketch(), loglens.LatencySketch()
    for v in left:
        a.add(v)
    for v in right:
        b.add(v)
    a.merge(b)
    assert a.count == len(left) + len(right), f"merged count should be {len(left) + len(right)}, got {a.count}"
    assert_close(a, left + right, "after merge")


@pytest.mark.hint(3)
def test_rejects_bad_input(loglens):
    """negative latencies and q outside [0, 1] raise ValueError"""
    sketch = loglens.LatencySketch()
    for bad in (-1.0, float("nan")):
        with pytest.raises(ValueError):
            sketch.add(bad)
    sketch.add(1.0)
    for q in (-0.1, 1.5):
        with pytest.raises(ValueError):
            sketch.quantile(q)


def retained_bytes(loglens, n: int, seed: int = 3) -> int:
    """Bytes still allocated by a sketch after adding n latencies (what it keeps, not what it churns)."""
    rnd = random.Random(seed)
    values = [round(rnd.lognormvariate(3.5, 1.2), 3) for _ in range(5000)]
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        sketch = loglens.LatencySketch()
        add = sketch.add
        for i in range(n):
            add(values[i % 5000] * (1 + (i % 7) / 1000))
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert sketch.count == n
    return after - before


@pytest.mark.hint(3)
def test_memory_does_not_grow_with_count(loglens, scale):
    """the memory a sketch keeps is the same for 20 thousand and for many more values"""
    small, large = 20_000, scale.pick(100_000, 400_000, 2_000_000)
    kept_small, kept_large = retained_bytes(loglens, small), retained_bytes(loglens, large)
    assert kept_large <= 2 * kept_small + 256 * 1024, (
        f"the sketch keeps {kept_small / 1024:.0f} KB after {small:,} values but {kept_large / 1024:.0f} KB "
        f"after {large:,}: it is storing values instead of bucket counts"
    )


def test_relative_accuracy_is_honoured(loglens):
    """a looser accuracy (5%) is honoured too"""
    rnd = random.Random(11)
    values = [rnd.expovariate(1 / 80) for _ in range(5000)]
    sketch = loglens.LatencySketch(relative_accuracy=0.05)
    for v in values:
        sketch.add(v)
    for q in QS:
        exact = nearest_rank(values, q)
        got = sketch.quantile(q)
        assert got is not None and abs(got - exact) <= 0.05 * exact + 1e-9, (
            f"with relative_accuracy=0.05, quantile({q}) must be within 5% of {exact:.3f}; got {got}"
        )
    assert not math.isnan(sketch.quantile(0.5) or 0.0)
