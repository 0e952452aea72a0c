"""Command line: ``python -m <root>.streamfoundry COMMAND [ARGS] [FILE ...] [options]``.

Every stage is a subcommand that reads NDJSON and writes NDJSON, so stages compose through
Unix pipes::

    streamfoundry filter 'type == "signup"' events.ndjson | streamfoundry to-csv > signups.csv

and ``run`` chains them in one process (no serialization between stages)::

    streamfoundry run events.ndjson --stage 'filter type == "signup"' --stage 'select id,ts' --to csv

stdout carries data only. Progress, warnings and the final counters go to stderr.
Exit codes: 0 done (bad records skipped or quarantined are not an error), 2 usage or a bad
expression, 65 a bad record under ``--on-error stop``, 66 an input that cannot be read,
130 interrupted (Ctrl-C), 141 the reader of our output went away (``| head``).
"""

from __future__ import annotations

import argparse
import gc
import os
import shlex
import sys
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import BinaryIO

from .enrich import TableLookup
from .expr import ExprError
from .parallel import Fallback, parallel_ok, run_parallel
from .records import MAX_LINE, open_input
from .runner import QUARANTINE, SKIP, STOP, Counters, Enrichment, Policy, Progress, StopOnBadRecord, run, run_enriched
from .sinks import CsvSink, NdjsonSink, Quarantine, Sink, SummarySink, open_output
from .stages import Dedupe, Explode, Filter, Pipeline, Rename, Sample, Select, SetField, Stage, Summarize

EXIT_OK, EXIT_USAGE, EXIT_DATAERR, EXIT_NOINPUT, EXIT_SOFTWARE = 0, 2, 65, 66, 70
EXIT_INTERRUPTED, EXIT_PIPE = 130, 141
PROG = "streamfoundry"


class UsageError(Exception):
    """Wrong arguments found after parsing (a bad stage spec, a bad expression): exit 2."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code (see the module docstring)."""
    parser = _parser()
    args = parser.parse_args(argv)
    # The records hold no reference cycles: the cyclic collector would only rescan them.
    gc.disable()
    try:
        return _command(args)
    except UsageError as exc:
        _say(str(exc))
        return EXIT_USAGE
    except KeyboardInterrupt:
        _quiet_stdout()  # a reader that stopped reading must not keep us waiting in the final flush
        _say("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _quiet_stdout()
        return EXIT_PIPE
    except NotImplementedError as exc:
        if str(exc).startswith("TODO("):
            _say(f"not written yet: {exc}")
            return EXIT_SOFTWARE
        raise


def _command(args: argparse.Namespace) -> int:
    stages, enrichment, after = _build(args)
    policy = _policy(args)
    inputs: list[tuple[str, BinaryIO]] = []
    for name in args.files or ["-"]:
        try:
            if name != "-" and os.path.isdir(name):
                raise IsADirectoryError(21, "is a directory")
            inputs.append((name, open_input(name)))
        except OSError as exc:
            _say(f"cannot read {_shown(name)}: {exc.strerror or exc}")
            return EXIT_NOINPUT
    counters = Counters()
    try:
        out = open_output(args.output, args.gzip)
    except OSError as exc:
        _say(f"cannot write {args.output!r}: {exc.strerror or exc}")
        return EXIT_USAGE
    sink = _sink(args, out, counters)
    progress = Progress(counters, args.progress_every) if args.progress else None
    to = _format(args)
    split = enrichment is None and parallel_ok([n for n, _ in inputs], stages, to, policy.mode, args.jobs)
    code = EXIT_OK
    try:
        if split:
            try:
                run_parallel(
                    inputs[0][0],
                    stages,
                    to,
                    args.columns,
                    out,
                    policy,
                    counters,
                    args.jobs,
                    progress,
                    args.max_line,
                    sink,
                )
            except Fallback:  # nothing was written yet: do it again in one process, with fresh stages
                counters = Counters()
                sink = _sink(args, out, counters)
                progress = Progress(counters, args.progress_every) if args.progress else None
                stages = _build(args)[0]
                run(inputs, Pipeline(stages), sink, policy, counters, progress, args.max_line)
        elif enrichment is None:
            run(inputs, Pipeline(stages), sink, policy, counters, progress, args.max_line)
        else:
            run_enriched(
                inputs, Pipeline(stages), enrichment, Pipeline(after), sink, policy, counters, progress, args.max_line
            )
    except StopOnBadRecord as exc:
        _finish_partial(sink)
        _say(f"stopped at {exc} (--on-error stop)")
        code = EXIT_DATAERR
    except (OSError, EOFError, zlib.error) as exc:
        if isinstance(exc, BrokenPipeError):
            raise
        _finish_partial(sink)
        which = inputs[0][0] if len(inputs) == 1 else "an input"
        _say(f"cannot read {_shown(which)}: {getattr(exc, 'strerror', None) or exc}")
        code = EXIT_NOINPUT
    finally:
        for _, stream in inputs:
            stream.close()
        if policy.quarantine is not None:
            policy.quarantine.close()
    if args.output not in (None, "-"):
        out.close()
    if not args.quiet:
        _say(counters.line().removeprefix(f"{PROG}: "))
    return code


def _finish_partial(sink: Sink) -> None:
    """What was produced before an early stop still goes out, in a well-formed file."""
    try:
        sink.close()
    except BrokenPipeError:
        raise
    except Exception:
        pass


# ---- stages ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StageKind:
    """A stage as the command line knows it: its arguments and how to build it from them."""

    help: str
    configure: Callable[[argparse.ArgumentParser], object]
    build: Callable[[argparse.Namespace], Stage | Enrichment]
    verbatim: str | None = None  # in a --stage spec, the rest of the text is this one argument


def _fields(text: str) -> list[str]:
    fields = [f.strip() for f in text.split(",") if f.strip()]
    if not fields:
        raise argparse.ArgumentTypeError(f"expected a comma-separated list of fields, got {text!r}")
    for f in fields:
        if not all(part for part in f.split(".")):
            raise argparse.ArgumentTypeError(f"not a field path: {f!r}")
    return fields


def _mapping(text: str) -> dict[str, str]:
    pairs = {}
    for part in text.split(","):
        old, sep, new = part.partition("=")
        if not sep or not old.strip() or not new.strip():
            raise argparse.ArgumentTypeError(f"expected OLD=NEW[,OLD=NEW...], got {text!r}")
        pairs[old.strip()] = new.strip()
    return pairs


def _assignment(text: str) -> tuple[str, str]:
    name, sep, expression = text.partition("=")
    if not sep or not name.strip() or not expression.strip() or expression.startswith("="):
        raise argparse.ArgumentTypeError(f"expected NAME=EXPRESSION, got {text!r}")
    return name.strip(), expression.strip()


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"expected a rate in (0, 1], got {text!r}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds >= 0, got {text!r}")
    return value


