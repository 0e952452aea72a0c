"""sinks: CSV that the csv module reads back exactly, NDJSON, and the quarantine file."""

from __future__ import annotations

import io
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .helpers import as_cell, read_csv

M1 = pytest.mark.milestone(1, "Transform a huge file with stable memory (streaming ETL)")
pytestmark = M1

HAZARDS = ["a,b", 'say "hi"', "two\nlines", "crlf\r\nend", "lone\rcr", " spaced ", "", "Köln 東京 🚀", '",\n"', "tab\t"]


class Out(io.BytesIO):
    """A binary stream that stays readable after the sink closes it."""

    def close(self):
        pass


def csv_of(sf, records, columns=None, flush_every=None):
    out = Out()
    sink = sf.CsvSink(out, columns)
    for i, record in enumerate(records, 1):
        sink.write(record)
        if flush_every and i % flush_every == 0:
            sink.flush()
    sink.close()
    return out.getvalue()


@pytest.mark.hint(1)
def test_csv_cell_conventions(sf):
    """null -> empty, true/false as in JSON, numbers as they are, arrays/objects as compact JSON"""
    cases = [(None, ""), (True, "true"), (False, "false"), (0, "0"), (12.5, "12.5"), ("x", "x"), ([1, "a"], '[1,"a"]')]
    cases.append(({"k": None}, '{"k":null}'))
    for value, want in cases:
        got = sf.csv_cell(value)
        assert got == want, f"csv_cell({value!r}) should be {want!r}, got {got!r}"


@pytest.mark.points(3)
@pytest.mark.hint(1)
def test_csv_quotes_every_hazard(sf):
    """commas, quotes, line breaks and unicode inside values survive a round trip through the csv module"""
    records = [{"id": i, "text": text, "note": text[::-1]} for i, text in enumerate(HAZARDS)]
    data = csv_of(sf, records)
    rows = read_csv(data.decode("utf-8"))
    want = [["id", "text", "note"]] + [[str(i), t, t[::-1]] for i, t in enumerate(HAZARDS)]
    for got_row, want_row in zip(rows, want, strict=False):
        assert got_row == want_row, (
            f"the csv module reads back {got_row!r} where the record was {want_row!r}: a value with a comma, "
            'quote or line break must be quoted ("..."), with quotes inside doubled. Output was:\n'
            f"{data[:600]!r}"
        )
    assert len(rows) == len(want), f"expected {len(want)} CSV rows (header included), got {len(rows)}"
    assert data.endswith(b"\r\n") and b"\r\n" in data.split(b"\n")[0] + b"\n", (
        "RFC 4180 rows end with CRLF (\\r\\n); use the csv module's default lineterminator"
    )


text_values = st.text(alphabet=st.sampled_from(list("ab ,\"\n\r\té🚀;'x")), max_size=12)
json_values = st.one_of(st.none(), st.booleans(), st.integers(-(10**6), 10**6), text_values)


@pytest.mark.points(2)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(st.tuples(json_values, json_values, text_values), min_size=1, max_size=8))
@pytest.mark.hint(1)
def test_csv_round_trip_any_values(sf, rows):
    """any mix of strings, numbers, booleans and nulls reads back as the same cells"""
    records = [{"a": a, "b": b, "c": c} for a, b, c in rows]
    data = csv_of(sf, records, flush_every=3)
    got = read_csv(data.decode("utf-8"))
    want = [["a", "b", "c"]] + [[as_cell(a), as_cell(b), as_cell(c)] for a, b, c in rows]
    assert got == want, f"records {records} written as CSV read back as {got}, expected {want}; output {data!r}"


@pytest.mark.hint(1)
def test_csv_columns_are_stable(sf):
    """columns come from --columns or the first record; missing -> empty cell; extra fields left out"""
    records = [{"b": 1, "a": 2}, {"a": 3, "c": 9}, {"b": 5}]
    rows = read_csv(csv_of(sf, records).decode())
    assert rows == [["b", "a"], ["1", "2"], ["", "3"], ["5", ""]], (
        f"without --columns the header is the first record's fields (b, a); got {rows}"
    )
    rows = read_csv(csv_of(sf, records, columns=["c", "b"]).decode())
    assert rows == [["c", "b"], ["", "1"], ["9", ""], ["", "5"]], f"with columns c,b expected other rows; got {rows}"
    assert read_csv(csv_of(sf, [], columns=["x"]).decode()) == [["x"]], "with --columns, no records still give a header"
    assert csv_of(sf, []) == b"", "no records and no --columns: no output at all"


@pytest.mark.hint(1)
def test_ndjson_sink_round_trip(sf):
    """the NDJSON sink writes one compact JSON object per line, keys in order, unicode kept"""
    records = [{"z": 1, "a": [1, {"b": None}]}, {"text": 'Köln "q"\nx', "n": 1.5, "t": True}]
    out = Out()
    sink = sf.NdjsonSink(out)
    for record in records:
        sink.write(record)
    sink.close()
    lines = out.getvalue().decode("utf-8").splitlines()
    assert [json.loads(line) for line in lines] == records and all(
        list(json.loads(line)) == list(r) for line, r in zip(lines, records, strict=True)
    ), f"the NDJSON sink wrote {lines}, which does not read back as {records} (with keys in order)"
    assert sink.emitted == 2, f"sink.emitted should count the records written (2), got {sink.emitted}"


@pytest.mark.hint(3)
def test_quarantine_entry(sf):
    """a quarantine entry names the source, line, reason and detail, and keeps the raw line as text"""
    out = Out()
    quarantine = sf.Quarantine(out)
    quarantine.add("events.ndjson", 17, sf.BadRecord("bad utf-8", "byte 0xff", b'{"q":"\xff"}'))
    entry = json.loads(out.getvalue())
    want = {"source": "events.ndjson", "line": 17, "reason": "bad utf-8", "detail": "byte 0xff"}
    assert {k: entry.get(k) for k in want} == want, f"the quarantine entry should hold {want}; got {entry}"
    assert entry.get("raw", "").startswith('{"q":"') and "xff" in entry["raw"], (
        f"raw should be the line as text with the bad byte escaped (\\xff); got {entry.get('raw')!r}"
    )
