"""MiniLoop: the same programs give the same event order as asyncio (timers, I/O, task steps, cancellation)."""

from __future__ import annotations

import asyncio
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from grader.harness.fakeclock import FakeClock

from .conftest import examples
from .programs import (
    PROGRAMS,
    GuardedSelector,
    first_difference,
    random_program,
    run_on_asyncio,
    run_on_miniloop,
)

pytestmark = [
    pytest.mark.milestone(1, "Explain what the event loop runs next, and measure when it runs late"),
    pytest.mark.timeout(60),
]


def show(log: list[str]) -> str:
    return "\n".join(f"    {i + 1:>2}. {e}" for i, e in enumerate(log)) or "    (nothing)"


@pytest.mark.hint(1)
@pytest.mark.parametrize("prog", PROGRAMS, ids=[p.name for p in PROGRAMS])
def test_same_order_as_asyncio(runtime, prog):
    """the same scripted program logs the same events, in the same order, on MiniLoop and on asyncio"""
    expected = run_on_asyncio(prog.run)
    assert expected, f"program {prog.name} logged nothing on asyncio: the check itself is broken"
    got = run_on_miniloop(runtime, prog.run)
    assert got == expected, (
        f"program '{prog.name}' ({prog.about}) runs differently on your MiniLoop.\n"
        f"{first_difference(expected, got)}\n  asyncio:\n{show(expected)}\n  MiniLoop:\n{show(got)}\n"
        "Re-read the order of one iteration: poll I/O, add due timers, then run exactly the callbacks "
        "that were ready when the iteration began."
    )


ops = st.lists(
    st.tuples(
        st.sampled_from(["soon", "later", "nest", "nest_later", "cancel", "task", "future", "yield"]), st.integers(0, 9)
    ),
    min_size=1,
    max_size=18,
)


@pytest.mark.hint(2)
def test_random_programs_match_asyncio(runtime, scale):
    """random mixes of callbacks, timers, tasks, futures and cancellations log the same on both loops"""
    run_on_miniloop(runtime, PROGRAMS[0].run)  # unwritten code says "not started" at once, not after shrinking

    @examples(scale, 40, 200, 1000)
    @given(program=ops, seed=st.integers(0, 2**16))
    def check(program, seed):
        expected = run_on_asyncio(random_program(program, seed))
        got = run_on_miniloop(runtime, random_program(program, seed))
        assert got == expected, (
            f"{first_difference(expected, got)}\n  asyncio:\n{show(expected)}\n  MiniLoop:\n{show(got)}"
        )

    check()


@pytest.mark.hint(2)
def test_sleeps_in_the_selector_until_the_next_timer(runtime):
    """with nothing ready, the loop waits in select() exactly until the next timer (no busy-waiting)"""
    clock = FakeClock()
    selector = GuardedSelector(clock)
    loop = runtime.MiniLoop(clock=clock, selector=selector)
    fired: list[float] = []
    try:
        loop.call_later(2.5, lambda: (fired.append(loop.time()), loop.stop()))
        loop.run_forever()
    finally:
        loop.close()
    assert fired == [2.5], f"a timer due at 2.5 s should fire once at loop time 2.5; it fired at {fired}"
    waits = [t for t in selector.calls if t]
    assert waits and max(waits) == pytest.approx(2.5), (
        f"the loop should ask the selector to wait up to 2.5 s (the time to the only timer); it asked for "
        f"timeouts {list(selector.calls)[:10]}. A loop that polls with timeout 0 in a loop burns a whole CPU."
    )
    assert selector.count <= 3, f"one timer 2.5 s away should take one or two iterations, not {selector.count}"


@pytest.mark.hint(2)
def test_thousands_of_timers_fire_once_in_deadline_order(runtime, scale):
    """thousands of timers in random order each fire once, in deadline order, at their deadline"""
    n = scale.pick(2_000, 20_000, 100_000)
    rng = random.Random(5)
    deadlines = rng.sample(range(1, 10 * n), n)
    clock = FakeClock()
    loop = runtime.MiniLoop(clock=clock, selector=GuardedSelector(clock, limit=3 * n))
    fired: list[tuple[int, float]] = []
    try:
        for d in deadlines:
            loop.call_later(d / 1000, lambda d=d: fired.append((d, loop.time())))
        loop.call_later(10 * n / 1000 + 1, loop.stop)
        loop.run_forever()
    finally:
        loop.close()
    order = [d for d, _ in fired]
    assert order == sorted(deadlines), (
        f"{n:,} timers should fire in deadline order, each once; got {len(order):,} firings"
        + ("" if len(order) != n else f", first out of order at position {_first_unsorted(order)}")
    )
    late = [(d, t) for d, t in fired if abs(t - d / 1000) > 1e-9]
    assert not late, (
        f"timers should fire at their deadline on a fake clock; e.g. due {late[0][0] / 1000}, ran {late[0][1]}"
    )


def _first_unsorted(values: list[int]) -> int:
    return next((i for i in range(1, len(values)) if values[i] < values[i - 1]), -1)


@pytest.mark.hint(3)
def test_generator_tasks_are_stepped_too(runtime):
    """a plain generator can be a task: `yield from future` waits for it, a bare yield lets others run"""
    clock = FakeClock()
    loop = runtime.MiniLoop(clock=clock, selector=GuardedSelector(clock))
    log: list[str] = []

    def producer(fut):
        log.append("producer: step 1")
        yield
        log.append("producer: step 2")
        fut.set_result("data")

    def consumer(fut):
        log.append("consumer: waiting")
        value = yield from fut
        log.append(f"consumer: got {value}")
        return value.upper()

    try:
        fut = loop.create_future()
        waiting = loop.create_task(consumer(fut))
        loop.create_task(producer(fut))
        result = loop.run_until_complete(waiting)
    finally:
        loop.close()
    expected = ["consumer: waiting", "producer: step 1", "producer: step 2", "consumer: got data"]
    assert log == expected and result == "DATA", (
        f"generator tasks should interleave as {expected} and return 'DATA'; got {log} and {result!r}"
    )


@pytest.mark.hint(3)
def test_run_until_complete_returns_or_raises(runtime):
    """run_until_complete returns the coroutine's value, raises its exception, and CancelledError if cancelled"""
    clock = FakeClock()
    loop = runtime.MiniLoop(clock=clock, selector=GuardedSelector(clock))

    async def value():
        return 41 + 1

    async def failure():
        raise LookupError("no such thing")

    try:
        got = loop.run_until_complete(value())
        assert got == 42, f"run_until_complete(coro) should return the coroutine's value 42, got {got!r}"
        with pytest.raises(LookupError):
            loop.run_until_complete(failure())
        task = loop.create_task(value())
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            loop.run_until_complete(task)
    finally:
        loop.close()
