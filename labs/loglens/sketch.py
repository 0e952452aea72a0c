"""A latency sketch: quantiles within a fixed relative error, in memory that does not grow with N."""

from __future__ import annotations

import math


class LatencySketch:
    """Approximate quantiles of non-negative values (latencies in ms) with bounded memory.

    Guarantee: for every q in [0, 1], ``quantile(q)`` is within ``relative_accuracy`` (relative
    error) of the exact nearest-rank quantile, i.e. the value at 1-based rank ``max(1, ceil(q*n))``
    of the sorted values. Memory depends on the range of the values (how many powers of
    ``1 + 2*accuracy`` lie between the smallest and the largest), never on how many were added.

    - ``add(value)``: value >= 0; a negative or NaN value raises ValueError.
    - ``merge(other)``: afterwards self summarizes both streams; accuracies must match.
    - ``quantile(q)``: None when empty; ValueError if q is outside [0, 1].
    - ``count``, ``max`` (exact; None when empty), ``min`` (exact; None when empty).
    """

    def __init__(self, relative_accuracy: float = 0.01) -> None:
        if not 0.0 < relative_accuracy < 1.0:
            raise ValueError("relative_accuracy must be between 0 and 1")
        self.relative_accuracy = relative_accuracy
        raise NotImplementedError('TODO(loglens.LatencySketch.__init__): set up the buckets and the exact counters')

    def add(self, value: float) -> None:
        raise NotImplementedError('TODO(loglens.LatencySketch.add): put the value in its bucket and update count/min/max')

    def merge(self, other: LatencySketch) -> None:
        raise NotImplementedError("TODO(loglens.LatencySketch.merge): add the other sketch's buckets and counters into this one")

    def quantile(self, q: float) -> float | None:
        raise NotImplementedError('TODO(loglens.LatencySketch.quantile): walk the buckets in order up to rank ceil(q*n); clamp to [min, max]')

    @property
    def count(self) -> int:
        raise NotImplementedError('TODO(loglens.LatencySketch.count): how many values were added')

    @property
    def max(self) -> float | None:
        raise NotImplementedError('TODO(loglens.LatencySketch.max): the largest value added (exact)')

    @property
    def min(self) -> float | None:
        raise NotImplementedError('TODO(loglens.LatencySketch.min): the smallest value added (exact)')

    def __repr__(self) -> str:
        return f"LatencySketch(count={self.count}, max={self.max})"


