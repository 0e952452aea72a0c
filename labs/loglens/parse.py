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
    raise NotImplementedError('TODO(loglens.parse_line): match the line, convert the time to a UTC minute, strip the query string')


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
