"""StreamFoundry next to jq and Miller on the same generated events. A benchmark, not a test.

    python bench/streamfoundry.py [--lines 1M] [--seed 1] [--rounds 3] [--no-gzip]

Three jobs on one NDJSON file of generated events (1M events, about 180 MB), each tool run as a
whole process with its memory sampled (RSS summed over the process tree):

1. filter + project to CSV: purchases over 50 -> id, ts, user.country, amount
   (the reference with its default two processes and with --jobs 1, jq, Miller);
2. group-by: count, sum, min and max of duration_ms per type (the reference both ways, Miller);
3. job 1 on the gzip-compressed file (the reference reads gzip itself; jq gets `gzip -dc |`;
   Miller decompresses with --gzin).

Every figure is measured in this run, on this machine; the fastest of --rounds runs counts (CPU
time is user + system of the whole process tree: on a busy machine it is the steadier figure,
and it shows what two worker processes cost in total). Then
it checks that the outputs agree row for row (numbers compared as numbers: jq 1.6 prints 17
significant digits). The file is the "events" kind: no broken lines, since each tool has its own
opinion of what to do with one.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import resource
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.data import ensure, parse_size  # noqa: E402
from grader.harness.rss import Measurement, measure  # noqa: E402

FILTER = 'type == "purchase" and amount > 50'
FIELDS = ["id", "ts", "user.country", "amount"]
JQ_FILTER = 'select(.type == "purchase" and .amount > 50) | [.id, .ts, .user.country, .amount] | @csv'
MLR_FILTER = [
    "filter",
    '$type == "purchase" && $amount > 50',
    "then",
    "flatten",
    "then",
    "cut",
    "-o",
    "-f",
    ",".join(FIELDS),
]
MLR_GROUP = ["stats1", "-a", "count,sum,min,max", "-f", "duration_ms", "-g", "type"]
TARGETS = {"jq": 2.5, "Miller": 8.0}


def timed(argv: list[str], rounds: int) -> tuple[Measurement, float]:
    """The fastest of ``rounds`` runs, and its CPU seconds (user + system, the whole process tree)."""
    best: tuple[Measurement, float] | None = None
    for _ in range(rounds):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        run = measure(argv, timeout=3600, keep_stdout=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        if run.returncode != 0:
            raise SystemExit(f"failed: {run.describe()}")
        if best is None or run.wall < best[0].wall:
            best = (run, cpu)
    assert best is not None
    return best


def rows_of(data: bytes, header: bool) -> list[list[str]]:
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    return rows[1:] if header else rows


def same_rows(a: list[list[str]], b: list[list[str]]) -> str | None:
    """None when the two tables agree cell for cell (numbers as numbers), else the first difference."""
    if len(a) != len(b):
        return f"{len(a):,} rows against {len(b):,}"
    for number, (x, y) in enumerate(zip(a, b, strict=True), 1):
        if len(x) != len(y) or not all(_same_cell(p, q) for p, q in zip(x, y, strict=True)):
            return f"row {number}: {x} against {y}"
    return None


def _same_cell(p: str, q: str) -> bool:
    if p == q:
        return True
    try:
        return float(p) == float(q)
    except ValueError:
        return False


def groups_of(data: bytes, key: str, prefix: str) -> dict[str, tuple[float, ...]]:
    out = {}
    for row in csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")):
        out[row[key]] = tuple(float(row[f"{prefix}{name}"]) for name in ("count", "sum", "min", "max"))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", default="1M", help="events in the file (default 1M, about 180 MB)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3, help="runs per tool; the fastest counts")
    parser.add_argument("--no-gzip", action="store_true", help="skip the gzip job")
    args = parser.parse_args()
    jq, mlr = shutil.which("jq"), shutil.which("mlr")
    for name, found, how in (("jq", jq, "apt-get install jq"), ("Miller (mlr)", mlr, "apt-get install miller")):
        if not found:
            print(f"{name} is not installed (Debian: {how}); it is left out of the comparison.")
    lines = parse_size(args.lines, "events")
    data = ensure("events", lines, args.seed, progress=True)
    packed = ensure("events", lines, args.seed, gzip=True, progress=True) if not args.no_gzip else None
    py = [sys.executable, "-m", "solutions.streamfoundry"]
    stages = ["--stage", f"filter {FILTER}", "--stage", "select " + ",".join(FIELDS), "--to", "csv", "-q"]
    size_mb = data.path.stat().st_size / 1e6
    machine = f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}"
    print(f"StreamFoundry vs jq and Miller: {lines:,} events, {size_mb:,.0f} MB ({machine})")
    print(f"jq: {_version([jq, '--version']) if jq else '-'}; Miller: {_version([mlr, '--version']) if mlr else '-'}\n")
    header = f"{'job':<34} {'tool':<14} {'seconds':>8} {'CPU s':>7} {'MB/s':>7} {'peak RSS MB':>12} {'speedup':>8}"
    print(header + "\n" + "-" * len(header))
    verdicts: list[str] = []
    agree = True

    def report(job: str, results: dict[str, tuple[Measurement, float]]) -> None:
        ours = results["StreamFoundry"][0].wall
        for tool, (run, cpu) in results.items():
            speed = "" if tool.startswith(("StreamFoundry", "...")) else f"{run.wall / ours:.1f}x"
            figures = f"{run.wall:>8.2f} {cpu:>7.2f} {size_mb / run.wall:>7.0f} {run.peak_mb:>12.1f} {speed:>8}"
            print(f"{job:<34} {tool:<14} {figures}")
        for tool, target in TARGETS.items():
            if tool not in results:
                continue
            run, cpu = results[tool]
            for mine in ("StreamFoundry", "... --jobs 1"):
                if mine not in results:
                    continue
                ratio, cpu_ratio = run.wall / results[mine][0].wall, cpu / max(results[mine][1], 1e-9)
                label = "default" if mine == "StreamFoundry" else "--jobs 1"
                verdicts.append(
                    f"{job} ({label}): {ratio:.1f}x {tool} in wall-clock time, {cpu_ratio:.1f}x in CPU time "
                    f"(target {target}x: {'met' if ratio >= target else 'MISSED'})"
                )
        print()

    # 1. filter + project to CSV
    results = {"StreamFoundry": timed([*py, "run", str(data.path), *stages], args.rounds)}
    results["... --jobs 1"] = timed([*py, "run", str(data.path), *stages, "--jobs", "1"], args.rounds)
    if jq:
        results["jq"] = timed([jq, "-r", JQ_FILTER, str(data.path)], args.rounds)
    if mlr:
        results["Miller"] = timed([mlr, "--ijson", "--ocsv", *MLR_FILTER, str(data.path)], args.rounds)
    report("filter + select -> CSV", results)
    want = data.truth.queries["big_purchases"]
    ours_rows = rows_of(results["StreamFoundry"][0].stdout, header=True)
    checks = [
        ("StreamFoundry vs truth", None if len(ours_rows) == want else f"{len(ours_rows):,} rows, truth {want:,}")
    ]
    if jq:
        checks.append(("jq", same_rows(ours_rows, rows_of(results["jq"][0].stdout, header=False))))
    if mlr:
        checks.append(("Miller", same_rows(ours_rows, rows_of(results["Miller"][0].stdout, header=True))))

    # 2. group-by
    group = ["--by", "type", "--sum", "duration_ms", "--to", "csv", "-q"]
    results = {"StreamFoundry": timed([*py, "summarize", str(data.path), *group], args.rounds)}
    results["... --jobs 1"] = timed([*py, "summarize", str(data.path), *group, "--jobs", "1"], args.rounds)
    if mlr:
        results["Miller"] = timed([mlr, "--ijson", "--ocsv", *MLR_GROUP, str(data.path)], args.rounds)
    report("group-by type: count/sum/min/max", results)
    ours_groups = _ours_groups(results["StreamFoundry"][0].stdout)
    truth = {t: (s.count, s.sum, s.min, s.max) for t, s in data.truth.duration_by_type.items()}
    checks.append(("group-by vs truth", None if ours_groups == truth else f"{ours_groups} against {truth}"))
    if mlr:
        theirs = groups_of(results["Miller"][0].stdout, "type", "duration_ms_")
        checks.append(("group-by: Miller", None if theirs == ours_groups else f"{theirs} against {ours_groups}"))

    # 3. the same filter on the gzip file
    if packed is not None:
        gz = str(packed.path)
        results = {"StreamFoundry": timed([*py, "run", gz, *stages], args.rounds)}
        if jq:
            results["jq"] = timed(["sh", "-c", f"gzip -dc '{gz}' | '{jq}' -r '{JQ_FILTER}'"], args.rounds)
        if mlr:
            results["Miller"] = timed([mlr, "--gzin", "--ijson", "--ocsv", *MLR_FILTER, gz], args.rounds)
        report(".gz: filter + select -> CSV", results)
        gz_rows = rows_of(results["StreamFoundry"][0].stdout, header=True)
        checks.append((".gz: StreamFoundry vs plain", same_rows(gz_rows, ours_rows)))
        if jq:
            checks.append((".gz: jq", same_rows(gz_rows, rows_of(results["jq"][0].stdout, header=False))))
        if mlr:
            checks.append((".gz: Miller", same_rows(gz_rows, rows_of(results["Miller"][0].stdout, header=True))))

    print("Agreement (row for row):")
    for name, problem in checks:
        agree &= problem is None
        print(f"  {name:<32} {'agree' if problem is None else 'DIFFER: ' + problem}")
    print("\nTargets (speedup of the reference; wall-clock decides, CPU time shows the work done):")
    for line in verdicts:
        print("  " + line)
    return 0 if agree else 1


def _ours_groups(data: bytes) -> dict[str, tuple[float, ...]]:
    """summarize's CSV columns are type, count, duration_ms_sum, duration_ms_min, duration_ms_max."""
    out = {}
    for row in csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")):
        out[row["type"]] = (float(row["count"]), *(float(row[f"duration_ms_{n}"]) for n in ("sum", "min", "max")))
    return out


def _version(argv: list[str]) -> str:
    import subprocess

    try:
        return (
            subprocess.run(argv, capture_output=True, text=True, check=False, timeout=10).stdout.strip().splitlines()[0]
        )
    except (OSError, IndexError, subprocess.SubprocessError):
        return "?"


if __name__ == "__main__":
    sys.exit(main())
