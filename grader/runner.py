"""Run a suite in a pytest subprocess and collect its results as they are written.

The learner's latest code is what runs (a fresh interpreter each time); pytest's working
directory is a fresh temporary folder. If the test process dies (killed for memory, a crash in
C code, a hang past every timeout), the test that was running is recorded as an error, and
pytest starts again on the tests that have not run yet: one bad test never loses the others.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from . import impl as impl_mod
from . import scale as scale_mod
from .course import SUITES, project
from .outcomes import ERROR, NOT_STARTED, PASSED, SKIPPED, Result

MAX_RESTARTS = 25
# A learner's check runs its tests on two workers when it can: half the wait at the cost of one more
# interpreter. Grading stays one process, so throughput ratios are measured without a neighbour.
CHECK_JOBS = min(2, os.cpu_count() or 1)
GRACE = 60  # seconds beyond a test's own timeout before the runner gives up on the process


class InfrastructureError(Exception):
    """The suite could not run at all (collection error, bad option): not the learner's fault."""


@dataclass
class RunOptions:
    projects: Sequence[str]
    impl: str | None = None
    scale: str | None = None
    milestone: int | None = None
    extra_tests: Sequence[str] = ()
    keyword: str | None = None
    out: Path | None = None  # where results.jsonl and artifacts go (default: a temp dir)
    quiet: bool = True
    jobs: int = 1  # pytest-xdist workers (a check's feedback; grading keeps one process)


@dataclass
class Run:
    options: RunOptions
    root: impl_mod.Root
    scale: scale_mod.Scale
    results: list[Result] = field(default_factory=list)
    elapsed: float = 0.0
    out: Path = Path(".")
    restarts: int = 0

    def for_project(self, name: str) -> list[Result]:
        return [r for r in self.results if r.project == name]

    @property
    def projects(self) -> list[str]:
        seen: list[str] = []
        for r in self.results:
            if r.project not in seen:
                seen.append(r.project)
        return seen

    @property
    def score(self) -> float:
        return sum(r.score for r in self.results)

    @property
    def max_score(self) -> float:
        return sum(r.points for r in self.results if r.outcome != SKIPPED)

    @property
    def all_passed(self) -> bool:
        graded = [r for r in self.results if r.outcome != SKIPPED]
        return bool(graded) and all(r.outcome == PASSED for r in graded)


def run(options: RunOptions, on_event: Callable[[dict], None] | None = None) -> Run:
    """Run the selected suites; ``on_event`` sees each JSON event as it arrives (for live progress)."""
    root = impl_mod.resolve(options.impl)
    if not root.present:
        raise impl_mod.ImplError(f"--impl {root.label}: there is no {root.package}/ folder in this copy of the course")
    chosen = scale_mod.resolve(options.scale)
    paths: list[str] = []
    for name in options.projects:
        proj = project(name)
        if not proj.available:
            raise LookupError(f"project {name!r} has no grading suite yet")
        paths.append(str(proj.suite))
    extra_paths, _ = extra_layout(options)
    paths += extra_paths
    out = options.out or Path(tempfile.mkdtemp(prefix="iolab-"))
    out.mkdir(parents=True, exist_ok=True)
    session = _Session(options, root, chosen, paths, out, on_event)
    record = Run(options, root, chosen, out=out)
    started = time.monotonic()
    while True:
        code, crashed, stderr = session.one_pass()
        if not crashed:
            if session.collect_errors and not session.finished:
                raise InfrastructureError("pytest could not collect the suite:\n" + "\n".join(session.collect_errors))
            if code not in (0, 1, 5) and not session.finished:
                raise InfrastructureError(f"pytest could not run the suite (exit {code}):\n{stderr[-3000:]}")
            break
        for result in crashed:
            session.record(result)
        record.restarts += 1
        if record.restarts > MAX_RESTARTS:
            break
    record.results = [session.finished[n] for n in session.order]
    if options.jobs > 1:
        # Workers finish tests in any order: group them by project and file for the report.
        rank = {name: i for i, name in enumerate(options.projects)}
        record.results.sort(key=lambda r: (rank.get(r.project, len(rank)), r.nodeid.split("::")[0]))
    record.elapsed = time.monotonic() - started
    return record


