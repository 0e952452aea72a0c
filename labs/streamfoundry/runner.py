"""The runner: inputs -> records -> stages -> sink, with the bad-record policy and the counters.

Memory stays bounded because nothing is ever collected: one chunk of input is read, its
records go through the stages into the sink, the sink writes them out, and only then is the
next chunk read. A slow reader of our output makes the sink's write wait; while it waits, no
input is read. The counters say where the time went (waiting for input, waiting for the
output, or working), which is how a stalled pipeline is diagnosed.
"""

from __future__ import annotations

import asyncio
import resource
import sys
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO, TextIO

import orjson

from .enrich import TableLookup, ordered_map
from .records import CHUNK, LOOKUP_FAILED, MAX_LINE, STAGE_ERROR, BadRecord, read_chunks, read_records
from .sinks import Quarantine, Sink
from .stages import Pipeline, Record, StageError

SKIP, QUARANTINE, STOP = "skip", "quarantine", "stop"


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (MB; Linux reports ru_maxrss in KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass
class Counters:
    """What the runner counts. ``processed``: input records (good and bad, blank lines aside);
    ``emitted``: records the sink wrote; ``bad``: rejected records by reason; ``quarantined``:
    those written to the quarantine file; the waits: seconds blocked reading input and writing
    output."""

    processed: int = 0
    emitted: int = 0
    bad: Counter[str] = field(default_factory=Counter)
    quarantined: int = 0
    input_wait: float = 0.0
    output_wait: float = 0.0
    started: float = field(default_factory=time.monotonic)
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. lookups in flight, for progress lines

    def as_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "processed": self.processed,
            "emitted": self.emitted,
            "bad": sum(self.bad.values()),
            "quarantined": self.quarantined,
            "peak_rss_mb": round(peak_rss_mb(), 1),
            "input_wait_s": round(self.input_wait, 3),
            "output_wait_s": round(self.output_wait, 3),
            "elapsed_s": round(time.monotonic() - self.started, 3),
        }
        for reason, n in sorted(self.bad.items()):
            doc[reason.replace(" ", "_").replace("-", "")] = n
        doc.update(self.extra)
        return doc

    def line(self, prefix: str = "streamfoundry:") -> str:
        """``streamfoundry: processed=1000 emitted=37 bad=2 ...``: easy to read, easy to grep."""
        return prefix + " " + " ".join(f"{k}={v}" for k, v in self.as_dict().items())


@dataclass
class Policy:
    """What happens to a bad record: ``skip`` (count it), ``quarantine`` (count it and write it
    to ``quarantine``), ``stop`` (raise StopOnBadRecord: the run ends with exit code 65)."""

    mode: str = SKIP
    quarantine: Quarantine | None = None


class StopOnBadRecord(Exception):  # noqa: N818
    """``--on-error stop`` met a bad record."""

    def __init__(self, source: str, line: int, bad: BadRecord) -> None:
        super().__init__(f"{_shown(source)}, line {line}: {bad}")
        self.source, self.line, self.bad = source, line, bad


class Progress:
    """A counters line on stderr at most every ``every`` seconds (never on stdout: stdout is data)."""

    def __init__(self, counters: Counters, every: float = 2.0, stream: TextIO | None = None) -> None:
        self.counters = counters
        self.every = every
        self.stream = stream
        self.next_at = time.monotonic() + every

    def tick(self) -> None:
        now = time.monotonic()
        if now < self.next_at:
            return
        self.next_at = now + self.every
        stream = self.stream or sys.stderr
        elapsed = max(now - self.counters.started, 1e-9)
        stream.write(
            self.counters.line("streamfoundry: progress") + f" rate={self.counters.processed / elapsed:.0f}/s\n"
        )
        stream.flush()


def reject(policy: Policy, counters: Counters, source: str, line: int, bad: BadRecord) -> None:
    """Apply the policy to one bad record (always counted by its reason)."""
    raise NotImplementedError('TODO(streamfoundry.reject): count by reason; quarantine -> write it; stop -> raise StopOnBadRecord')


