"""The ``iolab`` command."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from . import course
from .impl import ImplError
from .reports.gradescope import VISIBILITIES

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
EXIT_CODES = """exit codes (for CI):
  0  every graded test passed (gradebook: every submission was graded)
  1  some tests failed or are not started (gradebook: some submissions ended with a problem)
  2  usage or infrastructure error: a bad option, a missing file, a suite that could not run
  130  interrupted (Ctrl-C)"""
out = Console()
err = Console(stderr=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:2] == ["gradebook", "merge"]:  # `iolab gradebook merge ...` next to `iolab gradebook DIR`
        argv = ["gradebook-merge", *argv[2:]]
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        err.print("[yellow]iolab: interrupted[/]")
        return 130
    except BrokenPipeError:  # `iolab ... | head`: the reader is gone, and that is fine
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except (LookupError, ValueError, ImplError) as exc:
        err.print(f"[red]iolab:[/] {exc}", highlight=False)
        return EXIT_USAGE


# ---- check / grade ------------------------------------------------------------------------------


def cmd_check(args: argparse.Namespace) -> int:
    from .reports import terminal
    from .runner import InfrastructureError, RunOptions, run
    from .state import maybe_record

    options = RunOptions(
        [args.project], impl=args.impl, scale=args.scale, milestone=args.milestone, keyword=args.k, jobs=args.jobs
    )
    try:
        result = _with_progress(lambda cb: run(options, cb), f"checking {args.project}")
    except InfrastructureError as exc:
        err.print(f"[red]iolab: the checks could not run[/]\n{exc}", highlight=False)
        return EXIT_USAGE
    if not result.results:
        err.print("[yellow]no tests matched[/] (is the milestone number right?)")
        return EXIT_USAGE
    maybe_record(result, complete=args.k is None)
    terminal.show(result, out, first_failures=3)
    return EXIT_OK if result.all_passed else EXIT_FAIL


def cmd_grade(args: argparse.Namespace) -> int:
    from .reports import FORMATS, classroom, parse_formats, terminal, write
    from .runner import InfrastructureError, RunOptions, run
    from .state import maybe_record

    formats = parse_formats(args.format) if args.format != "all" else list(FORMATS)
    projects = args.projects or [p.name for p in course.available_projects()]
    for name in projects:
        course.project(name)
    outdir = Path(args.out) if args.out else None
    options = RunOptions(projects, impl=args.impl, scale=args.scale, extra_tests=args.extra_tests, out=outdir)
    try:
        result = _with_progress(lambda cb: run(options, cb), "grading " + ", ".join(projects))
    except InfrastructureError as exc:
        err.print(f"[red]iolab: grading could not run[/]\n{exc}", highlight=False)
        return EXIT_USAGE
    maybe_record(result)
    if "terminal" in formats:
        terminal.show(result, out, show_hidden=args.show_hidden)
    files = write(result, formats, outdir or result.out, args.show_hidden, args.hidden_visibility)
    for path in files:
        err.print(f"wrote {path}", highlight=False)
    if "classroom" in formats:
        print(f"::notice title=Autograding complete::{classroom.points_line(result)}")
        print(classroom.points_line(result))
    return EXIT_OK if result.all_passed else EXIT_FAIL


def _with_progress(job, label: str):  # type: ignore[no-untyped-def]
    """Run ``job(on_event)`` with a live bar on stderr (tests done / collected, the one running)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("[dim]{task.fields[current]}"),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )
    task = progress.add_task(label, total=None, current="")

    def on_event(event: dict) -> None:
        kind = event.get("event")
        if kind == "collected":
            progress.update(task, total=(progress.tasks[0].total or 0) + event["count"])
        elif kind == "start":
            progress.update(task, current=event["nodeid"].split("::")[-1][:50])
        elif kind == "result":
            progress.advance(task)

    with progress:
        return job(on_event)


# ---- progress -----------------------------------------------------------------------------------


