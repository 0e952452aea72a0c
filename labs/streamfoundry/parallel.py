"""Several cores on one big file: cut it into segments at line boundaries, run the stages on each
segment in a worker process, write the results strictly in file order.

Threads would not help: decoding and the stages are CPU-bound Python, and the GIL runs one
thread's Python code at a time. Processes do help, for pipelines whose stages keep no state
between records (filter, select, rename, set, explode): a segment can then be processed without
knowing the others. The parent keeps at most ``jobs + 1`` segments in flight and writes each
one's output only when every segment before it is written: the same bounded, ordered window as
``enrich.ordered_map``, with processes instead of tasks. Memory stays bounded by the window,
whatever the file size and however slow the reader of our output.

This module is scaffolding: it runs your read_records, stages and sinks inside the workers.
"""

from __future__ import annotations

import gzip
import io
import multiprocessing as mp
import os
import pickle
import signal
import stat
import time
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, BinaryIO

from .records import BadRecord, read_records
from .runner import Counters, Policy, Progress, reject
from .sinks import CsvSink, NdjsonSink, Sink
from .stages import Explode, Filter, Pipeline, Record, Rename, Select, SetField, Stage, StageError, Summarize

SEGMENT = 8 << 20  # bytes of input per task
# Below this size a second process costs more than it saves. Tests lower it with the variable.
MIN_PARALLEL_BYTES = int(os.environ.get("STREAMFOUNDRY_MIN_PARALLEL_BYTES") or 32 << 20)
STATELESS = (Filter, Select, Rename, SetField, Explode)

_JOB: dict[str, Any] = {}  # what the workers need; they inherit it through fork


def parallel_ok(names: Sequence[str], stages: Sequence[Stage], to: str, policy: str, jobs: int) -> bool:
    """True when the run can be split: one big uncompressed regular file, a policy that does not
    stop at the first bad record, and either stateless stages into NDJSON or CSV, or stateless
    stages around one ``summarize`` (whose parts merge; bad records only skipped, so that a
    fallback to one process never writes a quarantine entry twice)."""
    if jobs < 2 or len(names) != 1 or names[0] == "-" or policy == "stop" or not hasattr(os, "fork"):
        return False
    kinds = [type(s) for s in stages]
    if kinds.count(Summarize) == 1:
        if policy != "skip" or not all(k in STATELESS for k in kinds if k is not Summarize):
            return False
    elif to not in ("ndjson", "csv") or not all(k in STATELESS for k in kinds):
        return False
    try:
        info = os.stat(names[0])
        with open(names[0], "rb") as f:
            compressed = f.read(2) == b"\x1f\x8b"
    except OSError:
        return False
    return stat.S_ISREG(info.st_mode) and info.st_size >= MIN_PARALLEL_BYTES and not compressed


class Fallback(Exception):  # noqa: N818
    """The parts cannot be merged exactly (a part's group table overflowed): run in one process."""


def split(path: str, size: int = SEGMENT) -> list[tuple[int, int]]:
    """Byte ranges [start, end) of about ``size`` bytes, each starting at the start of a line."""
    total = os.path.getsize(path)
    starts = [0]
    with open(path, "rb") as f:
        while starts[-1] + size < total:
            f.seek(starts[-1] + size - 1)
            f.readline()  # finish the line we landed in; the next range starts after it
            if f.tell() >= total:
                break
            starts.append(f.tell())
    return list(zip(starts, [*starts[1:], total], strict=True))


def run_parallel(
    path: str,
    stages: Sequence[Stage],
    to: str,
    columns: Sequence[str] | None,
    out: BinaryIO,
    policy: Policy,
    counters: Counters,
    jobs: int,
    progress: Progress | None = None,
    max_line: int = 1 << 20,
    sink: Sink | None = None,
) -> None:
    """Process ``path`` with ``jobs`` worker processes; output, counters and policy exactly as a
    sequential run would give them (line numbers of bad records included). With a ``summarize``
    stage, each worker summarizes its part, the parts are merged in file order and the groups go
    through the stages after it into ``sink``; Fallback if the parts cannot be merged exactly."""
    at = next((i for i, stage in enumerate(stages) if isinstance(stage, Summarize)), None)
    _JOB.update(path=path, stages=list(stages), to=to, columns=list(columns) if columns else None, max_line=max_line)
    _JOB["summarize_at"] = at
    pool = ProcessPoolExecutor(jobs, mp_context=mp.get_context("fork"), initializer=_ignore_sigint)
    window: deque[tuple[tuple[int, int], Future[Any]]] = deque()
    ranges = iter(split(path))
    writer = _Writer(out, counters)
    header_columns = list(columns) if columns else None
    merged: Summarize | None = None
    line_offset = 0
    try:

        def fill() -> None:
            while len(window) < jobs + 1:
                span = next(ranges, None)
                if span is None:
                    return
                window.append((span, pool.submit(_segment, *span)))

        fill()
        while window:
            span, future = window.popleft()
            data, lines, processed, emitted, bad, used, waited = future.result()
            fill()
            if at is not None:
                part = pickle.loads(data)
                if part.overflowed or (merged is not None and merged.overflowed):
                    raise Fallback
                if merged is None:
                    merged = part
                else:
                    merged.merge(part)
            elif to == "csv" and emitted:
                if header_columns is None:
                    header_columns = used
                if used != header_columns:
                    # this segment guessed other columns than the file's first record: redo it with the right ones
                    data, lines, processed, emitted, bad, used, waited = _segment(*span, columns=header_columns)
                if not writer.header_done:
                    writer.header(header_columns)
            for line, reason, detail, raw in bad:
                reject(policy, counters, path, line_offset + line, BadRecord(reason, detail, raw))
            if at is None:
                writer.send(data)
                counters.emitted += emitted
            line_offset += lines
            counters.processed += processed
            counters.input_wait += waited
            if progress is not None:
                progress.tick()
        if at is not None and sink is not None:
            if merged is not None:
                after = Pipeline(stages[at + 1 :])
                for record in merged.finish():
                    after.push(record, sink.write)
                after.finish(sink.write)
            sink.close()
            counters.emitted, counters.output_wait = sink.emitted, sink.wait
            return
        if to == "csv" and header_columns and not writer.header_done:
            writer.header(header_columns)
        writer.close()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        _JOB.clear()


