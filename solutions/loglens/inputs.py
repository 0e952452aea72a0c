"""Opening inputs (files, stdin, gzip) and reading them in chunks."""

from __future__ import annotations

import gzip
import sys
from collections.abc import Iterator
from typing import BinaryIO, cast

CHUNK = 256 << 10  # big enough that per-chunk work is noise, small enough to keep memory low
GZIP_MAGIC = b"\x1f\x8b"


def open_input(name: str) -> BinaryIO:
    """Open ``name`` for binary reading; ``"-"`` means standard input.

    Gzip is recognised by its first two bytes (1f 8b), never by the file name: a ``.gz`` file
    that is really plain text reads as plain text, and compressed data on stdin is decompressed.
    Errors (missing file, a directory, no permission) propagate as OSError for the caller.
    """
    # BEGIN SOLUTION: open the file or stdin, read the magic bytes, wrap gzip in a GzipFile
    raw: BinaryIO = sys.stdin.buffer if name == "-" else open(name, "rb")  # noqa: SIM115
    try:
        head = raw.read(2)  # a pipe may deliver one byte at a time: read() waits for both
    except BaseException:
        raw.close()
        raise
    stream = _Prefixed(head, raw)
    if head == GZIP_MAGIC:
        return cast(BinaryIO, gzip.GzipFile(fileobj=cast(BinaryIO, stream), mode="rb"))
    return cast(BinaryIO, stream)


class _Prefixed:
    """A binary stream that first returns bytes already read from ``raw``, then ``raw`` itself."""

    def __init__(self, head: bytes, raw: BinaryIO) -> None:
        self.head, self.raw = head, raw

    def read1(self, size: int = -1) -> bytes:
        if not self.head:
            return self.raw.read1(size)  # type: ignore[attr-defined]
        return self.read(min(size, len(self.head)) if size >= 0 else len(self.head))

    def read(self, size: int = -1) -> bytes:
        if not self.head:
            return self.raw.read(size)
        if 0 <= size < len(self.head):
            head, self.head = self.head[:size], self.head[size:]
            return head
        head, self.head = self.head, b""
        if size < 0:
            return head + self.raw.read()
        return head + self.raw.read(size - len(head))

    def close(self) -> None:
        self.raw.close()

    # END SOLUTION


def read_chunks(stream: BinaryIO, size: int = CHUNK, limit: int | None = None) -> Iterator[bytes]:
    """Yield the stream's bytes in chunks of at most ``size`` bytes, never the whole input at once.

    A chunk is whatever has arrived (up to ``size``): on a slow pipe, waiting for a full chunk
    would leave the program silent, unresponsive to progress ticks, for as long as that takes.
    With ``limit``, stop after that many bytes (a worker reading its own byte range of a file).
    """
    # BEGIN SOLUTION: read1() (what has arrived, up to size) until EOF, or until limit bytes
    read = getattr(stream, "read1", stream.read)
    if limit is None:
        while chunk := read(size):
            yield chunk
        return
    while limit > 0 and (chunk := read(min(size, limit))):
        limit -= len(chunk)
        yield chunk
    # END SOLUTION
