"""The CLI contract, checked from outside the way a shell pipeline uses it."""

from __future__ import annotations

import gzip
import json
import signal
import subprocess
import threading
import time

import pytest

from grader.data.events import QUERIES
from grader.harness.kill import KillDriver
from grader.harness.proc import raise_if_stub
from grader.harness.slow import trickle

from .helpers import as_cell, counters, good_events, ndjson, read_csv

M1 = pytest.mark.milestone(1, "Transform a huge file with stable memory (streaming ETL)")
M2 = pytest.mark.milestone(2, "Add a new stage without rewriting the pipeline (composability)")
M3 = pytest.mark.milestone(3, "Diagnose a stalled pipeline from its counters (backpressure in practice)")


def no_traceback(result, what):
    assert "Traceback (most recent call last)" not in result.err, (
        f"{what}: a user should see a one-line message, not a Python traceback:\n{result.err[-800:]}"
    )


def ok(result, what):
    assert result.returncode == 0, f"{what}: " + result.describe()
    no_traceback(result, what)
    return result


# ---- correctness against generated events with known answers ----------------------------------------


@pytest.mark.points(3)
@M1
@pytest.mark.hint(1)
def test_group_by_matches_the_truth(sf_cli, events, scale):
    """summarize --by type --sum duration_ms gives the exact count, sum, min and max per type"""
    found = events(scale.pick(20_000, 100_000, 400_000), seed=11)
    truth = found.truth
    result = ok(sf_cli.run("summarize", "--by", "type", "--sum", "duration_ms", str(found.path)), "summarize")
    groups = {g["type"]: g for g in ndjson(result.out, "summarize --by type")}
    want = {t: (s.count, s.sum, s.min, s.max) for t, s in truth.duration_by_type.items()}
    got = {
        t: (g.get("count"), g.get("duration_ms_sum"), g.get("duration_ms_min"), g.get("duration_ms_max"))
        for t, g in groups.items()
    }
    assert got == want, f"{found.path.name}: per type (count, sum, min, max) of duration_ms should be {want}, got {got}"
    order = [g["type"] for g in ndjson(result.out, "summarize")]
    assert order == sorted(want, key=lambda t: (-want[t][0], t)), f"groups must come largest first, got {order}"
    result = ok(sf_cli.run("summarize", "--by", "user.country", str(found.path)), "summarize by country")
    got_countries = {g["user.country"]: g["count"] for g in ndjson(result.out, "summarize --by user.country")}
    assert got_countries == dict(truth.countries), (
        f"summarize --by user.country should count {dict(truth.countries)}, got {got_countries}"
    )


@M1
@pytest.mark.hint(2)
@pytest.mark.parametrize("query", QUERIES, ids=[q.name for q in QUERIES])
def test_filters_match_the_truth(sf_cli, events, scale, query):
    """each canonical filter keeps exactly the records the generator says match it, in order"""
    found = events(scale.pick(10_000, 40_000, 200_000), seed=12)
    result = ok(sf_cli.run("filter", query.expression, str(found.path)), f"filter {query.expression!r}")
    rows = ndjson(result.out, f"filter {query.expression!r}")
    want = found.truth.queries[query.name]
    assert len(rows) == want, (
        f"filter {query.expression!r} on {found.path.name} should keep {want:,} records, kept {len(rows):,}"
    )
    expected_ids = [e["id"] for _, e in good_events(found.truth) if query.matches(e)]
    got_ids = [r.get("id") for r in rows]
    assert got_ids == expected_ids, (
        f"filter {query.expression!r}: the right number of records, but not the right ones in the right order "
        f"(first differences: {[(g, w) for g, w in zip(got_ids, expected_ids, strict=False) if g != w][:3]})"
    )


