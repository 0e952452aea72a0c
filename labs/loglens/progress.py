"""Progress and final statistics on stderr, never on stdout (stdout is the pipeline's data)."""

from __future__ import annotations

import resource
import sys
import time
from typing import TextIO


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (Linux reports ru_maxrss in KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


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