def run(
    inputs: list[tuple[str, BinaryIO]],
    pipeline: Pipeline,
    sink: Sink,
    policy: Policy,
    counters: Counters,
    progress: Progress | None = None,
    max_line: int = MAX_LINE,
) -> None:
    """Stream every input (name, binary stream) through ``pipeline`` into ``sink``.

    - Read each input in chunks (``read_chunks``) and turn them into records with their line
      numbers (``read_records``; numbering starts again at 1 for each input).
    - Count every outcome in ``counters.processed``; a BadRecord goes to ``reject``; a record is
      pushed through the pipeline into ``sink.write``; a StageError rejects the input record
      with reason STAGE_ERROR (its ``raw`` is the record as JSON).
    - Before each read of the next chunk, ``sink.flush()`` (what was produced goes out before
      the program waits for more) and ``progress.tick()``. Add the seconds spent in each read
      to ``counters.input_wait``.
    - After the last input: ``pipeline.finish(sink.write)``, then ``sink.close()``.
    - ``counters.emitted`` and ``counters.output_wait`` come from the sink (``emitted``, ``wait``):
      keep them up to date as you go, so that progress lines and an early stop report them too.
    """
    raise NotImplementedError("TODO(streamfoundry.run): the loop described above; the sink's write is the emit function")


def _settle(sink: Sink, counters: Counters) -> None:
    """Copy the sink's own counts into the counters."""
    counters.emitted = sink.emitted
    counters.output_wait = sink.wait


# ---- with an async lookup stage in the middle ------------------------------------------------------


@dataclass
class Enrichment:
    """The enrich step of a pipeline: ``lookup`` for each record, ``concurrency`` at a time,
    at most ``buffer`` records held (see enrich.ordered_map)."""

    lookup: TableLookup
    concurrency: int = 8
    buffer: int | None = None


def run_enriched(
    inputs: list[tuple[str, BinaryIO]],
    before: Pipeline,
    enrichment: Enrichment,
    after: Pipeline,
    sink: Sink,
    policy: Policy,
    counters: Counters,
    progress: Progress | None = None,
    max_line: int = MAX_LINE,
) -> None:
    """Like ``run``, with an async lookup between the ``before`` and ``after`` stages.

    A daemon thread reads and decodes the input and runs the ``before`` stages (blocking reads
    never stall the event loop, and a thread stuck in a read cannot keep the program alive after
    Ctrl-C); it hands batches to the loop through a queue of two, so it never runs far ahead.
    The loop runs ``ordered_map`` over the records and everything after it, in input order.
    """
    asyncio.run(_enriched(inputs, before, enrichment, after, sink, policy, counters, progress, max_line))


_Item = tuple[str, int, Record | BadRecord]
_DONE: Any = object()


async def _enriched(
    inputs: list[tuple[str, BinaryIO]],
    before: Pipeline,
    enrichment: Enrichment,
    after: Pipeline,
    sink: Sink,
    policy: Policy,
    counters: Counters,
    progress: Progress | None,
    max_line: int,
) -> None:
    loop = asyncio.get_running_loop()
    batches: asyncio.Queue[Any] = asyncio.Queue()
    handoff = _Handoff(loop, batches)
    reader = threading.Thread(
        target=_read_into, args=(handoff, inputs, before, counters, max_line), daemon=True, name="reader"
    )
    reader.start()
    lookup = enrichment.lookup

    async def items() -> AsyncIterator[_Item]:
        while True:
            batch = await batches.get()
            handoff.slots.release()
            if batch is _DONE:
                return
            if isinstance(batch, BaseException):
                raise batch
            for item in batch:
                yield item

    async def call(item: _Item) -> _Item:
        source, line, record = item
        if type(record) is BadRecord:
            return item
        return source, line, await lookup(record)  # type: ignore[arg-type]

    state = {"last_flush": time.monotonic()}

    def tick() -> None:
        counters.extra["lookups_in_flight"] = lookup.in_flight
        counters.extra["lookups_peak"] = lookup.peak
        now = time.monotonic()
        if now - state["last_flush"] >= 0.1:
            state["last_flush"] = now
            sink.flush()
            _settle(sink, counters)
        if progress is not None:
            progress.tick()

    pending: dict[int, _Item] = {}
    position = 0

    async def tracked() -> AsyncIterator[_Item]:
        # remembers what went in, so that a failed lookup can be reported with its line number
        nonlocal position
        async for item in items():
            pending[position] = item
            position += 1
            yield item

    async def ticker() -> None:
        # progress even while nothing completes: a stall must be visible while it happens
        while progress is not None:
            await asyncio.sleep(progress.every / 2)
            counters.extra["lookups_in_flight"] = lookup.in_flight
            progress.tick()

    ticking = asyncio.create_task(ticker())
    done = 0
    results = ordered_map(tracked(), call, enrichment.concurrency, buffer=enrichment.buffer, return_exceptions=True)
    try:
        async for result in results:
            source, line, record = pending.pop(done)
            done += 1
            if isinstance(result, BaseException):
                if not isinstance(result, LookupError):
                    raise result
                raw = orjson.dumps(record) if not isinstance(record, BadRecord) else b""
                reject(policy, counters, source, line, BadRecord(LOOKUP_FAILED, str(result).strip("'\""), raw))
            elif type(result[2]) is BadRecord:
                reject(policy, counters, source, line, result[2])
            else:
                try:
                    after.push(result[2], sink.write)  # type: ignore[arg-type]
                except StageError as exc:
                    reject(policy, counters, source, line, BadRecord(STAGE_ERROR, str(exc), orjson.dumps(result[2])))
            tick()
    finally:
        handoff.stop.set()
        ticking.cancel()
        await asyncio.gather(ticking, return_exceptions=True)
        await results.aclose()  # type: ignore[attr-defined]
    after.finish(sink.write)
    sink.close()
    _settle(sink, counters)


