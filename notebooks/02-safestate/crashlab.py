"""Experiments for the SafeState notebooks: kill writers, race writers, watch system calls.

Each function starts real processes and reports what happened to the files; the plots are
drawn in the notebooks. The "naive" writers here are the mistakes the course warns about,
written on purpose so you can watch them fail.
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
from grader.harness.proc import kill_tree, limits
from grader.impl import Root, resolve

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
    """The implementation to experiment with (IOLAB_IMPL, else labs; or "solutions")."""
    return resolve(impl)


def env_for(impl: Root) -> dict[str, str]:
    env = impl.env()
    env["PYTHONPATH"] = f"{ROOT}:{env.get('PYTHONPATH', '')}"
    return env


def _start(argv: list[str], env: dict[str, str], stdin=subprocess.DEVNULL) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        argv, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, preexec_fn=limits()
    )


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
    writer: str, kills: int, size: int = 256 << 10, seed: int = 1, impl: str | None = "solutions"
) -> Counter[str]:
    """Start a writer ("naive" or "atomic"), SIGKILL it after a seeded random delay, look at
    state.json; ``kills`` times. Returns how often each outcome was seen."""
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
                kill_tree(proc)
                raise RuntimeError(proc.stderr.read().decode()[-500:])
            driver.kill_after(proc, 0.0, 0.08)
            value += len(proc.stdout.read().split()) // 2 + 1
            proc.stdout.close()
            proc.stderr.close()
            outcome = classify(path)
            seen[outcome] += 1
            if outcome in ("torn", "empty file"):
                path.unlink()  # start the next round from a clean slate, as a user would have to
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return seen


def lost_update_experiment(locked: bool, processes: int, each: int, impl: str | None = "solutions") -> int:
    """``processes`` processes each add 1 ``each`` times, all released at the same moment.
    ``locked``: through Store.update (read-modify-write under the lock); else read, +1 and
    write_atomic with no lock. Returns the final counter (ideal: processes * each)."""
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
        for proc in procs:
            if proc.stdout.readline().strip() != b"ready":
                raise RuntimeError(proc.stderr.read().decode()[-500:])
        for proc in procs:  # release them together
            proc.stdin.write(b"go\n")
            proc.stdin.flush()
        deadline = time.monotonic() + 300
        for proc in procs:
            proc.communicate(timeout=max(1, deadline - time.monotonic()))
        return int(json.loads(path.read_text())["values"]["counter"])
    finally:
        shutil.rmtree(home, ignore_errors=True)


def syscalls(argv: list[str], only_under: Path) -> list[str]:
    """Run ``argv`` under strace and list the calls that touched ``only_under`` (or [] without strace)."""
    from grader.suites.safestate.syscalls import STRACE, parse

    if shutil.which("strace") is None:
        return ["(strace is not installed: apt-get install strace)"]
    with tempfile.TemporaryDirectory() as scratch:
        log = Path(scratch) / "trace"
        subprocess.run([*STRACE, "-o", str(log), *argv], capture_output=True, check=False)
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
