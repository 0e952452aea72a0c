"""ordered_map: bounded concurrency, input order, a bounded buffer, clean failure and cancellation."""

from __future__ import annotations

import asyncio
import random

import pytest

from .helpers import run_async

M3 = pytest.mark.milestone(3, "Diagnose a stalled pipeline from its counters (backpressure in practice)")
pytestmark = M3


class Lookup:
    """An instrumented async lookup: records how many calls run at once, and when each ends."""

    def __init__(self, delays=None, fail_on=(), default=0.002):
        self.delays = delays or {}
        self.default = default
        self.fail_on = set(fail_on)
        self.running = 0
        self.peak = 0
        self.started = 0
        self.finished = 0
        self.cancelled = 0

    async def __call__(self, item):
        self.started += 1
        self.running += 1
        self.peak = max(self.peak, self.running)
        try:
            await asyncio.sleep(self.delays.get(item, self.default))
            if item in self.fail_on:
                raise LookupError(f"no such key: {item}")
            self.finished += 1
            return item * 10
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        finally:
            self.running -= 1


def leftover_tasks():
    return [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()]


async def collect(sf, source, fn, concurrency, **options):
    return [x async for x in sf.ordered_map(source, fn, concurrency, **options)]


@pytest.mark.points(3)
@pytest.mark.hint(3)
def test_order_is_kept(sf):
    """results come out in input order although lookups finish in random order"""
    rnd = random.Random(5)
    lookup = Lookup({i: rnd.uniform(0, 0.012) for i in range(60)})
    got = run_async(collect(sf, range(60), lookup, 8))
    want = [i * 10 for i in range(60)]
    assert got == want, (
        f"with concurrency 8 and random lookup times the results must be in input order; got {got[:12]}... "
        "(yield the oldest task when it is done, not whichever finishes first)"
    )


@pytest.mark.points(3)
@pytest.mark.hint(3)
def test_concurrency_is_bounded_and_used(sf):
    """never more than `concurrency` lookups at once, and that many are really used"""
    for concurrency in (1, 5):
        lookup = Lookup(default=0.004)
        got = run_async(collect(sf, range(40), lookup, concurrency))
        assert got == [i * 10 for i in range(40)], f"with concurrency {concurrency} the results are wrong: {got[:10]}"
        assert lookup.peak <= concurrency, (
            f"concurrency={concurrency} but {lookup.peak} lookups ran at the same time: start a new one only while "
            "fewer than `concurrency` are running"
        )
        assert lookup.peak == concurrency, (
            f"concurrency={concurrency} but at most {lookup.peak} lookup(s) ran at once over 40 items: the lookups "
            "are not overlapping (is each one awaited before the next starts?)"
        )


@pytest.mark.points(3)
@pytest.mark.hint(3)
def test_buffer_is_bounded_with_a_slow_consumer(sf):
    """a slow consumer and a fast source: at most `buffer` records are ever held"""
    state = {"pulled": 0, "yielded": 0, "worst": 0}

    def source():
        for i in range(200):
            state["pulled"] += 1
            state["worst"] = max(state["worst"], state["pulled"] - state["yielded"])
            yield i

    async def instant(item):
        await asyncio.sleep(0)
        return item

    async def consume(buffer):
        out = []
        async for x in sf.ordered_map(source(), instant, 3, buffer=buffer):
            state["yielded"] += 1
            out.append(x)
            await asyncio.sleep(0.001)  # the slow sink
        return out

    for buffer in (6, None):
        state.update(pulled=0, yielded=0, worst=0)
        got = run_async(consume(buffer))
        bound = buffer or 6
        assert got == list(range(200)), f"buffer={buffer}: wrong results {got[:10]}..."
        assert state["worst"] <= bound, (
            f"with concurrency=3, buffer={buffer}: {state['worst']} records were taken from the source and not yet "
            f"handed to the slow consumer (the bound is {bound}). Take a new item only when there is room: "
            "otherwise memory grows with the input whenever the sink is slower than the source"
        )


@pytest.mark.points(2)
@pytest.mark.hint(3)
def test_a_failing_lookup_is_returned_in_place(sf):
    """with return_exceptions=True a failure is yielded in its own position and the rest goes on"""
    lookup = Lookup(fail_on={3, 11})
    got = run_async(collect(sf, range(15), lookup, 4, return_exceptions=True))
    kinds = [type(x).__name__ if isinstance(x, BaseException) else x for x in got]
    want = [i * 10 if i not in (3, 11) else "LookupError" for i in range(15)]
    assert kinds == want, f"expected {want}, got {kinds}"


@pytest.mark.points(2)
@pytest.mark.hint(3)
def test_a_failing_lookup_stops_cleanly(sf):
    """without return_exceptions the first failure (in input order) is raised and nothing is left running"""
    lookup = Lookup(delays={i: 0.2 for i in range(8, 40)}, fail_on={7})

    async def scenario():
        got = []
        error = None
        try:
            async for x in sf.ordered_map(range(40), lookup, 6):
                got.append(x)
        except LookupError as exc:
            error = exc
        await asyncio.sleep(0)
        return got, error, leftover_tasks()

    got, error, left = run_async(scenario())
    assert got == [i * 10 for i in range(7)] and error is not None, (
        f"items 0-6 should come out, then item 7's LookupError should be raised; got {got} and {error!r}"
    )
    assert not left and lookup.running == 0, (
        f"after the failure, {len(left)} task(s) are still pending and {lookup.running} lookup(s) still running: "
        "cancel the calls in flight (and await them) before the error leaves ordered_map"
    )


@pytest.mark.points(3)
@pytest.mark.hint(4)
def test_cancellation_leaves_no_pending_tasks(sf):
    """cancelling the consumer (what Ctrl-C does under asyncio.run) cancels and awaits every lookup"""
    lookup = Lookup(default=5.0)

    async def scenario():
        async def consume():
            return [x async for x in sf.ordered_map(range(100), lookup, 8)]

        task = asyncio.create_task(consume())
        await asyncio.sleep(0.05)
        started = lookup.started
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
        await asyncio.sleep(0)
        return started, leftover_tasks()

    started, left = run_async(scenario(), timeout=20)
    assert started == 8, f"before the cancel, 8 lookups should have been started (concurrency 8); {started} were"
    assert not left and lookup.running == 0 and lookup.cancelled == started, (
        f"after the consumer was cancelled: {len(left)} task(s) pending, {lookup.running} lookup(s) still running, "
        f"{lookup.cancelled} of {started} cancelled. A `finally:` in ordered_map must cancel the tasks in flight "
        "and await them, or asyncio warns 'Task was destroyed but it is pending!' at exit"
    )


@pytest.mark.points(2)
@pytest.mark.hint(4)
def test_consumer_stopping_early(sf):
    """a consumer that stops after 3 results and closes the generator leaves nothing running"""
    lookup = Lookup(default=0.01)

    async def scenario():
        results = sf.ordered_map(range(1000), lookup, 4)
        got = []
        async for x in results:
            got.append(x)
            if len(got) == 3:
                break
        await results.aclose()
        await asyncio.sleep(0)
        return got, leftover_tasks()

    got, left = run_async(scenario())
    assert got == [0, 10, 20], f"the first three results should be [0, 10, 20], got {got}"
    assert not left and lookup.running == 0, (
        f"after aclose(), {len(left)} task(s) are pending and {lookup.running} lookup(s) running"
    )
    assert lookup.started <= 3 + 8, f"only a bounded number of lookups may start ahead; {lookup.started} started"
