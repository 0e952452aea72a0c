"""`iolab gradebook` on a synthetic class: every way of handing in, every way of breaking a batch.

The class (tests/synthetic_class.py) is graded at the quick scale with two jobs, and every row
must say what happened; the batch must end within the per-submission limits, leave no process
of any submission behind and never touch the submissions themselves. Then ``--resume`` must
keep everything, and ``--shard``/``merge`` must add up to the whole.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from grader.classroom.summary import read_csv
from grader.course import ROOT

from .synthetic_class import build

pytestmark = pytest.mark.slow

WALL = 90  # seconds per submission: the endless loop ends here; a complete one needs ~25 s alone
TEST_TIMEOUT = 12  # per test: the sleeping stress tests end here
LIMITS = ["--project", "loglens", "--scale", "quick", "--jobs", "2"]  # the class hands in LogLens only
LIMITS += ["--timeout", str(WALL), "--test-timeout", str(TEST_TIMEOUT)]
LIMITS += ["--max-procs", "64"]  # a smaller storm on a shared machine; far above the suite's needs
UIDS = 60800  # the class's own range of slot users (other tests' gradebooks start at the default)


def tree_hash(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        digest.update(str(path.relative_to(folder)).encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def leftovers(base: int = 0) -> list[str]:
    """Processes still running as one of the class's job slot users."""
    base = base or UIDS
    found = []
    for proc in psutil.process_iter(["uids", "cmdline", "status"]):
        try:
            if proc.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            if base <= proc.info["uids"].real < base + 8:
                found.append(" ".join(proc.info["cmdline"] or [])[:120])
        except (psutil.Error, TypeError):
            continue
    return found


@pytest.mark.xdist_group("gradebook")  # two batches at once would crowd 2 cores past the per-submission wall clock
def test_a_class_with_every_kind_of_broken_submission(run_iolab, tmp_path):
    expect = build(tmp_path / "submissions")
    assert len(expect) >= 12
    before = tree_hash(tmp_path / "submissions")
    out = tmp_path / "gradebook"
    started = time.monotonic()
    done = run_iolab(
        "gradebook", str(tmp_path / "submissions"), "--out", str(out), *LIMITS, "--uid-base", str(UIDS), timeout=1500
    )
    took = time.monotonic() - started
    assert done.returncode == 1, f"exit {done.returncode}: rows with problems mean 1\n{done.stderr[-3000:]}"
    assert "Traceback" not in done.stdout + done.stderr, done.stderr[-3000:]

    table = {row["student"]: row for row in read_csv(out / "gradebook.csv")}
    assert sorted(table) == sorted(expect), f"one row per student: {sorted(table)}"
    reference = json.loads((out / "reference.json").read_text())["worth"]["loglens"]
    full = reference["max_score"]
    wrong = []
    for student, want in expect.items():
        row = table[student]
        score, worth = float(row["score"]), float(row["max"])
        problems = []
        if row["status"] != want.status:
            problems.append(f"status {row['status']!r}, expected {want.status!r}")
        if worth != full:
            problems.append(f"max {worth}, expected the reference's {full}")
        if want.score == "full" and score != full:
            problems.append(f"score {score}, expected full marks")
        if want.score == "zero" and score != 0:
            problems.append(f"score {score}, expected 0")
        if want.score == "partial" and not 0 < score < full:
            problems.append(f"score {score}, expected partial credit")
        problems += [f"reason lacks {w!r}" for w in want.reason if w not in row["reason"]]
        if float(row["duration"]) > WALL + 15:
            problems.append(f"took {row['duration']}s, beyond the {WALL}s limit")
        if problems:
            wrong.append(f"{student}: {'; '.join(problems)} (row: {row})")
    assert not wrong, "\n".join(wrong)

    for student, want in expect.items():
        results = out / "submissions" / student / "results-loglens.json"
        found = {r["nodeid"].split("::")[-1]: r for r in json.loads(results.read_text())} if results.exists() else {}
        for test, words in want.failing_with.items():
            assert test in found and words in found[test]["message"], (student, test, found.get(test))
    carol = json.loads((out / "submissions" / "carol" / "results-loglens.json").read_text())
    assert {r["outcome"] for r in carol} <= {"not started", "skipped"}, "fresh stubs are all 'not started'"
    heidi = table["heidi"]
    assert float(heidi["duration"]) < WALL / 2, f"a fork storm is stopped at once, not at the wall clock: {heidi}"

    assert tree_hash(tmp_path / "submissions") == before, "grading changed a submission"
    assert not leftovers(), f"processes of the class still run: {leftovers()}"
    for student in expect:
        for suffix in (".md", ".html"):
            page = out / "feedback" / f"{student}{suffix}"
            assert page.exists() and student in page.read_text(), page
    assert "not handed in" in (out / "feedback" / "leo.md").read_text()
    for name in ("summary.md", "plots/score-distribution.png", "plots/most-failed.png", "gradebook.json"):
        assert (out / name).stat().st_size > 0, name
    summary = (out / "summary.md").read_text()
    assert "## Rows to look at" in summary and "| heidi | loglens | killed |" in summary
    print(f"\ngradebook of {len(expect)} submissions, --jobs 2, quick: {took:.0f}s")

    # --resume keeps every submission that did not change, and regrades the one that did
    (tmp_path / "submissions" / "leo" / "labs" / "safestate" / "notes.py").write_text("X = 2\n")
    again = run_iolab("gradebook", str(tmp_path / "submissions"), "--out", str(out), *LIMITS, "--resume")
    assert again.returncode == 1, again.stderr[-2000:]
    assert f"resuming: {len(expect) - 1} of {len(expect)} submissions already graded" in again.stderr, again.stderr
    assert "leo: loglens 0/" in again.stderr and "alice:" not in again.stderr, again.stderr

    def steady(rows):  # a regraded row's duration differs by a few milliseconds
        return {r["student"]: {k: v for k, v in r.items() if k != "duration"} for r in rows}

    assert steady(read_csv(out / "gradebook.csv")) == steady(table.values())
    refused = run_iolab("gradebook", str(tmp_path / "submissions"), "--out", str(out), *LIMITS)
    assert refused.returncode == 2 and "--resume" in refused.stderr, refused.stderr