def extra_layout(options: RunOptions) -> tuple[list[str], list[str]]:
    """Hidden tests: (folders to collect, entries to ignore) for ``--extra-tests DIR``.

    DIR holds one folder per project (``DIR/loglens/test_*.py``). DIR itself is collected, so the
    tests' ids read ``loglens/test_x.py::...`` like the public suite's; everything in DIR but the
    selected projects' folders (and a conftest.py) is ignored.
    """
    collect: list[str] = []
    ignore: list[str] = []
    for extra in options.extra_tests:
        base = Path(extra).resolve()
        if not base.is_dir():
            raise LookupError(f"--extra-tests {extra}: no such directory")
        entries = sorted(base.iterdir())
        if not any(e.is_dir() and e.name in options.projects for e in entries):
            continue
        collect.append(str(base))
        ignore += [str(e) for e in entries if e.name != "conftest.py" and e.name not in options.projects]
    return collect, ignore


def pytest_argv(
    options: RunOptions, root: impl_mod.Root, chosen: scale_mod.Scale, paths: Sequence[str], results: Path, out: Path
) -> list[str]:
    argv = [
        sys.executable,
        "-m",
        "pytest",
        # Only the plugins the suites use (autoload is off: nbval alone costs 1.5 s of imports).
        "-p",
        "pytest_timeout",
        "-p",
        "hypothesis.extra.pytestplugin",
        "-p",
        "grader.plugin",
        "-p",
        "no:cacheprovider",
        "-q",
        "--no-header",
        "--assert=plain",  # failure messages are written for learners; no rewritten diffs
        "-c",
        str(SUITES / "pytest.ini"),
        "--rootdir",
        str(SUITES),
        f"--impl={root.label}",
        f"--scale={chosen.name}",
        f"--results={results}",
        f"--artifacts={out / 'artifacts'}",
    ]
    if options.milestone is not None:
        argv.append(f"--milestone={options.milestone}")
    for extra in options.extra_tests:
        argv.append(f"--extra-tests={Path(extra).resolve()}")
    argv += [f"--ignore={entry}" for entry in extra_layout(options)[1]]
    if options.keyword:
        argv += ["-k", options.keyword]
    if options.jobs > 1:
        # worksteal, not loadfile: one file (StreamFoundry's CLI tests) can hold most of the work
        argv += ["-p", "xdist.plugin", f"--numprocesses={options.jobs}", "--dist=worksteal"]
    return argv + list(paths)


