"""Use several cores on one big file: split it at line boundaries, summarize the parts, merge.

Threads would not help here: parsing is CPU-bound Python, and the GIL lets one thread run
Python code at a time. Processes do help, and the summaries are mergeable (counters add,
sketches add bucket by bucket, Space-Saving tables merge), so each part can be summarized alone.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
from collections.abc import Callable
from multiprocessing.connection import Connection

from .inputs import read_chunks
from .lines import iter_lines
from .progress import Progress
from .summary import Summarizer

# Below this size a second process costs more than it saves (start-up, merging).
# LOGLENS_MIN_PARALLEL_BYTES overrides it, so that tests can exercise the split on small files.
MIN_PARALLEL_BYTES = int(os.environ.get("LOGLENS_MIN_PARALLEL_BYTES") or 32 << 20)


def split_ranges(path: str, parts: int) -> list[tuple[int, int]]:
    """Cut a file into ``parts`` byte ranges [start, end) that each begin at the start of a line."""
    size = os.path.getsize(path)
    starts = [0]
    with open(path, "rb") as f:
        for i in range(1, parts):
            f.seek(max(size * i // parts - 1, starts[-1]))
            f.readline()  # finish the line we landed in; the next range starts after it
            pos = f.tell()
            if pos >= size:
                break
            if pos > starts[-1]:
                starts.append(pos)
    ends = [*starts[1:], size]
    return list(zip(starts, ends, strict=True))


def summarize_parallel(
    path: str,
    jobs: int,
    make: Callable[[], Summarizer],
    progress: Progress | None = None,
) -> Summarizer:
    """Summarize ``path`` with ``jobs`` processes (this one included); returns the merged result.

    Line numbers in the merged error samples are relative to the start of the file.
    """
    ranges = split_ranges(path, jobs)
    ctx = mp.get_context("fork")
    shared = ctx.RawArray("q", 2 * len(ranges))  # per part: bytes done, lines done
    children = []
    try:
        for index, (start, end) in enumerate(ranges[1:], 1):
            receiver, sender = ctx.Pipe(duplex=False)
            child = ctx.Process(target=_child, args=(path, start, end, make, shared, index, sender), daemon=True)
            child.start()
            sender.close()
            children.append((child, receiver))
        results = [_summarize_range(path, *ranges[0], make, shared, 0, progress)]
        for child, receiver in children:
            try:
                results.append(receiver.recv())
            except EOFError:
                child.join()
                raise RuntimeError(f"a worker process died (exit code {child.exitcode})") from None
            child.join()
    finally:
        for child, receiver in children:
            receiver.close()
            if child.is_alive():
                child.terminate()
                child.join()
    merged = results[0]
    offset = merged.lines
    for part in results[1:]:
        for sample in part.error_samples:
            sample["line"] += offset
        offset += part.lines
        merged.merge(part)
    return merged


def _child(
    path: str, start: int, end: int, make: Callable[[], Summarizer], shared, index: int, sender: Connection
) -> None:
    # Ctrl-C reaches the whole process group; the parent reports it, a worker just stops.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    sender.send(_summarize_range(path, start, end, make, shared, index, None))
    sender.close()


def _summarize_range(
    path: str,
    start: int,
    end: int,
    make: Callable[[], Summarizer],
    shared,
    index: int,
    progress: Progress | None,
) -> Summarizer:
    summary = make()
    with open(path, "rb") as f:
        f.seek(start)

        def chunks():
            done = lines = 0
            for chunk in read_chunks(f, limit=end - start):
                done += len(chunk)
                lines += chunk.count(b"\n")
                shared[2 * index] = done
                shared[2 * index + 1] = lines
                if progress is not None:
                    progress.tick(sum(shared[1::2]), sum(shared[0::2]), summary.parse_errors)
                yield chunk

        summary.feed(iter_lines(chunks()))
    return summary
