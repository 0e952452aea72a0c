"""The NDJSON event generator: reproducible, and its truth agrees with the file it describes."""

from __future__ import annotations

import gzip
import json
from collections import Counter

from grader.data import ensure, parse_size
from grader.data.events import BAD_JSON, BAD_UTF8, MAX_LINE, NOT_OBJECT, QUERIES, TOO_LONG, EventSpec, generate


def collect(spec):
    chunks, truth = generate(spec)
    return b"".join(chunks), truth


def test_same_seed_same_bytes():
    a, _ = collect(EventSpec(3000, seed=9, bad=0.02))
    b, _ = collect(EventSpec(3000, seed=9, bad=0.02))
    c, _ = collect(EventSpec(3000, seed=10, bad=0.02))
    assert a == b and a != c


def test_truth_matches_an_independent_recount():
    """Recount the file with the standard library and compare with the generator's truth."""
    data, truth = collect(EventSpec(6000, seed=5, bad=0.03, giant_lines=1, final_newline=False))
    lines = data.split(b"\n")
    assert not data.endswith(b"\n") and len(lines) == truth.lines == 6000 and truth.bytes == len(data)
    bad: dict[str, list[int]] = {BAD_JSON: [], BAD_UTF8: [], NOT_OBJECT: [], TOO_LONG: []}
    types: Counter[str] = Counter()
    queries: Counter[str] = Counter()
    ids: list[str] = []
    for number, line in enumerate(lines, 1):
        if len(line) > MAX_LINE:
            bad[TOO_LONG].append(number)
            continue
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            bad[BAD_UTF8].append(number)
            continue
        try:
            value = json.loads(text, parse_constant=lambda c: 1 / 0)
        except (ValueError, ZeroDivisionError):
            bad[BAD_JSON].append(number)
            continue
        if not isinstance(value, dict):
            bad[NOT_OBJECT].append(number)
            continue
        types[value["type"]] += 1
        ids.append(value["id"])
        for query in QUERIES:
            queries[query.name] += query.matches(value)
    assert bad == truth.bad and all(bad.values())
    assert types == truth.types and sum(types.values()) == truth.records
    assert queries == truth.queries
    assert len(ids) - len(set(ids)) == truth.duplicates > 0


def test_events_kinds_are_cached_with_their_truth(tmp_path, monkeypatch):
    monkeypatch.setenv("IOLAB_DATA_DIR", str(tmp_path))
    found = ensure("events-hostile", 2000, seed=3)
    assert found.path.name == "events-hostile-2000-s3.ndjson" and found.kind == "events-hostile"
    truth = found.truth
    assert truth.lines == 2000 and truth.bad["too long"] and truth.records + truth.bad_lines == 2000
    packed = ensure("events-hostile", 2000, seed=3, gzip=True)
    assert (
        packed.path.name.endswith(".ndjson.gz") and gzip.decompress(packed.path.read_bytes()) == found.path.read_bytes()
    )
    assert parse_size("178MB", "events") == 1_000_000
    access = ensure("access", 500, seed=2)
    assert access.path.name == "access-500-s2.log" and access.truth.lines == 500
