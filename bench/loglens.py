"""LogLens next to GoAccess on the same generated logs. A benchmark, not a test: it prints figures.

    python bench/loglens.py [--sizes 1M,10M] [--seed 1] [--rounds 1]

For each size: the reference LogLens (default process count, and --jobs 1), and GoAccess with the
nginx format plus request time, each run as a whole process with its memory sampled (RSS summed
over the process tree, an upper bound when a forked worker shares pages with its parent; and PSS,
which splits shared pages fairly). Then it checks that status classes and the top routes agree
exactly with GoAccess's JSON output. The logs are the "access-clean" kind (the realistic route mix
without broken lines: each tool has its own opinion of what a broken line is).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.data import ensure, parse_size  # noqa: E402
from grader.harness.rss import Measurement, measure  # noqa: E402

GOACCESS_FORMAT = [
    '--log-format=%h %^[%d:%t %^] "%r" %s %b "%R" "%u" %T',
    "--date-format=%d/%b/%Y",
    "--time-format=%H:%M:%S",
]
GOACCESS_FLAGS = ["--no-progress", "--http-method=yes", "--http-protocol=no", "--no-query-string", "--max-items=100"]
TOP = 10


def best(argv: list[str], rounds: int, *, pss: bool = True) -> Measurement:
    # No address-space cap (GoAccess needs several GB at 10M lines). PSS only where it means
    # something: reading smaps of a big single process every 20 ms slows that process down.
    runs = [measure(argv, timeout=7200, memory=None, pss=pss, keep_stdout=True) for _ in range(rounds)]
    for run in runs:
        if run.returncode != 0:
            raise SystemExit(f"failed: {run.describe()}")
    return min(runs, key=lambda r: r.wall)


def goaccess_view(report: Path) -> tuple[dict[str, int], list[tuple[str, str, int]]]:
    doc = json.loads(report.read_text())
    status = {f"{item['data'][0]}xx": item["hits"]["count"] for item in doc["status_codes"]["data"]}
    routes: Counter[tuple[str, str]] = Counter()
    for panel in ("requests", "static_requests", "not_found"):  # GoAccess splits requests over three panels
        for item in doc[panel]["data"]:
            routes[(item.get("method", ""), item["data"])] += item["hits"]["count"]
    top = sorted(routes.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP]
    return status, [(m, p, n) for (m, p), n in top]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1M,10M", help="comma list of line counts (default 1M,10M)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=1, help="runs per tool; the fastest counts")
    args = parser.parse_args()
    goaccess = shutil.which("goaccess")
    if not goaccess:
        print("GoAccess is not installed (Debian: apt-get install goaccess); only LogLens is measured.")
    py = sys.executable
    env_note = f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}"
    print(f"LogLens vs GoAccess ({env_note})\n")
    header = f"{'lines':>12} {'tool':<22} {'seconds':>8} {'lines/s':>12} {'RSS MB':>8} {'PSS MB':>8}"
    print(header + "\n" + "-" * len(header))
    peaks: dict[int, float] = {}
    ratios = []
    agree_all = True
    for size in (parse_size(s) for s in args.sizes.split(",")):
        data = ensure("access-clean", size, args.seed, progress=True)
        truth = data.truth
        rows: dict[str, Measurement] = {}
        rows["loglens"] = best([py, "-m", "solutions.loglens", "summary", str(data.path), "--json"], args.rounds)
        rows["loglens --jobs 1"] = best(
            [py, "-m", "solutions.loglens", "summary", str(data.path), "--json", "--jobs", "1"], args.rounds
        )
        with tempfile.TemporaryDirectory() as tmp:
            report = Path(tmp) / "goaccess.json"
            if goaccess:
                rows["goaccess"] = best(
                    [goaccess, str(data.path), *GOACCESS_FORMAT, *GOACCESS_FLAGS, "-o", str(report)],
                    args.rounds,
                    pss=False,
                )
            for tool, run in rows.items():
                print(
                    f"{size:>12,} {tool:<22} {run.wall:>8.2f} {size / run.wall:>12,.0f} "
                    f"{run.peak_mb:>8.1f} {f'{run.peak_pss / 2**20:.1f}' if run.peak_pss else '-':>8}"
                )
            ours = json.loads(rows["loglens"].stdout)
            ours_top = [(r["method"], r["path"], r["count"]) for r in ours["top_routes"]]
            exact = ours["status"] == truth.status and ours["records"] == truth.records
            print(f"{'':>12} loglens vs ground truth: {'exact' if exact else 'DIFFERS'}")
            agree_all &= exact
            if goaccess:
                status, top = goaccess_view(report)
                same = status == ours["status"] and top == ours_top
                agree_all &= same
                ratio = rows["goaccess"].wall / rows["loglens"].wall
                ratio_one = rows["goaccess"].wall / rows["loglens --jobs 1"].wall
                ratios.append(ratio)
                verdict = "exact" if same else "DIFFERS"
                print(f"{'':>12} agreement with GoAccess (status classes, top {TOP} routes): {verdict}")
                if not same:
                    print(f"{'':>12}   status ours {ours['status']} goaccess {status}")
                    print(f"{'':>12}   top ours {ours_top[:3]} goaccess {top[:3]}")
                print(f"{'':>12} throughput vs GoAccess: {ratio:.2f}x (one process: {ratio_one:.2f}x)")
        peaks[size] = rows["loglens"].peak_mb
    if len(peaks) > 1:
        sizes = sorted(peaks)
        print(
            "\nLogLens peak RSS: "
            + ", ".join(f"{peaks[s]:.1f} MB at {s:,} lines" for s in sizes)
            + f" (growth {peaks[sizes[-1]] - peaks[sizes[0]]:+.1f} MB)"
        )
    if ratios:
        print(f"target >= 3x GoAccess (goal 5x): measured {', '.join(f'{r:.2f}x' for r in ratios)}")
    print("outputs agree" if agree_all else "OUTPUTS DISAGREE")
    return 0 if agree_all else 1


if __name__ == "__main__":
    sys.exit(main())
