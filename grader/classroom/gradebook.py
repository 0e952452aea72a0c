"""``iolab gradebook SUBMISSIONS_DIR``: grade a class, one submission per process, in parallel.

For each submission: a private temporary folder (a copy of its labs, HOME, TMPDIR, a dataset
folder that links to the shared cache), a worker process under the limits of ``limits.py`` (as
its own user when run as root), and a watchdog here that stops it at the wall clock, at too
many processes or at a runaway log. When it ends, however it ends, every process it left is
killed, its rows are composed, and its files are written at once (row.json, results, feedback,
the refreshed gradebook.csv): an interrupted run resumes from there (``--resume``).

Before the class, the reference solution is graded the same way (unless ``--no-reference``):
it must score full marks under the same limits (else the limits or the machine are the
problem, not the students), it warms the dataset cache every submission then reads, and it
says what each project and milestone is worth, so a missing project still has its maximum.

Output folder::

    gradebook.csv  summary.md  plots/  feedback/<student>.md|.html
    submissions/<student>/row.json  (rows, fingerprint, settings)  results-<project>.json
    gradebook.json  (settings, shard, limits)  reference.json
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

from .. import course
from ..data.cache import data_dir
from ..outcomes import Result
from . import feedback, summary
from .limits import TOKEN_ENV, UID_BASE, Census, Identity, Limits, Members, UidClaim, identity_for, preexec
from .rows import FINE, INVALID, KILLED, TIMEOUT, ProjectMax, Row, Verdict, compose, passed_all, read_json, worth_of
from .submissions import InvalidSubmission, Submission, discover, fingerprint, materialize
from .worker import Job

REFERENCE = "(reference)"
TICK = 0.1  # seconds between looks at the running submissions
CENSUS_EVERY = 0.3  # seconds between counts of their processes (a scan of every process)
LOG_CAP_MB = 16  # the worker's own log: the runner's, not the learner's output


class GradebookError(Exception):
    """The batch cannot run (a usage or infrastructure problem): exit code 2."""


@dataclass
class Settings:
    submissions: Path
    out: Path
    projects: list[str]
    scale: str = "standard"
    jobs: int = 1
    extra_tests: list[Path] = field(default_factory=list)
    show_hidden: bool = False
    resume: bool = False
    force: bool = False
    shard: tuple[int, int] | None = None
    limits: Limits | None = None
    same_user: bool = False
    uid_base: int = UID_BASE
    reference: bool = True
    keep_work: bool = False
    python: str | None = None  # the interpreter submissions run with (default: this one, if they can)
    worth: dict[str, ProjectMax] | None = None  # known already (Gradescope: measured at image build)

    def key(self) -> str:
        """What a stored row must have been graded with to be reused by ``--resume``."""
        doc = {
            "projects": sorted(self.projects),
            "scale": self.scale,
            "hidden": _tree_hash(self.extra_tests),
            "test_timeout": self.limits.test_timeout if self.limits else None,
        }
        return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16]


@dataclass
class Outcome:
    """What one finished submission produced."""

    student: str
    rows: list[Row]
    seconds: float


# ---- the batch ----------------------------------------------------------------------------------


def grade_class(settings: Settings, say: Callable[[str], None] = print, show_bar: bool = False) -> list[Row]:
    """Grade every submission; returns all rows (the stored ones too, with ``--resume``).

    SIGTERM (a cancelled CI job, a ``kill``) stops the batch like Ctrl-C: the running submissions
    are killed, what finished is kept for ``--resume``.
    """
    with _terminate_as_interrupt():
        return _grade_class(settings, say, show_bar)


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _grade_class(settings: Settings, say: Callable[[str], None], show_bar: bool) -> list[Row]:
    limits = settings.limits or Limits.defaults(settings.scale, len(settings.projects))
    settings.limits = limits
    subs = discover(settings.submissions)
    if settings.shard:
        k, n = settings.shard
        subs = [s for i, s in enumerate(subs) if i % n == k - 1]
    _prepare_out(settings)
    staging = Path(tempfile.mkdtemp(prefix="iolab-gradebook-"))
    os.chmod(staging, 0o711)  # the submissions' users may enter their own folders, not list others
    shared = Path(tempfile.mkdtemp(prefix="iolab-hidden-"))
    os.chmod(shared, 0o755)  # pytest lists the folders above the tests it collects
    batch = None
    try:
        hidden = _stage_hidden(settings.extra_tests, shared)
        mpl = _warm_matplotlib(staging)
        batch = _Batch(settings, limits, staging, hidden, mpl, say)
        worth = batch.reference_worth()
        stored = _stored_rows(settings.out, settings.key()) if settings.resume else {}
        todo, done_rows = [], []
        for sub in subs:
            mine = stored.get(sub.student)
            if mine and mine["fingerprint"] == fingerprint(sub):
                done_rows += [Row.from_json(r) for r in mine["rows"]]
            else:
                todo.append(sub)
        if stored:
            say(f"resuming: {len(subs) - len(todo)} of {len(subs)} submissions already graded")
        _write_meta(settings, limits, len(subs))
        new_rows = batch.run(todo, worth, show_bar)
    finally:
        if batch is not None and batch.claim is not None:
            batch.claim.release()
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(shared, ignore_errors=True)
    rows = done_rows + new_rows
    finish_outputs(settings.out, _all_rows(settings.out), _notes(settings, limits))
    return rows


def finish_outputs(out: Path, rows: list[Row], notes: Sequence[str] = ()) -> None:
    summary.write_csv(rows, out / "gradebook.csv")
    summary.write_summary(rows, out / "summary.md", notes)
    summary.write_plots(rows, out / "plots")


class _Batch:
    def __init__(
        self, settings: Settings, limits: Limits, staging: Path, hidden: list[str], mpl: Path | None, say: Callable
    ) -> None:
        self.settings, self.limits, self.staging, self.hidden, self.mpl, self.say = (
            settings,
            limits,
            staging,
            hidden,
            mpl,
            say,
        )
        self.claim: UidClaim | None = None
        self.identities: list[Identity | None] = [None] * settings.jobs
        if identity_for(0, settings.uid_base, settings.same_user) is not None:
            try:
                self.claim = UidClaim(settings.jobs, settings.uid_base, say)
            except LookupError as exc:
                raise GradebookError(str(exc)) from None
            self.identities = list(self.claim.identities)
        self.python, self.site = choose_python(self.identities[0], settings.python)
        if self.python != sys.executable:
            say(f"submissions run with {self.python} (this environment's packages on its path)")
        self.count = 0

    # -- the reference --

    def reference_worth(self) -> dict[str, ProjectMax]:
        """Grade the reference under the same limits; what each project is worth."""
        if self.settings.worth is not None:
            return self.settings.worth
        stored = read_json(self.settings.out / "reference.json")
        if stored.get("key") == self.settings.key():
            return {p: ProjectMax(**w) for p, w in stored["worth"].items()}
        if not self.settings.reference:
            return {}
        if not (course.SOLUTIONS / "__init__.py").exists():
            self.say("no solutions/ in this copy: skipping the reference run (missing rows get no maximum)")
            return {}
        self.say(f"grading the reference solution first ({', '.join(self.settings.projects)}, {self.settings.scale})")
        started = time.monotonic()
        job = self._start(Submission(REFERENCE, course.SOLUTIONS), slot=None, shared_data=True)
        if isinstance(job, Outcome):  # cannot happen for the course's own folder, unless it is broken
            raise GradebookError(f"the reference could not be prepared: {job.rows[0].reason}")
        while job.proc.poll() is None:
            job.check(Census(want_tokens=True))
            time.sleep(CENSUS_EVERY)
        job.reap()
        worth, problems = {}, []
        for project in self.settings.projects:
            row, results = compose(REFERENCE, project, job.out / project, job.verdict, None)
            if not passed_all(results) or row.status not in FINE:
                wrong = [
                    f"{r.nodeid}: {r.outcome}: {r.message[:200]}"
                    for r in results
                    if r.outcome not in ("passed", "skipped")
                ]
                problems.append(
                    f"{project}: {row.status} {row.reason}".strip() + "".join(f"\n  {w}" for w in wrong[:8])
                )
            worth[project] = worth_of(results)
        job.cleanup()
        if problems:
            raise GradebookError(
                "the reference solution does not pass under these limits, so no student could:\n"
                + "\n".join(problems)
                + "\n(raise the limits, e.g. --timeout or --test-timeout, or check the machine with `iolab doctor`)"
            )
        seconds = time.monotonic() - started
        self.say(f"reference: full marks in {seconds:.1f}s")
        _atomic_json(
            self.settings.out / "reference.json",
            {
                "key": self.settings.key(),
                "seconds": round(seconds, 1),
                "worth": {p: asdict(w) for p, w in worth.items()},
            },
        )
        return worth

    # -- the class --

    def run(self, todo: list[Submission], worth: dict[str, ProjectMax], show_bar: bool) -> list[Row]:
        rows: list[Row] = []
        pending = list(todo)
        running: dict[int, _Running] = {}  # slot -> job
        free = list(range(self.settings.jobs))
        progress = _Progress(len(todo), show_bar, self.say)
        last_census = 0.0
        try:
            while pending or running:
                while pending and free:
                    slot = free.pop(0)
                    sub = pending.pop(0)
                    started = self._start(sub, slot)
                    if isinstance(started, Outcome):
                        rows += self._store(started, {}, worth, progress, sub)
                        free.append(slot)
                    else:
                        running[slot] = started
                if time.monotonic() - last_census >= CENSUS_EVERY and running:
                    census = Census(want_tokens=any(j.identity is None for j in running.values()))
                    last_census = time.monotonic()
                else:
                    census = None
                for slot, job in list(running.items()):
                    if job.proc.poll() is None:
                        job.check(census)
                        continue
                    job.reap()
                    outcome, results = job.outcome(self.settings.projects, worth)
                    rows += self._store(outcome, results, worth, progress, job.sub)
                    job.cleanup(keep=self.settings.keep_work)
                    del running[slot]
                    free.append(slot)
                progress.refresh([j.sub.student for j in running.values()])
                time.sleep(TICK)
        except BaseException:
            for job in running.values():
                job.stop(Verdict(KILLED, "the gradebook was interrupted"))
                job.cleanup(keep=self.settings.keep_work)
            raise
        finally:
            progress.close()
        return rows

    def _start(self, sub: Submission, slot: int | None, shared_data: bool = False) -> _Running | Outcome:
        self.count += 1
        identity = self.identities[slot] if slot is not None else None
        if identity is not None and not Members(identity, "").kill_all():  # the slot's last submission left them
            raise GradebookError(f"processes of uid {identity.uid} survive SIGKILL (stuck in the kernel?)")
        work = self.staging / f"{self.count:04d}-{sub.student}"
        try:
            code = materialize(sub, work / "code")
        except (InvalidSubmission, OSError) as exc:
            rows = [Row(sub.student, p, 0.0, 0.0, INVALID, reason=str(exc)) for p in self.settings.projects]
            shutil.rmtree(work, ignore_errors=True)
            return Outcome(sub.student, rows, 0.0)
        for name in ("out", "home", "tmp", "scratch", "data"):
            (work / name).mkdir(parents=True, exist_ok=True)
        data = data_dir() if shared_data else _link_datasets(work / "data")
        if self.mpl is not None:
            shutil.copytree(self.mpl, work / "home" / ".config" / "matplotlib", dirs_exist_ok=True)
        job = Job(
            code=str(code),
            out=str(work / "out"),
            projects=list(self.settings.projects),
            scale=self.settings.scale,
            extra_tests=self.hidden,
            import_timeout=self.limits.import_timeout,
            scratch=str(work / "scratch"),
        )
        job.save(work / "job.json")
        if identity is not None:
            _chown_tree(work, identity)
        token = uuid.uuid4().hex
        env = _environment(work, data, token, self.limits, self.site)
        log = open(work / "worker.log", "wb")  # noqa: SIM115 (closed in _Running.reap)
        extra: dict[str, Any] = {}
        if identity is not None:
            extra = {"user": identity.uid, "group": identity.gid, "extra_groups": []}
        proc = subprocess.Popen(
            [self.python, "-m", "grader.classroom.worker", str(work / "job.json")],
            cwd=work / "scratch",
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
            preexec_fn=preexec(self.limits, identity),  # noqa: PLW1509 (the gradebook starts no threads)
            **extra,
        )
        return _Running(sub, identity, Members(identity, token), proc, work, time.monotonic(), log, self.limits)

    def _store(
        self,
        outcome: Outcome,
        results: dict[str, list[Result]],
        worth: dict[str, ProjectMax],
        progress: _Progress,
        sub: Submission | None = None,
    ) -> list[Row]:
        for row in outcome.rows:
            if not row.max_score and row.project in worth:
                row.max_score = worth[row.project].max_score
                row.milestone_max = dict(worth[row.project].milestone_max)
                row.milestones = {k: row.milestones.get(k, 0.0) for k in row.milestone_max}
        store_submission(
            self.settings.out,
            outcome,
            results,
            self.settings.key(),
            fingerprint(sub) if sub else "",
            self.settings.show_hidden,
        )
        summary.write_csv(_all_rows(self.settings.out), self.settings.out / "gradebook.csv")
        progress.done(outcome)
        return outcome.rows


def store_submission(
    out: Path, outcome: Outcome, results: dict[str, list[Result]], key: str, print_: str, show_hidden: bool
) -> None:
    """Write one submission's files (row.json last: it is what ``--resume`` trusts)."""
    folder = out / "submissions" / outcome.student
    folder.mkdir(parents=True, exist_ok=True)
    for project, found in results.items():
        _atomic_json(folder / f"results-{project}.json", [r.to_json() for r in found])
    feedback.write(outcome.student, outcome.rows, results, out / "feedback", show_hidden)
    _atomic_json(
        folder / "row.json",
        {
            "student": outcome.student,
            "fingerprint": print_,
            "key": key,
            "seconds": round(outcome.seconds, 1),
            "finished_at": time.time(),
            "rows": [r.to_json() for r in outcome.rows],
        },
    )


