"""Resilience: retry with full jitter and a deadline; token bucket, circuit breaker and bulkhead as state machines."""

from __future__ import annotations

import asyncio
import random
import statistics

import pytest
from hypothesis import given
from hypothesis import strategies as st

from grader.harness.fakeclock import FakeClock, run_virtual

from .conftest import examples
from .models import BreakerModel

pytestmark = [
    pytest.mark.milestone(3, "Stay up when things fail: retries, rate limits, breakers, bulkheads, shutdown"),
    pytest.mark.timeout(120),
]


# -- retry ------------------------------------------------------------------------------------


class Flaky:
    """A dependency that fails its first `failures` calls (after `takes` seconds each), then answers."""

    def __init__(self, failures: int, takes: float = 0.0, error: type[Exception] = ConnectionError) -> None:
        self.failures, self.takes, self.error = failures, takes, error
        self.calls: list[float] = []

    async def __call__(self) -> str:
        self.calls.append(asyncio.get_running_loop().time())
        if self.takes:
            await asyncio.sleep(self.takes)
        if len(self.calls) <= self.failures:
            raise self.error(f"call {len(self.calls)} failed")
        return "ok"

    def waits(self) -> list[float]:
        return [b - a - self.takes for a, b in zip(self.calls, self.calls[1:], strict=False)]


@pytest.mark.hint(6)
def test_retry_backs_off_exponentially_then_succeeds(runtime):
    """retry: failed calls are retried after a wait within [0, min(cap, base*2**(n-1))], and the answer returned"""
    dep = Flaky(failures=4)
    got = run_virtual(runtime.retry(dep, attempts=6, base=0.1, cap=0.5, rng=random.Random(3)))
    assert got == "ok" and len(dep.calls) == 5, (
        f"4 failures then a success, with 6 attempts allowed: 5 calls and 'ok'; got {len(dep.calls)} calls, {got!r}"
    )
    bounds = [0.1, 0.2, 0.4, 0.5]
    for n, (wait, bound) in enumerate(zip(dep.waits(), bounds, strict=True), 1):
        assert -1e-9 <= wait <= bound + 1e-9, (
            f"the wait before retry {n} must be within [0, min(cap=0.5, 0.1*2**{n - 1})] = [0, {bound}]; "
            f"it was {wait:.4f} s (all waits: {[round(w, 4) for w in dep.waits()]})"
        )


@pytest.mark.hint(6)
def test_retry_gives_up_after_the_last_attempt(runtime):
    """retry makes exactly `attempts` calls, then raises the last error; other errors are not retried"""
    dep = Flaky(failures=100)
    with pytest.raises(ConnectionError, match="call 3 failed"):
        run_virtual(runtime.retry(dep, attempts=3, base=0.01))
    assert len(dep.calls) == 3, f"attempts=3 means 3 calls in all; made {len(dep.calls)}"
    picky = Flaky(failures=100, error=KeyError)
    with pytest.raises(KeyError):
        run_virtual(runtime.retry(picky, attempts=5, base=0.01, retry_on=(ConnectionError,)))
    assert len(picky.calls) == 1, (
        "a KeyError is not in retry_on=(ConnectionError,): raise it at once; "
        f"the call was made {len(picky.calls)} times"
    )


@pytest.mark.points(2)
@pytest.mark.hint(6)
def test_retry_delays_are_jittered(runtime, evidence):
    """200 clients failing together spread their retries out (full jitter) instead of retrying in lockstep"""
    clients, base = 200, 0.1
    deps = [Flaky(failures=3) for _ in range(clients)]

    async def everyone():
        await asyncio.gather(
            *(runtime.retry(d, attempts=5, base=base, cap=10.0, rng=random.Random(i)) for i, d in enumerate(deps))
        )

    run_virtual(everyone())
    third = [d.waits()[2] for d in deps]  # the wait before retry 3: bound = base * 4
    bound = base * 4
    evidence.value("distinct_waits_before_retry_3", len({round(w, 9) for w in third}))
    evidence.attach(_arrivals_plot(deps, evidence.path("retry-arrivals.png")))
    assert all(-1e-9 <= w <= bound + 1e-9 for w in third), (
        f"full jitter waits a random time in [0, {bound}] before retry 3; saw waits from {min(third):.4f} to "
        f"{max(third):.4f}"
    )
    distinct = len({round(w, 6) for w in third})
    assert distinct >= clients * 3 // 4, (
        f"{clients} clients that failed at the same moment waited only {distinct} different times before retry 3 "
        f"(e.g. {third[:3]}): synchronized retries hit a recovering service all at once. Wait "
        "random.uniform(0, min(cap, base * 2**(n-1)))."
    )
    mean = statistics.fmean(third)
    assert 0.3 * bound <= mean <= 0.7 * bound, (
        f"waits uniform in [0, {bound}] average about {bound / 2}; these average {mean:.4f}: the jitter is not "
        "spread over the whole range"
    )


