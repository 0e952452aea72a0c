"""Running a project's CLI as a real subprocess, the way a user or a pipeline would."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import IO, Any

from ..impl import REFERENCE_MISSING, Root
from ..outcomes import NotStarted

MEMORY_CAP = 4 << 30  # address-space cap for code under test, so a runaway never takes the machine
# The capabilities that let root ignore file modes and ownership (linux/capability.h, prctl.h).
CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER = 1, 2, 3
PR_CAPBSET_DROP = 24


@dataclass
class Completed:
    argv: list[str]
    returncode: int
    stdout: bytes
    stderr: bytes

    @property
    def out(self) -> str:
        return self.stdout.decode("utf-8", "replace")

    @property
    def err(self) -> str:
        return self.stderr.decode("utf-8", "replace")

    def json(self) -> Any:
        try:
            return json.loads(self.stdout)
        except ValueError:
            raise AssertionError(
                f"expected one JSON document on stdout, got: {self.out[:300]!r}"
                + (f"\nstderr: {self.err[-300:]}" if self.stderr else "")
            ) from None

    def describe(self) -> str:
        """A short account for failure messages: command, exit code, the end of stderr."""
        err = self.err.strip()
        tail = f"\nstderr ends with:\n  {err[-600:]}" if err else ""
        return f"`{shown(self.argv)}` exited with {self.returncode}{tail}"


def shown(argv: Sequence[str]) -> str:
    """A command line as a learner would type it (python -m <root>.<project> ...)."""
    args = list(argv)
    if args and args[0] == sys.executable:
        args[0] = "python"
    return " ".join(a if a and " " not in a else repr(a) for a in args)


def limits(memory: int | None = MEMORY_CAP, fsize: int | None = None, unprivileged: bool = False) -> Callable[[], None]:
    """A preexec function: own session (so the whole tree can be signalled), resource caps, and
    with ``unprivileged`` no power to ignore file permissions (see ``drop_file_privileges``).

    A cap never goes above the limit the grader itself runs under (``iolab gradebook`` sets
    tighter ones, and only root may raise a hard limit): the lower of the two applies.
    """
    drop = drop_file_privileges() if unprivileged else None

    def apply() -> None:
        os.setsid()
        # A grader started with `cmd &` or under some CI runners has SIGINT ignored, and children
        # inherit that: the program under test must meet Ctrl-C the way a terminal user's would.
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        if memory:
            _lower(resource.RLIMIT_AS, memory)
        if fsize is not None:
            _lower(resource.RLIMIT_FSIZE, fsize)
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # fail the write with EFBIG, not die
        if drop is not None:
            drop()

    return apply


def drop_file_privileges() -> Callable[[], None] | None:
    """A function for a child (before exec) that makes file modes apply to it even as root.

    Root ignores permissions through three capabilities (DAC_OVERRIDE, DAC_READ_SEARCH, FOWNER);
    a "permission denied" test run as root proves nothing unless the child loses them. The child
    keeps uid 0 (so it can still run an interpreter installed under /root, which a switch to
    "nobody" could not) and drops the three from its bounding set, which execve cannot restore.
    For any other user this returns None: such a process never had these powers.
    """
    if os.geteuid() != 0:
        return None
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)

    def drop() -> None:
        for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER):
            if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
                code = ctypes.get_errno()
                raise OSError(code, f"prctl(PR_CAPBSET_DROP, {cap}): {os.strerror(code)}")

    return drop


def _lower(which: int, value: int) -> None:
    _, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(which, (value, value))


def kill_tree(proc: subprocess.Popen[Any], sig: int = signal.SIGKILL) -> None:
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


class Cli:
    """``python -m <root>.<project> ...`` for the implementation under test."""

    def __init__(self, root: Root, project: str) -> None:
        self.root = root
        self.project = project

    def require(self) -> None:
        """Skip the test when this root is not in this copy (the reference, in a student copy)."""
        if not self.root.present:
            import pytest

            pytest.skip(REFERENCE_MISSING)

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", f"{self.root.package}.{self.project}", *args]

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = self.root.env()
        env.setdefault("PYTHONUNBUFFERED", "0")
        if extra:
            env.update(extra)
        return env

    def popen(
        self,
        *args: str,
        stdin: int | IO[Any] | None = subprocess.DEVNULL,
        stdout: int | IO[Any] | None = subprocess.PIPE,
        stderr: int | IO[Any] | None = subprocess.PIPE,
        env: dict[str, str] | None = None,
        cwd: str | None = None,
        memory: int | None = MEMORY_CAP,
        fsize: int | None = None,
        unprivileged: bool = False,
    ) -> subprocess.Popen[bytes]:
        """Start the CLI. ``unprivileged``: file permissions apply even when the grader is root."""
        self.require()
        return subprocess.Popen(
            self.argv(*args),
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
            env=self.env(env),
            cwd=cwd,
            preexec_fn=limits(memory, fsize, unprivileged),  # noqa: PLW1509 (no threads started by the grader here)
        )

    def run(
        self,
        *args: str,
        input: bytes | None = None,
        stdin: IO[Any] | None = None,
        timeout: float = 120,
        env: dict[str, str] | None = None,
        cwd: str | None = None,
        memory: int | None = MEMORY_CAP,
        fsize: int | None = None,
        unprivileged: bool = False,
    ) -> Completed:
        """Run to completion. A stub reached inside raises NotStarted; a hang fails the test."""
        proc = self.popen(
            *args,
            stdin=subprocess.PIPE if input is not None else (stdin or subprocess.DEVNULL),
            env=env,
            cwd=cwd,
            memory=memory,
            fsize=fsize,
            unprivileged=unprivileged,
        )
        try:
            out, err = proc.communicate(input, timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_tree(proc)
            out, err = proc.communicate()
            raise AssertionError(
                f"`{shown(self.argv(*args))}` did not finish within {timeout:.0f}s "
                f"(is it waiting for input that never comes, or stuck in a loop?)"
            ) from None
        except BaseException:
            kill_tree(proc)  # interrupted (the test's own timeout): the program must not outlive its test
            proc.wait()
            raise
        done = Completed(self.argv(*args), proc.returncode, out, err)
        raise_if_stub(done.returncode, done.err)
        return done

    def measure(self, *args: str, stdin: str | None = None, timeout: float = 600, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
        """Run to completion while sampling memory (see harness.rss.measure)."""
        from .rss import measure

        self.require()
        found = measure(self.argv(*args), stdin=stdin, env=self.env(env), timeout=timeout)
        raise_if_stub(found.returncode, found.stderr.decode("utf-8", "replace"))
        return found


def raise_if_stub(returncode: int, stderr: str) -> None:
    """A process that failed because it reached a TODO stub means "not started", not "broken"."""
    stub = NotStarted.find(stderr) if returncode != 0 else None
    if stub is not None:
        raise stub
