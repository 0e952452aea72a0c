"""Scales: how big the inputs, how many kills, how long the timeouts."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")
NAMES = ("quick", "standard", "full")
ENV = "IOLAB_SCALE"
# default per-test timeout in seconds at each scale
TIMEOUTS = {"quick": 60, "standard": 300, "full": 3600}


@dataclass(frozen=True)
class Scale:
    """``quick`` gives feedback in seconds (notebooks), ``standard`` grades (default, CI),
    ``full`` runs the big inputs (1 GB logs, thousands of kills) for demos and benchmarks."""

    name: str

    def pick(self, quick: T, standard: T, full: T) -> T:
        return {"quick": quick, "standard": standard, "full": full}[self.name]

    @property
    def timeout(self) -> int:
        return TIMEOUTS[self.name]


def resolve(name: str | None = None) -> Scale:
    name = name or os.environ.get(ENV) or "standard"
    if name not in NAMES:
        raise ValueError(f"unknown scale {name!r}; choose one of {', '.join(NAMES)}")
    return Scale(name)
