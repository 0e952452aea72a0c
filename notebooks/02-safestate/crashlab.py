"""Experiments for the SafeState notebooks: kill writers, race writers, watch system calls.

Each function starts real processes and reports what happened to the files; the plots are
drawn in the notebooks. The "naive" writers here are the mistakes the course warns about,
written on purpose so you can watch them fail. The careful writers are the implementation under
test (``IOLAB_IMPL``, by default your labs): one that reaches a piece not written yet raises
``NotStarted`` (its ``TODO(...)``), which the notebooks turn into one line.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from grader.course import ROOT, SUITES
from grader.harness.kill import KillDriver
from grader.harness.proc import kill_tree, limits, raise_if_stub
from grader.impl import Root, resolve
from grader.outcomes import NotStarted

WORKER = SUITES / "safestate" / "worker.py"  # the grader's helper: Store.set / update in a loop

# A naive writer: read, change, and rewrite state.json in place, like json.dump(open(p, "w")).
NAIVE_COMMIT = """
import json, sys
sys.path.insert(0, {suites!r})
from safestate.worker import blob
path, i, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
print("ready", flush=True)
while True:
    try:
        doc = json.load(open(path))
    except (OSError, ValueError):
        doc = {{"schema": 2, "values": {{}}}}
    doc["values"]["blob"] = blob(i, size)
    with open(path, "w") as f:
        json.dump(doc, f)
    print(f"committed {{i}}", flush=True)
    i += 1
"""

# Read-modify-write without a lock (each write is even atomic: the problem is the gap).
NAIVE_INCREMENT = """
import json, sys
sys.path.insert(0, {root!r})
from {package}.safestate.atomic import write_atomic
path, count = sys.argv[1], int(sys.argv[2])
print("ready", flush=True)
sys.stdin.readline()
for _ in range(count):
    doc = json.load(open(path))
    doc["values"]["counter"] = doc["values"].get("counter", 0) + 1
    write_atomic(path, json.dumps(doc).encode())