def _arrivals_plot(deps, path):
    import matplotlib.pyplot as plt

    times = sorted(t for d in deps for t in d.calls[1:])
    fig, ax = plt.subplots(figsize=(7, 3), dpi=110)
    ax.hist(times, bins=60, color="#1f77b4")
    ax.set_xlabel("virtual seconds")
    ax.set_ylabel("retries arriving")
    ax.set_title(f"Retries of {len(deps)} clients with full jitter")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


@pytest.mark.points(2)
@pytest.mark.hint(6)
def test_retry_respects_the_deadline(runtime):
    """an overall deadline bounds retrying: no wait past it, and a hanging attempt is cut off at it"""
    dep = Flaky(failures=1000, takes=0.05)

    async def until_given_up():
        loop = asyncio.get_running_loop()
        try:
            await runtime.retry(dep, attempts=50, base=1.0, cap=100.0, deadline=5.0, rng=random.Random(1))
        except (ConnectionError, TimeoutError) as exc:
            return type(exc).__name__, loop.time()
        return "succeeded?", loop.time()

    _, ended = run_virtual(until_given_up())
    assert ended <= 5.0 + 1e-9, (
        f"with deadline=5.0 retry must give up by t=5.0; it gave up at t={ended:.2f} after {len(dep.calls)} calls "
        f"(waits {[round(w, 2) for w in dep.waits()]}). Before each wait, check it would end before the deadline."
    )
    assert len(dep.calls) >= 2, f"there was time for at least two calls before the deadline; made {len(dep.calls)}"

    hang = Flaky(failures=0, takes=100.0)

    async def hanging():
        loop = asyncio.get_running_loop()
        try:
            await runtime.retry(hang, attempts=3, deadline=2.0)
        except TimeoutError:
            return "TimeoutError", loop.time()
        return "no timeout", loop.time()

    outcome = run_virtual(hanging())
    assert outcome[0] == "TimeoutError" and outcome[1] == pytest.approx(2.0), (
        f"an attempt still running at the deadline must be cancelled and TimeoutError raised at t=2.0; "
        f"got {outcome[0]} at t={outcome[1]:.2f}"
    )


# -- token bucket -----------------------------------------------------------------------------


@pytest.mark.points(2)
@pytest.mark.hint(6)
def test_token_bucket_never_exceeds_rate_plus_burst(runtime, scale):
    """over any interval t, a token bucket grants at most capacity + rate*t, and never refuses what fits"""
    runtime.TokenBucket(1.0, 1, clock=FakeClock()).try_acquire()  # unwritten code: "not started" at once

    @examples(scale, 100, 300, 2000)
    @given(
        rate=st.sampled_from([0.5, 1.0, 2.0, 4.0, 10.0]),
        capacity=st.integers(1, 10),
        steps=st.lists(
            st.tuples(st.sampled_from([0.0, 0.0, 0.125, 0.25, 1.0, 5.0, 60.0]), st.sampled_from([1, 1, 1, 2, 3])),
            min_size=1,
            max_size=60,
        ),
    )
    def check(rate, capacity, steps):
        clock = FakeClock()
        bucket = runtime.TokenBucket(rate, capacity, clock=clock)
        grants: list[tuple[float, int]] = []
        model = float(capacity)  # tokens an exact bucket would hold, following the bucket's own decisions
        last = 0.0
        for advance, n in steps:
            clock.advance(advance)
            model = min(capacity, model + (clock.now - last) * rate)
            last = clock.now
            if n > capacity:
                continue
            granted = bucket.try_acquire(n)
            if model >= n + 1e-9:
                assert granted, (
                    f"rate={rate}/s, capacity={capacity}: at t={clock.now} the bucket holds {model:.3f} tokens, "
                    f"so try_acquire({n}) must succeed; it was refused"
                )
            if granted:
                grants.append((clock.now, n))
                model = max(0.0, model - n)
        for i, (start, _) in enumerate(grants):
            total = 0
            for end, n in grants[i:]:
                total += n
                allowed = capacity + rate * (end - start)
                assert total <= allowed + 1e-9, (
                    f"rate={rate}/s, capacity={capacity}: from t={start} to t={end} the bucket granted {total} tokens, "
                    f"more than capacity + rate*t = {allowed:.3f}. A bucket idle for a long time must still hold "
                    "at most "
                    "capacity tokens (refill, then clamp to capacity)."
                )

    check()


