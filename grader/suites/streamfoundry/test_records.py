"""records: bytes -> lines -> records, each line with exactly one outcome and its line number."""

from __future__ import annotations

import gzip
import io
import tracemalloc

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

M1 = pytest.mark.milestone(1, "Transform a huge file with stable memory (streaming ETL)")
pytestmark = M1

BAD = [
    (b'{"id":1,"type":"click",}', "bad json"),
    (b'{"id":1,"type":"cli', "bad json"),
    (b"{'id': 1}", "bad json"),
    (b'{"a":1}{"b":2}', "bad json"),
    (b'{"x": NaN}', "bad json"),
    (b"hello world", "bad json"),
    (b'{"q":"Gr\xfc\xdfe"}', "bad utf-8"),
    (b'{"q":"\xe6\x9d"}', "bad utf-8"),
    (b'{"q":"\xed\xa0\x80"}', "bad utf-8"),
    (b"[1,2,3]", "not an object"),
    (b'"just text"', "not an object"),
    (b"42", "not an object"),
    (b"null", "not an object"),
    (b"true", "not an object"),
]


def lines_of(sf, chunks, max_line=1 << 20):
    out = []
    for line in sf.iter_lines(chunks, max_line):
        assert isinstance(line, bytes), f"iter_lines must yield bytes, got {line!r}"
        out.append((bytes(line), isinstance(line, sf.records.Overlong)))
    return out


@pytest.mark.hint(1)
def test_lines_across_chunk_boundaries(sf):
    """lines cut by chunk boundaries come out whole; a last line without newline is kept"""
    chunks = [b'{"a":', b'1}\n{"b"', b":2}\n", b'{"c":3}']
    got = lines_of(sf, chunks)
    want = [(b'{"a":1}', False), (b'{"b":2}', False), (b'{"c":3}', False)]
    assert got == want, f"chunks {chunks!r} should give {want}, got {got}"
    got = lines_of(sf, [b"x\n"])
    assert got == [(b"x", False)], f"a final newline must not add an empty line; got {got}"


@pytest.mark.points(2)
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.binary(max_size=120).map(lambda b: bytes(b"ab\n\xc3"[x % 4] for x in b)),
    cuts=st.lists(st.integers(min_value=0, max_value=120), max_size=10),
    max_line=st.integers(min_value=1, max_value=10),
)
@pytest.mark.hint(1)
def test_any_chunking_gives_the_same_lines(sf, data, cuts, max_line):
    """any way of cutting the same bytes into chunks gives the same lines"""
    points = sorted({c for c in cuts if c <= len(data)})
    chunks = [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]
    pieces = data.split(b"\n")
    if pieces and pieces[-1] == b"":
        pieces.pop()
    want = [(p[:max_line], len(p) > max_line) for p in pieces]
    got = lines_of(sf, chunks, max_line)
    assert got == want, (
        f"chunks {chunks!r} with max_line={max_line} should give {want} (line, over-long?), got {got}. "
        "Chunk boundaries must not change the lines."
    )


@pytest.mark.points(2)
@pytest.mark.hint(4)
def test_huge_line_is_cut_not_stored(sf):
    """a 48 MB line without a newline is yielded once, cut, in bounded memory"""
    block = b"y" * (1 << 20)

    def chunks():
        yield b'{"ok":1}\n'
        for _ in range(48):
            yield block
        yield b'\n{"ok":2}\n'

    tracemalloc.start()
    try:
        got = [(len(line), isinstance(line, sf.records.Overlong)) for line in sf.iter_lines(chunks(), 65536)]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert got == [(8, False), (65536, True), (8, False)], (
        f"with max_line=65536, a 48 MB line must come out once as Overlong (its first 65536 bytes) between the "
        f"two short lines; got (length, over-long?) = {got}"
    )
    assert peak < 8 << 20, (
        f"cutting a 48 MB line allocated {peak / 2**20:.0f} MB at once: the over-long line is being "
        "accumulated instead of skipped up to the next newline"
    )


@pytest.mark.hint(1)
def test_decode_accepts_objects(sf):
    """decode turns a JSON object line into a dict (escapes, unicode, nesting, CRLF)"""
    cases = [
        (
            b'{"type":"signup","amount":12.5,"user":{"country":"DE"}}',
            {"type": "signup", "amount": 12.5, "user": {"country": "DE"}},
        ),
        (b'{"q":"caf\\u00e9 \\"x\\""}', {"q": 'café "x"'}),
        ('{"q":"Köln 東京 🚀"}'.encode(), {"q": "Köln 東京 🚀"}),
        (b'  {"a":[1,2,{"b":null}]}\r', {"a": [1, 2, {"b": None}]}),
    ]
    for line, want in cases:
        got = sf.decode(line)
        assert got == want, f"decode({line!r}) should give {want!r}, got {got!r}"


