"""Graceful shutdown for an asyncio service.

What a supervisor (systemd, Kubernetes, Ctrl-C in a terminal) expects when it sends SIGTERM or
SIGINT:

1. stop taking new work at once (close the listening socket: new connections are refused, so a
   load balancer moves them elsewhere);
2. let the work already accepted finish, but only for so long (the *deadline*; Kubernetes sends
   SIGKILL after ``terminationGracePeriodSeconds``, 30 s by default);
3. at the deadline, cancel what is left, let it clean up (``CancelledError`` runs ``finally``
   blocks and ``except CancelledError`` handlers), and exit;
4. a second signal means "now": cancel everything immediately.

In Python, a signal handler installed with ``signal.signal`` runs between two bytecodes of the
main thread, in the middle of whatever it was doing. ``loop.add_signal_handler`` is the asyncio
way: the handler runs as an ordinary callback on the loop, so it may touch loop state safely.
(Node's ``process.on('SIGTERM')`` is the same idea: the handler is an event on the loop.)
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DrainReport:
    """How a shutdown went."""

    signal: int | None  # the signal that started it (None when stopped by code)
    finished: int  # work that ended on its own after the stop was requested
    cancelled: int  # work cancelled at the deadline or by a forced stop
    forced: bool  # a second stop request cut the drain short
    waited: float  # loop seconds from the stop request to the end of the drain

    @property
    def exit_code(self) -> int:
        """0 when everything finished; 1 when work had to be cancelled; 128+signal when forced."""
        if self.forced:
            return 128 + (self.signal or signal.SIGTERM)
        return 1 if self.cancelled else 0


class GracefulShutdown:
    """Coordinates stopping a service: signals in, a drain with a deadline out.

    - ``install()``: route ``signals`` (SIGINT, SIGTERM) to ``request_stop`` via the running loop.
    - ``on_stop(callback)``: called once at the first stop request (e.g. ``server.close`` to stop
      accepting).
    - ``track(aw)``: run ``aw`` as a task that counts as in-flight work; returns the task.
    - ``request_stop(signum)``: what a signal does. The first call starts the shutdown; any
      further call forces it (everything still running is cancelled at once).
    - ``await wait()``: until a stop is requested; returns the signal number (or None).
    - ``await drain()``: wait for in-flight work until ``deadline`` seconds after the stop request,
      then cancel what is left and wait for it to finish cancelling; returns a ``DrainReport``.
    """

    def __init__(self, deadline: float = 10.0, *, signals: Sequence[int] = (signal.SIGINT, signal.SIGTERM)) -> None:
        if deadline < 0:
            raise ValueError("deadline must be >= 0")
        self.deadline = deadline
        self.signals = tuple(signals)
        # BEGIN SOLUTION: the loop, tracked tasks, stop callbacks, stop/force state, a wake-up future
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._callbacks: list[Callable[[], object]] = []
        self._stopped = asyncio.Event()
        self._signal: int | None = None
        self._stop_at = 0.0
        self._forced = False
        self._since_stop: list[asyncio.Task[Any]] = []  # in flight at the stop, or started after it
        self._wakeup: asyncio.Future[None] | None = None
        self._installed: list[int] = []
        # END SOLUTION

    def install(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Handle ``self.signals`` on ``loop`` (default: the running loop); main thread only."""
        # BEGIN SOLUTION: loop.add_signal_handler(sig, self.request_stop, sig) for each signal
        self._loop = loop or asyncio.get_running_loop()
        for sig in self.signals:
            self._loop.add_signal_handler(sig, self.request_stop, sig)
            self._installed.append(sig)
        # END SOLUTION

    def uninstall(self) -> None:
        """Give the signals back to their default handling."""
        # BEGIN SOLUTION: remove the handlers installed
        if self._loop is not None and not self._loop.is_closed():
            for sig in self._installed:
                self._loop.remove_signal_handler(sig)
        self._installed.clear()
        # END SOLUTION

    def on_stop(self, callback: Callable[[], object]) -> None:
        # BEGIN SOLUTION: remember it (call it now if the stop already happened)
        if self._stopped.is_set():
            callback()
        else:
            self._callbacks.append(callback)
        # END SOLUTION

    def track(self, aw: Awaitable[T]) -> asyncio.Task[T]:
        """Run ``aw`` as in-flight work (it is waited for, then cancelled, at shutdown)."""
        # BEGIN SOLUTION: create the task, keep it in a set until it is done (and in the drain's list once stopping)
        task = asyncio.ensure_future(aw)
        self._tasks.add(task)
        if self._stopped.is_set():
            self._since_stop.append(task)
        task.add_done_callback(self._task_done)
        return task  # type: ignore[return-value]
        # END SOLUTION

    @property
    def in_flight(self) -> int:
        """Tracked work not finished yet."""
        # BEGIN SOLUTION: the live tasks
        return sum(1 for t in self._tasks if not t.done())
        # END SOLUTION

    @property
    def stopping(self) -> bool:
        # BEGIN SOLUTION: has a stop been requested?
        return self._stopped.is_set()
        # END SOLUTION

    def request_stop(self, signum: int | None = None) -> None:
        """First call: stop accepting and start the drain clock. Any later call: force."""
        # BEGIN SOLUTION: first call: record, run stop callbacks, set the event; later calls: force
        loop = self._loop or asyncio.get_running_loop()
        self._loop = loop
        if self._stopped.is_set():
            self._forced = True
            log.warning("second stop request: cancelling %d tasks now", self.in_flight)
            self._wake()
            return
        self._signal = signum
        self._stop_at = loop.time()
        self._since_stop = [t for t in self._tasks if not t.done()]
        self._stopped.set()
        callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            try:
                callback()
            except Exception:
                log.exception("stop callback %r failed", callback)
        # END SOLUTION

    async def wait(self) -> int | None:
        """Until a stop is requested; the signal number that requested it (None when code did)."""
        # BEGIN SOLUTION: wait on the event
        await self._stopped.wait()
        return self._signal
        # END SOLUTION

    async def drain(self) -> DrainReport:
        """Let in-flight work finish until the deadline (or a forced stop), then cancel the rest."""
        # BEGIN SOLUTION: wait for the tasks or the deadline or a force; cancel leftovers and await them; report
        if not self._stopped.is_set():
            raise RuntimeError("drain() before a stop was requested")
        loop = asyncio.get_running_loop()
        end = self._stop_at + self.deadline
        while not self._forced:
            live = [t for t in self._tasks if not t.done()]
            remaining = end - loop.time()
            if not live or remaining <= 0:
                break
            self._wakeup = loop.create_future()
            await asyncio.wait([*live, self._wakeup], timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
            self._wakeup = None
        leftovers = [t for t in self._tasks if not t.done()]
        for task in leftovers:
            task.cancel()
        if leftovers:
            await asyncio.wait(leftovers)
        # Count from the tasks themselves: their done callbacks may not have run yet.
        cancelled = sum(1 for t in self._since_stop if t.cancelled())
        return DrainReport(
            signal=self._signal,
            finished=len(self._since_stop) - cancelled,
            cancelled=cancelled,
            forced=self._forced,
            waited=loop.time() - self._stop_at,
        )

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("tracked task failed", exc_info=task.exception())

    def _wake(self) -> None:
        if self._wakeup is not None and not self._wakeup.done():
            self._wakeup.set_result(None)
        # END SOLUTION
