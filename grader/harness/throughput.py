"""Throughput as a ratio to the reference, measured in the same run on the same machine."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Ratio:
    learner_seconds: float
    reference_seconds: float

    @property
    def ratio(self) -> float:
        """Learner throughput as a fraction of the reference's (1.0 = as fast; 0.5 = half as fast)."""
        return self.reference_seconds / max(self.learner_seconds, 1e-9)

    def explain(self, work: str) -> str:
        return (
            f"{work}: yours took {self.learner_seconds:.2f}s, the reference {self.reference_seconds:.2f}s "
            f"(throughput ratio {self.ratio:.2f})"
        )


def compare(learner: Callable[[], object], reference: Callable[[], object], rounds: int = 3) -> Ratio:
    """Run both ``rounds`` times, alternating so that a noisy neighbour hurts both alike; the best
    time of each is compared (the best run is the least disturbed one)."""
    best_learner = best_reference = float("inf")
    for i in range(rounds):
        order = (learner, reference) if i % 2 == 0 else (reference, learner)
        for fn in order:
            started = time.perf_counter()
            fn()
            took = time.perf_counter() - started
            if fn is learner:
                best_learner = min(best_learner, took)
            else:
                best_reference = min(best_reference, took)
    return Ratio(best_learner, best_reference)