@pytest.mark.points(3)
@M1
@pytest.mark.hint(1)
def test_csv_output_reads_back_exactly(sf_cli, events):
    """CSV written by `run ... --to csv` reads back through the csv module as the source values"""
    found = events(20_000, seed=13)
    assert found.truth.tricky > 0, "the generated file should hold values with commas, quotes and line breaks"
    fields = ["id", "type", "query", "message", "user.country", "amount", "tags"]
    result = ok(
        sf_cli.run(
            "run",
            str(found.path),
            "--stage",
            "filter exists query or exists message or amount > 100",
            "--stage",
            "select " + ",".join(fields),
            "--to",
            "csv",
        ),
        "run --to csv",
    )
    rows = read_csv(result.out)
    want = [fields]
    for _, event in good_events(found.truth):
        if "query" in event or "message" in event or (event.get("amount") or 0) > 100:
            values = [event.get(f) if "." not in f else event["user"]["country"] for f in fields]
            want.append([as_cell(v) for v in values])
    assert rows[:1] == want[:1], f"the CSV header should be {want[0]}, got {rows[:1]}"
    assert len(rows) == len(want), f"expected {len(want) - 1:,} CSV rows, the csv module read {len(rows) - 1:,}"
    for number, (got, expect) in enumerate(zip(rows, want, strict=True)):
        assert got == expect, (
            f"CSV row {number} reads back as {got!r}, the source values are {expect!r}. Quote values holding "
            "commas, quotes or line breaks (the csv module does it for you)"
        )


@pytest.mark.points(2)
@M2
@pytest.mark.hint(2)
def test_pipes_compose_like_run(sf_cli, events, tmp_path):
    """`filter | explode | select | to-csv` through OS pipes gives the same bytes as one `run` chain"""
    found = events(10_000, seed=14)
    steps = [
        ["filter", 'type == "purchase" or type == "search"'],
        ["explode", "tags"],
        ["select", "id,type,tags,user.country,amount"],
    ]
    procs = []
    source = open(found.path, "rb")  # noqa: SIM115
    try:
        upstream = source
        for step in steps:
            proc = sf_cli.popen(*step, "-q", stdin=upstream, stderr=subprocess.PIPE)
            procs.append(proc)
            upstream = proc.stdout
        last = sf_cli.popen("to-csv", "-q", stdin=upstream, stderr=subprocess.PIPE)
        for proc in procs:
            proc.stdout.close()  # only the next process holds the read end now
        piped, last_err = last.communicate(timeout=120)
        errs = [p.stderr.read() for p in procs]
        for p in procs:
            p.wait(timeout=60)
    finally:
        source.close()
    for proc, err in zip([*procs, last], [*errs, last_err], strict=True):
        raise_if_stub(proc.returncode, err.decode("utf-8", "replace"))
        assert proc.returncode == 0, f"a stage in the pipe exited {proc.returncode}: {err.decode()[-400:]}"
    specs = [" ".join([steps[0][0], steps[0][1]]), " ".join(steps[1]), " ".join(steps[2])]
    args = ["run", str(found.path), "-q", "--to", "csv"]
    for spec in specs:
        args += ["--stage", spec]
    chained = ok(sf_cli.run(*args), "run --stage ... --to csv")
    assert piped and piped == chained.stdout, (
        "the same stages through pipes and through `run` must give identical output; "
        f"pipes gave {len(piped):,} bytes, run {len(chained.stdout):,} bytes"
    )


