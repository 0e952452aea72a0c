"""parse_line: one nginx line -> Record or None."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.milestone(1, "Process a huge log with stable memory (streaming)")

LINE = (
    b'203.0.113.9 - - [26/Dec/2025:14:04:59 +0100] "GET /api/search?q=shoes&page=2 HTTP/1.1" 200 512 '
    b'"https://example.com/" "Mozilla/5.0 (X11; Linux x86_64)" 0.140'
)


def utc(y, mo, d, h, mi):
    return datetime(y, mo, d, h, mi, tzinfo=UTC)


def show(line: bytes) -> str:
    return line.decode("utf-8", "backslashreplace")


@pytest.mark.hint(2)
def test_parses_a_combined_line_with_request_time(loglens):
    """parses every field of a combined line with a request time"""
    rec = loglens.parse_line(LINE)
    assert rec is not None, f"this well-formed line was rejected:\n  {show(LINE)}"
    got = (rec.minute, rec.method, rec.path, rec.status, rec.bytes, rec.latency_ms)
    want = (utc(2025, 12, 26, 13, 4), "GET", "/api/search", 200, 512, 140.0)
    assert got[:5] == want[:5] and abs(rec.latency_ms - 140.0) < 1e-6, (
        f"for the line\n  {show(LINE)}\nexpected (minute, method, path, status, bytes, latency_ms) = {want}\ngot {got}"
    )


@pytest.mark.hint(2)
def test_minute_is_utc_whatever_the_offset(loglens):
    """the minute is converted to UTC using the line's offset (also across midnight)"""
    cases = [
        (b"26/Dec/2025:14:04:59 +0100", utc(2025, 12, 26, 13, 4)),
        (b"26/Dec/2025:05:30:10 +0530", utc(2025, 12, 26, 0, 0)),
        (b"25/Dec/2025:17:15:00 -0800", utc(2025, 12, 26, 1, 15)),
        (b"01/Jan/2026:00:10:00 +0200", utc(2025, 12, 31, 22, 10)),
        (b"26/Dec/2025:13:04:00 +0000", utc(2025, 12, 26, 13, 4)),
    ]
    for stamp, want in cases:
        line = b"1.2.3.4 - - [" + stamp + b'] "GET / HTTP/1.1" 200 1 "-" "-" 0.001'
        rec = loglens.parse_line(line)
        assert rec is not None, f"rejected a valid line:\n  {show(line)}"
        assert rec.minute == want, (
            f"[{stamp.decode()}] is {want:%Y-%m-%d %H:%M} UTC, got {rec.minute!r}. "
            "Local time minus the offset gives UTC; the minute must be an aware UTC datetime."
        )


@pytest.mark.hint(2)
def test_query_string_removed_from_path(loglens):
    """the route is the path without its query string"""
    for target, want in [(b"/api/search?q=a", "/api/search"), (b"/?x=1&y=2", "/"), (b"/plain", "/plain")]:
        line = b'1.2.3.4 - - [26/Dec/2025:13:04:00 +0000] "GET ' + target + b' HTTP/1.1" 200 1 "-" "-" 0.001'
        rec = loglens.parse_line(line)
        assert rec is not None and rec.path == want, (
            f"request target {target.decode()} should give path {want!r}, got {getattr(rec, 'path', None)!r}"
        )


@pytest.mark.hint(2)
def test_plain_combined_without_request_time(loglens):
    """a plain combined line (no request time) parses with latency_ms None; '-' bytes count as 0"""
    line = b'1.2.3.4 - bob [26/Dec/2025:13:04:00 +0000] "POST /login HTTP/1.0" 302 - "-" "curl/8.5"'
    rec = loglens.parse_line(line)
    assert rec is not None, f"rejected a valid plain combined line:\n  {show(line)}"
    assert (rec.method, rec.path, rec.status, rec.bytes, rec.latency_ms) == ("POST", "/login", 302, 0, None), (
        f"expected POST /login 302, bytes 0, latency None; got {rec}"
    )


MALFORMED = [
    (b"", "an empty line"),
    (b"-", "a lone dash"),
    (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", "binary noise (a TLS handshake)"),
    (b'1.2.3.4 - - [26/Dec/2025:13:04:00 +0000] "GET /a HTTP/1.1', "a line cut short"),
    (b'1.2.3.4 - - [26/Dex/2025:13:04:00 +0000] "GET / HTTP/1.1" 200 1 "-" "-" 0.001', "month 'Dex'"),
    (b'1.2.3.4 - - [31/Feb/2025:13:04:00 +0000] "GET / HTTP/1.1" 200 1 "-" "-" 0.001', "31 February"),
    (b'1.2.3.4 - - [26/Dec/2025:13:04:00 +0000] "GET / HTTP/1.1" 999 1 "-" "-" 0.001', "status 999"),
    (b'1.2.3.4 - - [26/Dec/2025:13:04:00 +0000] "GET / HTTP/1.1" 2x0 1 "-" "-" 0.001', "status 2x0"),
    (b'1.2.3.4 - - [26/Dec/2025:13:04:00 +0000] "-" 400 0 "-" "-"', "an empty request '-'"),
    (b'1.2.3.4 - - [26/Dec/2025:13:04:00] "GET / HTTP/1.1" 200 1 "-" "-" 0.001', "no UTC offset"),
]


@pytest.mark.hint(2)
@pytest.mark.parametrize(("line", "what"), MALFORMED, ids=[w for _, w in MALFORMED])
def test_malformed_line_gives_none(loglens, line, what):
    """a malformed line gives None (never an exception)"""
    assert loglens.parse_line(line) is None, f"{what} must be rejected (return None):\n  {show(line)}"


@settings(max_examples=400, deadline=None)
@given(
    st.binary(max_size=300) | st.builds(lambda a, b: LINE[:a] + b, st.integers(0, len(LINE)), st.binary(max_size=20))
)
@pytest.mark.hint(2)
def test_never_raises_on_any_bytes(loglens, line):
    """returns a Record or None for any bytes at all"""
    rec = loglens.parse_line(line)
    assert rec is None or isinstance(rec, loglens.Record), f"expected a Record or None, got {rec!r}"


@pytest.mark.hint(2)
def test_counts_match_a_generated_log(loglens, log):
    """on a generated log, records and status classes match the exact truth"""
    found = log("access", 20_000, seed=7)
    truth = found.truth
    records = 0
    status = dict.fromkeys(truth.status, 0)
    with open(found.path, "rb") as f:
        for raw in f:
            rec = loglens.parse_line(raw.rstrip(b"\n"))
            if rec is not None:
                records += 1
                status[f"{rec.status // 100}xx"] += 1
    assert records == truth.records, (
        f"{found.path.name}: {truth.records} of {truth.lines} lines are valid, your parser accepted {records}"
    )
    assert status == truth.status, f"status classes: expected {truth.status}, got {status}"
