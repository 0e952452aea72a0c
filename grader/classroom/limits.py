"""Limits for one submission, the user it runs as, and finding and killing all of its processes.

What the limits cover (set with setrlimit on the grading process; every process it starts,
the learner's code included, inherits them):
- CPU time per process (RLIMIT_CPU: SIGXCPU, then SIGKILL),
- address space per process (RLIMIT_AS: allocations fail with MemoryError),
- open files per process (RLIMIT_NOFILE),
- size of any one file written (RLIMIT_FSIZE: SIGXFSZ kills the writer),
- processes at once (RLIMIT_NPROC; it counts per user, see below), and a watchdog in the
  gradebook that kills the whole submission when it has more than ``max_procs`` processes,
- wall clock for the whole submission (the watchdog), and a cap on the grading process's log.

Run as root, each parallel job slot grades as its own unprivileged user (a uid from
``uid_base`` on that has no account and that no other gradebook holds, see ``UidClaim``): the
process limit then counts only that submission, its files are its own, the course and the
instructor's files are read-only to it, and killing the submission is one ``kill(-1)`` from
that user. Run as an ordinary user, the process limit is shared by the
whole batch and the instructor's files are as writable as the instructor's own code: see
docs/classroom.md for what that means and for running the batch in a container.
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO

import psutil

TOKEN_ENV = "IOLAB_GRADEBOOK_TOKEN"  # marks a submission's processes when no user of its own
UID_BASE = 60600  # 60578-61183 is unused by Linux distributions and systemd (see docs/classroom.md)
MB = 1 << 20

# Per project graded: the wall clock; per process: CPU seconds; the size of one written file.
_BY_SCALE = {
    "quick": {"wall": 300, "cpu": 300, "output_mb": 64},
    "standard": {"wall": 1200, "cpu": 1800, "output_mb": 512},
    "full": {"wall": 7200, "cpu": 7200, "output_mb": 4096},
}


@dataclass(frozen=True)
class Limits:
    wall: float  # seconds for the whole submission (every project)
    cpu: int  # CPU seconds per process
    memory_mb: int  # address space per process
    files: int  # open files per process
    output_mb: int  # the largest file any of its processes may write
    max_procs: int  # processes at once
    import_timeout: float  # seconds for importing the submission's modules
    test_timeout: int | None = None  # seconds per test (None: the scale's own)

    @classmethod
    def defaults(cls, scale: str, projects: int = 1) -> Limits:
        base = _BY_SCALE[scale]
        return cls(
            wall=float(base["wall"] * max(projects, 1)),
            cpu=base["cpu"],
            memory_mb=4096,
            files=1024,
            output_mb=base["output_mb"],
            max_procs=128,
            import_timeout=30.0,
        )

    def to_json(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        per_test = f", {self.test_timeout}s per test" if self.test_timeout else ""
        return (
            f"{self.wall:.0f}s wall clock per submission{per_test}; per process {self.cpu}s CPU, "
            f"{self.memory_mb} MB address space, {self.files} open files, files up to {self.output_mb} MB; "
            f"at most {self.max_procs} processes"
        )


@dataclass(frozen=True)
class Identity:
    """The unprivileged user a submission runs as (only when the gradebook runs as root)."""

    uid: int
    gid: int


def identity_for(slot: int, uid_base: int = UID_BASE, same_user: bool = False) -> Identity | None:
    if same_user or os.geteuid() != 0:
        return None
    return Identity(uid_base + slot, uid_base + slot)


class UidClaim:
    """Users for the job slots, claimed for the whole batch: the first uids from ``base`` that
    have no account and are not locked by another gradebook (a lock file in the temporary
    folder, held while the batch runs), so two batches on one machine never share a user.
    Processes still running as a claimed uid were left by a gradebook that died (a live one
    would hold the lock): they are killed."""

    SPAN = 580  # base 60600 stays inside 60578-61183, which nothing allocates

    def __init__(self, count: int, base: int = UID_BASE, say: Callable[[str], None] = print) -> None:
        import fcntl
        import pwd
        import tempfile

        self.identities: list[Identity] = []
        self._locks: list[IO[str]] = []
        for uid in range(base, base + self.SPAN):
            if len(self.identities) == count:
                return
            try:
                pwd.getpwuid(uid)
                continue  # an account: not ours
            except KeyError:
                pass
            lock = open(Path(tempfile.gettempdir()) / f"iolab-gradebook-uid-{uid}.lock", "a")  # noqa: SIM115
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                lock.close()
                continue  # another gradebook's
            identity = Identity(uid, uid)
            if Members(identity, "").pids():
                say(f"killing processes left as uid {uid} by an earlier gradebook")
                if not Members(identity, "").kill_all():
                    lock.close()
                    continue
            self._locks.append(lock)
            self.identities.append(identity)
        self.release()
        raise LookupError(f"no {count} free uids from {base} on (see --uid-base)")

    def release(self) -> None:
        for lock in self._locks:
            lock.close()
        self._locks.clear()


def preexec(limits: Limits, identity: Identity | None) -> Callable[[], None]:
    """Resource limits for the grading process (it runs after the switch to ``identity``, so it
    only ever lowers limits, which any user may do)."""
    nproc = _task_budget(limits, identity)

    def apply() -> None:
        _set(resource.RLIMIT_CPU, limits.cpu, limits.cpu + 5)  # SIGXCPU first, SIGKILL 5 s later
        _set(resource.RLIMIT_AS, limits.memory_mb * MB)
        _set(resource.RLIMIT_NOFILE, limits.files)
        _set(resource.RLIMIT_FSIZE, limits.output_mb * MB)
        _set(resource.RLIMIT_CORE, 0)
        if nproc is not None:
            _set(resource.RLIMIT_NPROC, nproc)

    return apply


def _task_budget(limits: Limits, identity: Identity | None) -> int | None:
    """RLIMIT_NPROC counts tasks (processes and threads) of the real user, everywhere. With a
    user of its own, a submission gets four tasks per allowed process. Without one, the limit
    would count the instructor's own processes too: the budget is what the user runs now plus a
    share per submission, so a fork storm stops at a wall instead of at the machine's end."""
    if identity is not None:
        return 4 * limits.max_procs
    if os.geteuid() == 0:
        return None  # root ignores RLIMIT_NPROC; the watchdog is all there is (use a user per slot)
    mine = 0
    for proc in psutil.process_iter(["uids", "num_threads"]):
        with contextlib.suppress(psutil.Error, TypeError):
            if proc.info["uids"].real == os.getuid():
                mine += proc.info["num_threads"] or 1
    return mine + 8 * limits.max_procs