@M1
@pytest.mark.hint(4)
@pytest.mark.parametrize("packed", [False, True], ids=["plain", "gzip"])
def test_two_processes_agree_with_one(sf_cli, events, tmp_path, packed):
    """--jobs 2 (segments in worker processes) gives the same output, counters and quarantine as --jobs 1"""
    found = events(20_000, seed=25, kind="events-hostile", gzip=packed)
    # the reference splits files of 32 MB and more, into 8 MB segments: here, many small segments
    split_at = {"STREAMFOUNDRY_MIN_PARALLEL_BYTES": "1", "STREAMFOUNDRY_SEGMENT_BYTES": str(256 << 10)}
    runs = {}
    for jobs in ("1", "2"):
        target = tmp_path / f"bad-{jobs}.ndjson"
        args = ["run", str(found.path), "--stage", "filter exists user", "--stage", "explode tags"]
        result = sf_cli.run(*args, "--to", "csv", "--jobs", jobs, "--quarantine", str(target), env=split_at)
        ok(result, f"--jobs {jobs}")
        runs[jobs] = (result.stdout, target.read_bytes(), counters(result.err))
    one, two = runs["1"], runs["2"]
    assert one[0] == two[0], "--jobs 2 must write exactly the bytes --jobs 1 writes (same rows, same order, one header)"
    assert one[1] == two[1], "--jobs 2 must quarantine the same records with the same line numbers as --jobs 1"
    same = ("processed", "emitted", "bad", "quarantined")
    assert {k: one[2].get(k) for k in same} == {k: two[2].get(k) for k in same}, (
        f"the counters differ: --jobs 1 {one[2]}, --jobs 2 {two[2]}"
    )
    grouped = [
        sf_cli.run(
            "summarize",
            str(found.path),
            "--by",
            "user.country",
            "--sum",
            "duration_ms,amount",
            "--jobs",
            j,
            env=split_at,
        )
        for j in ("1", "2")
    ]
    assert ok(grouped[0], "summarize --jobs 1").stdout == ok(grouped[1], "summarize --jobs 2").stdout, (
        "summarize with --jobs 2 (parts merged with Summarize.merge) must give exactly the groups of --jobs 1"
    )


# ---- bad records ----------------------------------------------------------------------------------


@pytest.mark.points(3)
@M1
@pytest.mark.hint(1)
def test_bad_records_are_counted_never_fatal(sf_cli, events, scale):
    """invalid JSON, invalid UTF-8, non-objects and huge lines are counted by reason; the rest flows"""
    found = events(scale.pick(10_000, 40_000, 200_000), seed=15, kind="events-hostile")
    truth = found.truth
    result = ok(sf_cli.run("to-ndjson", str(found.path)), "to-ndjson on a file with broken records")
    got = counters(result.err, "to-ndjson")
    want = {
        "processed": truth.lines,
        "emitted": truth.records,
        "bad": truth.bad_lines,
        "bad_json": len(truth.bad["bad json"]),
        "bad_utf8": len(truth.bad["bad utf-8"]),
        "not_an_object": len(truth.bad["not an object"]),
        "too_long": len(truth.bad["too long"]),
    }
    assert {k: got.get(k) for k in want} == want, f"{found.path.name}: counters should be {want}, got {got}"
    rows = ndjson(result.out, "to-ndjson")
    assert len(rows) == truth.records and all(isinstance(r, dict) for r in rows), (
        f"all {truth.records:,} good records must be written, got {len(rows):,}"
    )
    assert len(result.stderr) < 4096, (
        f"{truth.bad_lines} bad records produced {len(result.stderr):,} bytes on stderr: count them (and quarantine "
        "them if asked), do not print each one"
    )


@pytest.mark.points(3)
@M1
@pytest.mark.hint(3)
def test_quarantine_names_line_and_reason(sf_cli, events, tmp_path):
    """--on-error quarantine:FILE writes every bad record with its source, line number and reason"""
    found = events(20_000, seed=16, kind="events-hostile")
    truth = found.truth
    target = tmp_path / "bad.ndjson"
    result = ok(sf_cli.run("to-ndjson", str(found.path), "--on-error", f"quarantine:{target}"), "quarantine")
    assert target.exists(), f"the quarantine file {target.name} was not written"
    entries = ndjson(target.read_text(encoding="utf-8"), "the quarantine file")
    got = sorted((e.get("line"), e.get("reason")) for e in entries)
    want = sorted((line, reason) for reason, lines in truth.bad.items() for line in lines)
    assert got == want, (
        f"the quarantine file should list (line, reason) {want[:5]}... ({len(want)} entries); "
        f"got {got[:5]}... ({len(got)} entries)"
    )
    assert all(e.get("source") == str(found.path) for e in entries), "each entry should name its source file"
    assert all("raw" in e for e in entries), "each entry should keep the raw line (as text) for a person to fix"
    assert counters(result.err).get("quarantined") == len(want), "the quarantined counter should match the file"
    again = ok(sf_cli.run("to-ndjson", str(found.path), "--quarantine", str(target)), "--quarantine FILE")
    assert len(target.read_text().splitlines()) == len(want) and counters(again.err).get("quarantined") == len(want), (
        "--quarantine FILE alone should mean --on-error quarantine into FILE"
    )


