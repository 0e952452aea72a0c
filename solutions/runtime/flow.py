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
    # BEGIN SOLUTION: a semaphore of `limit` slots: take one per start, give it back when a task ends
    slots = asyncio.Semaphore(limit)
    tasks: list[asyncio.Future[Any]] = []
    first_error: list[BaseException] = []

    def finished(task: asyncio.Future[Any]) -> None:
        slots.release()  # success, error or cancellation: the slot goes back
        if return_exceptions or first_error or task.cancelled() or task.exception() is None:
            return
        first_error.append(task.exception())  # type: ignore[arg-type]
        for other in tasks:
            other.cancel()

    source = iter(aws)
    try:
        for aw in source:
            await slots.acquire()  # wait for a free slot before starting the next one
            if first_error:
                _close(aw)
                break
            task = asyncio.ensure_future(aw)
            task.add_done_callback(finished)
            tasks.append(task)
        if tasks:
            await asyncio.wait(tasks)
    except BaseException:  # we were cancelled, or the source raised: stop what we started
        await _cancel_and_wait(tasks)
        raise
    finally:
        for aw in source:  # never started: close them, or Python warns "never awaited"
            _close(aw)
    if first_error:
        raise first_error[0]
    return [_outcome(t) for t in tasks]


def _outcome(task: asyncio.Future[Any]) -> Any:
    if task.cancelled():
        return asyncio.CancelledError()
    return task.exception() or task.result()


def _close(aw: Awaitable[Any]) -> None:
    close = getattr(aw, "close", None)
    if close is not None:
        close()
    # END SOLUTION


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
    # BEGIN SOLUTION: start all, wait FIRST_COMPLETED until a success, cancel-and-wait the rest in finally
    tasks = {asyncio.ensure_future(aw): i for i, aw in enumerate(aws)}
    if not tasks:
        raise ValueError("first_completed needs at least one awaitable")
    errors: dict[int, BaseException] = {}
    pending = set(tasks)
    try:
        async with asyncio.timeout(timeout):
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in sorted(done, key=tasks.__getitem__):
                    if task.cancelled():
                        errors[tasks[task]] = asyncio.CancelledError()
                    elif task.exception() is not None:
                        errors[tasks[task]] = task.exception()  # type: ignore[assignment]
                    else:
                        return tasks[task], task.result()
    finally:
        await _cancel_and_wait(pending)
    failures = [errors[i] for i in sorted(errors)]
    raise ExceptionGroup(f"all {len(failures)} awaitables failed", [_as_exception(e) for e in failures])


def _as_exception(error: BaseException) -> Exception:
    return error if isinstance(error, Exception) else RuntimeError(f"{type(error).__name__}: {error}")
    # END SOLUTION


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
    # BEGIN SOLUTION: asyncio.timeout around work; in finally, shield a cleanup task until it is done
    try:
        async with asyncio.timeout(timeout):
            return await work
    finally:
        cleaning = asyncio.ensure_future(cleanup())
        cancelled = False
        while True:
            try:
                await asyncio.shield(cleaning)
                break
            except asyncio.CancelledError:
                if cleaning.cancelled():
                    raise
                cancelled = True  # someone cancelled *us*; the shielded cleanup goes on
                if cleaning.done():
                    break
        cleaning.result()  # a cleanup error wins
        if cancelled:
            raise asyncio.CancelledError()
    # END SOLUTION


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
    # BEGIN SOLUTION: a bounded queue, a reader task, N worker tasks; the first error cancels all
    queue: asyncio.Queue[Any] = asyncio.Queue(maxsize)
    done_count = 0
    stop = object()

    async def produce() -> None:
        if isinstance(source, AsyncIterable):
            async for item in source:
                await queue.put(item)
        else:
            for item in source:
                await queue.put(item)
        for _ in range(workers):
            await queue.put(stop)

    async def work() -> None:
        nonlocal done_count
        while True:
            item = await queue.get()
            if item is stop:
                return
            await sink(await handle(item))
            done_count += 1

    tasks = [asyncio.create_task(produce()), *(asyncio.create_task(work()) for _ in range(workers))]
    try:
        pending: set[asyncio.Task[None]] = set(tasks)
        while pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_EXCEPTION)
            for task in tasks:  # the first error in start order, for a stable answer
                if task in done and not task.cancelled() and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
    finally:
        await _cancel_and_wait(tasks)
    return done_count
    # END SOLUTION
