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
        raise NotImplementedError('TODO(loglens.Summarizer.__init__): the aggregates: status classes, latency sketch, routes, minutes')

    def feed(self, lines: Iterable[bytes]) -> None:
        raise NotImplementedError('TODO(loglens.Summarizer.feed): parse each line, add the record or count the error')

    def add(self, record: Record) -> None:
        raise NotImplementedError('TODO(loglens.Summarizer.add): count the record in every aggregate (inside the time window only)')

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
        raise NotImplementedError('TODO(loglens.Summarizer.merge): merge the aggregates (the route sketches follow the merged TopK)')

    def result(self) -> dict[str, Any]:
        raise NotImplementedError('TODO(loglens.Summarizer.result): build the JSON document from the aggregates')
        for metric in self.metrics:
            doc[metric.name] = metric.result()
        return doc


_RESULT_KEYS = frozenset(
    ("lines", "records", "parse_errors", "status", "latency_ms", "top_routes", "busiest_minute", "error_samples")
)
