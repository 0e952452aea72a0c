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
        raise NotImplementedError('TODO(loglens.TopK.__init__): counts, errors and buckets of keys by count (a stream-summary)')

    def add(self, key: K) -> K | None:
        raise NotImplementedError('TODO(loglens.TopK.add): count a key; when full, replace the key with the smallest count')

    def top(self, k: int | None = None) -> list[Heavy[K]]:
        raise NotImplementedError('TODO(loglens.TopK.top): the k largest counters, largest first')

    def merge(self, other: TopK[K]) -> None:
        raise NotImplementedError("TODO(loglens.TopK.merge): combine counts (missing keys get the other side's minimum), keep the largest")

    def __len__(self) -> int:
        raise NotImplementedError('TODO(loglens.TopK.__len__): number of tracked keys')

    def __contains__(self, key: object) -> bool:
        raise NotImplementedError('TODO(loglens.TopK.__contains__): is the key tracked?')
