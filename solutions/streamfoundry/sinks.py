"""Sinks: where records end up (NDJSON, CSV, a summary report), and the quarantine file.

A sink collects formatted output for the records of one input chunk and writes it with
``flush()``. The write is a blocking write to a pipe or file: when the reader at the other end
is slow, the write waits, the runner does not read more input meanwhile, and memory stays put.
That wait *is* the backpressure, and the sink measures it (``wait`` seconds) so that a stalled
pipeline can be diagnosed from its counters.
"""

from __future__ import annotations

import csv
import gzip
import io
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, BinaryIO, cast

import orjson

from .records import TOO_LONG, BadRecord
from .stages import Record, Summarize

RAW_KEEP = 4096  # characters of a bad line kept in the quarantine file


def open_output(path: str | None, compress: bool = False) -> BinaryIO:
    """stdout (``path`` None or "-") or a file, gzip-compressed when ``compress``."""
    stream: BinaryIO = sys.stdout.buffer if path in (None, "-") else open(cast(str, path), "wb")  # noqa: SIM115
    if compress:
        return cast(BinaryIO, gzip.GzipFile(fileobj=stream, mode="wb", compresslevel=6))
    return stream


class Sink:
    """Base class: ``write(record)`` buffers, ``flush()`` writes what is buffered, ``close()``
    flushes and finishes the format. ``emitted`` counts records written, ``wait`` the seconds
    spent blocked in writes."""

    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.emitted = 0
        self.wait = 0.0

    def write(self, record: Record) -> None:
        raise NotImplementedError

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.flush()
        if isinstance(self.out, gzip.GzipFile):
            under = self.out.fileobj
            self._timed(self.out.close)  # writes the gzip trailer; the stream underneath stays open
            if under is not None:
                self._timed(under.flush)
        else:
            self._timed(self.out.flush)

    def _timed(self, action: Callable[[], Any]) -> None:
        started = time.perf_counter()
        try:
            action()
        finally:
            self.wait += time.perf_counter() - started

    def _send(self, data: bytes) -> None:
        if data:
            self._timed(lambda: self.out.write(data))


class NdjsonSink(Sink):
    """One compact JSON object per line, fields in the record's order, UTF-8 as is."""

    def __init__(self, out: BinaryIO) -> None:
        super().__init__(out)
        # BEGIN SOLUTION: a buffer for the lines of the current chunk
        # One growing buffer, not a list of small bytes objects: orjson hands out each result in a
        # block sized for a bigger document, and thousands of those held at once cost ~4 kB each.
        self._pending = bytearray()
        # END SOLUTION

    def write(self, record: Record) -> None:
        # BEGIN SOLUTION: serialize one line; keep it until flush
        self._pending += orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE)
        self.emitted += 1
        # END SOLUTION

    def flush(self) -> None:
        # BEGIN SOLUTION: one write for everything pending
        if self._pending:
            data = bytes(self._pending)
            self._pending.clear()
            self._send(data)
        # END SOLUTION


def csv_cell(value: Any) -> str:
    """How a JSON value appears in a CSV cell: null -> empty, true/false as in JSON, numbers and
    strings as they are, arrays and objects as compact JSON text."""
    # BEGIN SOLUTION: by type
    if value is None:
        return ""
    if type(value) is str:
        return value
    if value is True:
        return "true"
    if value is False:
        return "false"
    if type(value) is int or type(value) is float:
        return repr(value)
    return orjson.dumps(value).decode()
    # END SOLUTION