def _enrichment(args: argparse.Namespace) -> Enrichment:
    try:
        lookup = TableLookup.from_file(args.table, args.key, args.into, args.latency)
    except (OSError, ValueError) as exc:
        raise UsageError(
            f"cannot use the lookup table {args.table!r}: {getattr(exc, 'strerror', None) or exc}"
        ) from None
    return Enrichment(lookup, args.concurrency, args.buffer)


STAGES: dict[str, StageKind] = {
    "filter": StageKind(
        "keep the records for which EXPR is true",
        lambda p: p.add_argument("expression", metavar="EXPR", help="e.g. 'type == \"signup\" and amount > 50'"),
        lambda a: Filter(a.expression),
        verbatim="expression",
    ),
    "select": StageKind(
        "keep only these fields, in this order",
        lambda p: p.add_argument(
            "fields", type=_fields, metavar="FIELDS", help="comma-separated paths, e.g. id,user.country"
        ),
        lambda a: Select(a.fields),
        verbatim="fields",
    ),
    "rename": StageKind(
        "rename top-level fields",
        lambda p: p.add_argument("mapping", type=_mapping, metavar="OLD=NEW[,OLD=NEW...]"),
        lambda a: Rename(a.mapping),
        verbatim="mapping",
    ),
    "set": StageKind(
        "add or replace a computed field",
        lambda p: p.add_argument(
            "assignment", type=_assignment, metavar="NAME=EXPR", help="e.g. 'total = amount * 1.19'"
        ),
        lambda a: SetField(*a.assignment),
        verbatim="assignment",
    ),
    "explode": StageKind(
        "one record per element of an array field",
        lambda p: p.add_argument("field", metavar="FIELD"),
        lambda a: Explode(a.field),
    ),
    "dedupe": StageKind(
        "drop records whose key was seen recently",
        lambda p: (
            p.add_argument("keys", type=_fields, metavar="KEYS", help="comma-separated paths forming the key"),
            p.add_argument("--window", type=_count, default=100_000, help="distinct keys remembered (default 100000)"),
        ),
        lambda a: Dedupe(a.keys, a.window),
    ),
    "sample": StageKind(
        "keep each record with probability RATE (reproducible with --seed)",
        lambda p: (
            p.add_argument("rate", type=_rate, metavar="RATE"),
            p.add_argument("--seed", type=int, default=1),
        ),
        lambda a: Sample(a.rate, a.seed),
    ),
    "summarize": StageKind(
        "group-by: count, and sum/min/max of numeric fields, per group",
        lambda p: (
            p.add_argument("--by", type=_fields, required=True, metavar="FIELDS"),
            p.add_argument("--sum", type=_fields, default=[], metavar="FIELDS", help="numeric fields to total"),
            p.add_argument("--max-groups", type=_count, default=1000, metavar="N", help="then an '(other)' group"),
        ),
        lambda a: Summarize(a.by, a.sum, a.max_groups),
    ),
    "enrich": StageKind(
        "look each record up in a table (a simulated remote service), N lookups at a time, in order",
        lambda p: (
            p.add_argument("--table", required=True, metavar="FILE", help='JSON {key: value} or NDJSON {"key": ...}'),
            p.add_argument("--key", required=True, metavar="PATH", help="the record's field to look up"),
            p.add_argument("--into", required=True, metavar="NAME", help="the field that receives the answer"),
            p.add_argument("--concurrency", type=_count, default=8, metavar="N"),
            p.add_argument("--buffer", type=_count, default=None, metavar="N", help="records held (default 2N)"),
            p.add_argument("--latency", type=_seconds, default=0.0, metavar="S", help="simulated service time"),
        ),
        _enrichment,
    ),
}