class _Session:
    """One grading run: pytest passes until every test has a result (restarting after a crash)."""

    def __init__(
        self,
        options: RunOptions,
        root: impl_mod.Root,
        chosen: scale_mod.Scale,
        paths: Sequence[str],
        out: Path,
        on_event: Callable[[dict], None] | None,
    ) -> None:
        self.options, self.root, self.scale, self.paths, self.out = options, root, chosen, paths, out
        self.on_event = on_event
        self.results_file = out / "results.jsonl"
        self.results_file.unlink(missing_ok=True)
        self.finished: dict[str, Result] = {}
        self.order: list[str] = []
        self.collect_errors: list[str] = []

    def record(self, result: Result) -> None:
        if result.nodeid not in self.finished:
            self.order.append(result.nodeid)
        self.finished[result.nodeid] = result

    def one_pass(self) -> tuple[int, list[Result], str]:
        """Run pytest on what has no result yet; (exit code, the tests a dying process left without a
        result, stderr)."""
        argv = pytest_argv(self.options, self.root, self.scale, self.paths, self.results_file, self.out)
        argv += [f"--deselect={nodeid}" for nodeid in self.finished]
        env = self.root.env()
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
        env.setdefault("MPLBACKEND", "Agg")
        with tempfile.TemporaryDirectory(prefix="iolab-work-") as work, tempfile.TemporaryFile() as err:
            env["TMPDIR"] = work
            proc = subprocess.Popen(
                argv, cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True
            )
            try:
                code, running = self._follow(proc)
            except BaseException:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                raise
            err.seek(0)
            stderr = err.read().decode("utf-8", "replace")
        # With workers, pytest itself survives a worker's death and goes on with the other tests.
        how = "its pytest-xdist worker died" if self.options.jobs > 1 and code in (0, 1) else died_how(code)
        crashed = []
        for started, since in running.values():  # the plugin's "start" event names the test and its project
            result = Result(
                nodeid=started["nodeid"],
                project=started["project"],
                name=started["name"],
                outcome=ERROR,
                message=f"the test process died while running this test ({how}) after {time.monotonic() - since:.0f}s",
                hidden=started["hidden"],
            )
            crashed.append(result)
            if self.on_event:
                self.on_event({"event": "result", **result.to_json()})
        return code, crashed, stderr

    def _follow(self, proc: subprocess.Popen[bytes]) -> tuple[int, dict[str, tuple[dict, float]]]:
        """Read events while pytest runs; kill it if nothing happens for longer than any test may take.
        Returns the exit code and the tests started but not finished (one per worker at most)."""
        offset = self.results_file.stat().st_size if self.results_file.exists() else 0
        running: dict[str, tuple[dict, float]] = {}
        last_progress = time.monotonic()
        while True:
            code = proc.poll()
            offset, events = _read_events(self.results_file, offset)
            for event in events:
                last_progress = time.monotonic()
                if event["event"] == "start":
                    running[event["nodeid"]] = (event, time.monotonic())
                elif event["event"] == "result":
                    self.record(Result.from_json(event))
                    running.pop(event["nodeid"], None)
                elif event["event"] == "collect-error":
                    said = f"{event['where']}: {event['message'][-3000:]}"
                    if said not in self.collect_errors:  # every xdist worker says it
                        self.collect_errors.append(said)
                if self.on_event:
                    self.on_event(event)
            if code is not None:
                return code, running
            if time.monotonic() - last_progress > self.scale.timeout + GRACE:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                return proc.returncode, running
            time.sleep(0.1)


# What a signal that ended the test process usually means (the resource limits send the last two).
SIGNAL_MEANING: dict[int, str] = {
    signal.SIGKILL: "out of memory, or stuck past every timeout",
    signal.SIGXFSZ: "a file grew past the file-size limit: a flood of output?",
    signal.SIGXCPU: "used up the CPU-time limit: an endless loop?",
}


def died_how(code: int) -> str:
    """``exit code 3`` or ``killed by SIGXFSZ (a file grew past the file-size limit: ...)``."""
    if code >= 0:
        return f"exit code {code}"
    try:
        name = signal.Signals(-code).name
    except ValueError:
        name = f"signal {-code}"
    meaning = SIGNAL_MEANING.get(-code)
    return f"killed by {name}" + (f" ({meaning})" if meaning else "")


def _read_events(path: Path, offset: int) -> tuple[int, list[dict]]:
    if not path.exists():
        return offset, []
    with path.open("rb") as f:
        f.seek(offset)
        data = f.read()
    end = data.rfind(b"\n") + 1  # a line still being written is read next time
    events = []
    for line in data[:end].splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue  # not ours (code under test that forked and wrote through a copy of our file)
        if isinstance(event, dict) and "event" in event:
            events.append(event)
    return offset + end, events


def summary_counts(results: Sequence[Result]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in results:
        counts[r.outcome] = counts.get(r.outcome, 0) + 1
    return counts


def all_not_started(results: Sequence[Result]) -> bool:
    graded = [r for r in results if r.outcome != SKIPPED]
    return bool(graded) and all(r.outcome == NOT_STARTED for r in graded)
