"""Flow control: bounded_gather under 10,000 tasks, first error, cancellation, cleanup, backpressure."""

from __future__ import annotations

import asyncio
import random
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from grader.harness.fakeclock import run_virtual

from .conftest import examples

pytestmark = [
    pytest.mark.milestone(2, "Bound the work: limits, timeouts, cancellation, and context that follows a request"),
    pytest.mark.timeout(120),
]


async def until(event: asyncio.Event, task: asyncio.Future) -> None:
    """Wait for ``event``; if ``task`` ends first, surface its outcome (an error, or 'not started')."""
    waiting = asyncio.ensure_future(event.wait())
    await asyncio.wait([waiting, task], return_when=asyncio.FIRST_COMPLETED)
    if not event.is_set():
        waiting.cancel()
        task.result()
        raise AssertionError("the task finished before the event it should have caused")


class Gauge:
    """Counts how many jobs run at once (the instrumented counter), and what happened to each."""

    def __init__(self) -> None:
        self.current = 0
        self.peak = 0
        self.started: list[int] = []
        self.finished: list[int] = []
        self.cancelled: list[int] = []
        self.events: list[str] = []
        self.timeline: list[tuple[float, int]] = []

    def job(self, i: int, seconds: float, fail: bool = False):
        async def run() -> int:
            loop = asyncio.get_running_loop()
            self.current += 1
            self.peak = max(self.peak, self.current)
            self.started.append(i)
            self.events.append(f"start {i}")
            self.timeline.append((loop.time(), self.current))
            try:
                await asyncio.sleep(seconds)
                if fail:
                    self.events.append(f"fail {i}")
                    raise ValueError(f"job {i} failed")
                self.finished.append(i)
                return i
            except asyncio.CancelledError:
                self.cancelled.append(i)
                self.events.append(f"cancelled {i}")
                raise
            finally:
                self.current -= 1
                self.timeline.append((loop.time(), self.current))

        return run()


