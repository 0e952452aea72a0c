"""TopK: Space-Saving heavy hitters with error bounds, in at most `capacity` counters."""

from __future__ import annotations

import gc
import random
import tracemalloc
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.milestone(2, "Add a new metric without breaking performance")


def check_guarantees(top, stream, capacity, what):
    true = Counter(stream)
    tracked = {h.key: h for h in top.top()}
    assert len(tracked) <= capacity, f"{what}: {len(tracked)} keys tracked with capacity {capacity}"
    for key, h in tracked.items():
        assert h.count - h.error <= true[key] <= h.count, (
            f"{what}: key {key!r} was seen {true[key]} times; the estimate must satisfy "
            f"count - error <= true <= count, got count={h.count}, error={h.error}"
        )
    for key, n in true.items():
        if n > len(stream) / capacity:
            assert key in tracked, (
                f"{what}: key {key!r} occurs {n} times, more than N/capacity = {len(stream)}/{capacity}; "
                "Space-Saving guarantees it is tracked, but it is missing"
            )


@pytest.mark.hint(3)
def test_exact_when_everything_fits(loglens):
    """with room for every key, counts are exact and errors zero"""
    top = loglens.TopK(10)
    stream = list("abracadabra")
    for key in stream:
        top.add(key)
    got = [(h.key, h.count, h.error) for h in top.top(3)]
    assert got == [("a", 5, 0), ("b", 2, 0), ("r", 2, 0)], (
        f"for 'abracadabra' with capacity 10 expected [('a', 5, 0), ('b', 2, 0), ('r', 2, 0)]; got {got}"
    )
    assert len(top) == 5 and "c" in top and "z" not in top, "len() counts tracked keys; `in` tells if tracked"


@pytest.mark.hint(3)
def test_eviction_replaces_the_smallest(loglens):
    """when full, a new key takes the smallest counter: count = min + 1, error = min"""
    top = loglens.TopK(2)
    assert top.add("a") is None and top.add("a") is None and top.add("b") is None
    evicted = top.add("c")
    assert evicted == "b", f"'b' had the smallest count (1), so adding 'c' must evict it; add returned {evicted!r}"
    heavy = {h.key: (h.count, h.error) for h in top.top()}
    assert heavy == {"a": (2, 0), "c": (2, 1)}, f"expected a=(2,0) and c=(2,1) as (count, error); got {heavy}"


zipf = st.builds(
    lambda seed, n, keys, s: random.Random(seed).choices(
        range(keys), weights=[1 / (i + 1) ** s for i in range(keys)], k=n
    ),
    st.integers(0, 2**32),
    st.integers(1, 3000),
    st.integers(1, 500),
    st.floats(0.0, 2.0),
)


@settings(max_examples=150, deadline=None)
@given(stream=zipf, capacity=st.integers(1, 60))
@pytest.mark.hint(3)
def test_space_saving_guarantees(loglens, stream, capacity):
    """count - error <= true <= count, and every key above N/capacity is tracked"""
    top = loglens.TopK(capacity)
    for key in stream:
        top.add(key)
    check_guarantees(top, stream, capacity, f"{len(stream)} adds, capacity {capacity}")
    ranked = [h.count for h in top.top()]
    assert ranked == sorted(ranked, reverse=True), f"top() must list the largest counts first; got {ranked}"


@settings(max_examples=80, deadline=None)
@given(left=zipf, right=zipf, capacity=st.integers(1, 40))
@pytest.mark.hint(3)
def test_merge_keeps_the_guarantees(loglens, left, right, capacity):
    """after merge, the guarantees hold for the two streams together"""
    a, b = loglens.TopK(capacity), loglens.TopK(capacity)
    for key in left:
        a.add(key)
    for key in right:
        b.add(key)
    a.merge(b)
    check_guarantees(a, left + right, capacity, "after merge")


@pytest.mark.hint(3)
def test_bounded_memory_with_a_million_distinct_keys(loglens, scale):
    """capacity bounds memory however many distinct keys arrive"""
    n = scale.pick(100_000, 1_000_000, 3_000_000)
    gc.collect()
    tracemalloc.start()
    try:
        top = loglens.TopK(100)
        top.add(("GET", "/hot"))
        for i in range(n):
            top.add(("GET", f"/users/{i}"))
            if i % 10 == 0:
                top.add(("GET", "/hot"))
        gc.collect()
        kept = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert len(top) == 100, f"capacity 100 means at most 100 tracked keys; {len(top)} are tracked"
    assert top.top(1)[0].key == ("GET", "/hot"), f"the hot key must come first; got {top.top(1)}"
    assert kept < 4 << 20, (
        f"after {n:,} distinct keys the TopK still holds {kept / 2**20:.1f} MB: keys are not being evicted"
    )
