"""The CLI contract, checked from outside the way a shell pipeline uses it."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import time

import pytest

from grader.harness.kill import KillDriver
from grader.harness.proc import raise_if_stub
from grader.harness.slow import trickle

from .truth import compare

M1 = pytest.mark.milestone(1, "Process a huge log with stable memory (streaming)")
M3 = pytest.mark.milestone(3, "Explain the execution model: responsive, interruptible, pipe-friendly")


def no_traceback(result, what):
    assert "Traceback (most recent call last)" not in result.err, (
        f"{what}: a user should see a one-line message, not a Python traceback:\n{result.err[-800:]}"
    )


@M1
@pytest.mark.hint(1)
def test_json_summary_of_a_file(loglens_cli, log, scale):
    """`summary FILE --json` prints one JSON document that matches the truth"""
    found = log("access", scale.pick(10_000, 50_000, 50_000), seed=11)
    result = loglens_cli.run("summary", str(found.path), "--json")
    assert result.returncode == 0, result.describe()
    problems = compare(result.json(), found.truth, name=found.path.name)
    assert not problems, "\n".join(problems)


@M1
@pytest.mark.hint(1)
def test_stdin_behaves_like_a_file(loglens_cli, log, scale):
    """reading stdin (no FILE, or '-') gives the same summary as reading the file"""
    found = log("access", scale.pick(5_000, 20_000, 20_000), seed=12)
    from_file = loglens_cli.run("summary", str(found.path), "--json").json()
    for args in (("summary", "--json"), ("summary", "-", "--json")):
        with open(found.path, "rb") as f:
            result = loglens_cli.run(*args, stdin=f)
        assert result.returncode == 0, result.describe()
        assert result.json() == from_file, f"`{' '.join(args)} < {found.path.name}` differs from reading the file"


@M1
@pytest.mark.hint(2)
def test_gzip_detected_by_content_not_name(loglens_cli, log, tmp_path, scale):
    """gzip input is recognised by its magic bytes, whatever the file is called"""
    found = log("access", scale.pick(5_000, 20_000, 20_000), seed=13)
    packed = tmp_path / "access.log"  # gzip data under a plain name
    packed.write_bytes(gzip.compress(found.path.read_bytes(), compresslevel=1))
    plain = tmp_path / "really-plain.log.gz"  # plain text under a .gz name
    plain.write_bytes(found.path.read_bytes())
    for path in (packed, plain):
        result = loglens_cli.run("summary", str(path), "--json")
        assert result.returncode == 0, result.describe()
        problems = compare(result.json(), found.truth, name=path.name)
        assert not problems, "\n".join(problems)
    with open(packed, "rb") as f:
        result = loglens_cli.run("summary", "--json", stdin=f)
    assert result.returncode == 0 and result.json()["records"] == found.truth.records, (
        "gzip data on stdin must be decompressed too: " + result.describe()
    )


@M1
@pytest.mark.hint(1)
def test_several_files_are_one_stream(loglens_cli, log, tmp_path, scale):
    """several files are summarized together, as if concatenated"""
    found = log("access", scale.pick(5_000, 20_000, 20_000), seed=14)
    data = found.path.read_bytes()
    cut = data.index(b"\n", len(data) // 3) + 1
    (tmp_path / "a.log").write_bytes(data[:cut])
    (tmp_path / "b.log").write_bytes(data[cut:])
    result = loglens_cli.run("summary", str(tmp_path / "a.log"), str(tmp_path / "b.log"), "--json")
    assert result.returncode == 0, result.describe()
    problems = compare(result.json(), found.truth, name="a.log + b.log")
    assert not problems, "\n".join(problems)


@M1
@pytest.mark.hint(1)
def test_human_report(loglens_cli, log):
    """without --json, a readable report with every section"""
    found = log("access", 20_000, seed=15)
    result = loglens_cli.run("summary", str(found.path))
    assert result.returncode == 0, result.describe()
    for section in ("Lines processed", "Parse errors", "Status codes", "Latency", "Top routes", "Busiest minute"):
        assert section in result.out, f"the human report should have a '{section}' section; got:\n{result.out}"
    top_route = found.truth.top_routes(1)[0][0]
    assert top_route in result.out, f"the busiest route ({top_route}) should be listed; got:\n{result.out}"


@M1
@pytest.mark.hint(1)
@pytest.mark.parametrize(
    "args",
    [(), ("nonsense",), ("summary", "--no-such-flag"), ("summary", "--top", "0"), ("summary", "--since", "yesterday")],
    ids=["no command", "unknown command", "unknown flag", "top 0", "bad time"],
)
def test_usage_errors_exit_2(loglens_cli, args):
    """wrong usage exits 2 with a usage message, never a traceback"""
    valid = loglens_cli.run("summary", "--json", input=b"")
    assert valid.returncode == 0, "first, a valid command on empty input must work: " + valid.describe()
    result = loglens_cli.run(*args, input=b"")
    assert result.returncode == 2, f"`loglens {' '.join(args)}` is a usage error: expected exit 2. " + result.describe()
    assert result.err.strip(), "a usage error must say what is wrong on stderr"
    no_traceback(result, f"`loglens {' '.join(args)}`")


@M1
@pytest.mark.hint(1)
def test_unreadable_input_exits_66(loglens_cli, tmp_path):
    """a missing file or a directory exits 66 with a one-line message"""
    for target in (tmp_path / "missing.log", tmp_path):
        result = loglens_cli.run("summary", str(target), "--json")
        assert result.returncode == 66, f"reading {target} must fail with exit 66 (EX_NOINPUT). " + result.describe()
        assert result.out == "", "nothing may be printed on stdout when the input cannot be read"
        assert str(target.name) in result.err, f"the message should name the file; got {result.err!r}"
        assert len(result.err.strip().splitlines()) <= 2, f"keep the message short; got:\n{result.err}"
        no_traceback(result, f"reading {target}")


@M1
@pytest.mark.hint(2)
def test_truncated_gzip_exits_66(loglens_cli, log, tmp_path):
    """a truncated gzip file is an unreadable input (66), not a crash"""
    found = log("access", 20_000, seed=16)
    packed = gzip.compress(found.path.read_bytes(), compresslevel=1)
    broken = tmp_path / "cut.log.gz"
    broken.write_bytes(packed[: len(packed) // 2])
    result = loglens_cli.run("summary", str(broken), "--json")
    assert result.returncode == 66, "a truncated gzip stream should exit 66. " + result.describe()
    no_traceback(result, "a truncated gzip file")


@M3
@pytest.mark.hint(4)
def test_progress_goes_to_stderr(loglens_cli, log):
    """--progress writes to stderr; stdout stays pure JSON"""
    found = log("access", 100_000, seed=17)
    result = loglens_cli.run("summary", str(found.path), "--json", "--progress", "--progress-every", "0.05")
    assert result.returncode == 0, result.describe()
    try:
        doc = json.loads(result.out)
    except ValueError:
        raise AssertionError(
            "with --progress, stdout must still be exactly one JSON document (progress belongs on stderr); "
            f"stdout began with: {result.out[:200]!r}"
        ) from None
    assert doc["lines"] == found.truth.lines, "the summary must be complete"
    assert result.err.strip(), "--progress should print progress lines on stderr"


@M3
@pytest.mark.hint(4)
def test_progress_while_input_is_still_arriving(loglens_cli, log, scale):
    """progress appears while a slow producer is still writing (the tool stays responsive)"""
    found = log("access", 20_000, seed=18)
    data = found.path.read_bytes()
    seconds = scale.pick(1.5, 4.0, 4.0)  # how long the producer takes to write everything
    proc = loglens_cli.popen("summary", "--json", "--progress", "--progress-every", "0.1", stdin=subprocess.PIPE)
    chunks = [data[i : i + 8192] for i in range(0, len(data), 8192)]
    writer = trickle(proc.stdin, chunks, rate=len(data) / seconds)
    started = time.monotonic()
    first_line = proc.stderr.readline()
    seen_after = time.monotonic() - started
    input_still_arriving = writer.is_alive()
    writer.join()  # it closes stdin when done
    out, err = proc.stdout.read(), proc.stderr.read()
    proc.wait(timeout=60)
    raise_if_stub(proc.returncode, (first_line + err).decode("utf-8", "replace"))
    assert proc.returncode == 0, f"exit {proc.returncode}: {(first_line + err).decode()[-500:]}"
    assert first_line.strip(), "no progress line appeared on stderr"
    assert input_still_arriving, (
        f"the first progress line came {seen_after:.1f}s after start, after the whole input had arrived; "
        "progress must be printed while input is still arriving (check the clock per chunk, not at the end)"
    )
    assert json.loads(out)["lines"] == found.truth.lines


@M3
@pytest.mark.hint(4)
def test_pipe_into_head_ends_quietly(loglens_cli, log):
    """`loglens summary FILE | head -1` ends without a BrokenPipeError traceback"""
    found = log("access", 20_000, seed=19)
    normal = loglens_cli.run("summary", str(found.path), "--top", "50")
    assert normal.returncode == 0 and normal.out, "first, with a reader: " + normal.describe()
    proc = loglens_cli.popen("summary", str(found.path), "--top", "50")
    proc.stdout.close()  # the reader is gone before the report is written, as with `| head -0`
    err = proc.stderr.read()
    proc.wait(timeout=120)
    raise_if_stub(proc.returncode, err.decode("utf-8", "replace"))
    assert b"Traceback" not in err and b"BrokenPipeError" not in err, (
        "when stdout is closed by the reader (`| head`), end quietly; got:\n" + err.decode()[-800:]
    )


@M3
@pytest.mark.hint(4)
def test_ctrl_c_exits_130_with_a_note(loglens_cli, log):
    """Ctrl-C (SIGINT) while reading ends with a short note and exit 130"""
    found = log("access", 20_000, seed=20)
    data = found.path.read_bytes()
    driver = KillDriver()
    proc = loglens_cli.popen("summary", "--json", "--progress", "--progress-every", "0.05", stdin=subprocess.PIPE)
    writer = trickle(
        proc.stdin, [data[i : i + 4096] for i in range(0, len(data), 4096)], rate=len(data) / 30.0, close=False
    )
    first = proc.stderr.readline()  # it is running and reading
    kill = driver.kill_after(proc, 0.1, 0.5, sig=signal.SIGINT)
    err = (first + proc.stderr.read()).decode("utf-8", "replace")
    writer.join(1)
    raise_if_stub(proc.returncode, err)
    assert kill.signalled, "the process ended before Ctrl-C was sent (it should still be waiting for input)"
    assert proc.returncode == 130, (
        f"after Ctrl-C the exit code should be 130 (128 + SIGINT), got {proc.returncode} ({driver.replay})"
    )
    assert "Traceback" not in err and "interrupt" in err.lower(), (
        f"after Ctrl-C print a short 'interrupted' note on stderr, no traceback; got:\n{err[-600:]}"
    )


@M3
@pytest.mark.hint(2)
def test_hostile_input_is_counted_not_fatal(loglens_cli, log):
    """CRLF, no final newline, 1% broken lines and a 4 MB line: counted exactly, stderr stays short"""
    found = log("access-hostile", 30_000, seed=21)
    result = loglens_cli.run("summary", str(found.path), "--json")
    assert result.returncode == 0, result.describe()
    problems = compare(result.json(), found.truth, name=found.path.name)
    assert not problems, "\n".join(problems)
    assert len(result.stderr) < 2048, (
        f"{found.truth.parse_errors} bad lines produced {len(result.stderr):,} bytes on stderr: count them and "
        "keep a few samples in the summary instead of printing each one"
    )


@M3
@pytest.mark.hint(3)
def test_two_processes_agree_with_one(loglens_cli, log, scale):
    """--jobs 2 on a large file gives the same summary as --jobs 1"""
    found = log("access", scale.pick(20_000, 250_000, 1_000_000), seed=22)
    # the reference splits files of 32 MB and more; a quick check lowers that bar instead of making a big file
    split_at = {"LOGLENS_MIN_PARALLEL_BYTES": str(min(32 << 20, os.path.getsize(found.path) // 2))}
    one = loglens_cli.run("summary", str(found.path), "--json", "--jobs", "1", env=split_at)
    two = loglens_cli.run("summary", str(found.path), "--json", "--jobs", "2", env=split_at)
    assert one.returncode == 0 and two.returncode == 0, one.describe() + "\n" + two.describe()
    problems = compare(two.json(), found.truth, name=f"{found.path.name} with --jobs 2")
    assert not problems, "\n".join(problems)