class _Writer:
    """Writes segment outputs to the real output, timing the writes as output wait."""

    def __init__(self, out: BinaryIO, counters: Counters) -> None:
        self.out, self.counters = out, counters
        self.header_done = False

    def header(self, columns: Sequence[str]) -> None:
        self.send(_csv_header(columns))
        self.header_done = True

    def send(self, data: bytes) -> None:
        if not data:
            return
        started = time.perf_counter()
        try:
            self.out.write(data)
        finally:
            self.counters.output_wait += time.perf_counter() - started

    def close(self) -> None:
        if isinstance(self.out, gzip.GzipFile):
            under = self.out.fileobj
            self.out.close()  # the gzip trailer; the stream underneath stays open
            if under is not None:
                under.flush()
        else:
            self.out.flush()


def _csv_header(columns: Sequence[str]) -> bytes:
    buffer = io.BytesIO()
    sink = CsvSink(buffer, columns)
    sink.flush()
    return buffer.getvalue()


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle


def _segment(
    start: int, end: int, columns: Sequence[str] | None = None
) -> tuple[bytes, int, int, int, list[tuple[int, str, str, bytes]], list[str] | None, float]:
    """In a worker: (output bytes, lines, records processed, emitted, bad records with their line
    in the segment, the CSV columns used, seconds spent reading)."""
    job = _JOB
    to = job["to"]
    columns = list(columns or job["columns"] or []) or None
    at = job.get("summarize_at")
    stages = list(job["stages"])
    if at is not None:
        config = stages[at]
        stages = [*stages[:at], Summarize(config.by, config.sums, config.max_groups)]  # a fresh one per part
    pipeline = Pipeline(stages)
    buffer = io.BytesIO()
    state: dict[str, Any] = {"sink": None, "skip": 0, "columns": columns}

    def make_sink(first: Record) -> Sink:
        if to == "ndjson":
            return NdjsonSink(buffer)
        chosen = state["columns"] or list(first)
        state["columns"] = chosen
        sink = CsvSink(buffer, chosen)
        sink.flush()  # the header: the parent writes it once, so it is cut off below
        state["skip"] = buffer.tell()
        return sink

    def emit(record: Record) -> None:
        sink = state["sink"]
        if sink is None:
            sink = state["sink"] = make_sink(record)
        sink.write(record)

    bad: list[tuple[int, str, str, bytes]] = []
    processed = 0
    reading = _Reading()
    with open(job["path"], "rb") as f:
        f.seek(start)
        for line, outcome in read_records(_chunks(f, end - start, reading), job["max_line"]):
            processed += 1
            if type(outcome) is BadRecord:
                bad.append((line, outcome.reason, outcome.detail, bytes(outcome.raw[:65536])))
                continue
            try:
                pipeline.push(outcome, emit)  # type: ignore[arg-type]
            except StageError as exc:
                import orjson

                bad.append((line, "stage error", str(exc), orjson.dumps(outcome)))
    if at is not None:
        # the part's groups, not its output: the parent merges the parts in file order
        lines = reading.newlines + (1 if reading.last not in (b"", b"\n") else 0)
        return pickle.dumps(stages[at]), lines, processed, 0, bad, None, reading.seconds
    pipeline.finish(emit)
    sink = state["sink"]
    emitted = 0
    if sink is not None:
        sink.flush()
        emitted = sink.emitted
    lines = reading.newlines + (1 if reading.last not in (b"", b"\n") else 0)
    return buffer.getvalue()[state["skip"] :], lines, processed, emitted, bad, state["columns"], reading.seconds


class _Reading:
    """What a worker learns while reading its segment: time spent, newlines seen, the last byte."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.newlines = 0
        self.last = b""


def _chunks(f: BinaryIO, remaining: int, reading: _Reading) -> Iterator[bytes]:
    while remaining > 0:
        started = time.perf_counter()
        chunk = f.read(min(1 << 20, remaining))
        reading.seconds += time.perf_counter() - started
        if not chunk:
            return
        remaining -= len(chunk)
        reading.newlines += chunk.count(b"\n")
        reading.last = chunk[-1:]
        yield chunk
