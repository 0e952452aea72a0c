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
        # BEGIN SOLUTION: bounded samples, running count/max, the worst stall, watchdog and log-hook state
        self._timeline: deque[tuple[float, float]] = deque(maxlen=window)
        self._count = 0
        self._max = 0.0
        self._worst: Stall | None = None
        self._stalls = 0
        self._timer: asyncio.TimerHandle | None = None
        self._due = 0.0
        self._beat_real = 0.0  # time.monotonic() of the last heartbeat, for the watchdog thread
        self._lock = threading.Lock()
        self._sampled_stack = ""
        self._culprit = ""
        self._culprit_took = 0.0
        self._thread_id = 0
        self._stop_watchdog = threading.Event()
        self._watchdog: threading.Thread | None = None
        self._log_hook: _SlowCallbackHook | None = None
        self._saved_debug: tuple[bool, float] | None = None
        # END SOLUTION

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Begin measuring on ``loop`` (default: the running loop). Call from the loop's thread."""
        # BEGIN SOLUTION: schedule the first heartbeat; start the watchdog thread; hook asyncio's slow-callback log
        if self._loop is not None:
            raise RuntimeError("the monitor is already running")
        self._loop = loop or asyncio.get_running_loop()
        self._thread_id = threading.get_ident()
        self._due = self._loop.time() + self.interval
        self._beat_real = time.monotonic()
        self._timer = self._loop.call_at(self._due, self._tick)
        if self.use_debug_hooks:
            self._saved_debug = (self._loop.get_debug(), self._loop.slow_callback_duration)
            self._loop.set_debug(True)
            self._loop.slow_callback_duration = self.stall_threshold
            self._log_hook = _SlowCallbackHook(self._on_slow_callback)
            logging.getLogger("asyncio").addHandler(self._log_hook)
        if self.use_watchdog:
            self._stop_watchdog.clear()
            self._watchdog = threading.Thread(target=self._watch, name="lag-watchdog", daemon=True)
            self._watchdog.start()
        # END SOLUTION

    def stop(self) -> None:
        """Stop measuring; statistics stay readable. Safe to call twice."""
        # BEGIN SOLUTION: cancel the heartbeat, stop and join the watchdog, restore debug settings, remove the log hook
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._watchdog is not None:
            self._stop_watchdog.set()
            self._watchdog.join(5)
            self._watchdog = None
        if self._log_hook is not None:
            logging.getLogger("asyncio").removeHandler(self._log_hook)
            self._log_hook = None
        if self._saved_debug is not None and self._loop is not None and not self._loop.is_closed():
            self._loop.set_debug(self._saved_debug[0])
            self._loop.slow_callback_duration = self._saved_debug[1]
            self._saved_debug = None
        self._loop = None
        # END SOLUTION

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
        # BEGIN SOLUTION: the running count
        return self._count
        # END SOLUTION

    @property
    def max_lag(self) -> float:
        """The largest lag seen since start (seconds; 0.0 before the first heartbeat)."""
        # BEGIN SOLUTION: the running maximum
        return self._max
        # END SOLUTION

    @property
    def timeline(self) -> list[tuple[float, float]]:
        """The last ``window`` samples as (loop time, lag), oldest first: ready to plot."""
        # BEGIN SOLUTION: a copy of the bounded samples
        return list(self._timeline)
        # END SOLUTION

    def percentile(self, q: float) -> float | None:
        """Nearest-rank percentile of the recent lags (q in [0, 1]); None before any sample."""
        # BEGIN SOLUTION: sort the window, take rank max(1, ceil(q*n))
        if not 0.0 <= q <= 1.0:
            raise ValueError(f"q must be in [0, 1], got {q!r}")
        lags = sorted(lag for _, lag in self._timeline)
        if not lags:
            return None
        return lags[max(1, math.ceil(q * len(lags))) - 1]
        # END SOLUTION

    @property
    def worst(self) -> Stall | None:
        """The longest stall (lag above ``stall_threshold``) since start, with its stack and culprit."""
        # BEGIN SOLUTION: the stall kept by the heartbeat
        return self._worst
        # END SOLUTION

    @property
    def stalls(self) -> int:
        """How many heartbeats came later than ``stall_threshold``."""
        # BEGIN SOLUTION: the stall count
        return self._stalls
        # END SOLUTION

    # BEGIN SOLUTION
    def _tick(self) -> None:
        loop = self._loop
        if loop is None:
            return
        now = loop.time()
        lag = max(0.0, now - self._due)
        self._timeline.append((now, lag))
        self._count += 1
        self._max = max(self._max, lag)
        with self._lock:
            stack, self._sampled_stack = self._sampled_stack, ""
            culprit, took = self._culprit, self._culprit_took
            self._culprit, self._culprit_took = "", 0.0
            self._beat_real = time.monotonic()
        if lag > self.stall_threshold:
            self._stalls += 1
            if self._worst is None or lag > self._worst.lag:
                self._worst = Stall(lag=lag, at=now, stack=stack, culprit=culprit if took > 0 else "")
        self._due = now + self.interval
        self._timer = loop.call_at(self._due, self._tick)

    def _watch(self) -> None:
        """Watchdog thread: once the heartbeat is overdue, sample the loop thread's stack (while it is
        still blocked: a later sample might catch the loop already past the culprit)."""
        period = min(self.interval, self.stall_threshold) / 4
        while not self._stop_watchdog.wait(period):
            with self._lock:
                overdue = time.monotonic() - self._beat_real - self.interval
            if overdue <= self.stall_threshold or self._sampled_stack:
                continue  # not stalled, or this stall is already sampled (the first sample is mid-block)
            frame = sys._current_frames().get(self._thread_id)
            if frame is None:
                continue
            stack = "".join(traceback.format_stack(frame))
            with self._lock:
                self._sampled_stack = stack

    def _on_slow_callback(self, what: str, took: float) -> None:
        with self._lock:
            if took >= self._culprit_took:
                self._culprit, self._culprit_took = what, took


class _SlowCallbackHook(logging.Handler):
    """Catches asyncio's debug-mode warning 'Executing <handle> took N seconds'."""

    def __init__(self, report: Any) -> None:
        super().__init__(logging.WARNING)
        self.report = report

    def emit(self, record: logging.LogRecord) -> None:
        if record.msg == _SLOW_CALLBACK and isinstance(record.args, tuple) and len(record.args) == 2:
            what, took = record.args
            self.report(str(what), float(took))  # type: ignore[arg-type]
        # END SOLUTION