class CsvSink(Sink):
    """RFC 4180 CSV: a header row, then one row per record, lines ended by CRLF; a field is
    quoted when it holds a comma, a quote (doubled inside) or a line break.

    The columns are ``columns`` if given, else the fields of the first record, in its order.
    A later record's missing field gives an empty cell; a field that is not a column is left out
    (``extra_fields`` counts how many times). Use the csv module: quoting is easy to get wrong.
    """

    def __init__(self, out: BinaryIO, columns: Sequence[str] | None = None) -> None:
        super().__init__(out)
        self.columns = list(columns) if columns else None
        self.extra_fields = 0
        # BEGIN SOLUTION: the state you need (a csv.writer, pending rows, whether the header is out)
        self._text = io.StringIO()
        self._writer = csv.writer(self._text, lineterminator="\r\n")
        self._rows: list[list[str]] = []
        self._header_done = False
        # END SOLUTION

    def write(self, record: Record) -> None:
        # BEGIN SOLUTION: fix the columns on the first record; one row of csv_cell values
        columns = self.columns
        if columns is None:
            columns = self.columns = list(record)
        if len(record) != len(columns) or any(name not in record for name in columns):
            self.extra_fields += sum(1 for name in record if name not in columns)
        get = record.get
        row = []
        for name in columns:
            value = get(name)
            row.append(value if type(value) is str else csv_cell(value))
        self._rows.append(row)
        self.emitted += 1
        # END SOLUTION

    def flush(self) -> None:
        # BEGIN SOLUTION: header once (when the columns are known), then the rows, as one write
        if not self._header_done and self.columns is not None:
            self._writer.writerow(self.columns)
            self._header_done = True
        if self._rows:
            self._writer.writerows(self._rows)
            self._rows.clear()
        text = self._text.getvalue()
        if text:
            self._text.seek(0)
            self._text.truncate()
            self._send(text.encode("utf-8"))
        # END SOLUTION


class SummarySink(Sink):
    """A report for people: totals and record counts by one field (``type`` by default).

    The counting is a ``Summarize`` stage, so it is bounded like one (``max_groups``).
    ``totals()`` is called at close for the runner's counters (processed, bad by reason).
    """

    def __init__(
        self,
        out: BinaryIO,
        by: str = "type",
        totals: Callable[[], dict[str, Any]] | None = None,
        max_groups: int = 50,
    ) -> None:
        super().__init__(out)
        self.by = by
        self.totals = totals
        self.groups = Summarize([by], max_groups=max_groups)

    def write(self, record: Record) -> None:
        self.groups.process(record)
        self.emitted += 1

    def close(self) -> None:
        counts = self.groups.finish()
        totals = self.totals() if self.totals else {}
        lines = ["StreamFoundry summary", "---------------------"]
        lines.append(f"Records processed: {totals.get('processed', self.emitted):,}")
        lines.append(f"Records counted:   {self.emitted:,}")
        bad = totals.get("bad") or {}
        if bad:
            detail = ", ".join(f"{reason} {n:,}" for reason, n in sorted(bad.items()))
            lines.append(f"Bad records:       {sum(bad.values()):,} ({detail})")
        else:
            lines.append("Bad records:       0")
        lines.append(f"By {self.by}:")
        width = max((len(str(g[self.by])) for g in counts), default=0)
        for group in counts:
            label = "(missing)" if group[self.by] is None else str(group[self.by])
            lines.append(f"  {label:<{width}}  {group['count']:>12,}")
        self._send(("\n".join(lines) + "\n").encode("utf-8"))
        super().close()


class Quarantine:
    """Bad records, one JSON object per line: ``{"source", "line", "reason", "detail", "raw"}``.

    ``raw`` is the line as text (bytes that are not UTF-8 shown as \\xNN escapes), cut to
    RAW_KEEP characters with ``"truncated": true`` when longer; so a person can find the line,
    see why it was set aside, fix it and feed it again.
    """

    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.count = 0

    def add(self, source: str, line: int, bad: BadRecord) -> None:
        # BEGIN SOLUTION: one JSON line per bad record; raw as text with escapes, cut to RAW_KEEP
        raw = bad.raw.decode("utf-8", "backslashreplace") if isinstance(bad.raw, bytes) else str(bad.raw)
        entry: dict[str, Any] = {"source": source, "line": line, "reason": bad.reason, "detail": bad.detail}
        entry["raw"] = raw[:RAW_KEEP]
        if len(raw) > RAW_KEEP or bad.reason == TOO_LONG:
            entry["truncated"] = True
        self.out.write(orjson.dumps(entry, option=orjson.OPT_APPEND_NEWLINE))
        self.count += 1
        # END SOLUTION

    def close(self) -> None:
        self.out.close()
