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
    raise NotImplementedError('TODO(runtime.retry): attempts under asyncio.timeout_at(end); full-jitter sleeps; stop before the deadline')


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
        raise NotImplementedError('TODO(runtime.TokenBucket.__init__): start full; remember when we last refilled')

    @property
    def tokens(self) -> float:
        raise NotImplementedError('TODO(runtime.TokenBucket.tokens): refill, then report')

    def try_acquire(self, n: float = 1.0) -> bool:
        if n > self.capacity:
            raise ValueError(f"asked for {n} tokens; the bucket never holds more than {self.capacity}")
        raise NotImplementedError('TODO(runtime.TokenBucket.try_acquire): refill, then take n if there are n')

    def time_until(self, n: float = 1.0) -> float:
        """Seconds until ``n`` tokens will be in the bucket (0.0 if they are there now)."""
        raise NotImplementedError('TODO(runtime.TokenBucket.time_until): the deficit divided by the rate')

    async def acquire(self, n: float = 1.0) -> None:
        if n > self.capacity:
            raise ValueError(f"asked for {n} tokens; the bucket never holds more than {self.capacity}")
        while not self.try_acquire(n):
            await asyncio.sleep(self.time_until(n))


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
        raise NotImplementedError('TODO(runtime.CircuitBreaker.__init__): state, consecutive failures, when it opened, whether a probe is out')

    @property
    def state(self) -> str:
        """One of "closed", "open" or "half_open" (open turns half_open once reset_timeout has passed)."""
        raise NotImplementedError('TODO(runtime.CircuitBreaker.state): open turns half-open once reset_timeout has passed')

    def allow(self) -> bool:
        """May a call go through now? In half-open, True once (for the probe) until it reports back."""
        raise NotImplementedError('TODO(runtime.CircuitBreaker.allow): closed yes; open no; half-open yes for one probe at a time')

    def retry_after(self) -> float:
        """Seconds until a probe will be allowed (0.0 unless open)."""
        if self.state != OPEN:
            return 0.0
        return max(0.0, self._opened_at + self.reset_timeout - self._clock())

    def record_success(self) -> None:
        raise NotImplementedError('TODO(runtime.CircuitBreaker.record_success): close, reset the count (ignored while open)')

    def record_failure(self) -> None:
        raise NotImplementedError('TODO(runtime.CircuitBreaker.record_failure): count; open at the threshold; a failed probe opens again with a fresh timeout')

    def record_cancelled(self) -> None:
        """A call that was let through ended with neither success nor failure (it was cancelled)."""
        raise NotImplementedError('TODO(runtime.CircuitBreaker.record_cancelled): free the probe slot')

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
        raise NotImplementedError('TODO(runtime.Bulkhead.__init__): slots in use, the waiting line of futures, counters')

    @property
    def running(self) -> int:
        """Slots in use (including one just handed to a waiter that has not resumed yet)."""
        raise NotImplementedError('TODO(runtime.Bulkhead.running): slots in use')

    @property
    def waiting(self) -> int:
        """Callers in line."""
        raise NotImplementedError('TODO(runtime.Bulkhead.waiting): the length of the line')

    async def acquire(self) -> None:
        raise NotImplementedError('TODO(runtime.Bulkhead.acquire): take a free slot, or wait in the bounded line, or reject; handle cancellation')

    def release(self) -> None:
        raise NotImplementedError('TODO(runtime.Bulkhead.release): hand the slot to the first live waiter, else free it')

    async def __aenter__(self) -> Bulkhead:
        await self.acquire()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.release()

    async def run(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        async with self:
            return await fn(*args)
