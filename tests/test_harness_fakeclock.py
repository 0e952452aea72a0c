"""Virtual time (grader/harness/fakeclock.py): timers fire in order, at their deadline, without waiting."""

from __future__ import annotations

import asyncio
import selectors
import socket

import pytest

from grader.harness.fakeclock import FakeClock, VirtualTimeSelector, run_virtual, virtual_loop


def test_fake_clock_moves_only_forward():
    clock = FakeClock(5.0)
    clock.advance(1.5)
    assert clock() == 6.5
    with pytest.raises(ValueError):
        clock.advance(-1)


class RecordingSelector(selectors.DefaultSelector):  # type: ignore[misc,valid-type]
    """The real selector underneath, remembering how long it was ever asked to block."""

    def __init__(self) -> None:
        super().__init__()
        self.real_timeouts: list[float | None] = []

    def select(self, timeout=None):
        self.real_timeouts.append(timeout)
        return super().select(timeout)


def test_sleep_takes_virtual_not_real_time():
    clock = FakeClock()
    real = RecordingSelector()
    loop = asyncio.SelectorEventLoop(VirtualTimeSelector(clock, real))
    loop.time = clock  # type: ignore[method-assign]
    try:
        loop.run_until_complete(asyncio.sleep(1800))
    finally:
        loop.close()
    assert clock() == 1800.0
    assert real.real_timeouts and all(t == 0 for t in real.real_timeouts), (
        f"half an hour of virtual sleep must never block the real selector; it was asked for {real.real_timeouts}"
    )


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