class _Handoff:
    """Batches from the reader thread to the loop, at most two in transit (the thread waits for a
    slot: backpressure across the thread boundary). Only plain callbacks cross over, never
    coroutines, so an interrupted loop leaves nothing half-scheduled behind."""

    def __init__(self, loop: asyncio.AbstractEventLoop, batches: asyncio.Queue[Any]) -> None:
        self.loop, self.batches = loop, batches
        self.slots = threading.Semaphore(2)
        self.stop = threading.Event()

    def send(self, batch: Any) -> bool:
        while not self.slots.acquire(timeout=0.1):
            if self.stop.is_set():
                return False
        if self.stop.is_set():
            return False
        try:
            self.loop.call_soon_threadsafe(self.batches.put_nowait, batch)
        except RuntimeError:
            return False  # the loop is closed: the run is over
        return True


def _read_into(
    handoff: _Handoff,
    inputs: list[tuple[str, BinaryIO]],
    before: Pipeline,
    counters: Counters,
    max_line: int,
) -> None:
    """The reader thread: decode, run the ``before`` stages, send batches of items (bad ones included)."""
    try:
        for source, stream in inputs:
            for chunk_items in _decoded(source, stream, before, counters, max_line):
                if not handoff.send(chunk_items):
                    return
        tail: list[_Item] = []
        before.finish(lambda record: tail.append(("(end)", 0, record)))
        if tail and not handoff.send(tail):
            return
        handoff.send(_DONE)
    except BaseException as exc:  # hand any failure (a TODO stub, an I/O error) to the loop
        handoff.send(exc)


def _decoded(source: str, stream: BinaryIO, before: Pipeline, counters: Counters, max_line: int) -> Iterator[list]:
    batch: list[_Item] = []
    clock = time.perf_counter

    def chunks() -> Iterator[bytes]:
        reader = read_chunks(stream, CHUNK)
        while True:
            started = clock()
            chunk = next(reader, None)
            counters.input_wait += clock() - started
            if chunk is None:
                return
            yield chunk

    for line, outcome in read_records(chunks(), max_line):
        counters.processed += 1
        if type(outcome) is BadRecord:
            batch.append((source, line, outcome))
        else:
            try:
                before.push(outcome, lambda record: batch.append((source, line, record)))  # type: ignore[arg-type]  # noqa: B023
            except StageError as exc:
                batch.append((source, line, BadRecord(STAGE_ERROR, str(exc), orjson.dumps(outcome))))
        if len(batch) >= 256:
            yield batch
            batch = []
    if batch:
        yield batch


def _shown(source: str) -> str:
    return "standard input" if source == "-" else source