def parse_stage(spec: str) -> Stage | Enrichment:
    """``"filter type == 'x'"`` -> a Filter (as ``run --stage`` reads it); UsageError if wrong."""
    name, _, rest = spec.strip().partition(" ")
    kind = STAGES.get(name)
    if kind is None:
        raise UsageError(f"unknown stage {name!r} in --stage {spec!r}; stages: {', '.join(STAGES)}")
    parser = argparse.ArgumentParser(prog=f"--stage '{name}'", add_help=False, exit_on_error=False)
    kind.configure(parser)
    try:
        words = [rest.strip()] if kind.verbatim else shlex.split(rest)
        args = parser.parse_args(words)
    except (argparse.ArgumentError, ValueError) as exc:
        raise UsageError(f"--stage {spec!r}: {exc}") from None
    return _built(kind, args)


def _built(kind: StageKind, args: argparse.Namespace) -> Stage | Enrichment:
    try:
        return kind.build(args)
    except ExprError as exc:
        raise UsageError(f"bad expression: {exc}") from None
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _build(args: argparse.Namespace) -> tuple[list[Stage], Enrichment | None, list[Stage]]:
    """(stages before the enrich step, the enrich step or None, stages after it)."""
    if args.command in STAGES:
        built = [_built(STAGES[args.command], args)]
    elif args.command == "run":
        built = [parse_stage(spec) for spec in args.stage or []]
    else:
        built = []
    enrich_at = [i for i, stage in enumerate(built) if isinstance(stage, Enrichment)]
    if len(enrich_at) > 1:
        raise UsageError("one enrich stage per pipeline (chain two processes with a pipe for more)")
    if not enrich_at:
        return [s for s in built if isinstance(s, Stage)], None, []
    at = enrich_at[0]
    enrichment = built[at]
    assert isinstance(enrichment, Enrichment)
    before = [s for s in built[:at] if isinstance(s, Stage)]
    after = [s for s in built[at + 1 :] if isinstance(s, Stage)]
    return before, enrichment, after


# ---- policy and sinks -----------------------------------------------------------------------------


def _on_error(text: str) -> tuple[str, str | None]:
    mode, _, path = text.replace("=", ":", 1).partition(":")
    if mode not in (SKIP, QUARANTINE, STOP) or (path and mode != QUARANTINE):
        raise argparse.ArgumentTypeError(f"expected skip, stop, quarantine or quarantine:FILE, got {text!r}")
    return mode, path or None


