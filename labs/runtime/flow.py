"""Flow control: how much runs at once, how long we wait, and how we stop.

- ``bounded_gather``: like ``asyncio.gather`` but never more than ``limit`` at a time. 10,000
  coroutines started at once means 10,000 open sockets, 10,000 buffers and a server on the other
  side that falls over; a limit turns that into a steady stream.
- ``first_completed``: the first success wins, the losers are cancelled *and awaited* (a
  cancelled task that is never awaited can still be running its cleanup when you return).
- ``run_with_cleanup``: a timeout around work, and a cleanup that always runs to the end, even
  when the caller is cancelled in the middle of it (``asyncio.shield``).
- ``pipeline``: a producer and N workers joined by a *bounded* queue, so a fast source waits for a
  slow sink instead of filling memory (the asyncio counterpart of stream backpressure).

Cancellation in asyncio is an exception (``CancelledError``, a BaseException) thrown into the
coroutine at its current ``await``. Code that catches it must re-raise it; code that starts tasks
must cancel and await them on every way out (TaskGroup does this for you).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")


async def bounded_gather(aws: Iterable[Awaitable[T]], limit: int, *, return_exceptions: bool = False) -> list[Any]:
    """Await every awaitable, never more than ``limit`` at the same time; results in input order.

    - Pass coroutines (not yet started): each one starts only when a slot is free. ``aws`` may be
      a lazy iterable (a generator): it is consumed as slots free up, not all at once.
    - With ``return_exceptions=False`` (default) the first error cancels everything still running,
      starts nothing new, waits for the cancelled ones to finish, then raises that error.
    - With ``return_exceptions=True`` an error takes its place in the results and the rest go on;
      a failed awaitable gives its slot back like a successful one.
    - If the caller is cancelled, everything started is cancelled and awaited before it re-raises.
    """
    if limit < 1:
        raise ValueError(f"limit must be >= 1, got {limit}")
    raise NotImplementedError('TODO(runtime.bounded_gather): a semaphore of `limit` slots: take one per start, give it back when a task ends')


async def _cancel_and_wait(tasks: Iterable[asyncio.Future[Any]]) -> None:
    """Cancel every task and wait until all have really finished, even if we are cancelled
    meanwhile (then the cancellation is raised once they have)."""
    pending = [t for t in tasks if not t.done()]
    for task in pending:
        task.cancel()
    interrupted = False
    while pending:
        try:
            await asyncio.wait(pending)
        except asyncio.CancelledError:
            interrupted = True
        pending = [t for t in pending if not t.done()]
    if interrupted:
        raise asyncio.CancelledError()


async def first_completed(aws: Iterable[Awaitable[T]], *, timeout: float | None = None) -> tuple[int, T]:
    """Run all awaitables at once; return ``(index, result)`` of the first to *succeed*.

    Failures are skipped while others are still running. If every one fails, raise an
    ``ExceptionGroup`` of all the errors (in input order). If ``timeout`` seconds pass first, raise
    ``TimeoutError``. In every case the others are cancelled and awaited before this returns.
    """
    raise NotImplementedError('TODO(runtime.first_completed): start all, wait FIRST_COMPLETED until a success, cancel-and-wait the rest in finally')


async def run_with_cleanup(
    work: Awaitable[T], cleanup: Callable[[], Awaitable[None]], *, timeout: float | None = None
) -> T:
    """Await ``work`` within ``timeout`` seconds (TimeoutError when it runs out), then ``cleanup()``.

    ``cleanup()`` runs exactly once whatever happened: success, an error, the timeout, or the
    caller being cancelled. It always runs to its end: if the caller is cancelled *while cleanup
    is running*, cleanup still finishes, and only then does the cancellation go on. The work's
    outcome (result, error, timeout, cancellation) is what the caller sees, unless cleanup itself
    raises, in which case its error is raised.
    """
    raise NotImplementedError('TODO(runtime.run_with_cleanup): asyncio.timeout around work; in finally, shield a cleanup task until it is done')


async def pipeline(
    source: AsyncIterable[T] | Iterable[T],
    handle: Callable[[T], Awaitable[R]],
    sink: Callable[[R], Awaitable[None]],
    *,
    workers: int = 4,
    maxsize: int = 16,
) -> int:
    """Read items from ``source``, run ``handle(item)`` in ``workers`` concurrent workers, pass each
    result to ``sink`` (in completion order); return how many items went through.

    Backpressure: a queue of at most ``maxsize`` items sits between the reader and the workers,
    so at most ``maxsize + workers + 1`` items are ever read but not yet through ``sink``. The first
    error (from the source, a handler or the sink) stops everything: the reader and all workers are
    cancelled and awaited, then that error is raised.
    """
    if workers < 1 or maxsize < 1:
        raise ValueError("workers and maxsize must be >= 1")
    raise NotImplementedError('TODO(runtime.pipeline): a bounded queue, a reader task, N worker tasks; the first error cancels all')
