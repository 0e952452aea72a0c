"""MiniLoop: a small event loop of our own, built the way asyncio's is.

One thread, one loop, and three sources of work:

- the **ready queue**: callbacks to run as soon as possible (``call_soon``), first in, first out;
- **timers**: callbacks due at a time (``call_later`` / ``call_at``), kept on a heap by deadline;
- the **selector**: file descriptors (sockets, pipes) the OS will tell us are readable/writable.

One iteration of the loop (``run_once``), in the same order as CPython's asyncio:

1. ask the selector which registered files are ready, waiting at most until the earliest timer
   (not at all if the ready queue has work, forever if there is nothing else to wait for);
2. append the callbacks of those files to the ready queue;
3. move every timer whose deadline has passed from the heap to the ready queue (in deadline
   order; equal deadlines in the order they were scheduled);
4. run exactly the callbacks that are in the ready queue *now*; whatever they schedule runs in
   the next iteration, after the next poll, so a callback that keeps rescheduling itself cannot
   starve I/O.

Tasks drive coroutines (``async def``) and plain generators: a step is ``coro.send(value)``.
When the coroutine yields a ``Future`` the task sleeps until the future is done (its done
callback schedules the next step on the ready queue); a bare ``yield`` means "let others run"
and puts the next step at the back of the ready queue.

Where this differs from Node: Node has phases (timers, poll, check, close) and a separate
microtask queue for promise reactions that drains completely after every callback. asyncio (and
MiniLoop) has no microtask queue: a future's done callbacks, and so the next step of a waiting
task, go to the back of the same ready queue as everything else.
"""

from __future__ import annotations

import heapq
import itertools
import selectors
import sys
import time
import traceback
from asyncio import CancelledError, InvalidStateError
from collections import deque
from collections.abc import Callable, Coroutine, Generator
from typing import Any, Generic, TypeVar

T = TypeVar("T")

__all__ = [
    "CancelledError",
    "Future",
    "Handle",
    "MiniLoop",
    "Task",
    "TimerHandle",
    "get_running_loop",
    "sleep",
    "yield_now",
]

_PENDING, _CANCELLED, _FINISHED = "PENDING", "CANCELLED", "FINISHED"
_running_loop: MiniLoop | None = None


def get_running_loop() -> MiniLoop:
    """The MiniLoop running in this thread (RuntimeError when none is)."""
    if _running_loop is None:
        raise RuntimeError("no MiniLoop is running")
    return _running_loop


class Handle:
    """A callback waiting in the ready queue (or on the timer heap). ``cancel()`` stops it from running."""

    __slots__ = ("_args", "_callback", "_cancelled", "_loop")

    def __init__(self, callback: Callable[..., object], args: tuple[Any, ...], loop: MiniLoop) -> None:
        self._callback = callback
        self._args = args
        self._loop = loop
        self._cancelled = False

    def cancel(self) -> None:
        self._cancelled = True

    def cancelled(self) -> bool:
        return self._cancelled

    def _run(self) -> None:
        # BEGIN SOLUTION: call the callback; an exception goes to the loop's exception handler, never out of the loop
        try:
            self._callback(*self._args)
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._loop.call_exception_handler(
                {"message": f"exception in callback {_name(self._callback)}", "exception": exc, "handle": self}
            )
        # END SOLUTION

    def __repr__(self) -> str:
        state = " cancelled" if self._cancelled else ""
        return f"<Handle {_name(self._callback)}{state}>"


class TimerHandle(Handle):
    """A callback due at ``when`` (loop time). Orders by deadline, then by scheduling order."""

    __slots__ = ("_seq", "when")

    def __init__(
        self, when: float, seq: int, callback: Callable[..., object], args: tuple[Any, ...], loop: MiniLoop
    ) -> None:
        super().__init__(callback, args, loop)
        self.when = when
        self._seq = seq

    def __lt__(self, other: TimerHandle) -> bool:
        return (self.when, self._seq) < (other.when, other._seq)

    def __repr__(self) -> str:
        state = " cancelled" if self._cancelled else ""
        return f"<TimerHandle when={self.when:.6f} {_name(self._callback)}{state}>"


