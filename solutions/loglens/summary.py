"""The whole summary in one pass: counters, sketches and heavy hitters, mergeable across workers."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Protocol

from .lines import Overlong
from .parse import Record, parse_line, why_malformed
from .sketch import LatencySketch
from .topk import TopK

STATUS_CLASSES = ("1xx", "2xx", "3xx", "4xx", "5xx")


class Metric(Protocol):
    """An extra statistic plugged into a Summarizer (see ``Summarizer(metrics=...)``).

    ``name`` becomes its key in ``result()``; ``add`` sees every record inside the time window;
    ``merge`` folds in the same metric from another worker; ``result`` returns JSON-able data.
    """

    name: str

    def add(self, record: Record) -> None: ...

    def merge(self, other: Any) -> None: ...

    def result(self) -> Any: ...


class Summarizer:
    """Everything ``loglens summary`` reports, computed in one pass in bounded memory.

    - ``feed(lines)``: parse every line; count lines, records and parse errors (keeping the first
      ``samples`` errors with their line number and reason). Line numbers start at
      ``first_line`` (a worker that starts in the middle of a file passes its own).
    - ``add(record)``: count one parsed record, if it falls inside [since, until) (compared at
      minute resolution; either bound may be None).
    - ``merge(other)``: fold in a Summarizer that saw another part of the input.
    - ``result()``: the JSON document described in the README (keys ``lines``, ``records``,
      ``parse_errors``, ``status``, ``latency_ms``, ``top_routes``, ``busiest_minute``,
      ``error_samples``, plus one key per extra metric).

    Memory is bounded whatever the input: one latency sketch overall, a TopK of routes with a
    latency sketch for each tracked route, one counter per minute of log time, a few samples.
    """

    def __init__(
        self,
        top: int = 10,
        *,
        capacity: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        samples: int = 5,
        first_line: int = 1,
        metrics: Sequence[Metric] = (),
    ) -> None:
        self.top = top
        self.since = since
        self.until = until
        self.samples = samples
        self.lines = 0
        self.first_line = first_line
        self.parse_errors = 0
        self.error_samples: list[dict[str, Any]] = []
        self.metrics = list(metrics)
        for metric in self.metrics:
            if metric.name in _RESULT_KEYS:
                raise ValueError(f"metric name {metric.name!r} is already a key of the summary")
        # BEGIN SOLUTION: the aggregates: status classes, latency sketch, routes, minutes
        self.records = 0
        self.status = [0] * 6
        self.latency = LatencySketch()
        self.routes: TopK[tuple[str, str]] = TopK(capacity or max(200, 20 * top))
        self.route_latency: dict[tuple[str, str], LatencySketch] = {}
        self.minutes: dict[datetime, int] = {}
        # END SOLUTION

    def feed(self, lines: Iterable[bytes]) -> None:
        # BEGIN SOLUTION: parse each line, add the record or count the error
        start = self.first_line + self.lines
        number = start - 1  # stays put when there are no lines
        add = self.add
        for number, line in enumerate(lines, start):
            record = parse_line(line)
            if record is None:
                self.add_error(number, line)
            else:
                add(record)
        self.lines = number - self.first_line + 1
        # END SOLUTION

    def add(self, record: Record) -> None:
        # BEGIN SOLUTION: count the record in every aggregate (inside the time window only)
        minute = record.minute
        if self.since is not None and minute < self.since:
            return
        if self.until is not None and minute >= self.until:
            return
        self.records += 1
        self.status[record.status // 100] += 1
        route = (record.method, record.path)
        evicted = self.routes.add(route)
        if evicted is not None:
            del self.route_latency[evicted]
        latency = record.latency_ms
        if latency is not None:
            self.latency.add(latency)
            sketch = self.route_latency.get(route)
            if sketch is None:
                sketch = self.route_latency[route] = LatencySketch()
            sketch.add(latency)
        minutes = self.minutes
        minutes[minute] = minutes.get(minute, 0) + 1
        for metric in self.metrics:
            metric.add(record)
        # END SOLUTION

    def add_error(self, line_no: int, line: bytes, reason: str | None = None) -> None:
        self.parse_errors += 1
        if len(self.error_samples) < self.samples:
            if reason is None:
                if isinstance(line, Overlong):
                    reason = f"line longer than {len(line)} bytes (cut)"
                else:
                    reason = why_malformed(line)
            text = line[:120].decode("utf-8", "backslashreplace")
            self.error_samples.append({"line": line_no, "reason": reason, "text": text})

    def merge(self, other: Summarizer) -> None:
        self.lines += other.lines
        self.parse_errors += other.parse_errors
        samples = sorted(self.error_samples + other.error_samples, key=lambda s: s["line"])
        self.error_samples = samples[: self.samples]
        for mine, theirs in zip(self.metrics, other.metrics, strict=True):
            mine.merge(theirs)
        # BEGIN SOLUTION: merge the aggregates (the route sketches follow the merged TopK)
        self.records += other.records
        self.status = [a + b for a, b in zip(self.status, other.status, strict=True)]
        self.latency.merge(other.latency)
        self.routes.merge(other.routes)
        sketches = {}
        for route in (heavy.key for heavy in self.routes.top()):
            kept = self.route_latency.get(route)
            added = other.route_latency.get(route)
            if kept is None:
                kept = added
            elif added is not None:
                kept.merge(added)
            if kept is not None:
                sketches[route] = kept
        self.route_latency = sketches
        for minute, n in other.minutes.items():
            self.minutes[minute] = self.minutes.get(minute, 0) + n
        # END SOLUTION

    def result(self) -> dict[str, Any]:
        # BEGIN SOLUTION: build the JSON document from the aggregates
        def ms(value: float | None) -> float | None:
            return None if value is None else round(value, 3)

        routes = []
        for heavy in self.routes.top(self.top):
            method, path = heavy.key
            sketch = self.route_latency.get(heavy.key)
            p95 = None if sketch is None else ms(sketch.quantile(0.95))
            routes.append({"method": method, "path": path, "count": heavy.count, "p95_ms": p95})
        busiest = None
        if self.minutes:
            minute = min(self.minutes, key=lambda m: (-self.minutes[m], m))
            busiest = {"minute": minute.strftime("%Y-%m-%dT%H:%MZ"), "count": self.minutes[minute]}
        doc: dict[str, Any] = {
            "lines": self.lines,
            "records": self.records,
            "parse_errors": self.parse_errors,
            "status": dict(zip(STATUS_CLASSES, self.status[1:], strict=True)),
            "latency_ms": {
                "count": self.latency.count,
                "p50": ms(self.latency.quantile(0.50)),
                "p95": ms(self.latency.quantile(0.95)),
                "p99": ms(self.latency.quantile(0.99)),
                "max": ms(self.latency.max),
            },
            "top_routes": routes,
            "busiest_minute": busiest,
            "error_samples": self.error_samples,
        }
        # END SOLUTION
        for metric in self.metrics:
            doc[metric.name] = metric.result()
        return doc


_RESULT_KEYS = frozenset(
    ("lines", "records", "parse_errors", "status", "latency_ms", "top_routes", "busiest_minute", "error_samples")
)