@pytest.mark.hint(6)
def test_token_bucket_acquire_waits_for_tokens(runtime):
    """await acquire() waits exactly until a token is there: 2/s with a burst of 2 -> 0, 0, 0.5, 1.0, 1.5 s"""

    async def scenario():
        loop = asyncio.get_running_loop()
        bucket = runtime.TokenBucket(2.0, 2, clock=loop.time)
        times = []
        for _ in range(5):
            await bucket.acquire()
            times.append(round(loop.time(), 6))
        return times

    times = run_virtual(scenario())
    assert times == [0.0, 0.0, 0.5, 1.0, 1.5], (
        f"rate 2/s, capacity 2, five acquire() in a row should return at [0, 0, 0.5, 1.0, 1.5] s; got {times}"
    )


# -- circuit breaker --------------------------------------------------------------------------


breaker_ops = st.lists(
    st.one_of(
        st.tuples(st.just("call"), st.sampled_from(["ok", "fail", "fail", "cancel"])),
        st.tuples(st.just("start"), st.just("")),
        st.tuples(st.just("finish"), st.sampled_from(["ok", "fail", "cancel"])),
        st.tuples(st.just("wait"), st.sampled_from(["0.5", "2.0", "5.0", "10.0"])),
    ),
    min_size=1,
    max_size=50,
)


@pytest.mark.points(2)
@pytest.mark.hint(6)
def test_breaker_follows_the_state_machine(runtime, scale):
    """for any sequence of calls, outcomes and waits, the breaker's answers follow closed/open/half-open"""
    runtime.CircuitBreaker(1, 1.0, clock=FakeClock()).allow()  # unwritten code: "not started" at once

    @examples(scale, 100, 300, 2000)
    @given(threshold=st.integers(1, 4), ops=breaker_ops)
    def check(threshold, ops):
        clock = FakeClock()
        breaker = runtime.CircuitBreaker(threshold, 5.0, clock=clock)
        model = BreakerModel(threshold, 5.0)
        held: list[bool] = []  # calls let through and not finished yet
        history: list[str] = []
        for op, arg in ops:
            if op == "wait":
                clock.advance(float(arg))
                history.append(f"wait {arg}s")
                continue
            if op in ("call", "start"):
                want = model.allow(clock.now)
                got = breaker.allow()
                history.append(f"allow() -> {got}")
                assert got == want, (
                    f"threshold={threshold}, reset_timeout=5: after {history[:-1]} (t={clock.now}) the breaker should "
                    f"{'let the call through' if want else 'refuse the call'} (state {model.state!r}); "
                    f"allow() said {got}"
                )
                if not got:
                    continue
                if op == "start":
                    held.append(True)
                    continue
                outcome = arg
            else:
                if not held:
                    continue
                held.pop()
                outcome = arg
            {"ok": breaker.record_success, "fail": breaker.record_failure, "cancel": breaker.record_cancelled}[
                outcome
            ]()
            {"ok": model.success, "fail": model.failure, "cancel": model.cancelled}[outcome](clock.now)
            history.append(outcome)
            assert breaker.state == model.state, (
                f"after {history} (t={clock.now}) the state should be {model.state!r}; "
                f"the breaker says {breaker.state!r}"
            )

    check()


