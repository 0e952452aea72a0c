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
    # BEGIN SOLUTION: open the file (or stdin), peek at the first two bytes, wrap gzip data in a GzipFile
    raw: BinaryIO = sys.stdin.buffer if name == "-" else open(name, "rb")  # noqa: SIM115
    try:
        head = raw.read(2)  # on a pipe this waits until two bytes (or EOF) have arrived
    except BaseException:
        raw.close()
        raise
    stream = cast(BinaryIO, _Prefixed(head, raw))
    if head == GZIP_MAGIC:
        return cast(BinaryIO, gzip.GzipFile(fileobj=stream, mode="rb"))
    return stream


class _Prefixed:
    """A binary stream that returns bytes already read from ``raw`` first, then ``raw`` itself."""

    def __init__(self, head: bytes, raw: BinaryIO) -> None:
        self.head, self.raw = head, raw

    def read1(self, size: int = -1) -> bytes:
        if self.head:
            return self.read(min(size, len(self.head)) if size >= 0 else len(self.head))
        read1 = getattr(self.raw, "read1", None)
        return read1(size) if read1 is not None else self.raw.read(size)

    def read(self, size: int = -1) -> bytes:
        if not self.head:
            return self.raw.read(size)
        if 0 <= size < len(self.head):
            head, self.head = self.head[:size], self.head[size:]
            return head
        head, self.head = self.head, b""
        rest = self.raw.read() if size < 0 else self.raw.read(size - len(head))
        return head + rest

    def close(self) -> None:
        self.raw.close()

    # END SOLUTION


def read_chunks(stream: BinaryIO, size: int = CHUNK) -> Iterator[bytes]:
    """Yield the stream's bytes in chunks of at most ``size`` bytes until EOF.

    A chunk is whatever has arrived (``read1``): on a slow pipe the program keeps working on
    what it has instead of waiting for a full chunk. Never read the whole input at once.
    """
    # BEGIN SOLUTION: read1(size) (what has arrived, up to size) until it returns b""
    read = getattr(stream, "read1", stream.read)
    while chunk := read(size):
        yield chunk
    # END SOLUTION


def iter_lines(chunks: Iterable[bytes], max_line: int = MAX_LINE) -> Iterator[bytes]:
    """Yield the lines of a byte stream that arrives in arbitrary chunks (without the b"\\n").

    - Chunk boundaries are invisible: the same bytes cut differently give the same lines.
    - A last line without a newline is still a line; a final b"\\n" adds no empty line.
    - A line longer than ``max_line`` bytes is yielded once as ``Overlong(first max_line bytes)``
      and the rest of it is skipped without being stored (bounded memory for any input).
    - A b"\\r" before the newline is left in place (JSON treats it as whitespace).
    """
    # BEGIN SOLUTION: carry the partial line between chunks; cut over-long lines and skip to the next newline
    for lines in _line_batches(chunks, max_line):
        yield from lines


def _line_batches(chunks: Iterable[bytes], max_line: int) -> Iterator[list[bytes]]:
    """The lines of each chunk as one list (the line that ends in it first): a loop over a list
    costs less per line than resuming a generator for every line."""
    carry = bytearray()
    skipping = False  # inside an over-long line whose prefix was already yielded
    for chunk in chunks:
        start = 0
        if skipping:
            nl = chunk.find(b"\n")
            if nl < 0:
                continue
            skipping, start = False, nl + 1
        first: list[bytes] = []
        if carry:
            nl = chunk.find(b"\n", start)
            if nl < 0:
                carry += chunk[start : start + max_line + 1 - len(carry)]
                if len(carry) > max_line:
                    yield [Overlong(carry[:max_line])]
                    carry.clear()
                    skipping = True
                continue
            carry += chunk[start:nl]
            first = [Overlong(carry[:max_line]) if len(carry) > max_line else bytes(carry)]
            carry.clear()
            start = nl + 1
        lines = chunk[start:].split(b"\n") if start else chunk.split(b"\n")
        tail = lines.pop()
        if lines and max(map(len, lines)) > max_line:
            lines = [Overlong(line[:max_line]) if len(line) > max_line else line for line in lines]
        if len(tail) > max_line:
            lines.append(Overlong(tail[:max_line]))
            skipping = True
        else:
            carry += tail
        yield first + lines if first else lines
    if carry:
        yield [bytes(carry)]
    # END SOLUTION


def decode(line: bytes) -> dict[str, Any]:
    """One line -> one record (a dict), or raise ``BadRecord`` with the reason:

    - ``TOO_LONG`` for an ``Overlong`` line;
    - ``BAD_UTF8`` when the bytes are not valid UTF-8 (checked before anything else: text
      that cannot be decoded cannot be judged as JSON either);
    - ``BAD_JSON`` when the text is not exactly one JSON value (NaN and Infinity are not JSON);
    - ``NOT_OBJECT`` for a valid JSON value that is not an object (an array, a number, null ...).
    """
    # BEGIN SOLUTION: strict JSON decoding; classify failures: too long, bad utf-8, bad json, not an object
    if type(line) is Overlong:
        raise BadRecord(TOO_LONG, f"longer than {len(line):,} bytes", line)
    try:
        value = _loads(line)
    except ValueError as exc:
        raise _why(line, exc) from None
    if type(value) is not dict:
        raise BadRecord(NOT_OBJECT, f"a JSON {_json_kind(value)} where an object was expected", line)
    return value


_loads = orjson.loads


def _why(line: bytes, error: ValueError) -> BadRecord:
    """The BadRecord for a line the decoder refused: invalid UTF-8 first, else invalid JSON."""
    try:
        line.decode("utf-8")
    except UnicodeDecodeError as exc:
        return BadRecord(BAD_UTF8, f"byte 0x{line[exc.start]:02x} at offset {exc.start} is not valid UTF-8", line)
    return BadRecord(BAD_JSON, str(error), line)


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    return "number"
    # END SOLUTION


def read_records(
    chunks: Iterable[bytes], max_line: int = MAX_LINE, first_line: int = 1
) -> Iterator[tuple[int, dict[str, Any] | BadRecord]]:
    """The outcome of every line: ``(line number, record)`` or ``(line number, BadRecord)``.

    Line numbers count every line from ``first_line`` (1 by default), blank ones included, so
    that a number in a quarantine file points at the right line of the input. Blank lines
    (nothing but spaces, tabs or a b"\\r") are not records and are skipped without a word.
    """
    # BEGIN SOLUTION: number the lines from iter_lines, skip blank ones, decode the rest (bad ones as BadRecord)
    number = first_line - 1
    loads = _loads
    for lines in _line_batches(chunks, max_line):
        for line in lines:
            number += 1
            # The common case inline (a valid object); everything else is decode()'s to judge.
            try:
                value = loads(line)
            except ValueError:
                pass
            else:
                if type(value) is dict and type(line) is not Overlong:
                    yield number, value
                    continue
            try:
                record = decode(line)
            except BadRecord as bad:
                if line.strip():
                    yield number, bad
                continue
            yield number, record
    # END SOLUTION
