""" "Memory does not grow with input size": peak memory at N and at 4N must be about the same.

A streaming program's peak is its fixed cost (interpreter, buffers, bounded tables). A program
that keeps something per line (every latency, every distinct path, the whole file) grows with
the input. Comparing two sizes of the same data on the same machine keeps the check free of
any machine-specific absolute number.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MB = 1 << 20
GROWTH = 1.15  # the larger run may use at most 15% more ...
SLACK = 6 * MB  # ... plus 6 MB (allocator noise, a few more table entries)


@dataclass(frozen=True)
class Flatness:
    small_size: int
    small_peak: int
    large_size: int
    large_peak: int

    @property
    def limit(self) -> int:
        return int(self.small_peak * GROWTH + SLACK)

    @property
    def flat(self) -> bool:
        return self.large_peak <= self.limit

    def explain(self, unit: str = "lines") -> str:
        grew = (self.large_peak - self.small_peak) / MB
        return (
            f"peak memory {self.small_peak / MB:.1f} MB at {self.small_size:,} {unit}, "
            f"{self.large_peak / MB:.1f} MB at {self.large_size:,} {unit} "
            f"({grew:+.1f} MB; allowed up to {self.limit / MB:.1f} MB)"
        )


def check_flat(small_size: int, small_peak: int, large_size: int, large_peak: int) -> Flatness:
    if large_size < 2 * small_size:
        raise ValueError("compare sizes at least 2x apart (4x is the usual choice)")
    return Flatness(small_size, small_peak, large_size, large_peak)


def flat_runs(
    evidence: Any, small_size: int, small: Any, large_size: int, large: Any, reference: Any, title: str
) -> Flatness:
    """The verdict for two measured runs (``harness.rss.Measurement``) at two sizes, with the
    evidence a report shows: both peaks, the reference's peak at the larger size, and the memory
    timeline of the larger run drawn next to the reference's."""
    from . import plots

    evidence.value("peak_mb", {"N": round(small.peak_mb, 1), "4N": round(large.peak_mb, 1)})
    evidence.value("reference_peak_mb_4N", round(reference.peak_mb, 1))
    evidence.attach(
        plots.memory_timeline(
            {"yours": large.timeline, "reference": reference.timeline}, evidence.path("memory-timeline.png"), title
        )
    )
    return check_flat(small_size, small.peak_rss, large_size, large.peak_rss)
