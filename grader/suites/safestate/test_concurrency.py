"""Many processes at once: no lost update, a clear message on a lock timeout, no stale lock."""

from __future__ import annotations

import signal
import subprocess
import time

import pytest

from grader.harness.proc import kill_tree, raise_if_stub

from .conftest import APP, one_line
from .worker import payload_owner

M2 = pytest.mark.milestone(2, "Handle concurrent writers with clear messages (race conditions)")


def start_all(worker, *args_per_process):
    """Start helper processes, wait until each is ready, then release them together."""
    procs = [worker.popen(*args, stdin=subprocess.PIPE) for args in args_per_process]
    for proc in procs:
        line = proc.stdout.readline()
        if line.strip() != b"ready":
            for other in procs:
                kill_tree(other)
            err = proc.stderr.read().decode("utf-8", "replace")
            proc.wait()
            raise_if_stub(proc.returncode or 1, err)
            raise AssertionError(f"a helper process did not start (exit {proc.returncode}):\n{err[-800:]}")
    for proc in procs:
        proc.stdin.write(b"go\n")
        proc.stdin.flush()
    return procs


def finish(procs, timeout: float):
    """Wait for every helper (bounded); returns [(returncode, stderr)]; kills stragglers."""
    deadline = time.monotonic() + timeout
    results = []
    for proc in procs:
        try:
            _, err = proc.communicate(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            kill_tree(proc)
            _, err = proc.communicate()
        results.append((proc.returncode, err.decode("utf-8", "replace")))
    for code, err in results:
        raise_if_stub(code, err)
    return results


def hold_lock(worker, home, seconds: float):
    """A helper process that holds the store's lock (inside update) for ``seconds``."""
    holder = worker.popen("hold", str(home), APP, str(seconds))
    line = holder.stdout.readline()
    if line.strip() != b"holding":
        kill_tree(holder)
        err = holder.stderr.read().decode("utf-8", "replace")
        holder.wait()
        raise_if_stub(holder.returncode or 1, err)
        raise AssertionError(f"the lock holder did not start (exit {holder.returncode}):\n{err[-800:]}")
    return holder


@M2
@pytest.mark.hint(3)
@pytest.mark.stress
def test_concurrent_updates_lose_nothing(store_cli, worker, scale, evidence):
    """8 processes x 200 update(+1) at once end with the counter at exactly 1600"""
    processes, each = scale.pick((4, 50), (8, 200), (8, 1000))
    assert store_cli("init").returncode == 0
    started = time.monotonic()
    procs = start_all(worker, *[("incr", str(store_cli.home), APP, str(each))] * processes)
    results = finish(procs, timeout=scale.pick(60, 240, 1200))
    seconds = time.monotonic() - started
    failed = [(i, code, err) for i, (code, err) in enumerate(results) if code != 0]
    assert not failed, "some writers failed:\n" + "\n".join(f"writer {i}: exit {c}: {e[-400:]}" for i, c, e in failed)
    got = store_cli("get", "counter", "--json")
    assert got.returncode == 0, got.describe()
    expected = processes * each
    counter = got.json()
    evidence.value("updates", {"expected": expected, "counted": counter})
    evidence.value("updates_per_second", round(expected / seconds))
    assert counter == expected, (
        f"{processes} processes x {each} update(+1) should leave counter = {expected}, got {counter}: "
        f"{expected - counter if isinstance(counter, int) else '?'} lost updates. Two processes read the same "
        "value and both wrote value + 1. Hold the lock around the whole read-modify-write, and read only after "
        "taking it."
    )


@M2
@pytest.mark.hint(3)
def test_lock_timeout_exits_75_naming_the_holder(store_cli, worker):
    """while another process holds the lock, `set` waits --lock-timeout, then exits 75 naming the holder"""
    assert store_cli("set", "theme=dark").returncode == 0
    before = store_cli.state.read_bytes()
    holder = hold_lock(worker, store_cli.home, 30)
    try:
        started = time.monotonic()
        result = store_cli("set", "theme=light", "--lock-timeout", "0.5", timeout=25)
        waited = time.monotonic() - started
    finally:
        kill_tree(holder)
        holder.wait()
    assert result.returncode == 75, (
        "with the lock held elsewhere past --lock-timeout, `set` must exit 75 (EX_TEMPFAIL); " + result.describe()
    )
    one_line(result, "lock timeout")
    assert str(holder.pid) in result.err, (
        f"the message should name the process holding the lock (pid {holder.pid}); got {result.err.strip()!r}. "
        "Write the holder's pid into the lock file when you take the lock, and read it back on timeout."
    )
    assert waited >= 0.5, f"`set` gave up after {waited:.2f}s, before its --lock-timeout of 0.5s: retry until then"
    assert store_cli.state.read_bytes() == before, "a write that could not take the lock must not change the file"


@M2
@pytest.mark.hint(3)
def test_a_killed_holder_leaves_no_stale_lock(store_cli, worker):
    """after the lock holder is killed with SIGKILL, the next `set` gets the lock at once"""
    assert store_cli("set", "theme=dark").returncode == 0
    holder = hold_lock(worker, store_cli.home, 60)
    kill_tree(holder, signal.SIGKILL)
    holder.wait()
    result = store_cli("set", "theme=light", "--lock-timeout", "3", timeout=30)
    assert result.returncode == 0, (
        "the previous holder was killed, so the lock must be free: a lock that survives its owner is stale. "
        "Use an OS lock (fcntl.flock) that the kernel releases when the process dies, not a lock file whose "
        "existence is the lock. " + result.describe()
    )
    assert store_cli("get", "theme").out.strip() == "light"


@M2
@pytest.mark.hint(2)
@pytest.mark.stress
def test_unlocked_writers_never_mix(worker, tmp_path, scale):
    """three processes calling write_atomic on one file at once: every read sees one whole version"""
    target = tmp_path / "shared.bin"
    count, size = scale.pick(40, 100, 400), 256 << 10
    procs = start_all(worker, *[("raw", str(target), str(w), str(count), str(size)) for w in range(3)])
    torn, reads = [], 0

    def running() -> bool:
        return any(p.poll() is None for p in procs)

    deadline = time.monotonic() + scale.pick(60, 180, 600)
    while running() and time.monotonic() < deadline:
        try:
            data = target.read_bytes()
        except FileNotFoundError:
            continue
        reads += 1
        if payload_owner(data) is None and len(torn) < 3:
            torn.append(f"{len(data):,} bytes starting {data[:16]!r}")
    results = finish(procs, timeout=30)
    failed = [f"writer {i}: exit {code}: {err.strip()[-300:]}" for i, (code, err) in enumerate(results) if code]
    advice = (
        "Each writer needs its own temp file (O_CREAT | O_EXCL with a random name): with a shared name such as "
        "state.json.tmp one writer truncates, or renames away, the file another is still writing."
    )
    assert not failed, (
        "write_atomic failed while other processes wrote the same file:\n" + "\n".join(failed) + "\n" + advice
    )
    assert not torn, f"{len(torn)} of {reads} reads saw a mixed or partial file ({'; '.join(torn)}). " + advice
    final = payload_owner(target.read_bytes())
    assert final is not None and final[1] == count - 1, f"the file should end as some writer's last version: {final}"