@pytest.mark.points(2)
@M1
@pytest.mark.hint(3)
def test_stop_policy_exits_65_at_the_first_bad_record(sf_cli, events):
    """--on-error stop: the records before the first bad one are written, then exit 65 naming its line"""
    found = events(5_000, seed=17, kind="events-hostile")
    first_bad = min(line for lines in found.truth.bad.values() for line in lines)
    result = sf_cli.run("to-ndjson", str(found.path), "--on-error", "stop")
    assert result.returncode == 65, (
        f"a bad record under --on-error stop should exit 65 (EX_DATAERR). {result.describe()}"
    )
    no_traceback(result, "--on-error stop")
    assert f"line {first_bad}" in result.err, (
        f"the message should name line {first_bad}; stderr was:\n{result.err[-400:]}"
    )
    rows = ndjson(result.out, "--on-error stop")
    assert len(rows) == first_bad - 1, (
        f"the {first_bad - 1} good records before line {first_bad} should be written before stopping, got {len(rows)}"
    )


# ---- inputs and outputs -----------------------------------------------------------------------------


@pytest.mark.points(2)
@M1
@pytest.mark.hint(1)
def test_gzip_detected_by_content_not_name(sf_cli, events, tmp_path):
    """gzip input is recognised by its magic bytes: in a file of any name and on stdin"""
    found = events(10_000, seed=18)
    data = found.path.read_bytes()
    packed = tmp_path / "events.ndjson"  # gzip data under a plain name
    packed.write_bytes(gzip.compress(data, compresslevel=1))
    plain = tmp_path / "events.ndjson.gz"  # plain text under a .gz name
    plain.write_bytes(data)
    want = found.truth.queries["signups"]
    for path in (packed, plain):
        result = ok(sf_cli.run("filter", 'type == "signup"', str(path)), f"filter on {path.name}")
        assert len(result.out.splitlines()) == want, (
            f"{path.name}: expected {want} signups, got {len(result.out.splitlines())}"
        )
    with open(packed, "rb") as f:
        result = ok(sf_cli.run("filter", 'type == "signup"', stdin=f), "gzip on stdin")
    assert len(result.out.splitlines()) == want, "gzip data on stdin must be decompressed too"


@M1
@pytest.mark.hint(1)
def test_gzip_output(sf_cli, events):
    """--gzip compresses the output; it decompresses to the same records"""
    found = events(5_000, seed=18)
    plain = ok(sf_cli.run("select", "id,type", str(found.path)), "select")
    packed = ok(sf_cli.run("select", "id,type", str(found.path), "--gzip"), "select --gzip")
    assert packed.stdout[:2] == b"\x1f\x8b", "--gzip output should start with the gzip magic bytes 1f 8b"
    assert gzip.decompress(packed.stdout) == plain.stdout, "--gzip output must decompress to the plain output"