@pytest.mark.xdist_group("gradebook")
def test_shards_merge_into_the_whole_class(run_iolab, tmp_path):
    everyone = build(tmp_path / "all")
    quick = {"erin", "frank", "leo", "mia"}  # the ones graded in a second: the point here is the bookkeeping
    entries = tmp_path / "submissions"
    entries.mkdir()
    for entry in (tmp_path / "all").iterdir():
        if entry.name.removesuffix(".zip") in quick:
            entry.rename(entries / entry.name)
    assert quick <= set(everyone)
    shards = []
    for k in (1, 2):
        out = tmp_path / f"gb-{k}"
        done = run_iolab("gradebook", str(entries), "--out", str(out), "--shard", f"{k}/2", "--no-reference", *LIMITS)
        assert done.returncode == 1, done.stderr[-2000:]
        shards.append(out)
    parts = [{r["student"] for r in read_csv(s / "gradebook.csv")} for s in shards]
    assert parts[0] and parts[1] and not parts[0] & parts[1], f"shards overlap or one is empty: {parts}"
    assert parts[0] | parts[1] == quick
    merged = tmp_path / "merged"
    done = run_iolab("gradebook", "merge", *map(str, shards), "--out", str(merged))
    assert done.returncode == 1, done.stderr
    table = {r["student"]: r for r in read_csv(merged / "gradebook.csv")}
    assert set(table) == quick and {r["status"] for r in table.values()} == {"import error", "missing", "invalid"}
    assert all((merged / "feedback" / f"{s}.html").exists() for s in quick)
    twice = run_iolab("gradebook", "merge", str(shards[0]), str(shards[0]), "--out", str(tmp_path / "twice"))
    assert twice.returncode == 2 and "graded in both" in twice.stderr, twice.stderr
    half = run_iolab("gradebook", "merge", str(shards[0]), "--out", str(tmp_path / "half"))
    assert "shard(s) 2/2 not among the folders merged" in half.stderr, half.stderr


def test_gradebook_usage_errors(run_iolab, tmp_path):
    def said(done):  # error messages are wrapped to the terminal's width
        return " ".join(done.stderr.split())

    missing = run_iolab("gradebook", str(tmp_path / "nowhere"), "--out", str(tmp_path / "out"))
    assert missing.returncode == 2 and "no such folder" in said(missing), missing.stderr
    assert not (tmp_path / "out").exists()
    bad_shard = run_iolab("gradebook", str(tmp_path), "--shard", "3/2")
    assert bad_shard.returncode == 2 and "between 1 and N" in said(bad_shard), bad_shard.stderr
    unknown = run_iolab("gradebook", str(tmp_path), "--project", "nosuch")
    assert unknown.returncode == 2 and "no project named" in said(unknown), unknown.stderr


@pytest.mark.xdist_group("gradebook")
def test_a_cancelled_batch_stops_cleanly_and_resumes(run_iolab, tmp_path):
    """SIGTERM (a cancelled CI job) ends the batch like Ctrl-C: exit 130, the running submission's
    processes killed, the finished one kept; --resume grades only the rest."""
    build(tmp_path / "all")
    entries = tmp_path / "submissions"
    entries.mkdir()
    for name in ("erin.zip", "grace"):  # sorted: erin (done in a second) first, then the endless loop
        (tmp_path / "all" / name).rename(entries / name)
    out = tmp_path / "gradebook"
    argv = [sys.executable, "-m", "grader", "gradebook", str(entries), "--out", str(out), "--project", "loglens"]
    argv += ["--scale", "quick"]
    argv += ["--jobs", "1", "--no-reference", "--uid-base", str(UIDS + 20)]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    batch = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (out / "submissions" / "erin" / "row.json").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(3)  # grace is running now
    batch.send_signal(signal.SIGTERM)
    _, stderr = batch.communicate(timeout=60)
    assert batch.returncode == 130, stderr
    assert "interrupted" in stderr
    assert not [p for p in leftovers(UIDS + 20)], leftovers(UIDS + 20)
    assert not (out / "submissions" / "grace").exists(), "an unfinished submission must not look finished"
    resumed = run_iolab("gradebook", str(entries), "--out", str(out), "--project", "loglens", "--scale", "quick",
                        "--jobs", "1", "--no-reference", "--resume", "--timeout", "20")  # fmt: skip
    assert "resuming: 1 of 2 submissions already graded" in resumed.stderr, resumed.stderr
    assert {r["student"]: r["status"] for r in read_csv(out / "gradebook.csv")} == {
        "erin": "import error",
        "grace": "timeout",
    }