def _policy(args: argparse.Namespace) -> Policy:
    mode, path = args.on_error
    path = path or args.quarantine
    if args.quarantine and mode == SKIP and args.on_error == (SKIP, None):
        mode = QUARANTINE  # --quarantine FILE alone means: quarantine into FILE
    if mode == QUARANTINE and not path:
        raise UsageError("--on-error quarantine needs a file: --quarantine FILE (or --on-error quarantine:FILE)")
    if mode != QUARANTINE:
        return Policy(mode)
    try:
        return Policy(mode, Quarantine(open(path, "wb")))  # closed by _command
    except OSError as exc:
        raise UsageError(f"cannot write the quarantine file {path!r}: {exc.strerror or exc}") from None


def _format(args: argparse.Namespace) -> str:
    return {"to-csv": "csv", "summary": "summary", "to-ndjson": "ndjson"}.get(args.command) or args.to


def _sink(args: argparse.Namespace, out: BinaryIO, counters: Counters) -> Sink:
    to = _format(args)
    if to == "csv":
        return CsvSink(out, args.columns)
    if to == "summary":
        return SummarySink(out, args.summary_by, totals=lambda: {"processed": counters.processed, "bad": counters.bad})
    return NdjsonSink(out)


# ---- small helpers --------------------------------------------------------------------------------


def _quiet_stdout() -> None:
    """No more output: point stdout at /dev/null, so the interpreter's last flush neither fails
    (the reader went away) nor blocks (the reader stopped reading)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except OSError:
        pass


def _shown(name: str) -> str:
    return "standard input" if name == "-" else repr(name)


def _say(message: str) -> None:
    try:
        print(f"{PROG}: {message}", file=sys.stderr, flush=True)
    except OSError:
        pass  # stderr itself is gone; nothing more useful to do


def _common(p: argparse.ArgumentParser, *, to: bool = True) -> None:
    p.add_argument("files", nargs="*", metavar="FILE", help="NDJSON input (plain or gzip); '-' or none reads stdin")
    group = p.add_argument_group("input, output and errors")
    group.add_argument(
        "--on-error",
        type=_on_error,
        default=(SKIP, None),
        metavar="POLICY",
        help="bad records: skip (count them, default), stop (exit 65), quarantine (write them to --quarantine FILE)",
    )
    group.add_argument(
        "--quarantine", metavar="FILE", help="where quarantined records go (implies --on-error quarantine)"
    )
    if to:
        group.add_argument("--to", choices=("ndjson", "csv", "summary"), default="ndjson", help="output format")
    group.add_argument("--columns", type=_fields, metavar="FIELDS", help="CSV columns (default: the first record's)")
    group.add_argument("--summary-by", default="type", metavar="FIELD", help="what the summary counts (default type)")
    group.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    group.add_argument("--gzip", action="store_true", help="gzip-compress the output")
    group.add_argument(
        "--max-line", type=_count, default=MAX_LINE, metavar="BYTES", help="longer lines are bad records"
    )
    group.add_argument(
        "--jobs",
        type=_count,
        default=min(2, os.cpu_count() or 1),
        metavar="N",
        help="processes for one big uncompressed file through stateless stages (default: up to 2)",
    )
    group.add_argument("--progress", action="store_true", help="print counters on stderr while running")
    group.add_argument("--progress-every", type=_positive_seconds, default=2.0, metavar="S")
    group.add_argument("-q", "--quiet", action="store_true", help="no final counters on stderr")


def _positive_seconds(text: str) -> float:
    value = _seconds(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds > 0, got {text!r}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description="Streaming NDJSON ETL: filter, reshape, enrich, summarize; bounded memory."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, kind in STAGES.items():
        p = commands.add_parser(name, help=kind.help, description=kind.help)
        kind.configure(p)
        _common(p)
    p = commands.add_parser("run", help="several stages in one process: --stage 'filter ...' --stage 'select ...'")
    p.add_argument(
        "--stage", action="append", metavar="SPEC", help="a stage as on the command line, e.g. 'select id,ts'"
    )
    _common(p)
    p = commands.add_parser("to-csv", help="NDJSON in, CSV out")
    _common(p, to=False)
    p = commands.add_parser("to-ndjson", help="NDJSON in, NDJSON out (validates; bad records per --on-error)")
    _common(p, to=False)
    p = commands.add_parser("summary", help="a report: totals and counts per --summary-by field")
    _common(p, to=False)
    return parser