def _set(which: int, soft: int, hard: int | None = None) -> None:
    hard = soft if hard is None else hard
    _, current = resource.getrlimit(which)
    if current != resource.RLIM_INFINITY:
        soft, hard = min(soft, current), min(hard, current)
    resource.setrlimit(which, (soft, hard))


class Census:
    """One look at every process on the machine, to count and find each submission's
    (``want_tokens``: also read the environment of our own user's processes, which costs more)."""

    def __init__(self, want_tokens: bool = False) -> None:
        self.by_uid: dict[int, list[int]] = {}
        self.by_token: dict[str, list[int]] = {}
        me, my_uid = os.getpid(), os.getuid()
        for proc in psutil.process_iter(["uids", "status"]):
            try:
                if proc.pid == me or proc.info["status"] == psutil.STATUS_ZOMBIE:
                    continue
                uid = proc.info["uids"].real
                self.by_uid.setdefault(uid, []).append(proc.pid)
                if want_tokens and uid == my_uid:
                    token = proc.environ().get(TOKEN_ENV)
                    if token:
                        self.by_token.setdefault(token, []).append(proc.pid)
            except (psutil.Error, TypeError):
                continue


class Members:
    """The processes of one submission: by its user when it has one, else by its token (an
    environment variable every process it starts inherits; code that clears its environment
    escapes this count, which is one of the reasons to grade untrusted code as root in a container)."""

    def __init__(self, identity: Identity | None, token: str) -> None:
        self.identity = identity
        self.token = token

    def pids(self, census: Census | None = None) -> list[int]:
        census = census or Census(want_tokens=self.identity is None)
        if self.identity is not None:
            return census.by_uid.get(self.identity.uid, [])
        return census.by_token.get(self.token, [])

    def kill_all(self, rounds: int = 100) -> bool:
        """SIGKILL every process of the submission until none is left; False if some survive."""
        for _ in range(rounds):
            pids = self.pids()
            if not pids:
                return True
            if self.identity is not None:
                _kill_as(self.identity)  # kill(-1) as that user: everything it owns, at once
            _kill(pids)
            time.sleep(0.05)
        return not self.pids()


def _kill(pids: Iterable[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def _kill_as(identity: Identity) -> None:
    """``kill(-1, SIGKILL)`` from a process of that user: the kernel signals all of the user's
    processes while holding the process list, so a fork storm cannot outrun it. A bare fork
    (no exec: the interpreter may not be runnable by that user); the gradebook runs no threads."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover (the child)
        try:
            os.setgroups([])
            os.setgid(identity.gid)
            os.setuid(identity.uid)
            os.kill(-1, signal.SIGKILL)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
