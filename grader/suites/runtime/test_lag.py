"""LoopLagMonitor: exact lag on a fake clock, bounded memory, and a real blocking handler caught in the act."""

from __future__ import annotations

import asyncio
import gc
import math
import threading
import time
import tracemalloc

import pytest

from grader.harness import plots

pytestmark = [
    pytest.mark.milestone(1, "Explain what the event loop runs next, and measure when it runs late"),
    pytest.mark.timeout(60),
]


def block_for(clock, seconds):
    """On virtual time, 'blocking' is the clock moving while no callback returns."""
    clock.advance(seconds)


async def heartbeat_scenario(runtime, loop, clock, block_at, block_seconds, total):
    monitor = runtime.LoopLagMonitor(interval=0.1, window=1000, stall_threshold=0.2, watchdog=False)
    monitor.start(loop)
    try:
        loop.call_at(block_at, block_for, clock, block_seconds)
        await asyncio.sleep(total)
    finally:
        monitor.stop()
    return monitor


@pytest.mark.hint(4)
def test_lag_is_how_late_the_heartbeat_ran(runtime, vloop):
    """on a fake clock: a 0.5 s block at t=0.35 makes the heartbeat due at 0.4 run at 0.85 (lag 0.45)"""
    loop, clock = vloop
    monitor = loop.run_until_complete(heartbeat_scenario(runtime, loop, clock, 0.35, 0.5, 2.0))
    assert monitor.max_lag == pytest.approx(0.45, abs=1e-6), (
        f"the heartbeat due at 0.4 s ran at 0.85 s (a callback held the loop from 0.35 s to 0.85 s), so the "
        f"largest lag is 0.45 s; got max_lag={monitor.max_lag!r}. Lag = time it ran - time it was due."
    )
    late = [(round(t, 3), round(lag, 3)) for t, lag in monitor.timeline if lag > 1e-9]
    assert late == [(0.85, 0.45)], (
        f"exactly one heartbeat was late (at 0.85 s, by 0.45 s); the late samples you recorded were {late}. "
        "After a late beat, schedule the next one interval after *now*, not after the missed due time."
    )
    assert monitor.stalls == 1 and monitor.worst is not None and monitor.worst.lag == pytest.approx(0.45), (
        f"one stall above the 0.2 s threshold should be recorded as the worst; got stalls={monitor.stalls}, "
        f"worst={monitor.worst!r}"
    )
    assert 15 <= monitor.count <= 17, (
        f"2 s of loop time with a 0.1 s heartbeat, one beat lost to the block: about 15-16 beats; got {monitor.count}"
    )


@pytest.mark.hint(4)
def test_percentiles_over_the_recent_window(runtime, vloop):
    """percentiles are nearest-rank over the last `window` samples; count and max cover everything"""
    loop, clock = vloop
    monitor = runtime.LoopLagMonitor(interval=0.1, window=20, stall_threshold=5.0, watchdog=False)

    async def scenario():
        monitor.start(loop)
        try:
            # 10 early blocks of 1 s (they fall out of the window), then 18 of 0.01..0.18 s
            for _ in range(10):
                await asyncio.sleep(0.15)
                block_for(clock, 1.0)
            for i in range(1, 19):
                await asyncio.sleep(0.15)
                block_for(clock, i / 100)
            await asyncio.sleep(1.0)
        finally:
            monitor.stop()

    loop.run_until_complete(scenario())
    timeline = monitor.timeline
    assert len(timeline) == 20, f"window=20 keeps exactly the last 20 samples; timeline has {len(timeline)}"
    assert monitor.count > 20, f"count covers every beat since start (more than the window); got {monitor.count}"
    assert monitor.max_lag > 0.9, (
        f"max_lag covers every beat since start: the 1 s blocks early on gave lags near 0.95 s; got {monitor.max_lag}"
    )
    lags = sorted(lag for _, lag in timeline)
    for q in (0.0, 0.5, 0.9, 1.0):
        rank = max(1, math.ceil(q * len(lags)))
        want = lags[rank - 1]
        got = monitor.percentile(q)
        assert got == pytest.approx(want, abs=1e-9), (
            f"percentile({q}) over the window should be the nearest-rank value {want:.4f} "
            f"(rank max(1, ceil(q*n)) of the {len(lags)} recent lags); got {got}"
        )
    assert all(lag < 0.5 for lag in lags), (
        "the 1 s blocks happened long ago; they must have left the window of the last 20 samples"
    )


