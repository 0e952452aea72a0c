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
        raise NotImplementedError('TODO(runtime.GracefulShutdown.__init__): the loop, tracked tasks, stop callbacks, stop/force state, a wake-up future')

    def install(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Handle ``self.signals`` on ``loop`` (default: the running loop); main thread only."""
        raise NotImplementedError('TODO(runtime.GracefulShutdown.install): loop.add_signal_handler(sig, self.request_stop, sig) for each signal')

    def uninstall(self) -> None:
        """Give the signals back to their default handling."""
        raise NotImplementedError('TODO(runtime.GracefulShutdown.uninstall): remove the handlers installed')

    def on_stop(self, callback: Callable[[], object]) -> None:
        raise NotImplementedError('TODO(runtime.GracefulShutdown.on_stop): remember it (call it now if the stop already happened)')

    def track(self, aw: Awaitable[T]) -> asyncio.Task[T]:
        """Run ``aw`` as in-flight work (it is waited for, then cancelled, at shutdown)."""
        raise NotImplementedError("TODO(runtime.GracefulShutdown.track): create the task, keep it in a set until it is done (and in the drain's list once stopping)")

    @property
    def in_flight(self) -> int:
        """Tracked work not finished yet."""
        raise NotImplementedError('TODO(runtime.GracefulShutdown.in_flight): the live tasks')

    @property
    def stopping(self) -> bool:
        raise NotImplementedError('TODO(runtime.GracefulShutdown.stopping): has a stop been requested?')

    def request_stop(self, signum: int | None = None) -> None:
        """First call: stop accepting and start the drain clock. Any later call: force."""
        raise NotImplementedError('TODO(runtime.GracefulShutdown.request_stop): first call: record, run stop callbacks, set the event; later calls: force')

    async def wait(self) -> int | None:
        """Until a stop is requested; the signal number that requested it (None when code did)."""
        raise NotImplementedError('TODO(runtime.GracefulShutdown.wait): wait on the event')

    async def drain(self) -> DrainReport:
        """Let in-flight work finish until the deadline (or a forced stop), then cancel the rest."""
        raise NotImplementedError('TODO(runtime.GracefulShutdown.drain): wait for the tasks or the deadline or a force; cancel leftovers and await them; report')
