"""Resilience primitives: retry with backoff and jitter, a token bucket, a circuit breaker, a bulkhead.

Each one answers a question a service must ask about a dependency that is slow or failing:

- ``retry``: should I try again, and when? Exponential backoff spaces attempts out; *full jitter*
  (a random delay between 0 and the backoff) stops a thousand clients that failed together from
  retrying together; an overall *deadline* stops the retrying from outliving the caller's patience.
- ``TokenBucket``: how fast may I go? ``rate`` tokens per second, bursts up to ``capacity``.
- ``CircuitBreaker``: should I even try? After repeated failures, fail fast for a while, then let
  one probe through to see if the dependency is back.
- ``Bulkhead``: how much of me may this dependency tie up? A fixed number of concurrent calls and a
  short waiting line; everyone else is turned away at once instead of piling up.

Time comes from the running event loop (``loop.time()``) in ``retry`` and from a ``clock`` you
can replace in the others, so every behaviour here can be tested without waiting.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


# -- retry ------------------------------------------------------------------------------------


def backoff_bound(retry_number: int, base: float, cap: float) -> float:
    """The exponential backoff before retry ``retry_number`` (1 = the second attempt): ``min(cap, base * 2**(n-1))``."""
    return min(cap, base * 2.0 ** (retry_number - 1))


async def retry(
    fn: Callable[[], Awaitable[T]],
    *,
    attempts: int = 5,
    base: float = 0.1,
    cap: float = 10.0,
    deadline: float | None = None,
    retry_on: tuple[type[BaseException], ...] = (Exception,),
    jitter: bool = True,
    rng: random.Random | None = None,
) -> T:
    """Call ``fn()`` until it succeeds, at most ``attempts`` times; return its result.

    - Before retry n (n = 1, 2, ...) wait a random time in ``[0, min(cap, base * 2**(n-1))]``
      ("full jitter"; ``jitter=False`` waits the whole bound, which only a demo of a retry storm
      should do). ``rng`` makes the delays reproducible.
    - Only errors that are instances of ``retry_on`` are retried; any other error is raised at once.
    - ``deadline`` (seconds from the first call, loop time) bounds everything: an attempt still
      running at the deadline is cancelled and ``TimeoutError`` is raised; a wait that would end
      after the deadline is not started: the last error is raised right away.
    - When attempts run out, the last error is raised (with a note saying how many were made).
    """
    if attempts < 1:
        raise ValueError("attempts must be >= 1")
    # BEGIN SOLUTION: attempts under asyncio.timeout_at(end); full-jitter sleeps; stop before the deadline
    loop = asyncio.get_running_loop()
    rng = rng or random.Random()
    start = loop.time()
    end = None if deadline is None else start + deadline
    for attempt in range(1, attempts + 1):
        scope = asyncio.timeout_at(end)
        try:
            async with scope:
                return await fn()
        except retry_on as exc:
            if scope.expired():
                raise TimeoutError(f"deadline of {deadline}s passed during attempt {attempt}") from exc
            if attempt == attempts:
                exc.add_note(f"retry: gave up after {attempts} attempts in {loop.time() - start:.3f}s")
                raise
            bound = backoff_bound(attempt, base, cap)
            delay = rng.uniform(0.0, bound) if jitter else bound
            if end is not None and loop.time() + delay >= end:
                exc.add_note(f"retry: stopped after {attempt} attempts; the next wait would pass the deadline")
                raise
        except TimeoutError as exc:
            if scope.expired():
                raise TimeoutError(f"deadline of {deadline}s passed during attempt {attempt}") from exc
            raise
        await asyncio.sleep(delay)
    raise AssertionError("unreachable")  # the loop returns or raises
    # END SOLUTION


# -- token bucket -----------------------------------------------------------------------------


class TokenBucket:
    """A rate limiter: ``rate`` tokens per second refill a bucket that holds at most ``capacity``.

    It starts full. Over any interval of length t, at most ``capacity + rate * t`` tokens are
    granted, and a request that fits in the bucket is never refused.

    - ``try_acquire(n)``: take n tokens now if they are there (True) or take nothing (False).
    - ``await acquire(n)``: wait until n tokens are there, then take them.
    - ``tokens``: how many are in the bucket now.
    """

    def __init__(self, rate: float, capacity: float, *, clock: Callable[[], float] | None = None) -> None:
        if rate <= 0 or capacity <= 0:
            raise ValueError("rate and capacity must be > 0")
        self.rate = rate
        self.capacity = capacity
        self._clock = clock or time.monotonic
        # BEGIN SOLUTION: start full; remember when we last refilled
        self._tokens = float(capacity)
        self._stamp = self._clock()
        # END SOLUTION

    @property
    def tokens(self) -> float:
        # BEGIN SOLUTION: refill, then report
        self._refill()
        return self._tokens
        # END SOLUTION

    def try_acquire(self, n: float = 1.0) -> bool:
        if n > self.capacity:
            raise ValueError(f"asked for {n} tokens; the bucket never holds more than {self.capacity}")
        # BEGIN SOLUTION: refill, then take n if there are n
        self._refill()
        if self._tokens >= n:
            self._tokens -= n
            return True
        return False
        # END SOLUTION

    def time_until(self, n: float = 1.0) -> float:
        """Seconds until ``n`` tokens will be in the bucket (0.0 if they are there now)."""
        # BEGIN SOLUTION: the deficit divided by the rate
        self._refill()
        return max(0.0, (n - self._tokens) / self.rate)
        # END SOLUTION

    async def acquire(self, n: float = 1.0) -> None:
        if n > self.capacity:
            raise ValueError(f"asked for {n} tokens; the bucket never holds more than {self.capacity}")
        while not self.try_acquire(n):
            await asyncio.sleep(self.time_until(n))

    # BEGIN SOLUTION
    def _refill(self) -> None:
        now = self._clock()
        elapsed = now - self._stamp
        if elapsed > 0:
            self._tokens = min(self.capacity, self._tokens + elapsed * self.rate)
            self._stamp = now
        # END SOLUTION


# -- circuit breaker --------------------------------------------------------------------------


class CircuitOpen(Exception):  # noqa: N818 (reads as a state: "the circuit is open")
    """Raised instead of calling a dependency whose breaker is open."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"circuit open; next probe allowed in {retry_after:.3f}s")
        self.retry_after = retry_after