class Future(Generic[T]):
    """A result that will exist later. ``await fut`` suspends the awaiting task until it is done.

    Done callbacks never run inline: when the future completes, each is *scheduled* with
    ``loop.call_soon(callback, future)``, in the order they were added.
    """

    def __init__(self, loop: MiniLoop) -> None:
        self._loop = loop
        self._state = _PENDING
        self._result: T | None = None
        self._exception: BaseException | None = None
        self._callbacks: list[Callable[[Future[T]], object]] = []

    def get_loop(self) -> MiniLoop:
        return self._loop

    def done(self) -> bool:
        return self._state != _PENDING

    def cancelled(self) -> bool:
        return self._state == _CANCELLED

    def result(self) -> T:
        # BEGIN SOLUTION: the value, or raise the exception / CancelledError / InvalidStateError if not done
        if self._state == _CANCELLED:
            raise CancelledError()
        if self._state == _PENDING:
            raise InvalidStateError("result is not ready yet")
        if self._exception is not None:
            raise self._exception.with_traceback(self._exception.__traceback__)
        return self._result  # type: ignore[return-value]
        # END SOLUTION

    def exception(self) -> BaseException | None:
        if self._state == _CANCELLED:
            raise CancelledError()
        if self._state == _PENDING:
            raise InvalidStateError("exception is not set yet")
        return self._exception

    def set_result(self, result: T) -> None:
        # BEGIN SOLUTION: finish with a value (InvalidStateError if already done) and schedule the done callbacks
        if self._state != _PENDING:
            raise InvalidStateError(f"future already {self._state.lower()}")
        self._result = result
        self._state = _FINISHED
        self._schedule_callbacks()
        # END SOLUTION

    def set_exception(self, exception: BaseException) -> None:
        # BEGIN SOLUTION: finish with an exception (InvalidStateError if already done) and schedule the done callbacks
        if self._state != _PENDING:
            raise InvalidStateError(f"future already {self._state.lower()}")
        if isinstance(exception, type):
            exception = exception()
        self._exception = exception
        self._state = _FINISHED
        self._schedule_callbacks()
        # END SOLUTION

    def cancel(self, msg: object = None) -> bool:
        # BEGIN SOLUTION: False if already done; else mark cancelled, schedule the done callbacks, True
        if self._state != _PENDING:
            return False
        self._state = _CANCELLED
        self._schedule_callbacks()
        return True
        # END SOLUTION

    def add_done_callback(self, callback: Callable[[Future[T]], object]) -> None:
        # BEGIN SOLUTION: remember it, or schedule it right away when already done
        if self.done():
            self._loop.call_soon(callback, self)
        else:
            self._callbacks.append(callback)
        # END SOLUTION

    def remove_done_callback(self, callback: Callable[[Future[T]], object]) -> int:
        before = len(self._callbacks)
        self._callbacks = [c for c in self._callbacks if c != callback]
        return before - len(self._callbacks)

    # BEGIN SOLUTION
    def _schedule_callbacks(self) -> None:
        callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            self._loop.call_soon(callback, self)
        # END SOLUTION

    def __await__(self) -> Generator[Future[T], None, T]:
        if not self.done():
            yield self  # the task stepping us sees this future and waits for it
        if not self.done():
            raise RuntimeError("await wasn't used with a MiniLoop task (the future is still pending)")
        return self.result()

    __iter__ = __await__  # a plain generator task can ``yield from fut``

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._state.lower()}>"