@pytest.mark.hint(4)
def test_memory_stays_bounded_with_uptime(runtime, vloop):
    """memory kept by the monitor does not grow with the number of heartbeats"""
    loop, _ = vloop
    monitor = runtime.LoopLagMonitor(interval=0.01, window=100, stall_threshold=1.0, watchdog=False)

    async def beats(n):
        await asyncio.sleep(n * 0.01 + 0.005)

    gc.collect()
    tracemalloc.start()
    try:
        monitor.start(loop)
        loop.run_until_complete(beats(2_000))
        gc.collect()
        after_small = tracemalloc.get_traced_memory()[0]
        loop.run_until_complete(beats(8_000))
        gc.collect()
        after_large = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
        monitor.stop()
    assert monitor.count >= 9_900, f"10,000 heartbeats should have been measured; got {monitor.count}"
    assert len(monitor.timeline) <= 100, (
        f"window=100 but the monitor keeps {len(monitor.timeline)} samples: it stores every sample forever"
    )
    grew = after_large - after_small
    assert grew < 64 * 1024, (
        f"8,000 more heartbeats made the monitor keep {grew / 1024:.0f} KB more: something stores every sample "
        "(keep a deque(maxlen=window) plus a running count and maximum)"
    )


async def crunch(seconds):
    """CPU work that never awaits: the loop cannot run anything else meanwhile."""
    end = time.perf_counter() + seconds
    x = 0
    while time.perf_counter() < end:
        x += sum(i * i for i in range(200))
    return x


async def blocking_handler(reader, writer):
    request = (await reader.readline()).strip()
    if request == b"slow":
        await crunch(0.4)
    writer.write(b"ok " + request + b"\n")
    await writer.drain()
    writer.close()


async def ask(port, what):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(what + b"\n")
    await writer.drain()
    answer = await reader.readline()
    writer.close()
    return answer


@pytest.mark.hint(4)
def test_catches_a_blocking_handler(runtime, evidence):
    """a handler that computes for 0.4 s without awaiting shows up as a stall, with its stack and its name"""

    async def scenario():
        monitor = runtime.LoopLagMonitor(interval=0.02, stall_threshold=0.15, watchdog=True, debug_hooks=True)
        async with asyncio.timeout(30):
            server = await asyncio.start_server(blocking_handler, "127.0.0.1", 0)
            port = server.sockets[0].getsockname()[1]
            async with monitor:
                for _ in range(5):
                    await ask(port, b"fast")
                await ask(port, b"slow")
                for _ in range(5):
                    await ask(port, b"fast")
                await asyncio.sleep(0.1)
            server.close()
            await server.wait_closed()
        return monitor

    threads_before = threading.active_count()
    loop = asyncio.new_event_loop()
    try:
        monitor = loop.run_until_complete(scenario())
        debug_after = loop.get_debug()
    finally:
        loop.close()
    worst = monitor.worst
    evidence.value("max_lag_ms", round(monitor.max_lag * 1000, 1))
    evidence.value("p50_lag_ms", round((monitor.percentile(0.5) or 0) * 1000, 2))
    evidence.attach(
        plots.bars(
            {
                "p50": (monitor.percentile(0.5) or 0) * 1e3,
                "p99": (monitor.percentile(0.99) or 0) * 1e3,
                "max": monitor.max_lag * 1e3,
            },
            evidence.path("lag.png"),
            "Loop lag with one 0.4 s blocking request",
            "ms",
        )
    )
    assert worst is not None and worst.lag >= 0.3, (
        f"the loop was blocked for 0.4 s, so some heartbeat must have run at least ~0.38 s late; "
        f"worst stall: {worst!r}, max_lag={monitor.max_lag:.3f}"
    )
    assert "crunch" in worst.stack, (
        "the watchdog should have sampled the loop thread's stack while it was blocked, showing the function "
        f"that blocked (crunch); got stack:\n{worst.stack[-1500:] or '(empty)'}"
    )
    assert "blocking_handler" in worst.culprit, (
        "with debug_hooks=True the culprit is the slow callback asyncio's debug mode names (the task running "
        f"blocking_handler); got culprit {worst.culprit!r}"
    )
    assert not debug_after, "stop() should switch asyncio debug mode back off (it was off before start())"
    assert threading.active_count() <= threads_before, (
        f"stop() should end the watchdog thread: {threading.active_count()} threads now, {threads_before} before"
    )
