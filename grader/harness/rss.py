"""Memory of a process tree over time (psutil), and the peak.

Sampling can miss a short spike, so the peak also takes the kernel's own high-water mark of the
started process (``VmHWM`` in /proc/<pid>/status, which starts afresh at exec). Not ``ru_maxrss``
from wait4: that one also counts the memory the child had before exec, i.e. a copy of whatever
process started it (a 60 MB test runner would make every program look 60 MB big).
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import IO, Any

import psutil

from .proc import MEMORY_CAP, kill_tree, limits, shown

MB = 1 << 20


def tree_rss(proc: psutil.Process, pss: bool = False) -> int:
    """Resident bytes of a process and all its descendants (0 once it is gone).

    RSS counts a page shared by several processes (a forked worker and its parent) once per
    process: an upper bound. ``pss=True`` splits each shared page among its sharers (slower to read).
    """
    total = 0
    try:
        members = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0
    for member in members:
        try:
            total += member.memory_full_info().pss if pss else member.memory_info().rss
        except psutil.Error:
            pass
    return total


class RssSampler:
    """Samples the tree's RSS every ``interval`` seconds on a background thread."""

    def __init__(self, pid: int, interval: float = 0.02, pss: bool = False) -> None:
        self.proc = psutil.Process(pid)
        self.interval = interval
        self.pss = pss
        self.peak_pss = 0
        self.timeline: list[tuple[float, int]] = []
        self.high_water = 0  # the started process's own peak RSS (VmHWM), bytes
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="rss-sampler", daemon=True)
        self._start = time.monotonic()

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    @property
    def peak(self) -> int:
        """The larger of the sampled tree total and the started process's own high-water mark."""
        return max(max((rss for _, rss in self.timeline), default=0), self.high_water)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.high_water = max(self.high_water, high_water_mark(self.proc.pid))
            if self.pss:
                self.peak_pss = max(self.peak_pss, tree_pss_now(self.proc))
            rss = tree_rss(self.proc)
            if rss:
                self.timeline.append((time.monotonic() - self._start, rss))
            self._stop.wait(self.interval)


def tree_pss_now(proc: psutil.Process) -> int:
    return tree_rss(proc, pss=True)


def high_water_mark(pid: int) -> int:
    """Peak RSS of one process since its exec, in bytes (0 if unknown or gone)."""
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


@dataclass
class Measurement:
    argv: list[str]
    returncode: int
    wall: float
    peak_rss: int  # bytes, max(sampled tree RSS, the started process's own VmHWM)
    timeline: list[tuple[float, int]] = field(default_factory=list)
    stdout: bytes = b""
    stderr: bytes = b""
    peak_pss: int = 0  # bytes, sampled tree PSS (only when measured with pss=True)

    @property
    def peak_mb(self) -> float:
        return self.peak_rss / MB

    def describe(self) -> str:
        err = self.stderr.decode("utf-8", "replace").strip()
        return f"`{shown(self.argv)}` exited with {self.returncode}" + (f"; stderr: {err[-400:]}" if err else "")


def measure(
    argv: Sequence[str],
    *,
    stdin: str | IO[Any] | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 600,
    interval: float = 0.02,
    memory: int | None = MEMORY_CAP,
    keep_stdout: bool = True,
    pss: bool = False,
) -> Measurement:
    """Run ``argv`` to completion while sampling its tree's memory; stdin may be a file path."""
    import tempfile

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        source = open(stdin, "rb") if isinstance(stdin, str) else stdin  # noqa: SIM115
        try:
            started = time.monotonic()
            proc = subprocess.Popen(
                list(argv),
                stdin=source if source is not None else subprocess.DEVNULL,
                stdout=out if keep_stdout else subprocess.DEVNULL,
                stderr=err,
                env=env,
                preexec_fn=limits(memory),  # noqa: PLW1509
            )
            expired = threading.Event()

            def expire() -> None:
                expired.set()
                kill_tree(proc)

            timer = threading.Timer(timeout, expire)
            timer.daemon = True  # never keeps the test process alive at exit
            timer.start()
            try:
                with RssSampler(proc.pid, interval, pss=pss) as sampler:
                    _, status = os.waitpid(proc.pid, 0)
            except BaseException:
                # Interrupted (the test's own timeout, Ctrl-C): the program must not outlive its test.
                kill_tree(proc)
                proc.wait()
                raise
            finally:
                timer.cancel()
            wall = time.monotonic() - started
            proc.returncode = os.waitstatus_to_exitcode(status)
        finally:
            if isinstance(stdin, str) and source is not None:
                source.close()
        if expired.is_set():
            raise AssertionError(f"`{shown(argv)}` did not finish within {timeout:.0f}s")
        out.seek(0)
        err.seek(0)
        return Measurement(
            list(argv), proc.returncode, wall, sampler.peak, sampler.timeline, out.read(), err.read(), sampler.peak_pss
        )