@pytest.mark.points(0.25)
@pytest.mark.hint(1)
@pytest.mark.parametrize(("line", "reason"), BAD, ids=[f"{r}:{line[:20]!r}" for line, r in BAD])
def test_decode_classifies_each_bad_kind(sf, line, reason):
    """each kind of broken line raises BadRecord with the right reason (never another exception)"""
    with pytest.raises(sf.BadRecord) as found:
        sf.decode(line)
    assert found.value.reason == reason, (
        f"decode({line!r}) should raise BadRecord with reason {reason!r}, got {found.value.reason!r} "
        "(check invalid UTF-8 first: bytes that are not text cannot be judged as JSON)"
    )


@pytest.mark.hint(4)
def test_too_long_line_is_a_bad_record(sf):
    """a line over the limit becomes a 'too long' BadRecord without being parsed"""
    line = b'{"blob":"' + b"x" * 5000 + b'"}'
    outcomes = list(sf.read_records([b'{"a":1}\n', line, b'\n{"b":2}\n'], 1024))
    got = [(n, o.reason if isinstance(o, sf.BadRecord) else o) for n, o in outcomes]
    assert got == [(1, {"a": 1}), (2, "too long"), (3, {"b": 2})], (
        f"with max_line=1024 a 5 kB line must be reported as (2, 'too long') between the good lines; got {got}"
    )


@pytest.mark.points(2)
@pytest.mark.hint(1)
def test_read_records_numbers_every_line(sf):
    """line numbers count every line (blank lines too, though they are not records)"""
    data = b'{"a":1}\n\n{bad\n   \n[1]\n{"b":2}\n\xff\xfe\n{"c":3}'
    chunks = [data[i : i + 5] for i in range(0, len(data), 5)]
    got = []
    for number, outcome in sf.read_records(chunks):
        got.append((number, outcome.reason if isinstance(outcome, sf.BadRecord) else outcome))
    want = [(1, {"a": 1}), (3, "bad json"), (5, "not an object"), (6, {"b": 2}), (7, "bad utf-8"), (8, {"c": 3})]
    assert got == want, (
        f"for {data!r} (in 5-byte chunks) expected {want}, got {got}. Blank lines are skipped but still "
        "counted, so that quarantine line numbers point at the right line of the file."
    )
    got = [n for n, _ in sf.read_records([b'{"a":1}\n{"b":2}\n'], first_line=41)]
    assert got == [41, 42], f"with first_line=41 the numbers must start at 41, got {got}"


@pytest.mark.hint(1)
def test_bad_record_keeps_the_raw_line(sf):
    """a BadRecord carries the line's bytes (for the quarantine file) and a detail for people"""
    [(number, bad)] = list(sf.read_records([b'\n{"id": 7, "oops"}\n']))
    assert number == 2 and isinstance(bad, sf.BadRecord), f"expected line 2 to be a BadRecord, got {(number, bad)!r}"
    assert bad.raw == b'{"id": 7, "oops"}', f"BadRecord.raw should be the line's bytes, got {bad.raw!r}"
    assert bad.detail, "BadRecord.detail should say what is wrong (the decoder's message is fine)"


@pytest.mark.points(2)
@pytest.mark.hint(1)
def test_open_input_detects_gzip_by_magic_bytes(sf, tmp_path):
    """open_input decompresses gzip by its first bytes, whatever the file's name"""
    data = b'{"a":1}\n{"b":2}\n'
    disguised = tmp_path / "events.ndjson"  # gzip data under a plain name
    disguised.write_bytes(gzip.compress(data))
    plain = tmp_path / "plain.ndjson.gz"  # plain text under a .gz name
    plain.write_bytes(data)
    for path in (disguised, plain):
        stream = sf.open_input(str(path))
        try:
            got = b"".join(sf.read_chunks(stream, 4))
        finally:
            stream.close()
        assert got == data, f"reading {path.name} should give {data!r}, got {got!r}"
    with pytest.raises(OSError):
        sf.open_input(str(tmp_path / "missing.ndjson"))


@pytest.mark.hint(4)
def test_read_chunks_never_reads_everything(sf):
    """read_chunks hands out pieces of at most `size` bytes"""
    stream = io.BufferedReader(io.BytesIO(b"z" * 100_000))
    sizes = [len(c) for c in sf.read_chunks(stream, 4096)]
    assert sum(sizes) == 100_000 and max(sizes) <= 4096, (
        f"read_chunks(stream, 4096) on 100,000 bytes gave chunks of {sorted(set(sizes))[-3:]} bytes "
        f"(total {sum(sizes):,}): every chunk must be at most 4096 bytes"
    )
