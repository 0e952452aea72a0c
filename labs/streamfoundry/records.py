"""From bytes to records: open the input, cut it into lines, decode each line into a record.

Where decoding happens matters. The bytes are cut at b"\\n" first, *before* any decoding: a
multi-byte UTF-8 character can be split by a chunk boundary, but never by a newline, so lines
are the first unit that can be decoded safely. Each line then has exactly one outcome: a record
(a JSON object), or a ``BadRecord`` that says why not (invalid JSON, invalid UTF-8, a JSON value
that is not an object, a line longer than the record limit). Line numbers travel with every
outcome so that a bad record can be quarantined where it can be found again.
"""

from __future__ import annotations

import gzip
import sys
from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO, cast

import orjson

CHUNK = 1 << 20  # bytes per read
MAX_LINE = 1 << 20  # the record limit: a longer line is a bad record, never a reason to use more memory
GZIP_MAGIC = b"\x1f\x8b"

# Why a line is not a record. Stages and lookups add their own two reasons.
BAD_JSON = "bad json"
BAD_UTF8 = "bad utf-8"
NOT_OBJECT = "not an object"
TOO_LONG = "too long"
STAGE_ERROR = "stage error"
LOOKUP_FAILED = "lookup failed"
REASONS = (BAD_JSON, BAD_UTF8, NOT_OBJECT, TOO_LONG, STAGE_ERROR, LOOKUP_FAILED)


class BadRecord(Exception):  # noqa: N818 (an outcome, like StopIteration)
    """A line that is not a record: ``reason`` is one of REASONS, ``detail`` says more for a person,
    ``raw`` holds the line's bytes (at most the first MAX_LINE of them)."""

    def __init__(self, reason: str, detail: str = "", raw: bytes = b"") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail
        self.raw = raw


class Overlong(bytes):
    """The first ``max_line`` bytes of a line that was longer (the rest was skipped unread)."""


def open_input(name: str) -> BinaryIO:
    """Open ``name`` for binary reading (``"-"`` is standard input), decompressing gzip.

    Gzip is recognised by its first two bytes (1f 8b), never by the file name: ``events.ndjson``
    that holds gzip data is decompressed, ``events.ndjson.gz`` that holds plain text is read as
    it is, and gzip data piped into stdin is decompressed too. A missing file, a directory or a
    file without read permission raises OSError for the caller.
    """
    raise NotImplementedError('TODO(streamfoundry.open_input): open the file (or stdin), peek at the first two bytes, wrap gzip data in a GzipFile')


def read_chunks(stream: BinaryIO, size: int = CHUNK) -> Iterator[bytes]:
    """Yield the stream's bytes in chunks of at most ``size`` bytes until EOF.

    A chunk is whatever has arrived (``read1``): on a slow pipe the program keeps working on
    what it has instead of waiting for a full chunk. Never read the whole input at once.
    """
    raise NotImplementedError('TODO(streamfoundry.read_chunks): read1(size) (what has arrived, up to size) until it returns b""')


def iter_lines(chunks: Iterable[bytes], max_line: int = MAX_LINE) -> Iterator[bytes]:
    """Yield the lines of a byte stream that arrives in arbitrary chunks (without the b"\\n").

    - Chunk boundaries are invisible: the same bytes cut differently give the same lines.
    - A last line without a newline is still a line; a final b"\\n" adds no empty line.
    - A line longer than ``max_line`` bytes is yielded once as ``Overlong(first max_line bytes)``
      and the rest of it is skipped without being stored (bounded memory for any input).
    - A b"\\r" before the newline is left in place (JSON treats it as whitespace).
    """
    raise NotImplementedError('TODO(streamfoundry.iter_lines): carry the partial line between chunks; cut over-long lines and skip to the next newline')


def decode(line: bytes) -> dict[str, Any]:
    """One line -> one record (a dict), or raise ``BadRecord`` with the reason:

    - ``TOO_LONG`` for an ``Overlong`` line;
    - ``BAD_UTF8`` when the bytes are not valid UTF-8 (checked before anything else: text
      that cannot be decoded cannot be judged as JSON either);
    - ``BAD_JSON`` when the text is not exactly one JSON value (NaN and Infinity are not JSON);
    - ``NOT_OBJECT`` for a valid JSON value that is not an object (an array, a number, null ...).
    """
    raise NotImplementedError('TODO(streamfoundry.decode): strict JSON decoding; classify failures: too long, bad utf-8, bad json, not an object')


def read_records(
    chunks: Iterable[bytes], max_line: int = MAX_LINE, first_line: int = 1
) -> Iterator[tuple[int, dict[str, Any] | BadRecord]]:
    """The outcome of every line: ``(line number, record)`` or ``(line number, BadRecord)``.

    Line numbers count every line from ``first_line`` (1 by default), blank ones included, so
    that a number in a quarantine file points at the right line of the input. Blank lines
    (nothing but spaces, tabs or a b"\\r") are not records and are skipped without a word.
    """
    raise NotImplementedError('TODO(streamfoundry.read_records): number the lines from iter_lines, skip blank ones, decode the rest (bad ones as BadRecord)')
