"""An exclusive lock across processes, for read-modify-write: an OS advisory lock (flock).

Why ``flock`` on an open file and not "create a lock file, delete it when done":

- The kernel owns an flock. It belongs to the open file; when the process exits *for any
  reason* (return, exception, SIGKILL, power loss) the file is closed and the lock is gone.
  It cannot go stale.
- A lock *file* (``O_CREAT | O_EXCL``, delete on exit) is only a convention: a process killed
  before it deletes the file leaves it behind, and every later run waits for a holder that no
  longer exists, until someone guesses it is stale and deletes it (racing with others who guess
  the same thing).

The lock file itself is never deleted (deleting it while another process waits on it would let
two processes hold "the" lock on two different files). Its contents say who holds the lock now
(pid, host, what it is doing, since when): informational only, used for error messages.
Advisory means only processes that also take the lock are excluded; flock is not reliable on
some network filesystems (older NFS).
"""

from __future__ import annotations

import fcntl
import json
import os
import random
import socket
import sys
import time
from pathlib import Path
from types import TracebackType


class LockTimeout(Exception):  # noqa: N818 (reads better as "raise LockTimeout(...)")
    """The lock was not free within the timeout; ``holder`` describes who has it (or None)."""

    def __init__(self, path: str | os.PathLike[str], timeout: float, holder: str | None) -> None:
        self.path = Path(path)
        self.timeout = timeout
        self.holder = holder
        who = holder or "another process (it left no owner information)"
        super().__init__(f"could not lock {self.path} within {timeout:g}s: held by {who}")


class FileLock:
    """``with FileLock(path, timeout=5): ...`` holds an exclusive flock on ``path`` inside the block.

    - The file is created if missing, with mode 0600 whatever the umask.
    - ``acquire()`` tries without blocking and retries with short sleeps until ``timeout``
      seconds have passed (``timeout=None`` waits for ever), then raises LockTimeout naming
      the holder, read from the file (``holder()``).
    - Once held, the file's contents are replaced by a one-line JSON note about this process:
      ``{"pid": ..., "host": ..., "owner": ..., "since": <unix time>}``.
    - ``release()`` unlocks and closes; it is safe to call twice. The file stays.
    """

    def __init__(self, path: str | os.PathLike[str], *, timeout: float | None = 10.0, owner: str | None = None) -> None:
        self.path = Path(path)
        self.timeout = timeout
        self.owner = owner or Path(sys.argv[0] or "python").name
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock, waiting up to ``timeout`` seconds; raise LockTimeout if it stays busy."""
        # BEGIN SOLUTION: open (0600), flock(LOCK_EX | LOCK_NB) in a loop with sleeps, then note who holds it
        if self._fd is not None:
            raise RuntimeError(f"{self.path} is already locked by this FileLock")
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            os.fchmod(fd, 0o600)
            deadline = None if self.timeout is None else time.monotonic() + self.timeout
            pause = 0.001
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if deadline is not None and time.monotonic() >= deadline:
                        raise LockTimeout(self.path, self.timeout or 0.0, self.holder()) from None
                # Jittered back-off: waiters do not wake in lock-step, and a short hold is not
                # followed by a long idle gap.
                time.sleep(pause * random.uniform(0.5, 1.5))
                pause = min(pause * 2, 0.01)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        note = {"pid": os.getpid(), "host": socket.gethostname(), "owner": self.owner, "since": time.time()}
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, (json.dumps(note) + "\n").encode(), 0)
        except OSError:
            pass  # the note only helps error messages; a full disk must not break the lock itself
        # END SOLUTION

    def release(self) -> None:
        """Unlock and close (closing alone would release the flock too). Idempotent."""
        # BEGIN SOLUTION: flock(LOCK_UN) and close the descriptor, once
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
        # END SOLUTION

    def holder(self) -> str | None:
        """Who holds the lock according to the file, e.g. "pid 4242 on host (safestate set), for 3.1s".

        None when the file is missing, empty or not a note this class wrote. The answer can be
        out of date by the time it is read: use it for messages, never for decisions.
        """
        # BEGIN SOLUTION: read the JSON note and describe it in words
        try:
            note = json.loads(self.path.read_bytes() or b"null")
        except (OSError, ValueError):
            return None
        if not isinstance(note, dict) or "pid" not in note:
            return None
        text = f"pid {note['pid']}"
        if note.get("host"):
            text += f" on {note['host']}"
        if note.get("owner"):
            text += f" ({note['owner']})"
        since = note.get("since")
        if isinstance(since, int | float):
            text += f", for {max(0.0, time.time() - since):.1f}s"
        return text
        # END SOLUTION

    def __enter__(self) -> FileLock:
        self.acquire()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.release()
