"""Seeded NDJSON event streams together with their exact ground truth.

One line per event, shaped like product analytics (page views, clicks, searches, signups,
purchases, client errors). While the file is written the generator counts everything a grader
needs to check an ETL tool without a second implementation: events per type and per country,
group-by figures (count, sum, min, max), the answers to a few canonical filters, items and tags
for ``explode``, replayed duplicates for ``dedupe``, and the line number and kind of every
record that is broken on purpose (invalid JSON, invalid UTF-8, a JSON value that is not an
object, a line longer than the record limit).

``records(spec)`` replays the same stream as Python objects (no parsing), so a test can build
the exact expected output of any query on small inputs.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

START = datetime(2025, 12, 26, tzinfo=UTC)
MAX_LINE = 1 << 20  # the record-size limit a reader is expected to enforce (bytes, newline excluded)

# The bad-record vocabulary: a reader reports each broken line with exactly one of these reasons.
BAD_JSON, BAD_UTF8, NOT_OBJECT, TOO_LONG = "bad json", "bad utf-8", "not an object", "too long"
REASONS = (BAD_JSON, BAD_UTF8, NOT_OBJECT, TOO_LONG)

TYPES = ("pageview", "click", "search", "purchase", "signup", "error", "logout")
TYPE_WEIGHTS = (58, 18, 9, 5, 4, 3, 3)
COUNTRIES = ("US", "DE", "IN", "BR", "FR", "JP", "GB", "NG", "MX", "ID", "CA", "KR")
COUNTRY_WEIGHTS = (24, 12, 11, 9, 8, 7, 7, 6, 5, 4, 4, 3)
PLANS = ("free", "free", "free", "pro", "team")
PATHS = ("/", "/pricing", "/docs", "/docs/streams", "/blog/backpressure", "/checkout", "/account", "/search")
TAGS = ("mobile", "beta", "returning", "campaign", "dark-mode")
SKUS = ("sku-basic", "sku-pro", "sku-team", "sku-addon", "sku-support")
SOURCES = ("ad", "newsletter", "friend", "search")
# Free text where CSV writers go wrong: delimiters, quotes, line breaks, non-ASCII, edge spaces.
TRICKY = (
    "backpressure, explained",
    'the "drain" event',
    "line one\nline two",
    "windows\r\nline end",
    "Grüße aus Köln",
    "東京 streaming",
    "rocket 🚀 launch",
    " leading and trailing ",
    'a, "b", c\nd',
    "tab\tseparated",
    "",
)
PLAIN_QUERIES = ("streams", "ndjson to csv", "gzip", "asyncio", "bounded queue", "jq alternative")
MESSAGES = ("TypeError: x is undefined", 'unexpected token "<"', "timeout after 30s, retrying", "quota exceeded")


@dataclass(frozen=True)
class Query:
    """A canonical filter: its text in the course's expression language and the same rule in Python."""

    name: str
    expression: str
    matches: Callable[[dict[str, Any]], bool]


