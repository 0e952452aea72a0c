"""A small job service to practise graceful shutdown on (``python -m <root>.runtime serve``).

Protocol, one TCP connection per job, lines of ASCII:

- the client sends ``hold <id>`` (the job runs until the client sends ``release``) or
  ``sleep <id> <seconds>`` (the job takes that long);
- the service answers ``accepted <id>`` at once, then ``done <id>`` when the job ends, or
  ``cancelled <id>`` if shutdown had to cancel it.

On stdout the service reports ``listening <host> <port>``, then at shutdown
``stopping signal=<NAME> in_flight=<n>`` and ``drained finished=<n> cancelled=<n> forced=<yes|no>``.
Its exit code is the drain report's: 0 all finished, 1 work cancelled at the deadline,
128+signal when a second signal forced it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from typing import TextIO

from .shutdown import GracefulShutdown


async def handle_job(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Run one job for one connection (see the module docstring)."""
    job = "?"
    try:
        words = (await reader.readline()).decode("ascii", "replace").split()
        if len(words) < 2 or words[0] not in ("hold", "sleep"):
            writer.write(b"error expected 'hold <id>' or 'sleep <id> <seconds>'\n")
            return
        job = words[1]
        writer.write(f"accepted {job}\n".encode())
        await writer.drain()
        if words[0] == "hold":
            await reader.readline()  # "release" (or the client hung up)
        else:
            await asyncio.sleep(float(words[2]) if len(words) > 2 else 0.0)
        writer.write(f"done {job}\n".encode())
        await writer.drain()
    except asyncio.CancelledError:
        writer.write(f"cancelled {job}\n".encode())  # best effort: the socket buffer takes it
        raise
    except (ConnectionError, ValueError):
        pass
    finally:
        writer.close()


class CannotListen(Exception):  # noqa: N818 (reads as what happened)
    """The listening socket could not be opened (address in use, no permission)."""


class Status:
    """Status lines on stdout. If the reader goes away (``| head``), the service goes on quietly:
    a closed pipe must not turn a graceful drain into a crash."""

    def __init__(self, out: TextIO) -> None:
        self.out: TextIO | None = out

    def say(self, text: str) -> None:
        if self.out is None:
            return
        try:
            print(text, file=self.out, flush=True)
        except BrokenPipeError:
            # Point the file descriptor at /dev/null, so that Python's final flush at exit is quiet too.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self.out.fileno())
            os.close(devnull)
            self.out = None


async def serve(host: str = "127.0.0.1", port: int = 0, deadline: float = 10.0, out: TextIO | None = None) -> int:
    """Serve jobs until SIGINT/SIGTERM, drain, and return the exit code."""
    status = Status(out or sys.stdout)
    shutdown = GracefulShutdown(deadline)
    shutdown.install()
    try:
        try:
            server = await asyncio.start_server(lambda r, w: shutdown.track(handle_job(r, w)), host, port)
        except OSError as exc:
            raise CannotListen(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        shutdown.on_stop(server.close)  # stop accepting the moment a stop is requested
        bound = server.sockets[0].getsockname()
        status.say(f"listening {bound[0]} {bound[1]}")
        signum = await shutdown.wait()
        name = signal.Signals(signum).name if signum else "none"
        status.say(f"stopping signal={name} in_flight={shutdown.in_flight}")
        report = await shutdown.drain()
        forced = "yes" if report.forced else "no"
        status.say(f"drained finished={report.finished} cancelled={report.cancelled} forced={forced}")
        return report.exit_code
    finally:
        shutdown.uninstall()