def cmd_progress(args: argparse.Namespace) -> int:
    from . import state
    from .progress import course_progress, render

    if args.reset:
        existed = state.reset()
        print(f"{'cleared' if existed else 'nothing to clear in'} {state.state_file()}")
        return EXIT_OK
    rows = _with_progress(
        lambda cb: course_progress(args.impl, cb, on_run=state.maybe_record), "checking every project (quick)"
    )
    out.print(render(rows, state.load()))
    err.print(f"[dim]your record: {state.state_file()} (iolab progress --reset clears it)[/]", highlight=False)
    return EXIT_OK


# ---- classroom ----------------------------------------------------------------------------------


def cmd_gradebook(args: argparse.Namespace) -> int:
    from .classroom.gradebook import GradebookError, Settings, grade_class
    from .classroom.limits import Limits
    from .classroom.rows import FINE

    projects = args.project or [p.name for p in course.available_projects()]
    for name in projects:
        if not course.project(name).available:
            raise LookupError(f"project {name!r} has no grading suite yet")
    limits = Limits.defaults(args.scale, len(projects))
    overrides = {
        "wall": args.timeout,
        "test_timeout": args.test_timeout,
        "cpu": args.cpu,
        "memory_mb": args.memory,
        "files": args.files,
        "output_mb": args.output_mb,
        "max_procs": args.max_procs,
        "import_timeout": args.import_timeout,
    }
    limits = Limits(**{**limits.to_json(), **{k: v for k, v in overrides.items() if v is not None}})
    settings = Settings(
        submissions=Path(args.submissions),
        out=Path(args.out),
        projects=projects,
        scale=args.scale,
        jobs=args.jobs or max(1, (os.cpu_count() or 2) // 2),
        extra_tests=[Path(p).resolve() for p in args.extra_tests],
        show_hidden=args.show_hidden,
        resume=args.resume,
        force=args.force,
        shard=_shard(args.shard) if args.shard else None,
        limits=limits,
        same_user=args.same_user,
        uid_base=args.uid_base,
        reference=not args.no_reference,
        keep_work=args.keep_work,
        python=args.python,
    )
    try:
        rows = grade_class(settings, say=_say, show_bar=err.is_terminal)
    except GradebookError as exc:
        err.print(f"[red]iolab gradebook:[/] {exc}", highlight=False)
        return EXIT_USAGE
    _gradebook_written(Path(args.out))
    return EXIT_OK if all(r.status in FINE for r in rows) else EXIT_FAIL


def cmd_gradebook_merge(args: argparse.Namespace) -> int:
    from .classroom.gradebook import GradebookError, merge
    from .classroom.rows import FINE

    try:
        rows = merge([Path(p) for p in args.folders], Path(args.out), say=_say)
    except GradebookError as exc:
        err.print(f"[red]iolab gradebook merge:[/] {exc}", highlight=False)
        return EXIT_USAGE
    _gradebook_written(Path(args.out))
    return EXIT_OK if all(r.status in FINE for r in rows) else EXIT_FAIL


def cmd_release(args: argparse.Namespace) -> int:
    from .classroom.release import BrokenCopyError, ReleaseError, release

    try:
        made = release(Path(args.out), extra_excludes=args.exclude, check=args.check)
    except ReleaseError as exc:
        err.print(f"[red]iolab release:[/] {exc}", highlight=False)
        return EXIT_FAIL if isinstance(exc, BrokenCopyError) else EXIT_USAGE
    left_out = sorted({e.split("/")[0] for e in made.excluded})
    print(f"{made.out}: {made.files} files, fresh labs and one commit; left out: {', '.join(left_out)}")
    if made.check is not None:
        counts = ", ".join(f"{n} {k}" for k, n in sorted(made.check["counts"].items()))
        print(f"its own quick check: {counts} ({made.check['seconds']:.0f}s)")
    return EXIT_OK


def cmd_gradescope_bundle(args: argparse.Namespace) -> int:
    from .classroom.bundle import build
    from .classroom.limits import Limits

    for name in args.projects:
        if not course.project(name).available:
            raise LookupError(f"project {name!r} has no grading suite yet")
    limits = Limits.defaults(args.scale, len(args.projects))
    if args.timeout:
        limits = Limits(**{**limits.to_json(), "wall": args.timeout})
    path = build(
        args.projects,
        Path(args.out),
        scale=args.scale,
        extra_tests=[Path(p) for p in args.extra_tests],
        hidden_visibility=args.hidden_visibility,
        show_hidden=args.show_hidden,
        limits=limits,
    )
    print(f"{path} ({path.stat().st_size / 1e6:.1f} MB): upload it as the assignment's autograder")
    print(f"set Gradescope's autograder timeout above {limits.wall:.0f}s (this bundle's wall clock)")
    return EXIT_OK


def _say(line: str) -> None:
    """A progress line on stderr, never wrapped (CI logs are read by tools too)."""
    err.print(line, highlight=False, markup=False, soft_wrap=True)


def _gradebook_written(folder: Path) -> None:
    for name in ("gradebook.csv", "summary.md", "feedback/", "plots/"):
        print(folder / name)


def _shard(text: str) -> tuple[int, int]:
    try:
        k, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise ValueError(f"--shard {text}: expected K/N, e.g. 2/4") from None
    if not 1 <= k <= n:
        raise ValueError(f"--shard {text}: K must be between 1 and N")
    return k, n


# ---- data ---------------------------------------------------------------------------------------


def cmd_data_make(args: argparse.Namespace) -> int:
    from .data import ensure, parse_size

    lines = parse_size(args.size, args.kind)
    found = ensure(args.kind, lines, args.seed, gzip=args.gzip, progress=True if err.is_terminal else None)
    truth = found.truth
    out.print(f"{found.path}  ({truth.bytes / 1e6:,.1f} MB, {truth.lines:,} lines, seed {args.seed})", highlight=False)
    out.print(f"{found.truth_path}  (ground truth)", highlight=False)
    return EXIT_OK


def cmd_data_list(args: argparse.Namespace) -> int:
    from rich.table import Table

    from .data import KINDS
    from .data.cache import data_dir

    kinds = Table(title="dataset kinds", title_justify="left")
    kinds.add_column("kind")
    kinds.add_column("what it holds")
    for name, kind in KINDS.items():
        kinds.add_row(name, kind[0])
    out.print(kinds)
    folder = data_dir()
    files = sorted(p for p in folder.glob("*") if p.is_file() and not p.name.startswith(".")) if folder.exists() else []
    cached = Table(title=f"cached in {folder}", title_justify="left")
    cached.add_column("file")
    cached.add_column("size", justify="right")
    for path in files:
        cached.add_row(path.name, f"{path.stat().st_size / 1e6:,.1f} MB")
    out.print(cached if files else f"nothing cached yet in {folder}")
    return EXIT_OK


# ---- demo / doctor / dev ------------------------------------------------------------------------


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo
    from .experiment import reference

    course.project(args.project)
    if reference() is None:
        err.print(
            "[red]iolab demo:[/] the demo runs the reference solution, which only the instructor's copy of the "
            "course has (this copy has no solutions/)",
            highlight=False,
            soft_wrap=True,  # one line, whatever the width
        )
        return EXIT_USAGE
    paths = run_demo(args.project, args.scale or "standard", Path(args.out) if args.out else course.REPORTS, err)
    for path in paths:
        print(path)
    return EXIT_OK


def cmd_doctor(args: argparse.Namespace) -> int:
    from .doctor import diagnose, render

    findings = diagnose()
    render(findings, out)
    return EXIT_OK if all(f.ok or f.optional for f in findings) else EXIT_FAIL


def cmd_dev_stubs(args: argparse.Namespace) -> int:
    from . import stubs

    if not course.SOLUTIONS.exists():
        err.print("[red]iolab dev stubs:[/] there is no solutions/ folder here (a student copy has none)")
        return EXIT_USAGE
    try:
        planned = stubs.plan(course.SOLUTIONS, course.LABS)
    except stubs.StubError as exc:
        err.print(f"[red]iolab dev stubs:[/] {exc}", highlight=False)
        return EXIT_USAGE
    if args.check:
        problems = stubs.drift(planned, course.LABS)
        for problem in problems:
            print(problem)
        if problems:
            print("labs/ is out of sync with solutions/: run `iolab dev stubs`", file=sys.stderr)
            return EXIT_FAIL
        print(f"labs/ is in sync with solutions/ ({len(planned.files)} files)")
        return EXIT_OK
    try:
        removed = stubs.write(planned, course.LABS, force=args.force)
    except stubs.StubError as exc:
        err.print(f"[red]iolab dev stubs:[/] {exc}", highlight=False)
        return EXIT_FAIL
    for rel in planned.changed:
        print(f"wrote labs/{rel}")
    for rel in removed:
        print(f"removed labs/{rel}")
    if not planned.changed and not removed:
        print("labs/ already up to date")
    return EXIT_OK


# ---- argument parsing ---------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="iolab",
        description="iolab: build reliable I/O systems, graded by stress tests.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    from .runner import CHECK_JOBS

    def impl_and_scale(p: argparse.ArgumentParser, default_scale: str | None) -> None:
        p.add_argument("--impl", help="code to test: labs (default), solutions, a directory, or a package name")
        p.add_argument("--scale", choices=("quick", "standard", "full"), default=default_scale, help="input sizes")

    p = sub.add_parser("check", help="feedback on your labs: first failures with hints (exit 0 when all pass)")
    p.add_argument("project")
    p.add_argument("--milestone", type=int, help="only this milestone's tests")
    p.add_argument("-k", help="only tests whose name matches this pytest -k expression")
    impl_and_scale(p, "quick")
    p.add_argument(
        "--jobs", type=int, default=CHECK_JOBS, help=f"test processes side by side (default {CHECK_JOBS}; 1: one)"
    )
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("grade", help="score projects and write reports")
    p.add_argument("projects", nargs="*", help="projects to grade (default: all that have suites)")
    impl_and_scale(p, None)
    p.add_argument("--out", help="directory for the reports (default: a temporary directory)")
    p.add_argument(
        "--format",
        default="terminal,json",
        help="comma list of terminal,json,junit,gradescope,classroom,markdown,plots (or 'all')",
    )
    p.add_argument("--extra-tests", action="append", default=[], metavar="DIR", help="hidden tests (DIR/<project>/)")
    p.add_argument("--show-hidden", action="store_true", help="show hidden tests' messages in student reports")
    p.add_argument(
        "--hidden-visibility",
        choices=VISIBILITIES,
        default="after_due_date",
        help="when Gradescope shows hidden tests to students (default after_due_date)",
    )
    p.set_defaults(func=cmd_grade)

    p = sub.add_parser("progress", help="every project and milestone: passed / failing / not started")
    p.add_argument("--impl", help="code to check (default labs)")
    p.add_argument("--reset", action="store_true", help="clear your record of attempts and first passes")
    p.set_defaults(func=cmd_progress)

    p = sub.add_parser(
        "gradebook",
        help="grade a folder of submissions: gradebook.csv, feedback per student, plots",
        description="Grade every submission (a checkout, a labs/ folder or a zip) in its own process, "
        "with limits, in parallel. `iolab gradebook merge OUT... --out DIR` joins --shard runs.",
    )
    p.add_argument("submissions", help="a folder with one entry per student (folder or .zip)")
    p.add_argument("--out", default="gradebook", help="output folder (default ./gradebook)")
    p.add_argument("--project", action="append", help="grade this project (repeatable; default: all with suites)")
    p.add_argument("--scale", choices=("quick", "standard", "full"), default="standard", help="default standard")
    p.add_argument("--jobs", type=int, help="submissions graded at once (default: half the CPUs)")
    p.add_argument("--extra-tests", action="append", default=[], metavar="DIR", help="hidden tests (DIR/<project>/)")
    p.add_argument("--show-hidden", action="store_true", help="show hidden tests' messages in the feedback")
    p.add_argument("--resume", action="store_true", help="keep the submissions already graded in --out")
    p.add_argument("--force", action="store_true", help="start again in an --out that holds a gradebook")
    p.add_argument("--shard", metavar="K/N", help="grade only the K-th of N parts of the class")
    limits = p.add_argument_group("limits per submission (defaults depend on --scale; see docs/classroom.md)")
    limits.add_argument("--timeout", type=float, metavar="S", help="wall clock for the whole submission")
    limits.add_argument("--test-timeout", type=int, metavar="S", help="per test (default: the scale's)")
    limits.add_argument("--import-timeout", type=float, metavar="S", help="for importing its modules (default 30)")
    limits.add_argument("--cpu", type=int, metavar="S", help="CPU seconds per process")
    limits.add_argument("--memory", type=int, metavar="MB", help="address space per process (default 4096)")
    limits.add_argument("--files", type=int, metavar="N", help="open files per process (default 1024)")
    limits.add_argument("--output-mb", type=int, metavar="MB", help="largest file a process may write")
    limits.add_argument("--max-procs", type=int, metavar="N", help="processes at once (default 128)")
    limits.add_argument("--same-user", action="store_true", help="as root: do not switch to a user per job slot")
    limits.add_argument("--uid-base", type=int, default=60600, help="as root: first uid of the job slots' users")
    p.add_argument("--no-reference", action="store_true", help="skip grading the reference first")
    p.add_argument("--keep-work", action="store_true", help="keep each submission's temporary folder (debugging)")
    p.add_argument("--python", help="the interpreter submissions run with (default: this one, if they can run it)")
    p.set_defaults(func=cmd_gradebook)

    p = sub.add_parser("release", help="make the student copy: no solutions, fresh labs, a fresh git history")
    p.add_argument("--out", required=True, help="a new (or empty) folder outside the course")
    p.add_argument("--exclude", action="append", default=[], metavar="PATH", help="leave this out too (repeatable)")
    p.add_argument("--check", action="store_true", help="run the copy's own quick grade: all 'not started'")
    p.set_defaults(func=cmd_release)

    p = sub.add_parser("gradescope-bundle", help="the Gradescope autograder zip (setup.sh + run_autograder)")
    p.add_argument("projects", nargs="+", help="projects the assignment grades")
    p.add_argument("--out", default="autograder.zip", help="the zip to write (default autograder.zip)")
    p.add_argument("--scale", choices=("quick", "standard", "full"), default="standard", help="default standard")
    p.add_argument("--extra-tests", action="append", default=[], metavar="DIR", help="hidden tests (DIR/<project>/)")
    p.add_argument("--show-hidden", action="store_true", help="show hidden tests' messages to students")
    p.add_argument("--hidden-visibility", choices=VISIBILITIES, default="after_due_date", help="Gradescope visibility")
    p.add_argument("--timeout", type=float, metavar="S", help="wall clock per submission (default: the scale's)")
    p.set_defaults(func=cmd_gradescope_bundle)

    p = sub.add_parser("gradebook-merge", description="join the output folders of `iolab gradebook --shard` runs")
    p.add_argument("folders", nargs="+", help="output folders of the shards")
    p.add_argument("--out", required=True, help="folder for the merged gradebook")
    p.set_defaults(func=cmd_gradebook_merge)

    data = sub.add_parser("data", help="generated datasets with exact ground truth").add_subparsers(
        dest="data_command", required=True, metavar="ACTION"
    )
    p = data.add_parser("make", help="generate (or find in the cache) a dataset")
    p.add_argument("kind", help="see `iolab data list`")
    p.add_argument("--size", default="100k", help="lines (250k, 1M) or bytes (200MB, 1GB)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--gzip", action="store_true", help="write it gzip-compressed")
    p.set_defaults(func=cmd_data_make)
    p = data.add_parser("list", help="dataset kinds and what is cached")
    p.set_defaults(func=cmd_data_list)

    p = sub.add_parser("demo", help="the reference next to a naive implementation, with plots")
    p.add_argument("project")
    p.add_argument("--scale", choices=("quick", "standard", "full"), help="input size (default standard)")
    p.add_argument("--out", help="where to save the plots (default reports/)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("doctor", help="check Python, packages, optional tools and disk space")
    p.set_defaults(func=cmd_doctor)

    dev = sub.add_parser("dev", help="course maintenance").add_subparsers(
        dest="dev_command", required=True, metavar="ACTION"
    )
    p = dev.add_parser("stubs", help="generate labs/ from solutions/")
    p.add_argument("--check", action="store_true", help="exit 1 if labs/ differs from what would be generated")
    p.add_argument("--force", action="store_true", help="overwrite lab files that were edited")
    p.set_defaults(func=cmd_dev_stubs)
    return parser


if __name__ == "__main__":
    sys.exit(main())
