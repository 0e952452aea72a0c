"""Reference models for the property tests: the specification, written as small state machines.

They are deliberately plain (no clever arithmetic) so that a reader can check them against the
docstrings in ``runtime/resilience.py`` line by line.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class BreakerModel:
    """closed -> (threshold failures in a row) -> open -> (reset_timeout) -> half-open -> probe decides."""

    threshold: int
    reset_timeout: float
    state: str = "closed"
    failures: int = 0
    opened_at: float = 0.0
    probing: bool = False

    def refresh(self, now: float) -> None:
        if self.state == "open" and now - self.opened_at >= self.reset_timeout:
            self.state, self.probing = "half_open", False

    def allow(self, now: float) -> bool:
        self.refresh(now)
        if self.state == "closed":
            return True
        if self.state == "half_open" and not self.probing:
            self.probing = True
            return True
        return False

    def success(self, now: float) -> None:
        self.refresh(now)
        if self.state == "open":
            return
        self.state, self.failures, self.probing = "closed", 0, False

    def failure(self, now: float) -> None:
        self.refresh(now)
        if self.state == "half_open":
            self._open(now)
        elif self.state == "closed":
            self.failures += 1
            if self.failures >= self.threshold:
                self._open(now)

    def cancelled(self, now: float) -> None:
        self.refresh(now)
        self.probing = False

    def _open(self, now: float) -> None:
        self.state, self.opened_at, self.failures, self.probing = "open", now, 0, False
