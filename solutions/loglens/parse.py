"""One access-log line -> one Record (or None when the line is malformed)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import NamedTuple


class Record(NamedTuple):
    """One parsed request. ``minute`` is an aware UTC datetime with seconds set to zero."""

    minute: datetime
    method: str
    path: str
    status: int
    bytes: int
    latency_ms: float | None


def parse_line(line: bytes) -> Record | None:
    """Parse one nginx access-log line; return None when the line is malformed.

    Accepted format ("combined", optionally followed by ``$request_time`` in seconds)::

        $remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent
            "$http_referer" "$http_user_agent" [$request_time]

    for example::

        203.0.113.9 - - [26/Dec/2025:14:04:59 +0100] "GET /api/search?q=x HTTP/1.1" 200 512
            "-" "curl/8.5" 0.140

    - ``minute``: the request time converted to UTC and cut to the minute
      (``2025-12-26 13:04 UTC`` in the example). Any offset (+0530, -0800, ...) is honoured.
    - ``method`` and ``path``: from the request line; the query string (``?...``) is removed.
    - ``status``: 100..599, anything else makes the line malformed.
    - ``bytes``: ``$body_bytes_sent`` (``-`` counts as 0).
    - ``latency_ms``: ``$request_time`` in milliseconds, or None when the field is absent.

    Malformed means: a field missing or out of shape, an impossible date, a request line that is
    not ``METHOD target HTTP/x``. Never raise on bad input: return None and let the caller count it.
    """
    # BEGIN SOLUTION: match the line, convert the time to a UTC minute, strip the query string
    m = _LINE(line)
    if m is None:
        return None
    local, offset, method, path, status, size, latency = m.groups()
    minute = _minutes.get((local, offset))
    if minute is None:
        minute = _to_utc_minute(local, offset)
        if minute is None:
            return None
    code = int(status)
    if code < 100 or code > 599:
        return None
    return _record(
        Record,
        (
            minute,
            method.decode("ascii"),
            path.decode("utf-8", "replace"),
            code,
            0 if size == b"-" else int(size),
            None if latency is None else float(latency) * 1000.0,
        ),
    )


_LINE = re.compile(
    rb"\S+ \S+ \S+ \[(\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d):\d\d ([+-]\d{4})\] "
    rb'"([A-Z]+) ([^ "?]+)(?:\?[^ "]*)? HTTP/\d(?:\.\d)?" (\d{3}) (\d+|-)'
    rb' "[^"]*" "[^"]*"(?: (\d+(?:\.\d+)?))?[ \t]*'
).fullmatch
_MONTHS = {
    m: i + 1
    for i, m in enumerate(
        (b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec")
    )
}
# Record(...) runs a Python-level __new__; building the tuple directly skips that frame per line.
_record = tuple.__new__
# Few distinct (local minute, offset) pairs occur in a log: convert each one once.
_minutes: dict[tuple[bytes, bytes], datetime] = {}


def _to_utc_minute(local: bytes, offset: bytes) -> datetime | None:
    month = _MONTHS.get(local[3:6])
    if month is None:
        return None
    try:
        when = datetime(int(local[7:11]), month, int(local[0:2]), int(local[12:14]), int(local[15:17]))
    except ValueError:
        return None
    hours, mins = int(offset[1:3]), int(offset[3:5])
    if mins > 59:
        return None
    shift = timedelta(hours=hours, minutes=mins)
    utc = (when - shift if offset[:1] == b"+" else when + shift).replace(tzinfo=UTC)
    # Logs run forward in time, so recent minutes are all the cache needs; a bigger cache grew
    # peak RSS by ~20 MB at 10M lines (one entry per minute and offset, ~200 bytes each).
    if len(_minutes) >= 4096:
        _minutes.clear()
    _minutes[local, offset] = utc
    return utc
    # END SOLUTION


def why_malformed(line: bytes) -> str:
    """A short reason for a line ``parse_line`` rejected (used for error samples, not speed-critical)."""
    if not line.strip():
        return "empty line"
    fields = _FIELDS.match(line)
    if fields is None:
        return "not in combined log format"
    stamp, request, status = fields.groups()
    if _STAMP.fullmatch(stamp) is None or _to_utc_minute_checked(stamp) is None:
        return "bad timestamp"
    if _REQUEST.fullmatch(request) is None:
        return "bad request line"
    if not status.isdigit() or not 100 <= int(status) <= 599:
        return "bad status code"
    return "not in combined log format"


_FIELDS = re.compile(rb'\S+ \S+ \S+ \[([^\]]*)\] "([^"]*)" (\S+)')
_STAMP = re.compile(rb"\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}")
_REQUEST = re.compile(rb"[A-Z]+ [^ ]+ HTTP/\d(?:\.\d)?")


def _to_utc_minute_checked(stamp: bytes) -> object:
    line = b"- - - [" + stamp + b'] "GET / HTTP/1.1" 200 0 "-" "-"'
    return parse_line(line)
