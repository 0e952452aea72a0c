"""Latency recording with an HDR histogram: constant memory, percentiles to 3 significant digits."""

from __future__ import annotations

from hdrh.histogram import HdrHistogram


class LatencyRecorder:
    """Record durations in seconds; read percentiles back in milliseconds."""

    def __init__(self, highest_seconds: float = 3600.0) -> None:
        self._hist = HdrHistogram(1, int(highest_seconds * 1e6), 3)  # microseconds

    def record(self, seconds: float) -> None:
        self._hist.record_value(max(1, int(seconds * 1e6)))

    @property
    def count(self) -> int:
        return int(self._hist.get_total_count())

    def percentile_ms(self, q: float) -> float:
        """q in [0, 100]."""
        return self._hist.get_value_at_percentile(q) / 1000.0

    def cdf_ms(self) -> tuple[list[float], list[float]]:
        """(latency ms, fraction of requests at or below it), ready to plot."""
        xs: list[float] = []
        ys: list[float] = []
        total = self.count or 1
        seen = 0
        for item in self._hist.get_recorded_iterator():
            seen += item.count_at_value_iterated_to
            xs.append(item.value_iterated_to / 1000.0)
            ys.append(seen / total)
        return xs, ys
