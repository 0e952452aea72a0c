"""Kill at random points, reproducibly: every delay comes from a seeded generator.

The seed is part of every message, and ``IOLAB_SEED`` replays a failing run exactly.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from dataclasses import dataclass
from typing import IO, Any

from .proc import kill_tree


def seed_from_env(default: int | None = None) -> int:
    """``IOLAB_SEED`` if set (to replay), else ``default``, else a fresh random seed."""
    value = os.environ.get("IOLAB_SEED")
    if value:
        return int(value)
    return default if default is not None else random.SystemRandom().randrange(1, 2**31)


@dataclass
class Kill:
    number: int
    delay: float  # seconds after start (or -1 when the kill was triggered by output size)
    signalled: bool  # False when the process ended on its own before the kill
    returncode: int


class KillDriver:
    """Starts a process and kills it after a seeded random delay (or after N bytes of output)."""

    def __init__(self, seed: int | None = None) -> None:
        self.seed = seed_from_env(seed)
        self.rng = random.Random(self.seed)
        self.kills: list[Kill] = []

    @property
    def replay(self) -> str:
        return f"seed {self.seed} (replay with IOLAB_SEED={self.seed})"

    def kill_after(
        self,
        proc: subprocess.Popen[Any],
        low: float,
        high: float,
        sig: int = signal.SIGKILL,
    ) -> Kill:
        """Wait a random delay in [low, high] seconds, then signal the process tree; reap it."""
        delay = self.rng.uniform(low, high)
        try:
            proc.wait(timeout=delay)
            signalled = False
        except subprocess.TimeoutExpired:
            kill_tree(proc, sig)
            signalled = True
        proc.wait()
        kill = Kill(len(self.kills) + 1, delay, signalled, proc.returncode)
        self.kills.append(kill)
        return kill

    def kill_after_bytes(
        self, proc: subprocess.Popen[Any], stream: IO[bytes], low: int, high: int, sig: int = signal.SIGKILL
    ) -> Kill:
        """Read ``stream`` (the process's stdout) until a random count of bytes, then kill."""
        target = self.rng.randint(low, high)
        seen = 0
        while seen < target:
            data = stream.read(min(65536, target - seen))
            if not data:
                break
            seen += len(data)
        signalled = proc.poll() is None
        if signalled:
            kill_tree(proc, sig)
        proc.wait()
        kill = Kill(len(self.kills) + 1, -1.0, signalled, proc.returncode)
        self.kills.append(kill)
        return kill


def wait_for(predicate: Any, timeout: float, every: float = 0.01) -> bool:
    """Poll ``predicate()`` until it is true or ``timeout`` passes (for readiness, not for timing)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return bool(predicate())