def _num(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


QUERIES = (
    Query("signups", 'type == "signup"', lambda r: r.get("type") == "signup"),
    Query(
        "big_purchases",
        'type == "purchase" and amount > 50',
        lambda r: r.get("type") == "purchase" and _num(r.get("amount")) and r["amount"] > 50,
    ),
    Query(
        "de_fr_pageviews",
        'type == "pageview" and user.country in ["DE", "FR"]',
        lambda r: r.get("type") == "pageview" and r.get("user", {}).get("country") in ("DE", "FR"),
    ),
    Query("has_query", "exists query", lambda r: "query" in r),
    Query(
        "slow_not_pageview",
        'duration_ms >= 1000 and not (type == "pageview" or type == "click")',
        lambda r: r["duration_ms"] >= 1000 and r.get("type") not in ("pageview", "click"),
    ),
)


@dataclass(frozen=True)
class EventSpec:
    """What to generate. ``lines`` counts every line written, broken ones included."""

    lines: int
    seed: int = 1
    bad: float = 0.0  # share of lines broken on purpose (bad json / bad utf-8 / not an object, evenly)
    giant_lines: int = 0  # valid objects longer than MAX_LINE, spread through the file
    giant_bytes: int = MAX_LINE + (MAX_LINE >> 1)
    dupes: float = 0.005  # share of lines that replay a recent event verbatim (at-least-once delivery)
    escaped: float = 0.05  # share of lines written with \\u escapes instead of raw UTF-8
    final_newline: bool = True


@dataclass
class Stats:
    """count / sum / min / max of one numeric field in one group."""

    count: int = 0
    sum: float = 0
    min: float | None = None
    max: float | None = None

    def add(self, value: float) -> None:
        self.count += 1
        self.sum += value
        self.min = value if self.min is None or value < self.min else self.min
        self.max = value if self.max is None or value > self.max else self.max


@dataclass
class EventTruth:
    """Exact answers for a generated event stream (JSON-serializable via ``to_json``)."""

    spec: dict[str, Any]
    lines: int = 0
    records: int = 0  # lines that hold a JSON object within the size limit (duplicates included)
    bytes: int = 0
    types: Counter[str] = field(default_factory=Counter)
    countries: Counter[str] = field(default_factory=Counter)
    duration_by_type: dict[str, Stats] = field(default_factory=dict)  # duration_ms per type
    amount_by_country: dict[str, Stats] = field(default_factory=dict)  # purchases' amount per country
    queries: Counter[str] = field(default_factory=Counter)  # QUERIES name -> matching records
    items: int = 0  # purchase items in total (explode items)
    tags: int = 0  # tags in total (explode tags)
    duplicates: int = 0  # records that repeat an event seen at most DUPE_DISTANCE records before
    tricky: int = 0  # records with a free-text field full of CSV hazards
    bad: dict[str, list[int]] = field(default_factory=lambda: {reason: [] for reason in REASONS})

    @property
    def bad_lines(self) -> int:
        return sum(len(v) for v in self.bad.values())

    def to_json(self) -> dict[str, Any]:
        doc = {
            name: getattr(self, name)
            for name in ("spec", "lines", "records", "bytes", "items", "tags", "duplicates", "tricky")
        }
        doc["types"] = dict(self.types)
        doc["countries"] = dict(self.countries)
        doc["queries"] = dict(self.queries)
        doc["duration_by_type"] = {k: asdict(v) for k, v in sorted(self.duration_by_type.items())}
        doc["amount_by_country"] = {k: asdict(v) for k, v in sorted(self.amount_by_country.items())}
        doc["bad"] = self.bad
        return doc

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> EventTruth:
        truth = cls(doc["spec"])
        for name in ("lines", "records", "bytes", "items", "tags", "duplicates", "tricky"):
            setattr(truth, name, doc[name])
        truth.types = Counter(doc["types"])
        truth.countries = Counter(doc["countries"])
        truth.queries = Counter(doc["queries"])
        truth.duration_by_type = {k: Stats(**v) for k, v in doc["duration_by_type"].items()}
        truth.amount_by_country = {k: Stats(**v) for k, v in doc["amount_by_country"].items()}
        truth.bad = {k: list(v) for k, v in doc["bad"].items()}
        return truth


DUPE_DISTANCE = 50  # a replayed event repeats one of the last 50 good records


def generate(spec: EventSpec, on_progress: Callable[[int], None] | None = None) -> tuple[Iterator[bytes], EventTruth]:
    """Return (chunks of the NDJSON file, truth). The truth is complete once the chunks are exhausted."""
    truth = EventTruth(asdict(spec))
    return _chunks(spec, truth, on_progress), truth


def records(spec: EventSpec) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    """(line number, event, None) for every good line and (line number, None, reason) for a broken
    one: the stream exactly as ``generate`` writes it, without parsing anything."""
    for line_no, _, event, reason in _lines(spec):
        public = None if event is None else {k: v for k, v in event.items() if not k.startswith("_")}
        yield line_no, public, reason


def _chunks(spec: EventSpec, truth: EventTruth, on_progress: Callable[[int], None] | None) -> Iterator[bytes]:
    batch: list[bytes] = []
    size = 0
    for line_no, line, event, reason in _lines(spec):
        truth.lines = line_no
        if reason is not None:
            truth.bad[reason].append(line_no)
        else:
            assert event is not None
            _count(truth, event)
        last = line_no == spec.lines
        batch.append(line if last and not spec.final_newline else line + b"\n")
        size += len(line)
        if size >= 1 << 20 or last:
            data = b"".join(batch)
            batch.clear()
            size = 0
            truth.bytes += len(data)
            if on_progress is not None:
                on_progress(len(data))
            yield data


def _count(truth: EventTruth, event: dict[str, Any]) -> None:
    truth.records += 1
    kind = event["type"]
    country = event["user"]["country"]
    truth.types[kind] += 1
    truth.countries[country] += 1
    truth.duration_by_type.setdefault(kind, Stats()).add(event["duration_ms"])
    if kind == "purchase":
        truth.amount_by_country.setdefault(country, Stats()).add(event["amount"])
        truth.items += len(event["items"])
    truth.tags += len(event["tags"])
    if event.get("_dupe"):
        truth.duplicates += 1
    if event.get("_tricky"):
        truth.tricky += 1
    for query in QUERIES:
        if query.matches(event):
            truth.queries[query.name] += 1


def _lines(spec: EventSpec) -> Iterator[tuple[int, bytes, dict[str, Any] | None, str | None]]:
    """(line number, line without newline, event or None, bad reason or None)."""
    rnd = random.Random(spec.seed)
    rand = rnd.random
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    dumps_escaped = json.JSONEncoder(ensure_ascii=True, separators=(",", ":")).encode
    type_table = _table(TYPES, TYPE_WEIGHTS)
    country_table = _table(COUNTRIES, COUNTRY_WEIGHTS)
    giant_at = {spec.lines * (i + 1) // (spec.giant_lines + 1) for i in range(spec.giant_lines)}
    recent: list[tuple[dict[str, Any], bytes]] = []
    clock = START
    seq = 0
    for line_no in range(1, spec.lines + 1):
        if line_no in giant_at:
            padding = "x" * spec.giant_bytes
            yield line_no, dumps({"id": "ev-giant", "type": "pageview", "blob": padding}).encode(), None, TOO_LONG
            continue
        if spec.bad and rand() < spec.bad:
            reason, line = _broken(rnd)
            yield line_no, line, None, reason
            continue
        if recent and rand() < spec.dupes:
            original, line = recent[int(rand() * len(recent))]
            yield line_no, line, {**original, "_dupe": True}, None
            continue
        seq += 1
        clock += timedelta(milliseconds=int(rand() * 400))
        event = _event(rnd, seq, clock, type_table, country_table)
        public = {k: v for k, v in event.items() if not k.startswith("_")}
        line = (dumps_escaped if rand() < spec.escaped else dumps)(public).encode()
        recent.append((event, line))
        if len(recent) > DUPE_DISTANCE:
            recent.pop(0)
        yield line_no, line, event, None


def _event(rnd: random.Random, seq: int, when: datetime, type_table: list[str], country_table: list[str]) -> dict:
    rand = rnd.random
    kind = type_table[int(rand() * len(type_table))]
    slow = rand() < 0.03
    event: dict[str, Any] = {
        "id": f"ev-{seq:08d}",
        "ts": when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z",
        "type": kind,
        "user": {
            "id": 1 + int(rand() * 50_000),
            "country": country_table[int(rand() * len(country_table))],
            "plan": PLANS[int(rand() * len(PLANS))],
        },
        "duration_ms": int(rnd.lognormvariate(4.5, 0.8)) * (20 if slow else 1),
        "tags": rnd.sample(TAGS, k=int(rand() * 3.2)),
    }
    tricky = rand() < 0.1
    if kind in ("pageview", "click"):
        event["path"] = PATHS[int(rand() * len(PATHS))]
    if kind == "search":
        event["query"] = TRICKY[int(rand() * len(TRICKY))] if tricky else PLAIN_QUERIES[int(rand() * 6)]
    elif kind == "purchase":
        cents = 199 + int(rnd.paretovariate(1.6) * 1500)
        event["amount"] = cents / 100
        event["currency"] = "EUR" if event["user"]["country"] in ("DE", "FR") else "USD"
        event["items"] = [
            {"sku": SKUS[int(rand() * len(SKUS))], "qty": 1 + int(rand() * 3)} for _ in range(1 + int(rand() * 3))
        ]
    elif kind == "signup":
        event["source"] = SOURCES[int(rand() * len(SOURCES))]
    elif kind == "error":
        event["message"] = TRICKY[int(rand() * len(TRICKY))] if tricky else MESSAGES[int(rand() * 4)]
    if tricky and kind in ("search", "error"):
        event["_tricky"] = True
    return event


def _broken(rnd: random.Random) -> tuple[str, bytes]:
    """A line broken the way real feeds break: each reason in a few realistic shapes."""
    reason = (BAD_JSON, BAD_UTF8, NOT_OBJECT)[rnd.randrange(3)]
    shape = rnd.randrange(4)
    if reason == BAD_JSON:
        return reason, (
            b'{"id":"ev-cut","type":"pageview","user":{"id":7,"coun',  # cut by a crash mid-write
            b'{"id":"ev-comma","type":"click",}',  # trailing comma
            b"{'id': 'ev-python', 'type': 'signup'}",  # a Python repr, not JSON
            b'{"id":"ev-a","type":"click"}{"id":"ev-b","type":"click"}',  # two objects glued together
        )[shape]
    if reason == BAD_UTF8:
        return reason, (
            b'{"id":"ev-latin1","type":"search","query":"Gr\xfc\xdfe"}',  # Latin-1 bytes
            b'{"id":"ev-cut-char","type":"search","query":"\xe6\x9d"}',  # a multi-byte char cut short
            b'{"id":"ev-noise","type":"error","message":"\xff\xfe\xfd"}',
            b'{"id":"ev-surrogate","type":"search","query":"\xed\xa0\x80"}',  # an encoded surrogate
        )[shape]
    return reason, (b"[1,2,3]", b'"just a string"', b"42", b"null")[shape]


def _table(values: tuple[str, ...], weights: tuple[int, ...]) -> list[str]:
    table: list[str] = []
    for value, weight in zip(values, weights, strict=True):
        table += [value] * weight
    return table
