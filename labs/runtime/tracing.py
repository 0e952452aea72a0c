"""See what a real asyncio loop does, iteration by iteration (a teaching tool for the notebooks).

``trace_loop(loop)`` records, until the ``with`` block ends, every wait in the selector and every
callback the loop runs, with start and end times (``time.perf_counter``). ``plot_timeline`` draws
them: one row per iteration, grey for waiting in ``select()``, colours for callbacks.

How: it wraps the loop's selector (each ``select()`` call starts an iteration) and, for the
duration of the block, ``asyncio.events.Handle._run`` (every callback, timer and task step goes
through it). Both are CPython internals: good for looking, not for production.
"""

from __future__ import annotations

import asyncio
import asyncio.events
import contextlib
import functools
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Span:
    iteration: int
    start: float  # seconds since the trace began
    end: float
    kind: str  # "select", "task", "timer", "io" or "callback"
    label: str


@dataclass
class Trace:
    spans: list[Span] = field(default_factory=list)

    def iterations(self) -> int:
        return max((s.iteration for s in self.spans), default=0)

    def callbacks(self) -> list[Span]:
        return [s for s in self.spans if s.kind != "select"]

    def table(self, limit: int = 40) -> str:
        rows = [f"{'it':>3} {'start ms':>9} {'took ms':>8}  {'kind':<8} what"]
        for s in self.spans[:limit]:
            rows.append(
                f"{s.iteration:>3} {s.start * 1e3:>9.3f} {(s.end - s.start) * 1e3:>8.3f}  {s.kind:<8} {s.label}"
            )
        if len(self.spans) > limit:
            rows.append(f"... {len(self.spans) - limit} more")
        return "\n".join(rows)


class _RecordingSelector:
    """Delegates to the loop's selector; every select() marks the start of a new iteration."""

    def __init__(self, inner: Any, trace: Trace, origin: float, tracer: _Tracer) -> None:
        self._inner, self._trace, self._origin, self._tracer = inner, trace, origin, tracer

    def select(self, timeout: float | None = None) -> Any:
        self._tracer.iteration += 1
        started = time.perf_counter()
        events = self._inner.select(timeout)
        ended = time.perf_counter()
        what = f"select(timeout={'None' if timeout is None else f'{timeout:.3f}'}) -> {len(events)} ready"
        self._trace.spans.append(
            Span(self._tracer.iteration, started - self._origin, ended - self._origin, "select", what)
        )
        return events

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@dataclass
class _Tracer:
    loop: asyncio.AbstractEventLoop
    trace: Trace
    origin: float
    iteration: int = 0


def describe(handle: asyncio.Handle) -> tuple[str, str]:
    """(kind, label) of a handle: which task steps, which timer fires, which file is ready."""
    callback = getattr(handle, "_callback", None)
    owner = getattr(callback, "__self__", None)
    if isinstance(owner, asyncio.Task):
        coro = owner.get_coro()
        name = getattr(coro, "__qualname__", type(coro).__name__)
        return "task", f"{owner.get_name()} step ({name})"
    if isinstance(callback, functools.partial):
        callback = callback.func
    name = getattr(callback, "__qualname__", None) or type(callback).__name__
    if isinstance(handle, asyncio.TimerHandle):
        return "timer", name
    if any(word in name for word in ("_read_ready", "_write_ready", "_accept", "_sock_connect")):
        return "io", name
    return "callback", name


@contextlib.contextmanager
def trace_loop(loop: asyncio.AbstractEventLoop) -> Iterator[Trace]:
    """Record the selector waits and callbacks of ``loop`` while the block runs."""
    trace = Trace()
    tracer = _Tracer(loop, trace, time.perf_counter())
    selector = loop._selector  # type: ignore[attr-defined]
    loop._selector = _RecordingSelector(selector, trace, tracer.origin, tracer)  # type: ignore[attr-defined]
    original = asyncio.events.Handle._run

    def run(handle: asyncio.Handle) -> None:
        if handle._loop is not loop:  # type: ignore[attr-defined]
            original(handle)
            return
        kind, label = describe(handle)
        started = time.perf_counter()
        try:
            original(handle)
        finally:
            ended = time.perf_counter()
            trace.spans.append(Span(tracer.iteration, started - tracer.origin, ended - tracer.origin, kind, label))

    asyncio.events.Handle._run = run  # type: ignore[method-assign,assignment]
    try:
        yield trace
    finally:
        asyncio.events.Handle._run = original  # type: ignore[method-assign]
        loop._selector = selector  # type: ignore[attr-defined]


COLORS = {"select": "#bdbdbd", "task": "#1f77b4", "timer": "#ff7f0e", "io": "#2ca02c", "callback": "#9467bd"}


def plot_timeline(
    trace: Trace, path: Path | None = None, title: str = "One asyncio loop, iteration by iteration"
) -> Any:
    """Gantt chart: one row per iteration; returns the matplotlib figure (saved to ``path`` if given)."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    rows = trace.iterations()
    fig, ax = plt.subplots(figsize=(9, 0.35 * max(rows, 4) + 1.2), dpi=110)
    for span in trace.spans:
        width = max((span.end - span.start) * 1e3, 0.01)
        ax.barh(span.iteration, width, left=span.start * 1e3, color=COLORS[span.kind], edgecolor="white", height=0.8)
    ax.set_yticks(range(1, rows + 1))
    ax.invert_yaxis()
    ax.set_ylabel("loop iteration")
    ax.set_xlabel("time since start (ms)")
    ax.set_title(title)
    ax.legend(handles=[Patch(color=c, label=k) for k, c in COLORS.items()], loc="lower right", fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path)
    return fig