print("done", flush=True)
"""


def root(impl: str | None = None) -> Root:
    """The implementation to experiment with: ``impl`` if given, else IOLAB_IMPL, else labs."""
    return resolve(impl)


def env_for(impl: Root) -> dict[str, str]:
    env = impl.env()
    env["PYTHONPATH"] = f"{ROOT}:{env.get('PYTHONPATH', '')}"
    return env


def _start(argv: list[str], env: dict[str, str], stdin=subprocess.DEVNULL) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        argv, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, preexec_fn=limits()
    )


def _failed(proc: subprocess.Popen[bytes]) -> Exception:
    """Why a helper process ended on its own: NotStarted if it reached a stub, else its stderr."""
    kill_tree(proc)
    proc.wait()
    err = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
    try:
        raise_if_stub(proc.returncode or 1, err)
    except NotStarted as exc:
        return exc
    return RuntimeError(err[-500:] or f"exit code {proc.returncode}")


def classify(path: Path) -> str:
    """What a reader finds in state.json: "whole value", "no value yet", "torn" or "empty file"."""
    from grader.suites.safestate.worker import blob_number

    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return "no value yet"
    if not raw:
        return "empty file"
    try:
        values = json.loads(raw)["values"]
    except (ValueError, KeyError, TypeError):
        return "torn"
    if "blob" not in values:
        return "no value yet"
    return "whole value" if blob_number(values["blob"]) is not None else "torn"


def kill_experiment(
    writer: str, kills: int, size: int = 256 << 10, seed: int = 1, impl: str | None = None
) -> Counter[str]:
    """Start a writer ("naive", or "atomic": ``Store.set`` of the implementation under test),
    SIGKILL it after a seeded random delay, look at state.json; ``kills`` times. Returns how often
    each outcome was seen."""
    impl_root = root(impl)
    env = env_for(impl_root)
    home = Path(tempfile.mkdtemp(prefix=f"crashlab-{writer}-"))
    path = home / "config" / "demo" / "state.json"
    path.parent.mkdir(parents=True)
    driver = KillDriver(seed)
    seen: Counter[str] = Counter()
    value = 1
    try:
        for _ in range(kills):
            if writer == "naive":
                code = NAIVE_COMMIT.format(suites=str(SUITES))
                argv = [sys.executable, "-c", code, str(path), str(value), str(size)]
            else:
                argv = [sys.executable, str(WORKER), impl_root.package, "commit", str(home), "demo", str(value), str(size)]
            proc = _start(argv, env)
            if proc.stdout.readline().strip() != b"ready":
                raise _failed(proc)
            kill = driver.kill_after(proc, 0.0, 0.08)
            value += len(proc.stdout.read().split()) // 2 + 1
            if not kill.signalled:  # it ended by itself: a writer runs until killed, so it failed
                raise _failed(proc)
            proc.stdout.close()
            proc.stderr.close()
            outcome = classify(path)
            seen[outcome] += 1
            if outcome in ("torn", "empty file"):
                path.unlink()  # start the next round from a clean slate, as a user would have to
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return seen


def lost_update_experiment(locked: bool, processes: int, each: int, impl: str | None = None) -> int:
    """``processes`` processes each add 1 ``each`` times, all released at the same moment.
    ``locked``: through Store.update (read-modify-write under the lock); else read, +1 and
    write_atomic with no lock (both of the implementation under test). Returns the final counter
    (ideal: processes * each)."""
    impl_root = root(impl)
    env = env_for(impl_root)
    home = Path(tempfile.mkdtemp(prefix="crashlab-race-"))
    path = home / "config" / "demo" / "state.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"schema": 2, "values": {"counter": 0}}))
    try:
        if locked:
            argv = [sys.executable, str(WORKER), impl_root.package, "incr", str(home), "demo", str(each)]
        else:
            code = NAIVE_INCREMENT.format(root=str(impl_root.path or ROOT), package=impl_root.package)
            argv = [sys.executable, "-c", code, str(path), str(each)]
        procs = [_start(argv, env, stdin=subprocess.PIPE) for _ in range(processes)]
        try:
            for proc in procs:
                if proc.stdout.readline().strip() != b"ready":
                    raise _failed(proc)
            for proc in procs:  # release them together
                proc.stdin.write(b"go\n")
                proc.stdin.flush()
            deadline = time.monotonic() + 300
            for proc in procs:
                _, err = proc.communicate(timeout=max(1, deadline - time.monotonic()))
                raise_if_stub(proc.returncode, err.decode("utf-8", "replace"))
                if proc.returncode != 0:
                    raise RuntimeError(err.decode("utf-8", "replace")[-500:])
        finally:
            for proc in procs:
                kill_tree(proc)
                proc.wait()
        return int(json.loads(path.read_text())["values"]["counter"])
    finally:
        shutil.rmtree(home, ignore_errors=True)


def hold_lock(home: Path, app: str, seconds: float, impl: str | None = None) -> subprocess.Popen[bytes]:
    """A helper process that holds the store's lock, inside ``Store.update`` of the implementation
    under test, for ``seconds``; returned once it holds it (kill it to let go)."""
    impl_root = root(impl)
    proc = subprocess.Popen(
        [sys.executable, str(WORKER), impl_root.package, "hold", str(home), app, str(seconds)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env_for(impl_root),
        start_new_session=True,
    )
    if proc.stdout.readline().strip() != b"holding":
        raise _failed(proc)
    return proc


def syscalls(argv: list[str], only_under: Path) -> list[str]:
    """Run ``argv`` under strace and list the calls that touched ``only_under`` (or a note without
    strace). A program that reaches a stub raises NotStarted."""
    from grader.suites.safestate.syscalls import STRACE, parse

    if shutil.which("strace") is None:
        return ["(strace is not installed: apt-get install strace)"]
    with tempfile.TemporaryDirectory() as scratch:
        log = Path(scratch) / "trace"
        done = subprocess.run([*STRACE, "-o", str(log), *argv], capture_output=True, check=False)
        raise_if_stub(done.returncode, done.stderr.decode("utf-8", "replace"))
        events = parse(log.read_text(errors="replace"))
    lines = []
    prefix = str(only_under)
    for e in events:
        touched = [p for p in [e.fd_path, e.result_path, *e.strings] if p and p.startswith(prefix)]
        if not touched or e.name == "close":
            continue
        shown = ", ".join(dict.fromkeys("." + p[len(prefix) :] for p in touched))
        lines.append(f"{e.name}({shown}) = {e.ret}")
    return lines