# ---- one running submission ---------------------------------------------------------------------


class _Running:
    def __init__(
        self,
        sub: Submission,
        identity: Identity | None,
        members: Members,
        proc: subprocess.Popen[bytes],
        work: Path,
        started: float,
        log: IO[bytes],
        limits: Limits,
    ) -> None:
        self.sub, self.identity, self.members, self.proc, self.work = sub, identity, members, proc, work
        self.started, self.log, self.limits = started, log, limits
        self.verdict: Verdict | None = None
        self.seconds = 0.0

    @property
    def out(self) -> Path:
        return self.work / "out"

    def check(self, census: Census | None) -> None:
        """Stop the submission if it broke a limit the kernel does not enforce."""
        elapsed = time.monotonic() - self.started
        if elapsed > self.limits.wall:
            self.stop(Verdict(TIMEOUT, f"stopped at the wall-clock limit of {self.limits.wall:.0f}s"))
            return
        if census is not None:
            count = len(self.members.pids(census))
            if count > self.limits.max_procs:
                self.stop(
                    Verdict(KILLED, f"{count} processes at once, more than {self.limits.max_procs} (a fork storm?)")
                )
                return
        with contextlib.suppress(OSError):
            if os.fstat(self.log.fileno()).st_size > LOG_CAP_MB << 20:
                self.stop(Verdict(KILLED, f"the grading log grew past {LOG_CAP_MB} MB"))

    def stop(self, verdict: Verdict) -> None:
        if self.verdict is None:
            self.verdict = verdict
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.members.kill_all()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)

    def reap(self) -> None:
        """After the worker ended: kill what it left behind (a server, a sleeping child)."""
        self.seconds = time.monotonic() - self.started
        self.members.kill_all()
        self.proc.wait()
        self.log.close()

    def outcome(self, projects: Sequence[str], worth: dict[str, ProjectMax]) -> tuple[Outcome, dict[str, list[Result]]]:
        rows: list[Row] = []
        results: dict[str, list[Result]] = {}
        stopped = False
        for project in projects:
            folder = self.out / project
            row, found = compose(self.sub.student, project, folder, self.verdict, worth.get(project), stopped)
            if self.verdict and not (folder / "done.json").exists():
                if not stopped:  # the project it was stopped in: until the end
                    row.duration = round(max(0.0, self.seconds - sum(r.duration for r in rows)), 1)
                stopped = True  # the projects after it never started
            if self.verdict is None and self.proc.returncode != 0 and not (folder / "done.json").exists():
                row.status, row.reason = "error", _worker_failure(self.work / "worker.log", self.proc.returncode)
            rows.append(row)
            results[project] = found
        return Outcome(self.sub.student, rows, self.seconds), results

    def cleanup(self, keep: bool = False) -> None:
        if not self.log.closed:
            self.log.close()
        if not keep:
            shutil.rmtree(self.work, ignore_errors=True)


