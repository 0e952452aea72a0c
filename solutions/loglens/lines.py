"""From a stream of byte chunks to a stream of lines."""

from __future__ import annotations

from collections.abc import Iterable, Iterator


class Overlong(bytes):
    """A line that was longer than ``max_line``: only its first ``max_line`` bytes are kept.

    It is still ``bytes`` (it can be logged or parsed), but a caller can tell it apart with
    ``isinstance(line, Overlong)`` and count it as a problem instead of trusting it.
    """


def iter_lines(chunks: Iterable[bytes], max_line: int = 65536) -> Iterator[bytes]:
    """Yield the lines of a byte stream that arrives in arbitrary chunks.

    Contract:
    - A line ends at ``b"\\n"``; the newline is not part of the line, and a ``b"\\r"`` right
      before it is dropped too (CRLF files give the same lines as LF files).
    - Chunk boundaries are invisible: any way of cutting the same bytes into chunks yields the
      same lines, even when a boundary falls between ``\\r`` and ``\\n``.
    - A last line without a newline is still a line; a stream that ends with ``\\n`` does not
      produce an extra empty line at the end. Empty lines in the middle are yielded as ``b""``.
    - A line longer than ``max_line`` bytes (after dropping its ``\\r``) is yielded once as
      ``Overlong(first max_line bytes)`` and the rest of it is skipped without being stored:
      memory stays bounded even for a multi-gigabyte "line" with no newline at all.
    """
    # BEGIN SOLUTION: split chunks into lines across chunk boundaries (CRLF, last line, over-long lines)
    limit = max_line + 1  # one spare byte: a trailing "\r" may still be dropped
    carry = bytearray()
    skipping = False  # inside an over-long line whose prefix was already yielded
    for chunk in chunks:
        start = 0
        if skipping:
            nl = chunk.find(b"\n")
            if nl < 0:
                continue
            skipping = False
            start = nl + 1
        if carry:
            nl = chunk.find(b"\n", start)
            if nl < 0:
                carry += chunk[start : start + limit + 1 - len(carry)]
                if len(carry) > limit:
                    yield Overlong(carry[:max_line])
                    carry.clear()
                    skipping = True
                continue
            carry += chunk[start:nl]
            yield _finish(bytes(carry), max_line)
            carry.clear()
            start = nl + 1
        parts = chunk[start:].split(b"\n")
        tail = parts.pop()
        if b"\r" in chunk or max(map(len, parts), default=0) > max_line:
            for line in parts:
                yield _finish(line, max_line)
        else:
            yield from parts
        if len(tail) > limit:
            yield Overlong(tail[:max_line])
            skipping = True
        else:
            carry += tail
    if carry:
        yield _finish(bytes(carry), max_line)


def _finish(line: bytes, max_line: int) -> bytes:
    if line.endswith(b"\r"):
        line = line[:-1]
    if len(line) > max_line:
        return Overlong(line[:max_line])
    return line
    # END SOLUTION