@pytest.mark.hint(6)
def test_breaker_half_opens_after_the_timeout(runtime):
    """an open breaker refuses calls until reset_timeout passes, then lets exactly one probe through"""
    clock = FakeClock()
    breaker = runtime.CircuitBreaker(3, 30.0, clock=clock)
    for _ in range(3):
        assert breaker.allow()
        breaker.record_failure()
    assert breaker.state == "open" and not breaker.allow(), (
        f"three failures in a row with failure_threshold=3 open the circuit; state={breaker.state!r}"
    )
    clock.advance(29.0)
    assert not breaker.allow(), "29 s after opening (reset_timeout=30) calls are still refused"
    clock.advance(1.0)
    assert breaker.state == "half_open", (
        f"30 s after opening the breaker should be half-open, ready for a probe; it is {breaker.state!r}. "
        "A breaker that never half-opens refuses a recovered dependency forever."
    )
    assert breaker.allow() and not breaker.allow(), "half-open lets exactly one probe through, not zero or two"
    breaker.record_success()
    assert breaker.state == "closed" and breaker.allow(), "a successful probe closes the circuit"


@pytest.mark.hint(6)
def test_breaker_call_fails_fast_and_survives_a_cancelled_probe(runtime):
    """call(): refused calls never reach the dependency; a cancelled probe does not leave it stuck"""

    async def scenario():
        loop = asyncio.get_running_loop()
        breaker = runtime.CircuitBreaker(2, 10.0, clock=loop.time)
        reached: list[str] = []

        async def dependency(tag, fail=False, hang=False):
            reached.append(tag)
            if hang:
                await asyncio.sleep(1000)
            if fail:
                raise ConnectionError(tag)
            return tag

        for tag in ("f1", "f2"):
            with pytest.raises(ConnectionError):
                await breaker.call(dependency, tag, True)
        with pytest.raises(runtime.CircuitOpen):
            await breaker.call(dependency, "refused")
        await asyncio.sleep(10.0)
        probe = asyncio.ensure_future(breaker.call(dependency, "probe", False, True))
        await asyncio.sleep(0.1)
        with pytest.raises(runtime.CircuitOpen):
            await breaker.call(dependency, "second caller during the probe")
        probe.cancel()
        with pytest.raises(asyncio.CancelledError):
            await probe
        got = await breaker.call(dependency, "next probe")
        return reached, got, breaker.state

    reached, got, state = run_virtual(scenario())
    assert reached == ["f1", "f2", "probe", "next probe"], (
        f"only these calls should reach the dependency: f1, f2 (fail and open it), probe (cancelled), next probe; "
        f"it saw {reached}"
    )
    assert (got, state) == ("next probe", "closed"), (
        f"after a cancelled probe the next caller probes, and its success closes the circuit; got {got!r}, {state!r}"
    )


# -- bulkhead ---------------------------------------------------------------------------------


bulkhead_ops = st.lists(
    st.sampled_from(["arrive", "arrive", "arrive", "finish", "cancel_waiter", "finish_then_cancel_next"]),
    min_size=1,
    max_size=40,
)