@pytest.mark.points(0.2)
@M1
@pytest.mark.hint(1)
@pytest.mark.parametrize(
    "args",
    [
        (),
        ("nonsense",),
        ("filter",),
        ("to-ndjson", "--no-such-flag"),
        ("sample", "1.5"),
        ("select", ",,"),
        ("dedupe", "id", "--window", "0"),
        ("run", "--stage", "nope x"),
        ("run", "--stage", "summarize --bad"),
        ("to-ndjson", "--on-error", "maybe"),
        ("to-ndjson", "--on-error", "quarantine"),
    ],
    ids=lambda a: " ".join(a) or "(nothing)",
)
def test_usage_errors_exit_2(sf_cli, args):
    """wrong usage exits 2 with a message on stderr, never a traceback"""
    valid = sf_cli.run("filter", "true", input=b'{"a":1}\n')
    assert valid.returncode == 0 and valid.out.strip() == '{"a":1}', (
        "first, a valid command must work: " + valid.describe()
    )
    result = sf_cli.run(*args, input=b"")
    shown = " ".join(args)
    assert result.returncode == 2, f"`streamfoundry {shown}` is a usage error: expected exit 2. " + result.describe()
    assert result.err.strip(), "a usage error must say what is wrong on stderr"
    no_traceback(result, f"`streamfoundry {shown}`")


@pytest.mark.points(2)
@M2
@pytest.mark.hint(2)
def test_bad_expression_exits_2_with_a_caret(sf_cli, tmp_path):
    """a bad filter exits 2 and shows the expression with a caret; hostile ones are never executed"""
    result = sf_cli.run("filter", "amount > > 3", input=b'{"amount":5}\n')
    assert result.returncode == 2, "a bad expression is a usage error (exit 2). " + result.describe()
    no_traceback(result, "a bad expression")
    lines = result.err.splitlines()
    text_line = next((i for i, line in enumerate(lines) if line.endswith("amount > > 3")), None)
    assert text_line is not None and text_line + 1 < len(lines), (
        f"stderr should show the expression; got:\n{result.err}"
    )
    caret = lines[text_line + 1].find("^") - (len(lines[text_line]) - len("amount > > 3"))
    assert caret == 9, f"the caret should sit under the second '>' (offset 9), it is at {caret}:\n{result.err}"
    marker = tmp_path / "PWNED"
    for attack in (f'__import__("os").system("touch {marker}")', f'open("{marker}", "w")', "import os"):
        result = sf_cli.run("filter", attack, input=b'{"a":1}\n')
        assert result.returncode == 2 and not marker.exists(), (
            f"the filter {attack!r} must be rejected (exit 2) and never run; exit {result.returncode}, "
            f"marker file {'created' if marker.exists() else 'absent'}"
        )
        marker.unlink(missing_ok=True)
        result = sf_cli.run("run", "--stage", f"filter {attack}", input=b'{"a":1}\n')
        assert result.returncode == 2 and not marker.exists(), f"run --stage 'filter {attack}' must be rejected too"


