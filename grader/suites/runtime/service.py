"""The client side of the practice service (``python -m <root>.runtime serve``), for shutdown tests.

Every wait is bounded, and ordering comes from the service's own lines (``listening``,
``accepted``, ``stopping``), never from sleeping and hoping.
"""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import threading
import time
from typing import IO

from grader.harness.proc import Cli, kill_tree, raise_if_stub

WAIT = 30.0  # seconds any single step may take before the test gives up (generous: CI is slow)


class Service:
    def __init__(self, cli: Cli, deadline: float) -> None:
        self.cli = cli
        self.deadline = deadline
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self.host = "127.0.0.1"
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    # -- process --------------------------------------------------------------------------------

    def start(self) -> Service:
        self.proc = self.cli.popen("serve", "--port", "0", "--deadline", str(self.deadline))
        threading.Thread(target=self._pump, args=(self.proc.stdout, self.lines, self.stdout), daemon=True).start()
        threading.Thread(target=self._pump, args=(self.proc.stderr, None, self.stderr), daemon=True).start()
        first = self.lines.get(timeout=WAIT)
        if first is None or not first.startswith("listening "):
            code = self.proc.wait(timeout=WAIT)
            time.sleep(0.05)  # let the stderr pump finish the last lines
            raise_if_stub(code, "".join(self.stderr))
            raise AssertionError(
                f"the service should print 'listening <host> <port>' first; got {first!r} and exit code {code}. "
                + self.output()
            )
        _, self.host, port = first.split()
        self.port = int(port)
        return self

    @staticmethod
    def _pump(stream: IO[bytes] | None, lines: queue.Queue[str | None] | None, keep: list[str]) -> None:
        assert stream is not None
        for raw in iter(stream.readline, b""):
            text = raw.decode("utf-8", "replace")
            keep.append(text)
            if lines is not None:
                lines.put(text.strip())
        if lines is not None:
            lines.put(None)

    def expect(self, prefix: str, timeout: float = WAIT) -> str:
        """The next stdout line, which must start with ``prefix``."""
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(
                f"the service printed no {prefix!r} line within {timeout:.0f}s. " + self.output()
            ) from None
        assert line is not None and line.startswith(prefix), (
            f"expected a line starting with {prefix!r} on the service's stdout, got {line!r}. " + self.output()
        )
        return line

    def send(self, sig: int) -> float:
        """Send ``sig`` to the service; returns the time it was sent (time.monotonic)."""
        assert self.proc is not None
        os.kill(self.proc.pid, sig)
        return time.monotonic()

    def wait(self, timeout: float = WAIT) -> int:
        assert self.proc is not None
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(
                f"the service did not exit within {timeout:.0f}s of the signal: the drain never ends "
                "(is something still waiting without a deadline?). " + self.output()
            ) from None
        time.sleep(0.05)  # let the pumps read what is left
        raise_if_stub(code, "".join(self.stderr))
        return code

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            kill_tree(self.proc, signal.SIGKILL)
            self.proc.wait()

    def output(self) -> str:
        out = "".join(self.stdout).strip()[-800:]
        err = "".join(self.stderr).strip()[-800:]
        return f"\nservice stdout:\n{out or '(nothing)'}\nservice stderr:\n{err or '(nothing)'}"

    # -- clients --------------------------------------------------------------------------------

    def job(self, job_id: int, command: str = "hold", seconds: float | None = None) -> Job:
        """Open a connection, start a job, and return once the service has said 'accepted'."""
        sock = socket.create_connection((self.host, self.port), timeout=WAIT)
        line = f"{command} {job_id}" + (f" {seconds}" if seconds is not None else "") + "\n"
        sock.sendall(line.encode())
        job = Job(sock, job_id)
        reply = job.line()
        assert reply == f"accepted {job_id}", (
            f"job {job_id}: the service should answer 'accepted {job_id}' at once, got {reply!r}. " + self.output()
        )
        return job

    def refuses_connections(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=5):
                return False
        except ConnectionRefusedError:
            return True
        except OSError:
            return True


class Job:
    def __init__(self, sock: socket.socket, job_id: int) -> None:
        self.sock = sock
        self.id = job_id
        self.buffer = b""

    def line(self, timeout: float = WAIT) -> str:
        """The next line from the service ('' if it closed the connection without one)."""
        self.sock.settimeout(timeout)
        while b"\n" not in self.buffer:
            try:
                chunk = self.sock.recv(4096)
            except TimeoutError:
                return f"(no answer within {timeout:.0f}s)"
            except ConnectionResetError:
                return ""
            if not chunk:
                return ""
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line.decode("ascii", "replace").strip()

    def release(self) -> None:
        self.sock.sendall(b"release\n")

    def close(self) -> None:
        self.sock.close()