class CircuitBreaker:
    """Closed -> open -> half-open -> closed, on consecutive failures and one probe.

    - **closed**: calls go through. ``failure_threshold`` failures in a row open the circuit (a
      success resets the count).
    - **open**: calls are refused at once (``allow()`` is False, ``call`` raises ``CircuitOpen``)
      until ``reset_timeout`` seconds have passed since it opened.
    - **half-open**: after that, exactly one call (the probe) is allowed; others are refused while
      it runs. The probe's success closes the circuit; its failure opens it again for another
      ``reset_timeout``. A probe that is cancelled (neither success nor failure) frees the slot, so
      the next caller probes.

    An outcome reported while the circuit is open (a slow call that started before it opened)
    changes nothing.

    Use ``await call(fn)``, or by hand: ``if allow(): ... record_success() / record_failure()``.
    """

    def __init__(
        self, failure_threshold: int = 5, reset_timeout: float = 30.0, *, clock: Callable[[], float] | None = None
    ) -> None:
        if failure_threshold < 1 or reset_timeout <= 0:
            raise ValueError("failure_threshold must be >= 1 and reset_timeout > 0")
        self.failure_threshold = failure_threshold
        self.reset_timeout = reset_timeout
        self._clock = clock or time.monotonic
        # BEGIN SOLUTION: state, consecutive failures, when it opened, whether a probe is out
        self._state = CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probing = False
        # END SOLUTION

    @property
    def state(self) -> str:
        """One of "closed", "open" or "half_open" (open turns half_open once reset_timeout has passed)."""
        # BEGIN SOLUTION: open turns half-open once reset_timeout has passed
        if self._state == OPEN and self._clock() - self._opened_at >= self.reset_timeout:
            self._state = HALF_OPEN
            self._probing = False
        return self._state
        # END SOLUTION

    def allow(self) -> bool:
        """May a call go through now? In half-open, True once (for the probe) until it reports back."""
        # BEGIN SOLUTION: closed yes; open no; half-open yes for one probe at a time
        state = self.state
        if state == CLOSED:
            return True
        if state == HALF_OPEN and not self._probing:
            self._probing = True
            return True
        return False
        # END SOLUTION

    def retry_after(self) -> float:
        """Seconds until a probe will be allowed (0.0 unless open)."""
        if self.state != OPEN:
            return 0.0
        return max(0.0, self._opened_at + self.reset_timeout - self._clock())

    def record_success(self) -> None:
        # BEGIN SOLUTION: close, reset the count (ignored while open)
        if self.state == OPEN:
            return
        self._state = CLOSED
        self._failures = 0
        self._probing = False
        # END SOLUTION

    def record_failure(self) -> None:
        # BEGIN SOLUTION: count; open at the threshold; a failed probe opens again with a fresh timeout
        state = self.state
        if state == HALF_OPEN:
            self._open()
        elif state == CLOSED:
            self._failures += 1
            if self._failures >= self.failure_threshold:
                self._open()
        # END SOLUTION

    def record_cancelled(self) -> None:
        """A call that was let through ended with neither success nor failure (it was cancelled)."""
        # BEGIN SOLUTION: free the probe slot
        self._probing = False

    def _open(self) -> None:
        self._state = OPEN
        self._opened_at = self._clock()
        self._failures = 0
        self._probing = False
        # END SOLUTION

    async def call(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """``await fn(*args)`` through the breaker (``CircuitOpen`` when it refuses)."""
        if not self.allow():
            raise CircuitOpen(self.retry_after())
        try:
            result = await fn(*args)
        except asyncio.CancelledError:
            self.record_cancelled()
            raise
        except Exception:
            self.record_failure()
            raise
        self.record_success()
        return result


# -- bulkhead ---------------------------------------------------------------------------------


class BulkheadFull(Exception):  # noqa: N818 (reads as a state: "the bulkhead is full")
    """Raised at once when every slot is busy and the waiting line is full."""


class Bulkhead:
    """A concurrency partition: at most ``max_concurrent`` inside, at most ``max_waiting`` in line.

    ``async with bulkhead:`` (or ``await bulkhead.run(fn)``) enters if a slot is free; otherwise it
    waits in line (first come, first served) if the line has room; otherwise it raises
    ``BulkheadFull`` immediately. Leaving hands the slot to the first in line. A caller cancelled
    while waiting leaves the line and never takes a slot.
    """

    def __init__(self, max_concurrent: int, max_waiting: int = 0) -> None:
        if max_concurrent < 1 or max_waiting < 0:
            raise ValueError("max_concurrent must be >= 1 and max_waiting >= 0")
        self.max_concurrent = max_concurrent
        self.max_waiting = max_waiting
        # BEGIN SOLUTION: slots in use, the waiting line of futures, counters
        self._running = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self.rejected = 0
        # END SOLUTION

    @property
    def running(self) -> int:
        """Slots in use (including one just handed to a waiter that has not resumed yet)."""
        # BEGIN SOLUTION: slots in use
        return self._running
        # END SOLUTION

    @property
    def waiting(self) -> int:
        """Callers in line."""
        # BEGIN SOLUTION: the length of the line
        return len(self._waiters)
        # END SOLUTION

    async def acquire(self) -> None:
        # BEGIN SOLUTION: take a free slot, or wait in the bounded line, or reject; handle cancellation
        if self._running < self.max_concurrent and not self._waiters:
            self._running += 1
            return
        if len(self._waiters) >= self.max_waiting:
            self.rejected += 1
            raise BulkheadFull(
                f"{self._running} running (max {self.max_concurrent}) and {len(self._waiters)} waiting "
                f"(max {self.max_waiting})"
            )
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # the slot was handed to us just as we were cancelled: pass it on
            else:
                try:
                    self._waiters.remove(waiter)
                except ValueError:
                    pass
            raise
        # END SOLUTION

    def release(self) -> None:
        # BEGIN SOLUTION: hand the slot to the first live waiter, else free it
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the slot goes straight to it: running stays the same
                return
        if self._running <= 0:
            raise RuntimeError("release() without a matching acquire()")
        self._running -= 1
        # END SOLUTION

    async def __aenter__(self) -> Bulkhead:
        await self.acquire()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.release()

    async def run(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        async with self:
            return await fn(*args)
