"""Several cores on one big file: cut it into segments at line boundaries, run the stages on each
segment in a worker process, write the results strictly in file order.

A plain file is cut by byte offsets and each worker reads its own segment. A gzip file cannot be
entered in the middle, so the parent decompresses it (once, in file order) and hands each worker
its segment's bytes; decompression is cheap next to decoding JSON, so the workers still do the
bulk of the work.

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

from .records import BadRecord, open_input, read_records
from .runner import Counters, Policy, Progress, reject
from .sinks import CsvSink, NdjsonSink, Sink
from .stages import Explode, Filter, Pipeline, Record, Rename, Select, SetField, Stage, StageError, Summarize

SEGMENT = int(os.environ.get("STREAMFOUNDRY_SEGMENT_BYTES") or 8 << 20)  # bytes of input per task; tests lower it
STREAM_SEGMENT = 2 << 20  # bytes per task when the parent hands the bytes over (gzip)
READ = 1 << 20
GZIP_MAGIC = b"\x1f\x8b"
COMPRESSION = 4  # NDJSON shrinks 4-8x under gzip: a compressed file counts as this many times its size
# Below this size a second process costs more than it saves. Tests lower it with the variable.
MIN_PARALLEL_BYTES = int(os.environ.get("STREAMFOUNDRY_MIN_PARALLEL_BYTES") or 32 << 20)
STATELESS = (Filter, Select, Rename, SetField, Explode)

_JOB: dict[str, Any] = {}  # what the workers need; they inherit it through fork


def parallel_ok(names: Sequence[str], stages: Sequence[Stage], to: str, policy: str, jobs: int) -> bool:
    """True when the run can be split: one big regular file (plain or gzip), a policy that does not
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
            compressed = f.read(2) == GZIP_MAGIC
    except OSError:
        return False
    return stat.S_ISREG(info.st_mode) and info.st_size * (COMPRESSION if compressed else 1) >= MIN_PARALLEL_BYTES


class Fallback(Exception):  # noqa: N818
    """The parts cannot be merged exactly (a part's group table overflowed): run in one process."""


Task = tuple[int, int, bytes | None]  # a worker's segment: a byte range of the file, or the bytes themselves


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


def tasks(path: str, max_line: int, counters: Counters, size: int = SEGMENT) -> Iterator[Task]:
    """The segments of ``path``: byte ranges of a plain file, decompressed bytes of a gzip file."""
    with open(path, "rb") as f:
        compressed = f.read(2) == GZIP_MAGIC
    if not compressed:
        for start, end in split(path, size):
            yield start, end, None
        return
    stream = open_input(path)
    try:
        # Smaller pieces: each one is held in the parent, in the pipe and in the worker at once.
        for data in stream_segments(stream, min(size, STREAM_SEGMENT), max_line, counters):
            yield 0, 0, data
    finally:
        stream.close()


def stream_segments(stream: BinaryIO, size: int, max_line: int, counters: Counters) -> Iterator[bytes]:
    """Pieces of about ``size`` bytes of a stream, each ending at a newline (the last one at EOF).

    Memory stays bounded whatever the lines: a line still open after more than ``max_line + 1``
    bytes is cut there and the rest of it skipped up to its newline. The worker then sees a line
    over ``max_line`` and flags it exactly as a one-process run flags the whole line (which
    keeps only the first ``max_line`` bytes too). Time spent reading counts as input wait.
    """
    pending = bytearray()
    skipping = False  # inside an over-long line whose first max_line + 1 bytes are kept
    while True:
        started = time.perf_counter()
        chunk = stream.read(READ)
        counters.input_wait += time.perf_counter() - started
        if not chunk:
            break
        if skipping:
            nl = chunk.find(b"\n")
            if nl < 0:
                continue
            chunk, skipping = chunk[nl:], False
        pending += chunk
        last = pending.rfind(b"\n")
        if len(pending) - (last + 1) > max_line + 1:
            del pending[last + 1 + max_line + 1 :]
            skipping = True
        if len(pending) >= size and last >= 0:
            yield bytes(pending[: last + 1])
            del pending[: last + 1]
    if pending:
        yield bytes(pending)


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
    """Process ``path`` (plain or gzip) with ``jobs`` worker processes; output, counters and policy exactly as a
    sequential run would give them (line numbers of bad records included). With a ``summarize``
    stage, each worker summarizes its part, the parts are merged in file order and the groups go
    through the stages after it into ``sink``; Fallback if the parts cannot be merged exactly."""
    at = next((i for i, stage in enumerate(stages) if isinstance(stage, Summarize)), None)
    _JOB.update(path=path, stages=list(stages), to=to, columns=list(columns) if columns else None, max_line=max_line)
    _JOB["summarize_at"] = at
    pool = ProcessPoolExecutor(jobs, mp_context=mp.get_context("fork"), initializer=_ignore_sigint)
    window: deque[tuple[Task, Future[Any]]] = deque()
    ranges = tasks(path, max_line, counters)
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
    start: int, end: int, data: bytes | None = None, columns: Sequence[str] | None = None
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
    with open(job["path"], "rb") if data is None else io.BytesIO(data) as f:
        f.seek(start)
        size = end - start if data is None else len(data)
        for line, outcome in read_records(_chunks(f, size, reading), job["max_line"]):
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