class Task(Future[T]):
    """Runs a coroutine (or generator) on the loop, one step per ready-queue turn."""

    _ids = itertools.count(1)

    def __init__(self, coro: Coroutine[Any, Any, T] | Generator[Any, Any, T], loop: MiniLoop, name: str = "") -> None:
        if not hasattr(coro, "send") or not hasattr(coro, "throw"):
            raise TypeError(f"a Task needs a coroutine or a generator, got {coro!r}")
        super().__init__(loop)
        self._coro = coro
        self.name = name or f"MiniTask-{next(Task._ids)}"
        self._waiter: Future[Any] | None = None
        self._must_cancel = False
        # BEGIN SOLUTION: schedule the first step
        loop.call_soon(self._step)
        # END SOLUTION

    def get_coro(self) -> Coroutine[Any, Any, T] | Generator[Any, Any, T]:
        return self._coro

    def cancel(self, msg: object = None) -> bool:
        # BEGIN SOLUTION: cancel the future we wait on, else throw CancelledError at the next step
        if self.done():
            return False
        if self._waiter is not None and self._waiter.cancel():
            return True
        self._must_cancel = True
        return True
        # END SOLUTION

    def _step(self, exc: BaseException | None = None) -> None:
        # BEGIN SOLUTION: send/throw into the coroutine; finish, wait on a yielded Future, or reschedule
        if self.done():
            return
        if self._must_cancel:
            if not isinstance(exc, CancelledError):
                exc = CancelledError()
            self._must_cancel = False
        self._waiter = None
        loop = self._loop
        loop._current_task = self
        try:
            yielded = self._coro.send(None) if exc is None else self._coro.throw(exc)
        except StopIteration as stop:
            if self._must_cancel:  # cancelled while finishing its last step: asyncio reports it cancelled
                self._must_cancel = False
                super().cancel()
            else:
                super().set_result(stop.value)
        except CancelledError:
            super().cancel()
        except (KeyboardInterrupt, SystemExit) as fatal:
            super().set_exception(fatal)
            raise
        except BaseException as error:
            super().set_exception(error)
        else:
            if yielded is None:
                loop.call_soon(self._step)
            elif isinstance(yielded, Future):
                if yielded.get_loop() is not loop:
                    loop.call_soon(self._step, RuntimeError(f"{self.name} awaited a future of another loop"))
                elif yielded is self:
                    loop.call_soon(self._step, RuntimeError(f"{self.name} cannot await itself"))
                else:
                    self._waiter = yielded
                    yielded.add_done_callback(self._wakeup)
                    if self._must_cancel and yielded.cancel():
                        self._must_cancel = False
            else:
                loop.call_soon(
                    self._step,
                    RuntimeError(f"{self.name} yielded {yielded!r}: only a MiniLoop Future or a bare yield"),
                )
        finally:
            loop._current_task = None

    def _wakeup(self, future: Future[Any]) -> None:
        try:
            future.result()
        except BaseException as exc:
            self._step(exc)
        else:
            self._step()
        # END SOLUTION

    def __repr__(self) -> str:
        return f"<Task {self.name} {self._state.lower()}>"


