"""Plots for reports and notebooks: the learner's curve next to the reference's."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; notebooks display the PNGs (no GUI backend needed)
import matplotlib.pyplot as plt

from .latency import LatencyRecorder

MB = 1 << 20
COLORS = {"yours": "#d62728", "reference": "#1f77b4", "naive": "#d62728", "GoAccess": "#2ca02c"}


def memory_timeline(
    series: Mapping[str, Sequence[tuple[float, int]]], path: Path, title: str = "Memory over time"
) -> Path:
    """RSS (MB) against time (s), one line per run."""
    fig, ax = plt.subplots(figsize=(7, 3.6), dpi=110)
    for label, timeline in series.items():
        if timeline:
            xs, ys = zip(*timeline, strict=True)
            ax.plot(xs, [y / MB for y in ys], label=label, color=COLORS.get(label))
    ax.set_xlabel("seconds")
    ax.set_ylabel("resident memory (MB)")
    ax.set_ylim(bottom=0)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    return _save(fig, path)


def latency_cdf(
    series: Mapping[str, LatencyRecorder | Sequence[float]], path: Path, title: str = "Latency distribution"
) -> Path:
    """Cumulative distribution of latencies (ms, log scale): one curve per series."""
    fig, ax = plt.subplots(figsize=(7, 3.6), dpi=110)
    for label, data in series.items():
        if isinstance(data, LatencyRecorder):
            xs, ys = data.cdf_ms()
        else:
            xs = sorted(data)
            ys = [(i + 1) / len(xs) for i in range(len(xs))]
        if xs:
            ax.step(xs, ys, where="post", label=label, color=COLORS.get(label))
    ax.set_xscale("log")
    ax.set_xlabel("latency (ms)")
    ax.set_ylabel("fraction at or below")
    for q in (0.5, 0.95, 0.99):
        ax.axhline(q, color="grey", lw=0.5, ls=":")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    return _save(fig, path)


def bars(values: Mapping[str, float], path: Path, title: str, unit: str) -> Path:
    """One bar per label (throughputs, peaks)."""
    fig, ax = plt.subplots(figsize=(6, 3.2), dpi=110)
    labels = list(values)
    ax.bar(labels, [values[k] for k in labels], color=[COLORS.get(k, "#7f7f7f") for k in labels])
    ax.set_ylabel(unit)
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, path)


def _save(fig: plt.Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
