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
    raise NotImplementedError('TODO(loglens.open_input): open the file or stdin, read the magic bytes, wrap gzip in a GzipFile')


def read_chunks(stream: BinaryIO, size: int = CHUNK, limit: int | None = None) -> Iterator[bytes]:
    """Yield the stream's bytes in chunks of at most ``size`` bytes, never the whole input at once.

    A chunk is whatever has arrived (up to ``size``): on a slow pipe, waiting for a full chunk
    would leave the program silent, unresponsive to progress ticks, for as long as that takes.
    With ``limit``, stop after that many bytes (a worker reading its own byte range of a file).
    """
    raise NotImplementedError('TODO(loglens.read_chunks): read1() (what has arrived, up to size) until EOF, or until limit bytes')
