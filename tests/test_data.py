"""Generated logs: reproducible, with a truth that matches the bytes, cached atomically."""

from __future__ import annotations

import gzip
import json

import pytest

from grader.data import KINDS, ensure, parse_size
from grader.data.accesslog import LogSpec, generate


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("IOLAB_DATA_DIR", str(tmp_path))
    return tmp_path


def collect(spec):
    chunks, truth = generate(spec)
    return b"".join(chunks), truth


def test_same_seed_same_bytes_and_truth():
    a, ta = collect(LogSpec(3000, seed=5))
    b, tb = collect(LogSpec(3000, seed=5))
    c, _ = collect(LogSpec(3000, seed=6))
    assert a == b and ta.to_json() == tb.to_json() and a != c


def test_truth_matches_the_bytes():
    data, truth = collect(LogSpec(5000, seed=8, malformed=0.02, unique_paths=0.3))
    lines = data.split(b"\n")
    assert lines[-1] == b"" and len(lines) - 1 == truth.lines == 5000
    assert truth.records + truth.parse_errors == truth.lines and truth.parse_errors > 30
    assert truth.bytes == len(data)
    assert sum(truth.status.values()) == truth.records == sum(truth.minutes.values())
    assert sum(truth.routes.values()) + truth.unique_route_records == truth.records
    assert sum(truth.latency.values()) == truth.records
    assert all(1 <= n <= truth.lines for n in truth.error_lines)


def test_hostile_options():
    data, truth = collect(LogSpec(2000, seed=9, crlf=True, final_newline=False, giant_line=1 << 20))
    assert not data.endswith(b"\n") and data.count(b"\r\n") == truth.lines - 1
    assert max(len(line) for line in data.split(b"\n")) >= 1 << 20
    assert truth.lines == 2001 and truth.parse_errors >= 1


def test_exact_quantiles_are_nearest_rank():
    _, truth = collect(LogSpec(1000, seed=1))
    values = sorted(v for v, n in truth.latency.items() for _ in range(n))
    assert (
        truth.quantile(0.5) == values[499] and truth.quantile(0.95) == values[949] and truth.quantile(1.0) == values[-1]
    )


def test_sizes():
    assert parse_size("250k") == 250_000 and parse_size("1M") == 1_000_000
    assert parse_size("200MB") == 200_000_000 // KINDS["access"][2]
    for bad in ("", "lots", "0", "-5"):
        with pytest.raises(ValueError):
            parse_size(bad)


def test_cache_reuses_and_round_trips(data_dir):
    first = ensure("access", 2000, 4)
    stamp = first.path.stat().st_mtime_ns
    again = ensure("access", 2000, 4)
    assert again.path == first.path and again.path.stat().st_mtime_ns == stamp, "a cached dataset is not regenerated"
    assert first.truth.to_json() == collect(LogSpec(2000, seed=4))[1].to_json()
    packed = ensure("access", 2000, 4, gzip=True)
    assert gzip.decompress(packed.path.read_bytes()) == first.path.read_bytes()


def test_interrupted_generation_leaves_nothing_behind(data_dir):
    def boom(_):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ensure("access", 50_000, 1, on_bytes=boom)
    assert list(data_dir.iterdir()) == [], "a half-written dataset must not stay in the cache"


def test_unknown_kind(data_dir):
    with pytest.raises(LookupError, match="unknown dataset kind"):
        ensure("nonsense", 10)


def test_checked_in_samples_match_the_generator():
    from grader.course import DATASETS
    from grader.data.samples import SAMPLES, render

    for name, spec in SAMPLES.items():
        data, truth = render(spec)
        assert (DATASETS / "samples" / name).read_bytes() == data, f"{name} drifted: run python -m grader.data.samples"
        stored = json.loads((DATASETS / "samples" / name.replace(".log", ".truth.json")).read_text())
        assert stored == json.loads(json.dumps(truth)), f"the truth of {name} drifted"
