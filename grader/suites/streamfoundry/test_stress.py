"""Stress: memory flat in input size, a slow sink that must not grow memory, stalls in the counters."""

from __future__ import annotations

import subprocess
import time

import pytest

from grader.harness import plots
from grader.harness.memflat import check_flat, flat_runs
from grader.harness.proc import kill_tree, raise_if_stub
from grader.harness.rss import RssSampler
from grader.harness.slow import SlowReader, trickle
from grader.harness.together import side_by_side

from .helpers import counters

M1 = pytest.mark.milestone(1, "Transform a huge file with stable memory (streaming ETL)")
M3 = pytest.mark.milestone(3, "Diagnose a stalled pipeline from its counters (backpressure in practice)")
pytestmark = pytest.mark.stress

FILTER = 'type == "purchase" and amount > 50'
QUERY = "big_purchases"


def etl(cli, path, *extra):
    # --jobs 1: one process, so that the memory measured is your streaming loop's
    stages = ["--stage", f"filter {FILTER}", "--stage", "select id,ts,user.country,amount"]
    found = cli.measure("run", str(path), *stages, "--to", "csv", "--jobs", "1", *extra)
    assert found.returncode == 0, found.describe()
    return found


@pytest.mark.points(5)
@M1
@pytest.mark.hint(4)
def test_memory_flat_from_n_to_4n(sf_cli, reference_cli, events, scale, evidence):
    """peak memory for 4N records is about the same as for N (filter + select to CSV)"""
    n = scale.pick(10_000, 100_000, 1_000_000)
    small, large = events(n, seed=31), events(4 * n, seed=31)
    run_small, run_large, reference = side_by_side(
        lambda: etl(sf_cli, small.path), lambda: etl(sf_cli, large.path), lambda: etl(reference_cli, large.path)
    )
    rows = run_large.stdout.count(b"\r\n") - 1
    assert rows == large.truth.queries[QUERY], (
        f"{large.path.name}: filter {FILTER!r} should give {large.truth.queries[QUERY]:,} CSV rows, got {rows:,}"
    )
    flat = flat_runs(evidence, n, run_small, 4 * n, run_large, reference, f"Memory while filtering {4 * n:,} records")
    assert flat.flat, (
        f"memory grows with the input: {flat.explain('records')}. Something keeps every record (a list of "
        "records or rows, the whole input read at once, output collected before writing)."
    )


@pytest.mark.points(5)
@M1
@pytest.mark.hint(4)
def test_slow_sink_does_not_grow_memory(sf_cli, events, scale, evidence):
    """stdout read at a throttled rate with a fast source: memory stays at its fast-reader level"""
    n = scale.pick(40_000, 100_000, 400_000)  # at least 25 MB: an unbounded queue of output bytes must show
    small, large = events(n, seed=32), events(4 * n, seed=32)
    baseline = sf_cli.measure("to-ndjson", str(small.path), "-q", "--jobs", "1")
    assert baseline.returncode == 0, baseline.describe()
    seconds = scale.pick(2.0, 3.0, 6.0)
    rate = 1_000_000  # bytes per second: far slower than the program can produce
    proc = sf_cli.popen("to-ndjson", str(large.path), "-q", "--jobs", "1", stderr=subprocess.PIPE)
    reader = SlowReader(proc.stdout, rate=rate, keep=64).start()
    with RssSampler(proc.pid) as sampler:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
    finished_early = proc.poll() is not None
    kill_tree(proc)
    proc.wait()
    err = proc.stderr.read().decode("utf-8", "replace")
    reader.join(10)
    raise_if_stub(proc.returncode if finished_early else 1, err)
    assert reader.total > 0 and bytes(reader.head).startswith(b"{"), (
        f"nothing (or no record) came out on stdout in {seconds}s; stderr: {err[-400:]}"
    )
    assert not finished_early, (
        f"the program finished {large.truth.bytes / 1e6:.0f} MB of output in under {seconds}s although stdout was "
        f"read at {rate / 1e6:.0f} MB/s: is the output going somewhere other than stdout?"
    )
    evidence.value(
        "peak_mb", {"fast reader, N": round(baseline.peak_mb, 1), "slow reader, 4N": round(sampler.peak / 2**20, 1)}
    )
    evidence.attach(
        plots.memory_timeline(
            {"yours": sampler.timeline},
            evidence.path("slow-sink.png"),
            f"Memory with stdout read at {rate / 1e6:.0f} MB/s",
        )
    )
    flat = check_flat(n, baseline.peak_rss, 4 * n, sampler.peak)
    assert flat.flat, (
        f"with a slow reader on stdout, memory grew past its fast-reader level: {flat.explain('records')} "
        f"(slow reader for {seconds}s on the larger file). Input is being read ahead of the output into a buffer "
        "that nothing bounds: let the blocking write hold the reading back (no unbounded queue, no list of rows)."
    )


@pytest.mark.points(3)
@M3
@pytest.mark.hint(3)
def test_a_slow_sink_shows_as_output_wait(sf_cli, events):
    """when stdout is read slowly, the counters put the time on the output side"""
    found = events(8_000, seed=33)
    size = found.truth.bytes
    rate = size / 2.0  # about two seconds of reading
    proc = sf_cli.popen("to-ndjson", str(found.path), stderr=subprocess.PIPE)
    reader = SlowReader(proc.stdout, rate=rate).start()
    err = proc.stderr.read().decode("utf-8", "replace")
    proc.wait(timeout=120)
    reader.join(60)
    raise_if_stub(proc.returncode, err)
    assert proc.returncode == 0, f"exit {proc.returncode}: {err[-400:]}"
    got = counters(err, "a run with a slow reader")
    elapsed, out_wait, in_wait = got.get("elapsed_s", 0), got.get("output_wait_s", 0), got.get("input_wait_s", 0)
    assert isinstance(out_wait, float | int) and out_wait >= 0.5 * elapsed and out_wait > 3 * in_wait, (
        f"stdout was read at {rate / 1e6:.1f} MB/s, so most of the {elapsed}s should be output wait; the counters say "
        f"output_wait_s={out_wait}, input_wait_s={in_wait}. Time the writes (and only the writes) to add up output_wait"
    )


@pytest.mark.points(3)
@M3
@pytest.mark.hint(3)
def test_a_slow_source_shows_as_input_wait(sf_cli, events):
    """when input trickles in, the counters put the time on the input side"""
    found = events(4_000, seed=34)
    data = found.path.read_bytes()
    proc = sf_cli.popen("to-ndjson", stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    chunks = [data[i : i + 8192] for i in range(0, len(data), 8192)]
    writer = trickle(proc.stdin, chunks, rate=len(data) / 2.0)
    out = proc.stdout.read()
    err = proc.stderr.read().decode("utf-8", "replace")
    proc.wait(timeout=120)
    writer.join(30)
    raise_if_stub(proc.returncode, err)
    assert proc.returncode == 0 and out.count(b"\n") == found.truth.records, f"exit {proc.returncode}: {err[-400:]}"
    got = counters(err, "a run with a slow producer")
    elapsed, out_wait, in_wait = got.get("elapsed_s", 0), got.get("output_wait_s", 0), got.get("input_wait_s", 0)
    assert isinstance(in_wait, float | int) and in_wait >= 0.5 * elapsed and in_wait > 3 * out_wait, (
        f"the input arrived over about 2 s, so most of the {elapsed}s should be input wait; the counters say "
        f"input_wait_s={in_wait}, output_wait_s={out_wait}. Time each read of the input to add up input_wait"
    )