class MiniLoop:
    """A single-threaded event loop: ready queue, timer heap, selector, tasks.

    ``clock`` (default ``time.monotonic``) and ``selector`` (default ``selectors.DefaultSelector()``)
    can be replaced, e.g. by a fake clock and a selector that advances it, to test timing without
    waiting.
    """

    def __init__(
        self, clock: Callable[[], float] | None = None, selector: selectors.BaseSelector | None = None
    ) -> None:
        self._clock = clock or time.monotonic
        self._exception_handler: Callable[[MiniLoop, dict[str, Any]], object] | None = None
        self._current_task: Task[Any] | None = None
        # BEGIN SOLUTION: the ready queue, the timer heap, the selector, a tie-breaking counter, running/stopping flags
        self._ready: deque[Handle] = deque()
        self._timers: list[TimerHandle] = []
        self._selector = selector or selectors.DefaultSelector()
        self._seq = itertools.count()
        self._running = False
        self._stopping = False
        self._closed = False
        # END SOLUTION

    # -- time and scheduling ------------------------------------------------------------------

    def time(self) -> float:
        return self._clock()

    def call_soon(self, callback: Callable[..., object], *args: Any) -> Handle:
        """Run ``callback(*args)`` in a later turn of the loop, after everything already queued."""
        # BEGIN SOLUTION: append a Handle to the ready queue
        self._check_open()
        handle = Handle(callback, args, self)
        self._ready.append(handle)
        return handle
        # END SOLUTION

    def call_later(self, delay: float, callback: Callable[..., object], *args: Any) -> TimerHandle:
        """Run ``callback(*args)`` once ``delay`` seconds have passed (a delay <= 0 is still a timer)."""
        return self.call_at(self.time() + delay, callback, *args)

    def call_at(self, when: float, callback: Callable[..., object], *args: Any) -> TimerHandle:
        """Run ``callback(*args)`` at loop time ``when``."""
        # BEGIN SOLUTION: push a TimerHandle on the heap
        self._check_open()
        timer = TimerHandle(when, next(self._seq), callback, args, self)
        heapq.heappush(self._timers, timer)
        return timer
        # END SOLUTION

    # -- files and sockets ------------------------------------------------------------------------

    def add_reader(self, fd: Any, callback: Callable[..., object], *args: Any) -> None:
        """Call ``callback(*args)`` every iteration in which ``fd`` is readable (until removed)."""
        # BEGIN SOLUTION: register or modify the selector key; data is (reader handle, writer handle)
        self._watch(fd, selectors.EVENT_READ, Handle(callback, args, self))
        # END SOLUTION

    def remove_reader(self, fd: Any) -> bool:
        # BEGIN SOLUTION: drop the reader, unregister when neither is left; True if there was one
        return self._unwatch(fd, selectors.EVENT_READ)
        # END SOLUTION

    def add_writer(self, fd: Any, callback: Callable[..., object], *args: Any) -> None:
        """Call ``callback(*args)`` every iteration in which ``fd`` is writable (until removed)."""
        # BEGIN SOLUTION: like add_reader, for EVENT_WRITE
        self._watch(fd, selectors.EVENT_WRITE, Handle(callback, args, self))
        # END SOLUTION

    def remove_writer(self, fd: Any) -> bool:
        # BEGIN SOLUTION: like remove_reader, for EVENT_WRITE
        return self._unwatch(fd, selectors.EVENT_WRITE)

    def _watch(self, fd: Any, event: int, handle: Handle) -> None:
        self._check_open()
        try:
            key = self._selector.get_key(fd)
        except KeyError:
            data = (handle, None) if event == selectors.EVENT_READ else (None, handle)
            self._selector.register(fd, event, data)
            return
        reader, writer = key.data
        old = reader if event == selectors.EVENT_READ else writer
        if old is not None:
            old.cancel()
        data = (handle, writer) if event == selectors.EVENT_READ else (reader, handle)
        self._selector.modify(fd, key.events | event, data)

    def _unwatch(self, fd: Any, event: int) -> bool:
        try:
            key = self._selector.get_key(fd)
        except KeyError:
            return False
        reader, writer = key.data
        old = reader if event == selectors.EVENT_READ else writer
        remaining = key.events & ~event
        data = (None, writer) if event == selectors.EVENT_READ else (reader, None)
        if not remaining:
            self._selector.unregister(fd)
        else:
            self._selector.modify(fd, remaining, data)
        if old is None:
            return False
        old.cancel()
        return True
        # END SOLUTION

    # -- futures and tasks --------------------------------------------------------------------

    def create_future(self) -> Future[Any]:
        return Future(self)

    def create_task(self, coro: Coroutine[Any, Any, T] | Generator[Any, Any, T], name: str = "") -> Task[T]:
        """Wrap a coroutine or generator in a Task; its first step runs in a later turn."""
        return Task(coro, self, name)

    def current_task(self) -> Task[Any] | None:
        return self._current_task

    # -- running ------------------------------------------------------------------------------

    def run_once(self) -> None:
        """One iteration: poll I/O (waiting at most until the next timer), collect due timers, run what is ready."""
        # BEGIN SOLUTION: select (timeout 0, None or until the next timer); queue due timers; run len(ready)
        timers = self._timers
        while timers and timers[0]._cancelled:
            heapq.heappop(timers)
        if self._ready or self._stopping:
            timeout: float | None = 0.0
        elif timers:
            timeout = max(0.0, timers[0].when - self.time())
        else:
            timeout = None
        if timeout is None and not self._selector.get_map():
            raise RuntimeError("MiniLoop has nothing to wait for: no callbacks, timers or files (deadlock?)")
        for key, mask in self._selector.select(timeout):
            reader, writer = key.data
            if mask & selectors.EVENT_READ and reader is not None and not reader._cancelled:
                self._ready.append(reader)
            if mask & selectors.EVENT_WRITE and writer is not None and not writer._cancelled:
                self._ready.append(writer)
        now = self.time()
        while timers and timers[0].when <= now:
            timer = heapq.heappop(timers)
            if not timer._cancelled:
                self._ready.append(timer)
        for _ in range(len(self._ready)):
            handle = self._ready.popleft()
            if not handle._cancelled:
                handle._run()
        # END SOLUTION

    def run_forever(self) -> None:
        """Run iterations until ``stop()`` is called (the current iteration finishes first)."""
        global _running_loop
        self._check_open()
        if self._running or _running_loop is not None:
            raise RuntimeError("a loop is already running in this thread")
        self._running, _running_loop = True, self
        try:
            while True:
                self.run_once()
                if self._stopping:
                    break
        finally:
            self._running, self._stopping, _running_loop = False, False, None

    def run_until_complete(self, awaitable: Future[T] | Coroutine[Any, Any, T] | Generator[Any, Any, T]) -> T:
        """Run until ``awaitable`` (a coroutine, generator or Future) is done; return its result or raise."""
        future = awaitable if isinstance(awaitable, Future) else self.create_task(awaitable)
        future.add_done_callback(lambda _: self.stop())
        self.run_forever()
        if not future.done():
            raise RuntimeError("the loop stopped before the awaitable finished")
        return future.result()

    def stop(self) -> None:
        self._stopping = True

    def is_running(self) -> bool:
        return self._running

    def is_closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        if self._running:
            raise RuntimeError("cannot close a running loop")
        if not self._closed:
            self._closed = True
            self._ready.clear()
            self._timers.clear()
            self._selector.close()

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("the MiniLoop is closed")

    # -- errors -------------------------------------------------------------------------------

    def set_exception_handler(self, handler: Callable[[MiniLoop, dict[str, Any]], object] | None) -> None:
        """``handler(loop, context)`` sees every exception a callback raised (None: print it)."""
        self._exception_handler = handler

    def call_exception_handler(self, context: dict[str, Any]) -> None:
        if self._exception_handler is not None:
            self._exception_handler(self, context)
            return
        exc = context.get("exception")
        print(f"MiniLoop: {context.get('message', 'error')}", file=sys.stderr)
        if exc is not None:
            traceback.print_exception(exc, file=sys.stderr)


async def sleep(delay: float, result: T | None = None) -> T | None:
    """Suspend the current task for ``delay`` seconds of loop time (0: just let others run)."""
    if delay <= 0:
        await yield_now()
        return result
    loop = get_running_loop()
    future: Future[T | None] = loop.create_future()
    timer = loop.call_later(delay, _resolve, future, result)
    try:
        return await future
    finally:
        timer.cancel()


def _resolve(future: Future[T], value: T) -> None:
    if not future.done():
        future.set_result(value)


class _YieldNow:
    """``await yield_now()``: one bare yield, i.e. go to the back of the ready queue (like asyncio.sleep(0))."""

    def __await__(self) -> Generator[None, None, None]:
        yield


def yield_now() -> _YieldNow:
    return _YieldNow()


def _name(callback: object) -> str:
    owner = getattr(callback, "__self__", None)
    if isinstance(owner, Task):
        return f"{owner.name}.{getattr(callback, '__name__', 'step')}"
    return getattr(callback, "__qualname__", None) or repr(callback)
