"""Virtual time for asyncio tests: timers fire in order, instantly, without sleeping.

A ``FakeClock`` is a number that only moves when told to. ``VirtualTimeSelector`` wraps a real
selector: it reports real I/O that is ready *now*, and when the loop would otherwise sleep until
its next timer, it moves the clock forward by exactly that long instead. An event loop built on
both (``virtual_loop()``) runs ``asyncio.sleep(30)`` in microseconds, and ``loop.time()`` reads
exactly 30.0 afterwards, so tests about timeouts, backoff and deadlines are deterministic and
never depend on how fast the machine is.

Limits (said plainly, so nobody trusts it where it lies): work done by other threads or processes
is invisible to it. If the only thing the loop waits for is a thread that has not finished yet,
virtual time jumps to the next timer at once. Use it for code whose waiting is timers and
in-process sockets; use real time (and events, not sleeps) for threads and subprocesses.
"""

from __future__ import annotations

import asyncio
import selectors
from collections import deque
from collections.abc import Mapping
from typing import Any


class FakeClock:
    """A monotonic clock under the test's control. Call it to read it (so it can be a ``clock=``)."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = float(start)

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"a monotonic clock cannot go back ({seconds} s)")
        self.now += seconds

    def __repr__(self) -> str:
        return f"FakeClock(now={self.now})"


class VirtualTimeSelector(selectors.BaseSelector):
    """A selector that never sleeps: a wait for a timer becomes a jump of the fake clock."""

    def __init__(self, clock: FakeClock, inner: selectors.BaseSelector | None = None) -> None:
        self.clock = clock
        self.inner = inner or selectors.DefaultSelector()
        self.count = 0  # select() calls so far
        # the most recent timeouts the loop asked for (bounded, so a long run does not grow memory)
        self.calls: deque[float | None] = deque(maxlen=1000)

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        self.count += 1
        self.calls.append(timeout)
        ready = self.inner.select(0)
        if ready or timeout == 0:
            return ready
        if timeout is None:
            # Nothing scheduled: only real I/O can wake the loop, so wait for it for real.
            return self.inner.select(None)
        self.clock.advance(max(0.0, timeout))
        return []

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self.inner.register(fileobj, events, data)

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self.inner.unregister(fileobj)

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self.inner.modify(fileobj, events, data)

    def get_map(self) -> Mapping[Any, selectors.SelectorKey]:
        return self.inner.get_map()

    def close(self) -> None:
        self.inner.close()


def virtual_loop(clock: FakeClock | None = None) -> tuple[asyncio.AbstractEventLoop, FakeClock]:
    """A new asyncio event loop on virtual time, and its clock (starting at 0.0).

    ``asyncio.sleep``, ``asyncio.timeout``, ``loop.call_later`` and ``loop.time()`` all follow the
    clock. Close the loop when done (``loop.close()``).
    """
    clock = clock or FakeClock()
    loop = asyncio.SelectorEventLoop(VirtualTimeSelector(clock))
    loop.time = clock  # type: ignore[method-assign]  # every timer in asyncio reads loop.time()
    return loop, clock


def run_virtual(coro: Any, timeout: float = 3600.0, clock: FakeClock | None = None) -> Any:
    """Run ``coro`` to completion on a fresh virtual-time loop; a hang becomes TimeoutError at
    ``timeout`` virtual seconds (instantly in real time), so a deadlock cannot stall a test."""
    loop, _ = virtual_loop(clock)
    try:
        return loop.run_until_complete(_bounded(coro, timeout))
    finally:
        _cancel_leftovers(loop)
        loop.close()


async def _bounded(coro: Any, timeout: float) -> Any:
    async with asyncio.timeout(timeout):
        return await coro


def _cancel_leftovers(loop: asyncio.AbstractEventLoop) -> None:
    leftovers = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in leftovers:
        task.cancel()
    if leftovers:
        loop.run_until_complete(asyncio.gather(*leftovers, return_exceptions=True))
    loop.run_until_complete(loop.shutdown_asyncgens())
