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

    # BEGIN SOLUTION: logarithmic buckets (gamma = (1+a)/(1-a)), a zero bucket, exact count/min/max
    __slots__ = ("_bins", "_cache", "_count", "_gamma", "_log_gamma", "_max", "_min", "_zeros", "relative_accuracy")
    # END SOLUTION

    def __init__(self, relative_accuracy: float = 0.01) -> None:
        if not 0.0 < relative_accuracy < 1.0:
            raise ValueError("relative_accuracy must be between 0 and 1")
        self.relative_accuracy = relative_accuracy
        # BEGIN SOLUTION: set up the buckets and the exact counters
        # A hair tighter than promised, so that float rounding at a bucket edge never breaks it.
        a = relative_accuracy * (1.0 - 1e-7)
        self._gamma = (1.0 + a) / (1.0 - a)
        self._log_gamma = math.log(self._gamma)
        self._bins: dict[int, int] = {}
        self._zeros = 0
        self._count = 0
        self._min = math.inf
        self._max = -math.inf
        self._cache = _index_cache(self._gamma)
        # END SOLUTION

    def add(self, value: float) -> None:
        # BEGIN SOLUTION: put the value in its bucket and update count/min/max
        index = self._cache.get(value)
        if index is None:
            index = self._index(value)
        if index is None:
            self._zeros += 1
        else:
            bins = self._bins
            bins[index] = bins.get(index, 0) + 1
        self._count += 1
        self._max = max(self._max, value)
        self._min = min(self._min, value)

    def _index(self, value: float) -> int | None:
        if not value >= 0.0:  # also rejects NaN
            raise ValueError(f"latency must be a non-negative number, got {value!r}")
        if value == 0.0:
            return None
        if value == math.inf:
            raise ValueError("latency must be finite")
        index = math.ceil(math.log(value) / self._log_gamma)
        if len(self._cache) < 8192:
            self._cache[value] = index
        return index
        # END SOLUTION

    def merge(self, other: LatencySketch) -> None:
        # BEGIN SOLUTION: add the other sketch's buckets and counters into this one
        if other.relative_accuracy != self.relative_accuracy:
            raise ValueError("cannot merge sketches with different relative accuracy")
        bins = self._bins
        for index, n in other._bins.items():
            bins[index] = bins.get(index, 0) + n
        self._zeros += other._zeros
        self._count += other._count
        self._min = min(self._min, other._min)
        self._max = max(self._max, other._max)
        # END SOLUTION

    def quantile(self, q: float) -> float | None:
        # BEGIN SOLUTION: walk the buckets in order up to rank ceil(q*n); clamp to [min, max]
        if not 0.0 <= q <= 1.0:
            raise ValueError(f"q must be in [0, 1], got {q!r}")
        if self._count == 0:
            return None
        rank = max(1, math.ceil(q * self._count))
        if rank <= self._zeros:
            return 0.0
        seen = self._zeros
        for index in sorted(self._bins):
            seen += self._bins[index]
            if seen >= rank:
                value = 2.0 * self._gamma**index / (self._gamma + 1.0)
                return min(max(value, self._min), self._max)
        return self._max  # unreachable: the bins hold every non-zero value
        # END SOLUTION

    @property
    def count(self) -> int:
        # BEGIN SOLUTION: how many values were added
        return self._count
        # END SOLUTION

    @property
    def max(self) -> float | None:
        # BEGIN SOLUTION: the largest value added (exact)
        return self._max if self._count else None
        # END SOLUTION

    @property
    def min(self) -> float | None:
        # BEGIN SOLUTION: the smallest value added (exact)
        return self._min if self._count else None
        # END SOLUTION

    def __repr__(self) -> str:
        return f"LatencySketch(count={self.count}, max={self.max})"


# BEGIN SOLUTION
# Latencies repeat (a log has millisecond resolution), so one log() per distinct value is enough.
# The cache is shared by every sketch with the same gamma and capped, so it stays small.
_caches: dict[float, dict[float, int]] = {}


def _index_cache(gamma: float) -> dict[float, int]:
    return _caches.setdefault(gamma, {})
    # END SOLUTION
