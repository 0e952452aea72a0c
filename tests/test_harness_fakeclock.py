"""Virtual time (grader/harness/fakeclock.py): timers fire in order, at their deadline, without waiting."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest

from grader.harness.fakeclock import FakeClock, run_virtual, virtual_loop


def test_fake_clock_moves_only_forward():
    clock = FakeClock(5.0)
    clock.advance(1.5)
    assert clock() == 6.5
    with pytest.raises(ValueError):
        clock.advance(-1)


def test_sleep_takes_virtual_not_real_time():
    async def nap():
        loop = asyncio.get_running_loop()
        await asyncio.sleep(1800)
        return loop.time()

    started = time.perf_counter()
    assert run_virtual(nap()) == 1800.0
    assert time.perf_counter() - started < 5, "half an hour of virtual sleep must not take real time"


def test_timeouts_follow_the_clock():
    async def slow():
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(2.5):
                await asyncio.sleep(10)
        except TimeoutError:
            return loop.time()
        return None

    assert run_virtual(slow()) == 2.5


def test_a_deadlock_becomes_a_timeout_error():
    async def stuck():
        await asyncio.get_running_loop().create_future()

    with pytest.raises(TimeoutError):
        run_virtual(stuck(), timeout=30)


def test_real_io_is_still_seen():
    loop, _ = virtual_loop()
    r, w = socket.socketpair()
    try:

        async def exchange():
            reader, _ = await asyncio.open_connection(sock=r)
            w.sendall(b"hello\n")
            return await reader.readline(), loop.time()

        line, at = loop.run_until_complete(exchange())
    finally:
        loop.close()
        w.close()
    assert line == b"hello\n" and at == 0.0, "ready I/O is delivered without moving the clock"


def test_the_selector_records_what_the_loop_asked_for():
    loop, _ = virtual_loop()
    try:
        loop.run_until_complete(asyncio.sleep(1.25))
        calls = list(loop._selector.calls)  # type: ignore[attr-defined]
    finally:
        loop.close()
    assert max(t for t in calls if t is not None) == pytest.approx(1.25)