def _worker_failure(log: Path, code: int | None) -> str:
    from ..runner import died_how

    try:
        tail = log.read_bytes()[-2000:].decode("utf-8", "replace").strip().splitlines()
    except OSError:
        tail = []
    last = tail[-1] if tail else ""
    return f"the grading process ended with {died_how(code or 0)}" + (f": {last[:300]}" if last else "")


# ---- progress on the terminal -------------------------------------------------------------------


class _Progress:
    """A bar with ETA on a terminal (redrawn by the loop, no thread), a line per submission."""

    def __init__(self, total: int, show_bar: bool, say: Callable[[str], None]) -> None:
        self.total, self.finished, self.say = total, 0, say
        self.bar = None
        if show_bar and total:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self.bar = Progress(
                TextColumn("[bold]grading"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                TextColumn("[dim]{task.fields[running]}"),
                console=Console(stderr=True),
                auto_refresh=False,
                transient=True,
            )
            self.task = self.bar.add_task("grading", total=total, running="")
            self.bar.start()

    def refresh(self, running: Sequence[str]) -> None:
        if self.bar is not None:
            self.bar.update(self.task, running=", ".join(running)[:60])
            self.bar.refresh()

    def done(self, outcome: Outcome) -> None:
        self.finished += 1
        parts = ", ".join(f"{r.project} {r.score:g}/{r.max_score:g} {r.status}" for r in outcome.rows)
        count = f"[{self.finished:>{len(str(self.total))}}/{self.total}]"
        line = f"{count} {outcome.student}: {parts} ({outcome.seconds:.1f}s)"
        if self.bar is not None:
            self.bar.advance(self.task)
            self.bar.console.print(line, highlight=False, markup=False)
        else:
            self.say(line)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


# ---- helpers ------------------------------------------------------------------------------------


def _environment(work: Path, data: Path, token: str, limits: Limits, site: Sequence[str] = ()) -> dict[str, str]:
    """A clean environment: nothing of the instructor's (tokens, keys) reaches the code."""
    env = {
        k: os.environ[k] for k in ("PATH", "LANG", "LC_ALL", "TZ", "IOLAB_REQUIRE", "IOLAB_PG_DSN") if k in os.environ
    }
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    home = work / "home"
    env.update(
        {
            "PYTHONPATH": os.pathsep.join([str(course.ROOT), *site]),
            "PYTHONDONTWRITEBYTECODE": "1",
            "HOME": str(home),
            "USER": "student",
            "LOGNAME": "student",
            "TMPDIR": str(work / "tmp"),
            "XDG_CACHE_HOME": str(home / ".cache"),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_STATE_HOME": str(home / ".local" / "state"),
            "MPLBACKEND": "Agg",
            "IOLAB_DATA_DIR": str(data),
            "IOLAB_RECORD": "0",
            TOKEN_ENV: token,
        }
    )
    if limits.test_timeout:
        env["PYTEST_TIMEOUT"] = str(limits.test_timeout)
    return env


def _link_datasets(folder: Path) -> Path:
    """The submission's own dataset folder: links to everything in the shared cache (read-only
    to it as another user), and room to generate what is not there yet."""
    shared = data_dir()
    if shared.is_dir():
        for entry in shared.iterdir():
            if entry.is_file() and not entry.name.startswith("."):
                (folder / entry.name).symlink_to(entry)
    return folder


def _warm_matplotlib(staging: Path) -> Path | None:
    """Build matplotlib's font cache once; every submission gets a copy (each would spend a
    second or two building its own in its fresh HOME)."""
    folder = staging / "mplconfig"
    env = dict(os.environ, MPLCONFIGDIR=str(folder), MPLBACKEND="Agg")
    done = subprocess.run(
        [sys.executable, "-c", "import matplotlib.font_manager"], env=env, capture_output=True, check=False, timeout=300
    )
    return folder if done.returncode == 0 and folder.is_dir() else None


def _stage_hidden(extra: Sequence[Path], staging: Path) -> list[str]:
    """Copies of the hidden tests that the submissions' users can read and cannot change."""
    staged = []
    for i, folder in enumerate(extra):
        if not folder.is_dir():
            raise GradebookError(f"--extra-tests {folder}: no such folder")
        target = staging / f"hidden-{i}"
        shutil.copytree(folder, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        for path in [target, *target.rglob("*")]:
            os.chmod(path, 0o755 if path.is_dir() else 0o644)
        staged.append(str(target))
    return staged


def _chown_tree(root: Path, identity: Identity) -> None:
    for folder, dirs, files in os.walk(root):
        os.lchown(folder, identity.uid, identity.gid)
        for name in dirs + files:
            os.lchown(os.path.join(folder, name), identity.uid, identity.gid)
    os.chmod(root, 0o700)


def choose_python(identity: Identity | None, explicit: str | None = None) -> tuple[str, list[str]]:
    """The interpreter the submissions run with, and what to add to its path.

    As root, submissions run as other users, who must be able to run the interpreter: one kept
    in root's home (pyenv, conda) is out of their reach. Then the same Python version from the
    system's folders is used, with this environment's packages on its path (the same minor
    version shares one ABI).
    """
    wanted = f"python{sys.version_info.major}.{sys.version_info.minor}"
    candidates = [explicit] if explicit else [sys.executable]
    if not explicit and identity is not None:
        for folder in ("/usr/local/bin", "/usr/bin", "/bin"):
            found = shutil.which(wanted, path=folder)
            if found and found not in candidates:
                candidates.append(found)
    tried = []
    for python in candidates:
        site = [] if python == sys.executable else _site_packages()
        problem = _probe(python, site, identity)
        if problem is None:
            return python, site
        tried.append(f"{python}: {problem}")
    who = f"uid {identity.uid}" if identity else "this user"
    raise GradebookError(
        f"no Python that {who} can run the grader with:\n  " + "\n  ".join(tried) + "\n"
        f"as root, each submission runs as an unprivileged user: install {wanted} where all users can read "
        "it (and the grader's packages), pass --python, or pass --same-user (weaker isolation)"
    )


def _site_packages() -> list[str]:
    import site

    return [p for p in site.getsitepackages() if Path(p).is_dir()]


def _probe(python: str, site: Sequence[str], identity: Identity | None) -> str | None:
    """None if ``python`` runs the grader as ``identity``, else what went wrong."""
    check = (
        f"import sys; assert sys.version_info[:2] == {tuple(sys.version_info[:2])}, sys.version; "
        "import grader.classroom.worker, grader.plugin, pytest, psutil, matplotlib"
    )
    extra: dict[str, Any] = {}
    if identity is not None:
        extra = {"user": identity.uid, "group": identity.gid, "extra_groups": []}
    try:
        probe = subprocess.run(
            [python, "-c", check],
            env={"PYTHONPATH": os.pathsep.join([str(course.ROOT), *site]), "PATH": os.environ.get("PATH", "/usr/bin")},
            cwd="/",
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
            **extra,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return str(exc)
    if probe.returncode != 0:
        lines = probe.stderr.strip().splitlines()
        return lines[-1] if lines else f"exit code {probe.returncode}"
    return None


def _prepare_out(settings: Settings) -> None:
    out = settings.out
    existing = out / "submissions"
    if existing.is_dir() and any(existing.iterdir()) and not settings.resume:
        if not settings.force:
            raise GradebookError(f"{out} already holds a gradebook: --resume continues it, --force starts it again")
        for name in ("submissions", "feedback", "plots"):
            shutil.rmtree(out / name, ignore_errors=True)
        for name in ("gradebook.csv", "summary.md", "gradebook.json", "reference.json"):
            (out / name).unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)


def _write_meta(settings: Settings, limits: Limits, count: int) -> None:
    _atomic_json(
        settings.out / "gradebook.json",
        {
            "submissions_folder": str(settings.submissions.resolve()),
            "projects": settings.projects,
            "scale": settings.scale,
            "shard": list(settings.shard) if settings.shard else None,
            "submissions_in_shard": count,
            "key": settings.key(),
            "hidden_tests": [str(p) for p in settings.extra_tests],
            "limits": limits.to_json(),
            "isolation": "a user per job slot"
            if identity_for(0, settings.uid_base, settings.same_user)
            else "same user",
        },
    )


def _notes(settings: Settings, limits: Limits) -> list[str]:
    notes = [f"scale {settings.scale}, projects {', '.join(settings.projects)}", f"limits: {limits.describe()}"]
    if settings.extra_tests:
        notes.append(f"hidden tests from {', '.join(map(str, settings.extra_tests))}")
    if settings.shard:
        notes.append(f"shard {settings.shard[0]}/{settings.shard[1]} (merge shards with `iolab gradebook merge`)")
    return notes


def _stored_rows(out: Path, key: str) -> dict[str, dict]:
    found = {}
    for path in sorted((out / "submissions").glob("*/row.json")):
        doc = read_json(path)
        if doc.get("key") == key and "rows" in doc:
            found[doc["student"]] = doc
    return found


def _all_rows(out: Path) -> list[Row]:
    rows = []
    for path in sorted((out / "submissions").glob("*/row.json")):
        rows += [Row.from_json(r) for r in read_json(path).get("rows", [])]
    return rows


def load_results(out: Path, student: str) -> dict[str, list[Result]]:
    found = {}
    for path in sorted((out / "submissions" / student).glob("results-*.json")):
        found[path.stem.removeprefix("results-")] = [Result.from_json(r) for r in json.loads(path.read_text())]
    return found


def _tree_hash(folders: Sequence[Path]) -> str:
    digest = hashlib.sha256()
    for folder in folders:
        for path in sorted(Path(folder).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def _atomic_json(path: Path, doc: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temp.write_text(json.dumps(doc, indent=1))
    os.replace(temp, path)


# ---- merging shards -----------------------------------------------------------------------------


def merge(folders: Sequence[Path], out: Path, say: Callable[[str], None] = print) -> list[Row]:
    """Join the output folders of ``--shard K/N`` runs into one gradebook in ``out``."""
    metas = []
    for folder in folders:
        meta = read_json(folder / "gradebook.json")
        if not meta:
            raise GradebookError(f"{folder}: not a gradebook folder (no gradebook.json)")
        metas.append(meta)
    keys = {m["key"] for m in metas}
    if len(keys) > 1:
        raise GradebookError("these gradebooks were graded with different projects, scale or hidden tests")
    shards = sorted(tuple(m["shard"]) for m in metas if m.get("shard"))
    if shards:
        total = shards[0][1]
        missing = sorted(set(range(1, total + 1)) - {k for k, _ in shards})
        if missing:
            say(f"warning: shard(s) {', '.join(f'{k}/{total}' for k in missing)} not among the folders merged")
    seen: dict[str, Path] = {}
    out.mkdir(parents=True, exist_ok=True)
    for folder in folders:
        for row_file in sorted((folder / "submissions").glob("*/row.json")):
            student = row_file.parent.name
            if student in seen:
                raise GradebookError(f"{student} was graded in both {seen[student]} and {folder}")
            seen[student] = folder
            shutil.copytree(row_file.parent, out / "submissions" / student, dirs_exist_ok=True)
            for suffix in (".md", ".html"):
                page = folder / "feedback" / f"{student}{suffix}"
                if page.exists():
                    (out / "feedback").mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(page, out / "feedback" / page.name)
    meta = dict(metas[0], shard=None, submissions_in_shard=len(seen), merged_from=[str(f) for f in folders])
    _atomic_json(out / "gradebook.json", meta)
    reference = folders[0] / "reference.json"
    if reference.exists():
        shutil.copyfile(reference, out / "reference.json")
    rows = _all_rows(out)
    finish_outputs(out, rows, [f"merged from {len(folders)} folders: {', '.join(map(str, folders))}"])
    return rows