@pytest.mark.stress
@pytest.mark.points(3)
@pytest.mark.hint(5)
def test_bounded_gather_never_exceeds_limit(runtime, scale, evidence):
    """10,000 jobs through bounded_gather(limit=64): never more than 64 at once, all 64 used, results in order"""
    n, limit = scale.pick(10_000, 10_000, 100_000), 64
    rng = random.Random(7)
    gauge = Gauge()
    jobs = [gauge.job(i, rng.uniform(0.001, 0.05)) for i in range(n)]
    started = time.perf_counter()
    results = run_virtual(runtime.flow.bounded_gather(jobs, limit), timeout=3600)
    real = time.perf_counter() - started
    evidence.value("jobs", n)
    evidence.value("peak_concurrency", gauge.peak)
    evidence.value("real_seconds", round(real, 2))
    step = max(1, len(gauge.timeline) // 4000)
    evidence.attach(
        _concurrency_plot(gauge.timeline[::step], limit, evidence.path("concurrency.png"), f"{n:,} jobs, limit {limit}")
    )
    assert gauge.peak <= limit, (
        f"at most {limit} jobs may run at the same time; {gauge.peak:,} did at the peak. Start a job only "
        "when a slot is free (asyncio.gather starts all of them at once)."
    )
    assert len(gauge.started) == n and results == list(range(n)), (
        f"every one of the {n:,} jobs should run once and results come back in input order; "
        f"{len(gauge.started):,} started, results[:5]={results[:5]!r}"
    )
    assert gauge.peak == limit, (
        f"the limit is {limit} and there were {n:,} jobs, so {limit} should run at once most of the time; "
        f"the peak was only {gauge.peak}: are you waiting for a whole batch to finish before starting the next?"
    )


def _concurrency_plot(timeline, limit, path, title):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3), dpi=110)
    if timeline:
        xs, ys = zip(*timeline, strict=True)
        ax.step(xs, ys, where="post", lw=0.8, label="running")
    ax.axhline(limit, color="#d62728", ls="--", lw=1, label=f"limit {limit}")
    ax.set_xlabel("virtual seconds")
    ax.set_ylabel("jobs running")
    ax.set_title(title)
    ax.legend(loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


@pytest.mark.hint(5)
def test_bounded_gather_consumes_lazily(runtime):
    """a generator of a million coroutines is read as slots free up, not all at once"""
    gauge = Gauge()
    made = [0]

    def jobs():
        for i in range(1_000_000):
            made[0] += 1
            yield gauge.job(i, 0.01)

    seen: list[int] = []

    async def scenario():
        task = asyncio.ensure_future(runtime.flow.bounded_gather(jobs(), 10))
        await asyncio.sleep(0.035)  # three rounds of ten 10 ms jobs
        seen.append(made[0])
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass

    run_virtual(scenario(), timeout=60)
    assert seen[0] <= 60, (
        f"after 35 ms of 10 ms jobs with limit 10, about 40 coroutines should have been taken from the "
        f"generator; {seen[0]:,} were. Take the next one only when a slot is free, so a huge input never "
        "sits in memory all at once."
    )


@pytest.mark.hint(5)
def test_results_in_input_order_for_any_timing(runtime, scale):
    """for any job durations and any limit: results in input order, never more than `limit` at once"""
    run_virtual(runtime.flow.bounded_gather([], 1))  # unwritten code says "not started" at once

    @examples(scale, 25, 60, 500)
    @given(durations=st.lists(st.integers(0, 30), min_size=0, max_size=60), limit=st.integers(1, 12))
    def check(durations, limit):
        gauge = Gauge()
        jobs = [gauge.job(i, d / 1000) for i, d in enumerate(durations)]
        results = run_virtual(runtime.flow.bounded_gather(jobs, limit), timeout=3600)
        assert results == list(range(len(durations))), (
            f"results must follow the input order whatever finishes first; got {results}"
        )
        assert gauge.peak <= limit, f"limit {limit}, but {gauge.peak} ran at once"

    check()


@pytest.mark.hint(5)
def test_first_error_cancels_the_rest(runtime):
    """the first failure cancels the running jobs, starts no new one, waits for them, and raises"""
    gauge = Gauge()
    jobs = [gauge.job(i, 0.05 if i != 3 else 0.01, fail=(i == 3)) for i in range(40)]
    leftovers: list[asyncio.Task] = []

    async def scenario():
        try:
            await runtime.flow.bounded_gather(jobs, 5)
        except ValueError as exc:
            leftovers.extend(t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done())
            return exc
        return None

    error = run_virtual(scenario(), timeout=60)
    assert isinstance(error, ValueError) and "job 3" in str(error), (
        f"bounded_gather should raise job 3's ValueError (the first to fail); it returned/raised {error!r}"
    )
    failed_at = gauge.events.index("fail 3")
    after = gauge.events[failed_at + 1 :]
    assert not [e for e in after if e.startswith("start")], (
        f"no job may start after the first failure; after 'fail 3' the log shows {after}"
    )
    assert sorted(gauge.cancelled) == [0, 1, 2, 4], (
        f"jobs 0, 1, 2 and 4 were running when job 3 failed and should have been cancelled; "
        f"cancelled: {sorted(gauge.cancelled)}. Log: {gauge.events}"
    )
    assert not leftovers, (
        f"when bounded_gather raises, the jobs it cancelled must already be finished; {len(leftovers)} still run"
    )


@pytest.mark.hint(5)
def test_failures_give_their_slot_back(runtime):
    """with return_exceptions=True, failed jobs free their slots: later jobs still run `limit` at a time"""
    limit = 4
    barrier_hits: list[int] = []

    async def scenario():
        barrier = asyncio.Barrier(limit)

        async def fails(i):
            await asyncio.sleep(0.001)
            raise OSError(f"job {i} failed")

        async def needs_company(i):
            # Passes only when `limit` jobs are inside at the same time.
            await barrier.wait()
            barrier_hits.append(i)
            return i

        jobs = [fails(i) for i in range(3 * limit)] + [needs_company(i) for i in range(3 * limit, 5 * limit)]
        try:
            async with asyncio.timeout(60):
                return await runtime.flow.bounded_gather(jobs, limit, return_exceptions=True)
        except TimeoutError:
            return "stuck"

    results = run_virtual(scenario(), timeout=3600)
    assert results != "stuck", (
        f"after {3 * limit} failures the remaining jobs never got {limit} slots (stuck for 60 virtual seconds, "
        f"{len(barrier_hits)} got through): a failed job keeps its slot. Give the slot back however the job ends."
    )
    errors = [r for r in results[: 3 * limit] if isinstance(r, OSError)]
    assert len(errors) == 3 * limit and results[3 * limit :] == list(range(3 * limit, 5 * limit)), (
        f"with return_exceptions=True each failure takes its place in the results and the rest succeed; got {results!r}"
    )


@pytest.mark.hint(5)
def test_cancelling_the_caller_cancels_every_job(runtime):
    """if the task awaiting bounded_gather is cancelled, every started job is cancelled and finished first"""
    gauge = Gauge()
    jobs = [gauge.job(i, 10.0) for i in range(20)]
    leftovers: list[int] = []

    async def scenario():
        task = asyncio.ensure_future(runtime.flow.bounded_gather(jobs, 6))
        await asyncio.sleep(1.0)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
        leftovers.append(len([t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()]))

    run_virtual(scenario(), timeout=60)
    assert sorted(gauge.cancelled) == list(range(6)) and not gauge.finished, (
        f"the 6 running jobs should be cancelled with the caller, none finished; cancelled={sorted(gauge.cancelled)},"
        f" finished={gauge.finished}"
    )
    assert leftovers == [0], f"{leftovers[0]} jobs were still running after the cancelled bounded_gather returned"


@pytest.mark.hint(5)
def test_first_completed_returns_the_first_success(runtime):
    """first_completed: the first success wins, failures are skipped, losers are cancelled and awaited"""
    gauge = Gauge()
    jobs = [gauge.job(0, 0.3), gauge.job(1, 0.1, fail=True), gauge.job(2, 0.2), gauge.job(3, 0.5)]
    running_after: list[int] = []

    async def scenario():
        won = await runtime.flow.first_completed(jobs)
        running_after.append(gauge.current)
        return won, asyncio.get_running_loop().time()

    (index, value), at = run_virtual(scenario(), timeout=60)
    assert (index, value) == (2, 2), (
        f"job 1 fails at 0.1 s and job 2 succeeds at 0.2 s: expected (2, 2), got {(index, value)!r}"
    )
    assert at == pytest.approx(0.2), f"the answer is known at 0.2 s; first_completed returned at {at:.3f} s"
    assert sorted(gauge.cancelled) == [0, 3] and running_after == [0], (
        f"the losers (jobs 0 and 3) must be cancelled and finished before first_completed returns; "
        f"cancelled={sorted(gauge.cancelled)}, still running at return: {running_after}"
    )

    async def all_fail():
        g = Gauge()
        return await runtime.flow.first_completed([g.job(i, 0.1 * (i + 1), fail=True) for i in range(3)])

    with pytest.raises(ExceptionGroup) as group:
        run_virtual(all_fail(), timeout=60)
    assert len(group.value.exceptions) == 3, f"all three failures belong in the group; got {group.value!r}"

    async def too_slow():
        g = Gauge()
        try:
            await runtime.flow.first_completed([g.job(i, 5.0) for i in range(3)], timeout=1.0)
        except TimeoutError:
            return sorted(g.cancelled), asyncio.get_running_loop().time()
        return "no timeout"

    outcome = run_virtual(too_slow(), timeout=60)
    assert outcome == ([0, 1, 2], 1.0), (
        f"with timeout=1.0 and jobs of 5 s: TimeoutError at 1.0 s with all three cancelled; got {outcome!r}"
    )


@pytest.mark.hint(5)
def test_cleanup_runs_on_success_error_and_timeout(runtime):
    """run_with_cleanup: cleanup runs once after success, after an error, and after the timeout"""
    for case in ("success", "error", "timeout"):
        log: list[str] = []

        async def work(case=case, log=log):
            log.append("work")
            await asyncio.sleep(5.0 if case == "timeout" else 0.1)
            if case == "error":
                raise KeyError("work failed")
            return "result"

        async def cleanup(log=log):
            await asyncio.sleep(0.05)
            log.append("cleanup")

        async def scenario(work=work, cleanup=cleanup):
            try:
                return await runtime.flow.run_with_cleanup(work(), cleanup, timeout=1.0)
            except (KeyError, TimeoutError) as exc:
                return type(exc).__name__

        got = run_virtual(scenario(), timeout=60)
        want = {"success": "result", "error": "KeyError", "timeout": "TimeoutError"}[case]
        assert got == want and log == ["work", "cleanup"], (
            f"{case}: expected {want!r} with the log ['work', 'cleanup']; got {got!r} and {log}"
        )


@pytest.mark.points(2)
@pytest.mark.hint(5)
def test_cleanup_survives_cancellation(runtime):
    """a caller cancelled while cleanup runs: cleanup still finishes, then the task ends cancelled"""
    log: list[str] = []

    async def scenario():
        cleanup_started = asyncio.Event()
        may_finish = asyncio.Event()

        async def work():
            await asyncio.sleep(0.1)
            return "done"

        async def cleanup():
            log.append("cleanup started")
            cleanup_started.set()
            await may_finish.wait()
            await asyncio.sleep(0.01)
            log.append("cleanup finished")

        task = asyncio.ensure_future(runtime.flow.run_with_cleanup(work(), cleanup, timeout=10))
        await until(cleanup_started, task)
        task.cancel()  # while cleanup is in the middle
        await asyncio.sleep(0)
        log.append("caller cancelled the task")
        may_finish.set()
        try:
            await task
            return "returned normally"
        except asyncio.CancelledError:
            return "cancelled"

    outcome = run_virtual(scenario(), timeout=60)
    assert "cleanup finished" in log, (
        f"cleanup was interrupted by the cancellation: log {log}. Run cleanup in its own task and await it "
        "with asyncio.shield, waiting again if you are cancelled meanwhile."
    )
    assert outcome == "cancelled", (
        f"after cleanup finishes, the cancellation must still reach the caller (the task ends cancelled); "
        f"the task {outcome}"
    )


@pytest.mark.points(2)
@pytest.mark.hint(5)
def test_pipeline_applies_backpressure(runtime, evidence):
    """a fast source and a slow sink: items read but not yet sunk never exceed maxsize + workers + 1"""
    workers, maxsize, n = 3, 5, 300
    pulled = [0]
    sunk: list[int] = []
    in_flight: list[tuple[float, int]] = []

    async def source():
        for i in range(n):
            pulled[0] += 1
            in_flight.append((asyncio.get_running_loop().time(), pulled[0] - len(sunk)))
            yield i

    async def handle(i):
        await asyncio.sleep(0.001)
        return i * 2

    async def sink(x):
        await asyncio.sleep(0.05)  # the slow consumer
        sunk.append(x)

    count = run_virtual(runtime.flow.pipeline(source(), handle, sink, workers=workers, maxsize=maxsize))
    bound = maxsize + workers + 1
    worst = max(k for _, k in in_flight)
    evidence.value("max_in_flight", worst)
    evidence.value("bound", bound)
    assert count == n and sorted(sunk) == [2 * i for i in range(n)], (
        f"all {n} items should reach the sink once; pipeline returned {count} and the sink got {len(sunk)}"
    )
    assert worst <= bound, (
        f"with maxsize={maxsize} and {workers} workers at most {bound} items may be read ahead of the sink; "
        f"{worst} were. The queue between reader and workers must be bounded (asyncio.Queue(maxsize))."
    )


@pytest.mark.hint(5)
def test_pipeline_stops_at_the_first_error(runtime):
    """an error in a handler stops the reader and every worker, and is raised"""
    pulled = [0]

    async def source():
        for i in range(10_000):
            pulled[0] += 1
            yield i

    async def handle(i):
        await asyncio.sleep(0.01)
        if i == 20:
            raise ArithmeticError("bad item 20")
        return i

    async def sink(x):
        await asyncio.sleep(0)

    async def scenario():
        try:
            await runtime.flow.pipeline(source(), handle, sink, workers=4, maxsize=8)
        except ArithmeticError as exc:
            others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()]
            return str(exc), len(others)
        return "no error"

    outcome = run_virtual(scenario(), timeout=60)
    assert outcome == ("bad item 20", 0), (
        f"pipeline should raise the handler's ArithmeticError with no task left running; got {outcome!r}"
    )
    assert pulled[0] < 100, f"after the error at item 20 the reader must stop; it read {pulled[0]} items"
