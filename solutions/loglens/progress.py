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
        # BEGIN SOLUTION: throttle on the clock, then write one line to stderr
        now = time.monotonic()
        if now < self.next_at:
            return
        self.next_at = now + self.every
        elapsed = now - self.started
        share = ""
        if self.total_bytes:
            share = f" ({100 * done_bytes / self.total_bytes:.0f}%)"
        stream = self.stream or sys.stderr
        stream.write(
            f"loglens: {lines:,} lines, {done_bytes / 1e6:,.1f} MB{share}, "
            f"{lines / max(elapsed, 1e-9):,.0f} lines/s, {parse_errors:,} parse errors, "
            f"peak RSS {peak_rss_mb():.0f} MB\n"
        )
        stream.flush()
        # END SOLUTION
