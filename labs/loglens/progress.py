"""Progress and final statistics on stderr, never on stdout (stdout is the pipeline's data)."""

from __future__ import annotations

import resource
import sys
import time
from typing import TextIO


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB.

    On Linux this is VmHWM from /proc/self/status: ``ru_maxrss`` would also count the memory of
    the process that started us (exec keeps the old high-water mark), so LogLens launched from a
    100 MB notebook kernel would claim 100 MB. Elsewhere, ru_maxrss (kilobytes on Linux, bytes on macOS).
    """
    try:
        with open("/proc/self/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1 << 20) if sys.platform == "darwin" else peak / 1024


class Progress:
    """Prints a progress line at most every ``every`` seconds while a long input is processed.

    ``tick(lines, done_bytes)`` is called often (once per chunk); it must cost almost nothing
    when it is not yet time to print. ``total_bytes`` (if known) adds a percentage. The line goes
    to ``stream`` (stderr by default) so that ``loglens ... | jq`` still receives pure JSON.
    """

    def __init__(self, every: float = 2.0, total_bytes: int | None = None, stream: TextIO | None = None) -> None:
        self.every = every
        self.total_bytes = total_bytes
        self.stream = stream
        self.started = time.monotonic()
        self.next_at = self.started + every

    def tick(self, lines: int, done_bytes: int, parse_errors: int = 0) -> None:
        raise NotImplementedError('TODO(loglens.Progress.tick): throttle on the clock, then write one line to stderr')