@M1
@pytest.mark.hint(1)
def test_unreadable_input_exits_66(sf_cli, events, tmp_path):
    """a missing file, a directory or a truncated gzip file exits 66 with a one-line message"""
    for target in (tmp_path / "missing.ndjson", tmp_path):
        result = sf_cli.run("to-ndjson", str(target))
        assert result.returncode == 66, f"reading {target} must fail with exit 66 (EX_NOINPUT). " + result.describe()
        assert result.out == "", "nothing may be written on stdout when the input cannot be read"
        assert target.name in result.err, f"the message should name the file; got {result.err!r}"
        no_traceback(result, f"reading {target}")
    found = events(5_000, seed=19)
    packed = gzip.compress(found.path.read_bytes(), compresslevel=1)
    cut = tmp_path / "cut.ndjson.gz"
    cut.write_bytes(packed[: len(packed) // 2])
    result = sf_cli.run("to-ndjson", str(cut))
    assert result.returncode == 66, "a truncated gzip stream should exit 66. " + result.describe()
    no_traceback(result, "a truncated gzip file")


# ---- stdout is data; counters, progress, pipes, signals -----------------------------------------------


@pytest.mark.points(2)
@M3
@pytest.mark.hint(3)
def test_stdout_is_data_only(sf_cli, events):
    """counters and progress go to stderr; stdout holds nothing but the records"""
    found = events(40_000, seed=20)
    result = ok(
        sf_cli.run("filter", 'type == "signup"', str(found.path), "--progress", "--progress-every", "0.01"),
        "filter --progress",
    )
    rows = ndjson(result.out, "stdout with --progress")
    assert len(rows) == found.truth.queries["signups"], "every signup must be on stdout"
    got = counters(result.err, "filter --progress")
    want = {"processed": found.truth.lines, "emitted": found.truth.queries["signups"], "bad": 0}
    assert {k: got.get(k) for k in want} == want, f"the final counters should read {want}, got {got}"
    assert "peak_rss_mb" in got and "input_wait_s" in got and "output_wait_s" in got, (
        f"the final counters should also give peak_rss_mb, input_wait_s and output_wait_s; got {sorted(got)}"
    )


@pytest.mark.points(2)
@M3
@pytest.mark.hint(4)
def test_pipe_into_head_ends_quietly(sf_cli, events):
    """`streamfoundry ... | head -n 5` ends quietly and soon, without reading the rest of the input"""
    found = events(100_000, seed=21)
    proc = sf_cli.popen("to-ndjson", stdin=subprocess.PIPE)
    data = found.path.read_bytes()
    fed = {"bytes": 0}

    def feed():
        # the producer counts what the program accepted before it went away
        try:
            for i in range(0, len(data), 1 << 16):
                proc.stdin.write(data[i : i + (1 << 16)])
                proc.stdin.flush()
                fed["bytes"] += len(data[i : i + (1 << 16)])
                time.sleep(0.005)
            proc.stdin.close()
        except (BrokenPipeError, ValueError, OSError):
            return

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    head = [proc.stdout.readline() for _ in range(5)]
    proc.stdout.close()  # like `head -n 5`: the reader goes away
    err = proc.stderr.read()
    proc.wait(timeout=60)
    writer.join(60)
    raise_if_stub(proc.returncode, err.decode("utf-8", "replace"))
    assert all(line.startswith(b"{") for line in head), f"the first 5 lines should be records, got {head}"
    assert b"Traceback" not in err and b"BrokenPipeError" not in err, (
        "when stdout is closed by the reader (`| head`), end quietly; got:\n" + err.decode()[-800:]
    )
    assert fed["bytes"] < len(data) // 2, (
        f"the program took {fed['bytes'] / 1e6:.1f} of {len(data) / 1e6:.1f} MB of input although its reader left "
        "after 5 lines: stop as soon as a write fails with BrokenPipeError"
    )


@pytest.mark.points(2)
@M3
@pytest.mark.hint(4)
def test_ctrl_c_exits_130_with_a_note(sf_cli, events):
    """Ctrl-C (SIGINT) while reading ends with a short note and exit 130"""
    found = events(20_000, seed=22)
    data = found.path.read_bytes()
    driver = KillDriver()
    proc = sf_cli.popen(
        "to-ndjson", "--progress", "--progress-every", "0.05", stdin=subprocess.PIPE, stdout=subprocess.DEVNULL
    )
    writer = trickle(
        proc.stdin, [data[i : i + 4096] for i in range(0, len(data), 4096)], rate=len(data) / 30, close=False
    )
    first = proc.stderr.readline()
    kill = driver.kill_after(proc, 0.1, 0.4, sig=signal.SIGINT)
    err = (first + proc.stderr.read()).decode("utf-8", "replace")
    writer.join(1)
    raise_if_stub(proc.returncode, err)
    assert kill.signalled, "the process ended before Ctrl-C was sent (it should still be waiting for input)"
    assert proc.returncode == 130, f"after Ctrl-C the exit code should be 130, got {proc.returncode} ({driver.replay})"
    assert "Traceback" not in err and "interrupt" in err.lower(), (
        f"after Ctrl-C print a short 'interrupted' note on stderr, no traceback; got:\n{err[-600:]}"
    )


def user_table(tmp_path, truth, every=3):
    """A lookup table for about two thirds of the users in the file."""
    ids = sorted({e["user"]["id"] for _, e in good_events(truth)})
    table = {str(i): {"segment": f"s{i % 5}"} for n, i in enumerate(ids) if n % every}
    path = tmp_path / "users.json"
    path.write_text(json.dumps(table))
    return path, table


@pytest.mark.points(3)
@M3
@pytest.mark.hint(3)
def test_enrich_keeps_order_and_applies_the_policy(sf_cli, events, tmp_path):
    """enrich looks records up concurrently, keeps their order, quarantines failed lookups by line"""
    found = events(1_500, seed=23)
    table_path, table = user_table(tmp_path, found.truth)
    target = tmp_path / "failed.ndjson"
    args = ["--table", str(table_path), "--key", "user.id", "--into", "user_info", "--latency", "0.004"]
    result = ok(
        sf_cli.run("enrich", str(found.path), *args, "--concurrency", "16", "--on-error", f"quarantine:{target}"),
        "enrich",
    )
    rows = ndjson(result.out, "enrich")
    expected = [(n, e) for n, e in good_events(found.truth) if str(e["user"]["id"]) in table]
    assert [r["id"] for r in rows] == [e["id"] for _, e in expected], (
        "enrich must keep the input order (and drop only the records whose lookup failed)"
    )
    wrong = [r["id"] for r in rows if r.get("user_info") != table[str(r["user"]["id"])]]
    assert not wrong, f"user_info must be the table's value for user.id; wrong for {wrong[:5]}"
    missing = sorted(n for n, e in good_events(found.truth) if str(e["user"]["id"]) not in table)
    entries = ndjson(target.read_text(), "the quarantine file")
    assert sorted(e.get("line") for e in entries) == missing and {e.get("reason") for e in entries} == {
        "lookup failed"
    }, (
        f"each failed lookup should be quarantined with its line and reason 'lookup failed': expected lines "
        f"{missing[:8]}..., got {[(e.get('line'), e.get('reason')) for e in entries[:8]]}..."
    )
    stop = sf_cli.run("enrich", str(found.path), *args, "--on-error", "stop")
    assert stop.returncode == 65 and f"line {missing[0]}" in stop.err, (
        f"under --on-error stop the first failed lookup (line {missing[0]}) should stop the run with exit 65. "
        + stop.describe()
    )
    no_traceback(stop, "enrich --on-error stop")


@pytest.mark.points(3)
@M3
@pytest.mark.hint(4)
def test_ctrl_c_during_enrich_leaves_no_pending_tasks(sf_cli, events, tmp_path):
    """Ctrl-C while lookups are in flight: exit 130, no 'Task was destroyed' or 'never retrieved' warnings"""
    found = events(2_000, seed=24)
    table_path, _ = user_table(tmp_path, found.truth, every=10**9)
    proc = sf_cli.popen(
        "enrich",
        str(found.path),
        "--table",
        str(table_path),
        "--key",
        "user.id",
        "--into",
        "info",
        "--latency",
        "3",
        "--concurrency",
        "8",
        "--progress",
        "--progress-every",
        "0.05",
        stdout=subprocess.DEVNULL,
    )
    first = proc.stderr.readline()  # a progress line: lookups are in flight
    time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    try:
        rest = proc.stderr.read()
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    err = (first + rest).decode("utf-8", "replace")
    raise_if_stub(proc.returncode, err)
    assert proc.returncode == 130, f"Ctrl-C during enrich should exit 130, got {proc.returncode}:\n{err[-600:]}"
    for warning in ("Task was destroyed", "never retrieved", "Traceback", "was never awaited"):
        assert warning not in err, (
            f"after Ctrl-C asyncio printed {warning!r}: cancel and await every lookup still in flight "
            f"(ordered_map's finally block) before the loop closes:\n{err[-800:]}"
        )
