"""Durable writes per second: SafeState's write_atomic against the machine's floor and two peers.

    python bench/safestate.py                  # 1 KB and 1 MB, 8 rounds x 1 s per contestant
    python bench/safestate.py --rounds 5 --seconds 3 --dir /path/on/the/disk/you/care/about

Contestants, each in its own process, writing the same bytes over and over to one file:

- floor: the least a durable replace can do in Python (O_EXCL temp, write, fsync, rename,
  fsync of the directory), measured in the same run: the number to compare against;
- safestate write_atomic (the reference, ``solutions.safestate``), target >= 0.9x the floor;
- safestate Store.set (the reference's whole path: lock, read, JSON, write_atomic), for context;
- atomicwrites (Python, ``pip install 'iolab[bench]'``);
- write-file-atomic (Node; installed with npm into a temporary directory for this run only).

Rounds are interleaved (every contestant once per round, in a shuffled order) and the median is
reported: many short rounds let a noisy disk (a shared VM, a laptop's background sync) affect
everyone alike. With strace available, a short traced run counts the fsyncs
and renames each contestant does per write: the guarantees differ (write-file-atomic does not
fsync the directory), so the speeds are not the whole story. Nothing here is a test.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIZES = {"1KB": 1 << 10, "1MB": 1 << 20}
PYTHON_CONTESTANTS = ("floor", "write_atomic", "store_set", "atomicwrites")
LABELS = {
    "floor": "floor: temp+fsync+rename+dir fsync",
    "write_atomic": "safestate write_atomic (reference)",
    "store_set": "safestate Store.set (lock+JSON+write)",
    "atomicwrites": "atomicwrites (Python)",
    "node": "write-file-atomic (Node)",
}
NODE_PACKAGE = "write-file-atomic@7"  # 7.x supports Node 20; 8.x needs Node 22
TARGET = 0.9
NODE_SCRIPT = r"""
const wfa = require(process.argv[2]);
const fs = require('fs'), path = require('path'), crypto = require('crypto');
const dir = process.argv[3], size = Number(process.argv[4]), seconds = Number(process.argv[5]);
const count = Number(process.argv[6] || 0);
const data = crypto.randomBytes(size), target = path.join(dir, 'target.bin');
const start = process.hrtime.bigint(), limit = BigInt(Math.round(seconds * 1e9));
let n = 0;
while (count ? n < count : process.hrtime.bigint() - start < limit) { wfa.sync(target, data); n++; }
const secs = Number(process.hrtime.bigint() - start) / 1e9;
console.log(JSON.stringify({writes: n, seconds: secs, verified: fs.readFileSync(target).equals(data)}));
"""


# ---- the contestants, run as workers (one process each) ------------------------------------


def worker(name: str, directory: str, size: int, seconds: float, count: int) -> dict:
    """Write ``size`` random bytes to DIR/target.bin repeatedly; report writes and seconds."""
    data = os.urandom(size)
    target = os.path.join(directory, "target.bin")
    write = _writer(name, directory, target, data)
    n = 0
    start = time.perf_counter()
    while (n < count) if count else (time.perf_counter() - start < seconds):
        write()
        n += 1
    elapsed = time.perf_counter() - start
    if name == "store_set":
        from solutions.safestate import Store

        verified = Store("bench", home=directory).get("v") == data.hex()[:size]
    else:
        verified = Path(target).read_bytes() == data
    return {"writes": n, "seconds": elapsed, "verified": verified}


def paired(directory: str, size: int, seconds: float) -> dict:
    """Alternate one floor write and one write_atomic, each to its own file, and time every write.

    Both see the same disk at (nearly) the same moment, so the ratio of median latencies holds
    up on a noisy machine far better than two separate runs do.
    """
    data = os.urandom(size)
    floor = _writer("floor", directory, os.path.join(directory, "floor.bin"), data)
    reference = _writer("write_atomic", directory, os.path.join(directory, "reference.bin"), data)
    times: dict[str, list[float]] = {"floor": [], "write_atomic": []}
    pair = [("floor", floor), ("write_atomic", reference)]
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        pair.reverse()  # each goes first half of the time: no advantage from position
        for name, write in pair:
            began = time.perf_counter()
            write()
            times[name].append(time.perf_counter() - began)
    verified = all(Path(directory, f).read_bytes() == data for f in ("floor.bin", "reference.bin"))
    medians = {name: statistics.median(values) for name, values in times.items()}
    return {"pairs": len(times["floor"]), "median_s": medians, "verified": verified}


def _writer(name: str, directory: str, target: str, data: bytes):  # type: ignore[no-untyped-def]
    if name == "floor":
        counter = iter(range(1 << 62))
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC

        def floor() -> None:
            temp = os.path.join(directory, f".target.bin.{os.getpid()}.{next(counter)}.tmp")
            fd = os.open(temp, flags, 0o600)
            os.write(fd, data)  # one call: the kernel takes up to 2 GB at once for a regular file
            os.fsync(fd)
            os.close(fd)
            os.replace(temp, target)
            dfd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
            os.fsync(dfd)
            os.close(dfd)

        return floor
    if name == "write_atomic":
        from solutions.safestate.atomic import write_atomic

        return lambda: write_atomic(target, data)
    if name == "store_set":
        from solutions.safestate import Store

        store = Store("bench", home=directory)
        value = data.hex()[: len(data)]  # a JSON string about as long as the raw value
        return lambda: store.set("v", value)
    if name == "atomicwrites":
        from atomicwrites import atomic_write

        def peer() -> None:
            with atomic_write(target, mode="wb", overwrite=True) as f:
                f.write(data)

        return peer
    raise SystemExit(f"unknown contestant {name!r}")


# ---- the driver ----------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=1.0, help="per contestant per round")
    parser.add_argument("--sizes", default="1KB,1MB", help=f"comma list of {', '.join(SIZES)}")
    parser.add_argument("--dir", help="where to write (default: a temp dir); put it on the disk you care about")
    parser.add_argument("--no-node", action="store_true", help="skip write-file-atomic (no npm install)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker == "paired":
        print(json.dumps(paired(args.dir, args.size, args.seconds)))
        return 0
    if args.worker:
        print(json.dumps(worker(args.worker, args.dir, args.size, args.seconds, args.count)))
        return 0

    sizes = [s.strip() for s in args.sizes.split(",")]
    unknown = [s for s in sizes if s not in SIZES]
    if unknown:
        parser.error(f"unknown size {unknown}; choose from {', '.join(SIZES)}")
    base = Path(args.dir or tempfile.mkdtemp(prefix="safestate-bench-")).resolve()
    base.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="safestate-bench-npm-"))
    try:
        contestants = available_contestants(args.no_node, scratch)
        print(f"writing in {base} ({filesystem(base)}); {args.rounds} rounds x {args.seconds:g}s per contestant")
        print(f"python {sys.version.split()[0]}, node {node_version() or 'absent'}\n")
        for size_name in sizes:
            report(size_name, SIZES[size_name], contestants, base, args.rounds, args.seconds)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        if not args.dir:
            shutil.rmtree(base, ignore_errors=True)
    return 0


def available_contestants(no_node: bool, scratch: Path) -> dict[str, list[str]]:
    """name -> command prefix (the worker adds DIR SIZE SECONDS COUNT). Missing peers are named."""
    found: dict[str, list[str]] = {}
    for name in PYTHON_CONTESTANTS:
        if name == "atomicwrites" and _missing("atomicwrites"):
            print("atomicwrites is not installed: pip install 'iolab[bench]' (or pip install atomicwrites); skipped")
            continue
        found[name] = [sys.executable, str(Path(__file__).resolve()), "--worker", name]
    if no_node:
        return found
    node, npm = shutil.which("node"), shutil.which("npm")
    if not (node and npm):
        print(
            "Node.js and npm are needed for the write-file-atomic column (Debian: apt-get install nodejs npm); skipped"
        )
        return found
    print(f"installing {NODE_PACKAGE} into {scratch} (removed afterwards) ...", flush=True)
    done = subprocess.run(
        [npm, "install", "--prefix", str(scratch), "--no-audit", "--no-fund", "--silent", NODE_PACKAGE],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    module = scratch / "node_modules" / "write-file-atomic"
    if done.returncode != 0 or not module.is_dir():
        print(f"npm install {NODE_PACKAGE} failed (offline?); skipped:\n{done.stderr.strip()[-500:]}")
        return found
    script = scratch / "bench.js"
    script.write_text(NODE_SCRIPT)
    found["node"] = [node, str(script), str(module)]
    return found


def report(
    size_name: str, size: int, contestants: dict[str, list[str]], base: Path, rounds: int, seconds: float
) -> None:
    rates: dict[str, list[float]] = {name: [] for name in contestants}
    order = list(contestants)
    shuffle = random.Random(size)  # fixed seed: the same orders on every run
    for _ in range(rounds):
        shuffle.shuffle(order)
        for name in order:
            command = contestants[name]
            result = run_worker(name, command, base / f"{name}-{size_name}", size, seconds)
            if not result["verified"]:
                raise SystemExit(f"{name}: the file did not hold the data written last ({size_name}): a broken writer")
            rates[name].append(result["writes"] / result["seconds"])
    profiles = {
        name: syscall_profile(name, command, base / f"{name}-{size_name}-traced", size)
        for name, command in contestants.items()
    }
    floor = statistics.median(rates["floor"])
    print(f"{size_name} values: durable writes per second (median of {rounds})")
    print(f"  {'contestant':<40}{'writes/s':>10}{'vs floor':>10}   per write: fsync(file) fsync(dir) rename")
    for name, values in rates.items():
        rate = statistics.median(values)
        profile = profiles[name]
        calls = (
            "  (strace not available)"
            if profile is None
            else (f"   {profile['file']:>11.1f} {profile['dir']:>10.1f} {profile['rename']:>6.1f}")
        )
        print(f"  {LABELS[name]:<40}{rate:>10,.0f}{rate / floor:>9.2f}x{calls}")
    spread = max(rates["floor"]) / min(rates["floor"])
    print(f"  (the floor itself varied {spread:.1f}x between rounds: this disk's noise level)")
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", "paired"]
    pair = run_worker("paired", command, base / f"paired-{size_name}", size, rounds * seconds)
    if not pair["verified"]:
        raise SystemExit("paired run: a file did not hold the data written last")
    median = pair["median_s"]
    ratio = median["floor"] / median["write_atomic"]
    verdict = "meets" if ratio >= TARGET else "is BELOW"
    print(
        f"  paired ({pair['pairs']} alternating writes each, one process): floor {1000 * median['floor']:.2f} ms, "
        f"write_atomic {1000 * median['write_atomic']:.2f} ms per write (medians)"
    )
    print(f"  -> reference write_atomic at {ratio:.2f}x the floor's speed {verdict} the {TARGET}x target\n")


def run_worker(name: str, command: list[str], directory: Path, size: int, seconds: float, count: int = 0) -> dict:
    directory.mkdir(parents=True, exist_ok=True)
    if name == "node":
        argv = [*command, str(directory), str(size), str(seconds), str(count)]
    else:
        argv = [
            *command,
            "--dir",
            str(directory),
            "--size",
            str(size),
            "--seconds",
            str(seconds),
            "--count",
            str(count),
        ]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=seconds + 120, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{name} failed (exit {done.returncode}):\n{done.stderr[-1500:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def syscall_profile(name: str, command: list[str], directory: Path, size: int, count: int = 20) -> dict | None:
    """fsyncs of files, fsyncs of the directory and renames per write, from a short traced run."""
    strace = shutil.which("strace")
    if strace is None:
        return None
    directory.mkdir(parents=True, exist_ok=True)
    log = directory.parent / f"{directory.name}.strace"
    traced = [strace, "-f", "-qq", "-y", "-o", str(log), "-e", "trace=fsync,fdatasync,rename,renameat,renameat2"]
    run_worker(name, [*traced, *command], directory, size, 0, count)
    text = log.read_text(errors="replace")
    where = str(directory)
    counts = {"file": 0, "dir": 0, "rename": 0}
    for line in text.splitlines():
        if where not in line or "= -1" in line:
            continue
        if " rename" in line:
            counts["rename"] += 1
            continue
        synced = re.search(r"sync\(\d+<([^>]*)>\)", line)
        if synced:
            counts["dir" if os.path.isdir(synced.group(1)) else "file"] += 1
    return {k: v / count for k, v in counts.items()}


def filesystem(path: Path) -> str:
    """The filesystem type and mount point holding ``path`` (fsync costs differ wildly by type)."""
    best = ("?", "")
    try:
        for line in Path("/proc/mounts").read_text().splitlines():
            _, mount, kind, *_ = line.split()
            if str(path).startswith(mount) and len(mount) >= len(best[1]):
                best = (kind, mount)
    except OSError:
        pass
    note = " - fsync is nearly free here, so this measures CPU, not the disk" if best[0] in ("tmpfs", "ramfs") else ""
    return f"{best[0]} mounted at {best[1]}{note}"


def node_version() -> str | None:
    node = shutil.which("node")
    if not node:
        return None
    return subprocess.run([node, "--version"], capture_output=True, text=True, check=False).stdout.strip()


def _missing(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is None


if __name__ == "__main__":
    sys.exit(main())