@pytest.mark.points(2)
@pytest.mark.hint(5)
def test_bulkhead_follows_its_rules(runtime, scale):
    """for any arrivals, finishes and cancellations: slots and line bounded, FIFO, fast rejection, no leak"""
    runtime.Bulkhead(1, 0).running  # unwritten code: "not started" at once  # noqa: B018

    @examples(scale, 60, 150, 1000)
    @given(max_concurrent=st.integers(1, 4), max_waiting=st.integers(0, 3), ops=bulkhead_ops)
    def check(max_concurrent, max_waiting, ops):
        async def scenario():
            bulkhead = runtime.Bulkhead(max_concurrent, max_waiting)
            inside: set[int] = set()
            entered: list[int] = []
            rejected: list[int] = []
            release: dict[int, asyncio.Event] = {}
            tasks: dict[int, asyncio.Task] = {}
            m_running: list[int] = []
            m_waiting: list[int] = []
            m_rejected: list[int] = []
            m_entered: list[int] = []
            history: list[str] = []

            async def job(j):
                try:
                    async with bulkhead:
                        inside.add(j)
                        entered.append(j)
                        try:
                            await release[j].wait()
                        finally:
                            inside.discard(j)
                except runtime.BulkheadFull:
                    rejected.append(j)

            async def settle():
                for _ in range(5):
                    await asyncio.sleep(0)

            def admit_next():
                if m_waiting:
                    nxt = m_waiting.pop(0)
                    m_running.append(nxt)
                    m_entered.append(nxt)

            for j, op in enumerate(ops):
                history.append(op)
                if op == "arrive":
                    release[j] = asyncio.Event()
                    tasks[j] = asyncio.ensure_future(job(j))
                    if len(m_running) < max_concurrent and not m_waiting:
                        m_running.append(j)
                        m_entered.append(j)
                    elif len(m_waiting) < max_waiting:
                        m_waiting.append(j)
                    else:
                        m_rejected.append(j)
                elif op == "finish" and m_running:
                    done = m_running.pop(0)
                    release[done].set()
                    admit_next()
                elif op == "cancel_waiter" and m_waiting:
                    gone = m_waiting.pop(0)
                    tasks[gone].cancel()
                elif op == "finish_then_cancel_next" and m_running and m_waiting:
                    done = m_running.pop(0)
                    release[done].set()
                    await asyncio.sleep(0)  # one turn: the finished job hands its slot to the first waiter...
                    gone = m_waiting.pop(0)
                    tasks[gone].cancel()  # ...and its new owner is cancelled before it runs
                    if gone in m_entered:
                        m_entered.remove(gone)
                    admit_next()
                await settle()
                state = (
                    f"max_concurrent={max_concurrent}, max_waiting={max_waiting}, after {history}: running "
                    f"{bulkhead.running} (expected {len(m_running)}), waiting {bulkhead.waiting} (expected "
                    f"{len(m_waiting)}), rejected {rejected} (expected {m_rejected})"
                )
                assert bulkhead.running == len(m_running) and bulkhead.waiting == len(m_waiting), state
                assert sorted(inside) == sorted(m_running) and rejected == m_rejected, (
                    f"{state}; inside now {sorted(inside)} (expected {sorted(m_running)})"
                )
            firsts = [j for j in entered if j in m_entered]
            assert firsts == m_entered, (
                f"jobs must enter first come, first served: expected {m_entered}, entered {entered} ({history})"
            )
            for event in release.values():
                event.set()
            await settle()
            for task in tasks.values():
                if not task.done():
                    task.cancel()
            await asyncio.gather(*tasks.values(), return_exceptions=True)
            assert bulkhead.running == 0 and bulkhead.waiting == 0, (
                f"when every job has left, no slot may remain taken; running={bulkhead.running}, waiting="
                f"{bulkhead.waiting} after {history}: a slot leaked"
            )

        run_virtual(scenario(), timeout=600)

    check()


@pytest.mark.hint(5)
def test_bulkhead_rejects_at_once_when_full(runtime):
    """2 slots and a line of 1: the 4th concurrent caller is rejected immediately, not after a wait"""

    async def scenario():
        bulkhead = runtime.Bulkhead(2, 1)
        gate = asyncio.Event()

        async def hold():
            async with bulkhead:
                await gate.wait()

        holders = [asyncio.ensure_future(hold()) for _ in range(3)]
        await asyncio.sleep(0.1)
        attempt = asyncio.ensure_future(bulkhead.acquire())
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        if not attempt.done():
            outcome = "kept waiting"
            attempt.cancel()
        elif isinstance(attempt.exception(), runtime.BulkheadFull):
            outcome = "rejected"
        else:
            outcome = "admitted"
            bulkhead.release()
        gate.set()
        await asyncio.gather(*holders, attempt, return_exceptions=True)
        return outcome, bulkhead.running

    outcome, running = run_virtual(scenario())
    assert outcome == "rejected", (
        f"with both slots busy and the line full, acquire() must raise BulkheadFull at once; it {outcome}"
    )
    assert running == 0, f"after everyone left, {running} slots are still marked busy"
