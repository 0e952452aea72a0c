"""Heavy hitters in bounded memory: the Space-Saving algorithm."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True, slots=True)
class Heavy(Generic[K]):
    """One tracked key: ``count`` over-estimates the true count by at most ``error``."""

    key: K
    count: int
    error: int


class TopK(Generic[K]):
    """Track the most frequent keys of a stream using at most ``capacity`` counters.

    Space-Saving (Metwally, Agrawal, El Abbadi, 2005): while there is room, a new key gets its own
    counter; when full, a new key takes over the counter with the smallest count ``m`` and starts
    at ``m + 1`` with error ``m``. Guarantees, for a stream of N adds:

    - for every tracked key, ``count - error <= true count <= count``;
    - every key whose true count exceeds ``N / capacity`` is tracked;
    - memory: never more than ``capacity`` keys, whatever the number of distinct keys.

    ``add(key)`` returns the key it evicted to make room (or None), so a caller that keeps extra
    data per key (a latency sketch per route, say) can drop it. Keys must not be None.
    ``top(k)`` lists the k largest counts, largest first (ties: the key tracked earlier first).
    ``merge(other)`` folds another TopK in (the mergeable-summaries rule: a key missing from one
    side may have had up to that side's smallest count there, which is added to count and error).
    """

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        # BEGIN SOLUTION: counts, errors and buckets of keys by count (a stream-summary)
        self._counts: dict[K, int] = {}
        self._errors: dict[K, int] = {}
        # count -> keys with that count (a dict used as an ordered set); gives the minimum in O(1)
        self._buckets: dict[int, dict[K, None]] = {}
        self._min = 0
        # END SOLUTION

    def add(self, key: K) -> K | None:
        # BEGIN SOLUTION: count a key; when full, replace the key with the smallest count
        counts, buckets = self._counts, self._buckets
        c = counts.get(key)
        evicted = None
        if c is None:
            if len(counts) < self.capacity:
                c = 0
                self._errors[key] = 0
                self._min = 1  # the new key's count, and no count is smaller than 1
            else:
                c = self._min
                bucket = buckets[c]
                evicted, _ = bucket.popitem()
                del counts[evicted], self._errors[evicted]
                self._errors[key] = c
                if not bucket:
                    del buckets[c]
                    self._min = c + 1
        else:
            bucket = buckets[c]
            del bucket[key]
            if not bucket:
                del buckets[c]
                if c == self._min:
                    self._min = c + 1
        c += 1
        counts[key] = c
        target = buckets.get(c)
        if target is None:
            buckets[c] = {key: None}
        else:
            target[key] = None
        return evicted
        # END SOLUTION

    def top(self, k: int | None = None) -> list[Heavy[K]]:
        # BEGIN SOLUTION: the k largest counters, largest first
        ranked = sorted(self._counts.items(), key=lambda kv: -kv[1])
        if k is not None:
            ranked = ranked[:k]
        return [Heavy(key, count, self._errors[key]) for key, count in ranked]
        # END SOLUTION

    def merge(self, other: TopK[K]) -> None:
        # BEGIN SOLUTION: combine counts (missing keys get the other side's minimum), keep the largest
        floor_self = self._floor()
        floor_other = other._floor()
        counts: dict[K, int] = {}
        errors: dict[K, int] = {}
        for key in [*self._counts, *(k for k in other._counts if k not in self._counts)]:
            c1 = self._counts.get(key)
            c2 = other._counts.get(key)
            counts[key] = (floor_self if c1 is None else c1) + (floor_other if c2 is None else c2)
            errors[key] = (floor_self if c1 is None else self._errors[key]) + (
                floor_other if c2 is None else other._errors[key]
            )
        kept = sorted(counts, key=lambda key: -counts[key])[: self.capacity]
        self._counts = {key: counts[key] for key in kept}
        self._errors = {key: errors[key] for key in kept}
        self._buckets = {}
        for key, c in self._counts.items():
            self._buckets.setdefault(c, {})[key] = None
        self._min = min(self._buckets, default=0)

    def _floor(self) -> int:
        # What a key we do not track could have had here: 0 while there was room, else the minimum.
        return self._min if len(self._counts) >= self.capacity else 0
        # END SOLUTION

    def __len__(self) -> int:
        # BEGIN SOLUTION: number of tracked keys
        return len(self._counts)
        # END SOLUTION

    def __contains__(self, key: object) -> bool:
        # BEGIN SOLUTION: is the key tracked?
        return key in self._counts
        # END SOLUTION
