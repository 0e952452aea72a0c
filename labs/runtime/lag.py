"""LoopLagMonitor: how late does the event loop get to things, and who made it late?

A heartbeat timer is due every ``interval`` seconds. When it finally runs, ``now - due`` is the
*lag*: how long ready work had to wait behind whatever was running. On a healthy loop the lag is
a millisecond or less; a handler that does CPU work (or a regex that backtracks) for 300 ms shows
up as a 300 ms lag for *every* request waiting on that loop.

Two ways to find the culprit, both used here:

- a **watchdog thread** notices that the heartbeat is overdue and samples the loop thread's stack
  right then (``sys._current_frames()``), so the report shows the line that was blocking;
- asyncio's **debug mode** times every callback and logs the ones slower than
  ``loop.slow_callback_duration`` ("Executing <Task ... coro=<handler() ...>> took 0.300
  seconds"); we catch that log record and keep it as the culprit's name.

Memory is bounded: the monitor keeps the last ``window`` samples (for percentiles and plots) and
a running count and maximum, whatever the uptime.
"""

from __future__ import annotations

import asyncio
import logging
import math
import sys
import threading
import time
import traceback
from collections import deque
from dataclasses import dataclass
from types import TracebackType
from typing import Any

_SLOW_CALLBACK = "Executing %s took %.3f seconds"  # the message asyncio's debug mode logs


@dataclass(frozen=True)
class Stall:
    """One time the loop was blocked for longer than the threshold."""

    lag: float  # how late the heartbeat ran (seconds)
    at: float  # loop time when the late heartbeat finally ran
    stack: str  # where the loop thread was while blocked (watchdog sample; "" if none was taken)
    culprit: str  # the slow callback or task asyncio's debug mode named ("" if none)


class LoopLagMonitor:
    """Measure event-loop lag with a heartbeat; keep bounded statistics; name the worst stall.

    - ``interval``: heartbeat period (seconds of loop time).
    - ``window``: how many recent samples to keep (percentiles, ``timeline``); memory stays bounded.
    - ``stall_threshold``: a lag above this is a stall: it is reported with a stack and a culprit.
    - ``watchdog``: sample the loop thread's stack from a helper thread while a stall is happening.
    - ``debug_hooks``: switch on asyncio debug mode to learn which callback/task was slow (costly:
      debug mode records a traceback for every callback scheduled; use it while investigating).

    Start it with ``start()`` inside a running loop (or pass the loop), or ``async with``.
    """

    def __init__(
        self,
        interval: float = 0.05,
        *,
        window: int = 1000,
        stall_threshold: float = 0.1,
        watchdog: bool = True,
        debug_hooks: bool = False,
    ) -> None:
        if interval <= 0 or window < 1 or stall_threshold <= 0:
            raise ValueError("interval and stall_threshold must be > 0 and window >= 1")
        self.interval = interval
        self.window = window
        self.stall_threshold = stall_threshold
        self.use_watchdog = watchdog
        self.use_debug_hooks = debug_hooks
        self._loop: asyncio.AbstractEventLoop | None = None
        raise NotImplementedError('TODO(runtime.LoopLagMonitor.__init__): bounded samples, running count/max, the worst stall, watchdog and log-hook state')

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Begin measuring on ``loop`` (default: the running loop). Call from the loop's thread."""
        raise NotImplementedError("TODO(runtime.LoopLagMonitor.start): schedule the first heartbeat; start the watchdog thread; hook asyncio's slow-callback log")

    def stop(self) -> None:
        """Stop measuring; statistics stay readable. Safe to call twice."""
        raise NotImplementedError('TODO(runtime.LoopLagMonitor.stop): cancel the heartbeat, stop and join the watchdog, restore debug settings, remove the log hook')

    async def __aenter__(self) -> LoopLagMonitor:
        self.start()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- what it measured ---------------------------------------------------------------------

    @property
    def count(self) -> int:
        """Heartbeats measured since start (all of them, not just the window)."""
        raise NotImplementedError('TODO(runtime.LoopLagMonitor.count): the running count')

    @property
    def max_lag(self) -> float:
        """The largest lag seen since start (seconds; 0.0 before the first heartbeat)."""
        raise NotImplementedError('TODO(runtime.LoopLagMonitor.max_lag): the running maximum')

    @property
    def timeline(self) -> list[tuple[float, float]]:
        """The last ``window`` samples as (loop time, lag), oldest first: ready to plot."""
        raise NotImplementedError('TODO(runtime.LoopLagMonitor.timeline): a copy of the bounded samples')

    def percentile(self, q: float) -> float | None:
        """Nearest-rank percentile of the recent lags (q in [0, 1]); None before any sample."""
        raise NotImplementedError('TODO(runtime.LoopLagMonitor.percentile): sort the window, take rank max(1, ceil(q*n))')

    @property
    def worst(self) -> Stall | None:
        """The longest stall (lag above ``stall_threshold``) since start, with its stack and culprit."""
        raise NotImplementedError('TODO(runtime.LoopLagMonitor.worst): the stall kept by the heartbeat')

    @property
    def stalls(self) -> int:
        """How many heartbeats came later than ``stall_threshold``."""
        raise NotImplementedError('TODO(runtime.LoopLagMonitor.stalls): the stall count')

