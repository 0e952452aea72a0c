"""iter_lines: bytes chunks -> lines, whatever the chunk boundaries."""

from __future__ import annotations

import tracemalloc

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .model import split_lines

pytestmark = pytest.mark.milestone(1, "Process a huge log with stable memory (streaming)")


def lines_of(loglens, chunks, max_line=65536):
    out = []
    for line in loglens.iter_lines(chunks, max_line):
        assert isinstance(line, bytes), f"iter_lines must yield bytes objects, got {line!r}"
        out.append((bytes(line), isinstance(line, loglens.Overlong)))
    return out


def describe(chunks):
    return "chunks " + repr(chunks if len(repr(chunks)) < 300 else repr(chunks)[:300] + "...")


@pytest.mark.hint(2)
def test_splits_simple_lines(loglens):
    """splits lines and drops the newline"""
    got = lines_of(loglens, [b"a\nbb\nccc\n"])
    assert got == [(b"a", False), (b"bb", False), (b"ccc", False)], (
        f"for the single chunk b'a\\nbb\\nccc\\n' expected lines a, bb, ccc; got {got}"
    )


@pytest.mark.hint(2)
def test_line_split_across_chunks(loglens):
    """a line cut in two by a chunk boundary comes out whole"""
    got = lines_of(loglens, [b"GET /ind", b"ex.html\nPOST /lo", b"gin\n"])
    want = [(b"GET /index.html", False), (b"POST /login", False)]
    assert got == want, f"a line continues across chunks: expected {want}, got {got}"


@pytest.mark.hint(2)
def test_last_line_without_newline(loglens):
    """the last line is kept even when the file does not end with a newline"""
    got = lines_of(loglens, [b"first\nsecond\nlast one"])
    assert got[-1:] == [(b"last one", False)], (
        f"input ending in b'last one' (no newline) must still yield it as a line; got {got}"
    )
    got = lines_of(loglens, [b"first\n"])
    assert got == [(b"first", False)], f"a final newline must not add an empty line; got {got}"


@pytest.mark.hint(2)
def test_crlf_endings(loglens):
    """CRLF files give the same lines as LF files, even with \\r and \\n in different chunks"""
    got = lines_of(loglens, [b"one\r", b"\ntwo\r\nthree\r\n"])
    want = [(b"one", False), (b"two", False), (b"three", False)]
    assert got == want, f"for CRLF endings expected {want}, got {got}"


@pytest.mark.hint(2)
def test_empty_lines_are_lines(loglens):
    """an empty line in the middle is yielded as b'' (the caller counts it as malformed)"""
    got = lines_of(loglens, [b"a\n\nb\n"])
    assert got == [(b"a", False), (b"", False), (b"b", False)], f"expected a, '', b; got {got}"


@pytest.mark.hint(3)
def test_overlong_line_is_cut_and_flagged(loglens):
    """a line longer than max_line is cut to max_line bytes and flagged as Overlong"""
    got = lines_of(loglens, [b"ok\n" + b"x" * 50 + b"\nafter\n"], max_line=16)
    want = [(b"ok", False), (b"x" * 16, True), (b"after", False)]
    assert got == want, f"with max_line=16 a 50-byte line must come out as Overlong(16 bytes); got {got}"


@pytest.mark.hint(3)
def test_huge_line_without_newline_uses_bounded_memory(loglens):
    """a 64 MB run of bytes without any newline never sits in memory"""
    block = b"z" * (1 << 20)

    def chunks():
        for _ in range(64):
            yield block
        yield b"\nnext\n"

    tracemalloc.start()
    try:
        got = [(len(line), isinstance(line, loglens.Overlong)) for line in loglens.iter_lines(chunks(), 65536)]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert got == [(65536, True), (4, False)], (
        f"a 64 MB line must be yielded once as Overlong(first 65536 bytes), then 'next'; got {got}"
    )
    assert peak < 8 << 20, (
        f"splitting a 64 MB line without newlines allocated up to {peak / 2**20:.0f} MB at once: "
        "the over-long line is being accumulated instead of skipped"
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.binary(max_size=200).map(lambda b: bytes(b"ab\r\n"[x % 4] for x in b)),
    cuts=st.lists(st.integers(min_value=0, max_value=200), max_size=12),
    max_line=st.integers(min_value=1, max_value=12),
)
@pytest.mark.hint(2)
def test_any_chunking_gives_the_same_lines(loglens, data, cuts, max_line):
    """any way of cutting the same bytes into chunks yields the same lines"""
    points = sorted({c for c in cuts if c <= len(data)})
    chunks = [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]
    want = split_lines(data, max_line)
    got = lines_of(loglens, chunks, max_line)
    assert got == want, (
        f"{describe(chunks)} with max_line={max_line} should give {want}, got {got}. "
        "Chunk boundaries must not change the lines."
    )
