"""The stress harness, tested on its own: each tool does what suites rely on it to do."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time

import pytest

from grader.harness import plots
from grader.harness.diskfull import FULL_ERRNOS, fsize_limit
from grader.harness.kill import KillDriver
from grader.harness.latency import LatencyRecorder
from grader.harness.memflat import check_flat
from grader.harness.proc import limits
from grader.harness.rss import measure
from grader.harness.slow import SlowReader, trickle
from grader.harness.throughput import compare
from grader.harness.together import side_by_side

MB = 1 << 20
PY = sys.executable


def test_rss_peak_sees_an_allocation():
    found = measure(
        [PY, "-c", "import time; b = bytearray(120 << 20); b[::4096] = b'x' * len(b[::4096]); time.sleep(0.3)"]
    )
    assert found.returncode == 0
    assert found.peak_rss >= 120 * MB, f"a process holding 120 MB was measured at {found.peak_mb:.0f} MB"
    times = [t for t, _ in found.timeline]
    assert len(times) >= 3 and times == sorted(times), "the timeline has several samples, in time order"


def test_rss_peak_ignores_the_memory_of_the_process_that_started_it():
    """A fork copies the parent; the peak must count only what the program itself used after exec."""
    ballast = bytearray(300 << 20)
    ballast[::4096] = b"y" * len(ballast[::4096])
    found = measure([PY, "-c", "pass"])
    del ballast
    assert found.peak_rss < 100 * MB, (
        f"a trivial program measured {found.peak_mb:.0f} MB: the parent's memory leaked in"
    )


def test_rss_counts_the_whole_process_tree():
    code = (
        "import subprocess, sys; subprocess.run([sys.executable, '-c', "
        "'import time; b = bytearray(150 << 20); b[::4096] = b\"z\" * len(b[::4096]); time.sleep(0.5)'])"
    )
    found = measure([PY, "-c", code])
    assert found.peak_rss >= 150 * MB, f"the child's 150 MB were not counted (peak {found.peak_mb:.0f} MB)"


def test_pss_splits_pages_shared_with_a_forked_worker():
    code = (
        "import os, time\n"
        "b = bytearray(100 << 20); b[::4096] = b'q' * len(b[::4096])\n"
        "pid = os.fork()\n"
        "time.sleep(0.6)\n"
        "os._exit(0) if pid == 0 else os.waitpid(pid, 0)\n"
    )
    found = measure([PY, "-c", code], pss=True)
    assert found.peak_rss >= 200 * MB, "RSS counts the shared 100 MB once per process"
    assert 100 * MB <= found.peak_pss < 160 * MB, f"PSS counts it once in total, got {found.peak_pss / MB:.0f} MB"


def test_memory_flat_check():
    assert check_flat(100, 30 * MB, 400, 32 * MB).flat
    grown = check_flat(100, 30 * MB, 400, 60 * MB)
    assert not grown.flat and "allowed up to" in grown.explain()
    with pytest.raises(ValueError):
        check_flat(100, MB, 150, MB)


def test_side_by_side_runs_at_once_and_keeps_order():
    """Three half-second sleepers side by side end together, and each result stays in its place."""
    sleeper = "import sys, time; time.sleep(0.5); print(sys.argv[1])"
    started = time.monotonic()
    found = side_by_side(*[lambda n=n: measure([PY, "-c", sleeper, str(n)]) for n in range(3)])
    took = time.monotonic() - started
    assert [r.stdout.strip() for r in found] == [b"0", b"1", b"2"]
    assert took < 1.4, f"three runs of 0.5 s took {took:.1f}s together: they ran one after another"


def test_side_by_side_stops_the_others_when_one_fails():
    def fails() -> None:
        time.sleep(0.3)  # the sleeper is running by now
        raise AssertionError("the learner's run failed")

    bystander = subprocess.Popen([PY, "-c", "import time; time.sleep(60)"])  # started by the test, not the calls
    try:
        started = time.monotonic()
        with pytest.raises(AssertionError, match="learner's run failed"):
            side_by_side(lambda: measure([PY, "-c", "import time; time.sleep(60)"]), fails)
        assert time.monotonic() - started < 20, "the 60 s sleeper was left running after the other call failed"
        assert bystander.poll() is None, "a process the calls did not start was killed too"
    finally:
        bystander.kill()
        bystander.wait()


def test_throughput_ratio_orders_fast_and_slow():
    ratio = compare(lambda: time.sleep(0.06), lambda: time.sleep(0.02), rounds=2)
    assert 0.15 < ratio.ratio < 0.6, ratio  # the slow one does about a third of the fast one's work per second
    assert "throughput ratio" in ratio.explain("work")


def test_slow_reader_throttles_and_counts():
    proc = subprocess.Popen([PY, "-c", "import sys; sys.stdout.buffer.write(b'x' * 300_000)"], stdout=subprocess.PIPE)
    started = time.monotonic()
    reader = SlowReader(proc.stdout, rate=1_000_000, keep=10).start()
    reader.join(30)
    proc.wait()
    assert reader.total == 300_000 and bytes(reader.head) == b"x" * 10
    assert time.monotonic() - started >= 0.25, "300 kB at 1 MB/s cannot take less than 0.3 s"


def test_trickle_feeds_slowly_and_closes():
    proc = subprocess.Popen(
        [PY, "-c", "import sys; print(len(sys.stdin.buffer.read()))"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    started = time.monotonic()
    writer = trickle(proc.stdin, [b"a" * 10_000] * 20, rate=500_000)
    out = proc.stdout.read()
    writer.join()
    proc.wait()
    assert out.strip() == b"200000"
    assert time.monotonic() - started >= 0.35, "200 kB at 500 kB/s cannot take less than 0.4 s"


def test_kill_driver_is_reproducible_and_kills():
    a, b = KillDriver(seed=1234), KillDriver(seed=1234)
    assert [a.rng.random() for _ in range(5)] == [b.rng.random() for _ in range(5)]
    driver = KillDriver(seed=99)
    proc = subprocess.Popen([PY, "-c", "import time; time.sleep(60)"], start_new_session=True)
    kill = driver.kill_after(proc, 0.05, 0.1)
    assert kill.signalled and kill.returncode == -signal.SIGKILL and 0.05 <= kill.delay <= 0.1
    assert "IOLAB_SEED=99" in driver.replay


def test_kill_driver_honours_iolab_seed(monkeypatch):
    monkeypatch.setenv("IOLAB_SEED", "777")
    assert KillDriver().seed == 777 and KillDriver(seed=5).seed == 777


def test_kill_after_bytes_of_output():
    driver = KillDriver(seed=3)
    proc = subprocess.Popen(
        [PY, "-c", "import sys\nwhile True: sys.stdout.buffer.write(b'x' * 4096)"],
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    kill = driver.kill_after_bytes(proc, proc.stdout, 10_000, 20_000)
    proc.stdout.close()
    assert kill.signalled and kill.returncode == -signal.SIGKILL


def test_disk_full_simulation(tmp_path):
    target = tmp_path / "out.bin"
    code = (
        "import sys\n"
        "try:\n"
        f"    with open({str(target)!r}, 'wb') as f:\n"
        "        f.write(b'x' * (4 << 20))\n"
        "except OSError as e:\n"
        "    print(e.errno); sys.exit(3)\n"
    )
    proc = subprocess.run(
        [PY, "-c", code], preexec_fn=fsize_limit(1 << 20), capture_output=True, text=True, check=False
    )
    assert proc.returncode == 3, proc.stderr
    assert int(proc.stdout) in FULL_ERRNOS and int(proc.stdout) == errno.EFBIG
    assert target.stat().st_size <= 1 << 20


def test_latency_recorder_percentiles():
    rec = LatencyRecorder()
    for ms in range(1, 1001):
        rec.record(ms / 1000)
    assert rec.count == 1000
    assert abs(rec.percentile_ms(50) - 500) <= 1 and abs(rec.percentile_ms(99) - 990) <= 2
    xs, ys = rec.cdf_ms()
    assert ys[-1] == pytest.approx(1.0) and xs == sorted(xs)


def test_plots_are_written(tmp_path):
    memory = plots.memory_timeline(
        {"yours": [(0, MB), (1, 2 * MB)], "reference": [(0, MB), (1, MB)]}, tmp_path / "m.png"
    )
    rec = LatencyRecorder()
    for i in range(100):
        rec.record(0.001 * (i + 1))
    latency = plots.latency_cdf({"yours": rec, "reference": [1.0, 2.0, 3.0]}, tmp_path / "l.png")
    for path in (memory, latency):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000


def test_cli_runner_reports_not_started(tmp_path):
    """A subprocess that dies on a TODO stub is 'not started', not a failure."""
    from grader.harness.proc import raise_if_stub
    from grader.outcomes import NotStarted

    with pytest.raises(NotStarted) as found:
        raise_if_stub(70, "loglens: not written yet: TODO(loglens.parse_line): match the line\n")
    assert found.value.where == "loglens.parse_line"
    raise_if_stub(0, "TODO(x.y) mentioned in passing by a successful run")  # exit 0: not a stub


def test_a_child_meets_ctrl_c_even_when_the_grader_ignores_it():
    """`iolab grade ... &` starts the grader with SIGINT ignored; the program under test must not inherit that."""
    show = "import signal; print(signal.getsignal(signal.SIGINT) is signal.default_int_handler)"
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        found = subprocess.run([PY, "-c", show], check=True, capture_output=True, text=True, preexec_fn=limits(None))
        unprotected = subprocess.run([PY, "-c", show], check=True, capture_output=True, text=True)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert unprotected.stdout.strip() == "False", "without limits() the child inherits the ignored SIGINT"
    assert found.stdout.strip() == "True", "a child started with limits() gets Python's usual Ctrl-C handler"


def test_unprivileged_child_meets_file_permissions(tmp_path):
    """Permission tests need file modes to apply to the child, even when the grader runs as root."""
    locked = tmp_path / "read-only"
    locked.mkdir()
    locked.chmod(0o500)
    code = f"import sys\ntry:\n    open({str(locked / 'x')!r}, 'w')\nexcept PermissionError:\n    sys.exit(13)\n"
    try:
        denied = subprocess.run([PY, "-c", code], preexec_fn=limits(unprivileged=True), check=False)
        allowed = subprocess.run([PY, "-c", code], preexec_fn=limits(), check=False)
    finally:
        locked.chmod(0o700)
    assert denied.returncode == 13, "an unprivileged child must get EACCES in a read-only directory"
    if os.geteuid() == 0:
        assert allowed.returncode == 0, "root without the drop ignores the mode (which is why the drop exists)"


def test_flat_runs_records_the_evidence(tmp_path):
    from grader.evidence import Evidence
    from grader.harness.memflat import flat_runs
    from grader.harness.rss import Measurement

    def run(peak_mb):
        return Measurement(["x"], 0, 1.0, peak_mb * MB, [(0.0, MB), (0.5, peak_mb * MB)])

    evidence = Evidence(tmp_path / "ev")
    verdict = flat_runs(evidence, 100, run(20), 400, run(50), run(21), "a title")
    assert not verdict.flat
    assert evidence.values == {"peak_mb": {"N": 20.0, "4N": 50.0}, "reference_peak_mb_4N": 21.0}
    assert evidence.artifacts and evidence.artifacts[0].read_bytes()[:4] == b"\x89PNG"
