"""Command line: ``python -m <root>.loglens summary [FILE ...|-] [options]``."""

from __future__ import annotations

import argparse
import json
import os
import stat
import sys
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, BinaryIO

from .inputs import open_input, read_chunks
from .lines import iter_lines
from .parallel import MIN_PARALLEL_BYTES, summarize_parallel
from .progress import Progress, peak_rss_mb
from .summary import Summarizer

EXIT_OK, EXIT_USAGE, EXIT_NOINPUT, EXIT_SOFTWARE, EXIT_PIPE, EXIT_INTERRUPTED = 0, 2, 66, 70, 141, 130


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 2 usage, 66 unreadable input, 130 Ctrl-C)."""
    args = _parser().parse_args(argv)
    try:
        return _summary(args)
    except KeyboardInterrupt:
        _say("interrupted")
        return EXIT_INTERRUPTED
    except NotImplementedError as exc:
        if str(exc).startswith("TODO("):
            _say(f"not written yet: {exc}")
            return EXIT_SOFTWARE
        raise


def _summary(args: argparse.Namespace) -> int:
    names = args.files or ["-"]
    streams: list[tuple[str, BinaryIO]] = []
    try:
        for name in names:
            if name != "-" and os.path.isdir(name):
                raise IsADirectoryError(21, "is a directory")
            streams.append((name, open_input(name)))
    except OSError as exc:
        _say(f"cannot read {_shown(name)}: {exc.strerror or exc}")
        return EXIT_NOINPUT

    def make() -> Summarizer:
        return Summarizer(top=args.top, since=args.since, until=args.until)

    summary = make()
    total = sum(_size(name) or 0 for name in names) or None
    progress = Progress(args.progress_every, total) if args.progress else None
    done_before = 0
    for name, stream in streams:
        try:
            if _parallel_ok(name, stream, args.jobs):
                stream.close()
                part = summarize_parallel(name, args.jobs, make, progress)
                for sample in part.error_samples:
                    sample["line"] += summary.lines
                summary.merge(part)
            else:
                chunks = _counted(read_chunks(stream), summary, progress, done_before)
                summary.feed(iter_lines(chunks))
        except (OSError, EOFError) as exc:
            # a truncated or corrupt gzip stream, an I/O error in the middle of a file
            _say(f"cannot read {_shown(name)}: {getattr(exc, 'strerror', None) or exc}")
            return EXIT_NOINPUT
        finally:
            stream.close()
        done_before += _size(name) or 0

    doc = summary.result()
    text = json.dumps(doc, indent=2) + "\n" if args.json else format_human(doc)
    code = write_output(text)
    if args.progress:
        _say(f"done: {summary.lines:,} lines, {summary.parse_errors:,} parse errors, peak RSS {peak_rss_mb():.0f} MB")
    return code


def write_output(text: str) -> int:
    """Write the report to stdout. A reader that went away (``| head``) is not an error worth a
    traceback: stop quietly and return 141 (the shell's code for a SIGPIPE death); else 0."""
    raise NotImplementedError('TODO(loglens.write_output): write and flush; on BrokenPipeError point stdout at /dev/null and return 141')


def format_human(doc: dict[str, Any]) -> str:
    """The report for people, shaped like something you would paste into an incident review."""
    out = ["LogLens Summary", "---------------", f"Lines processed: {doc['lines']:,}"]
    lines = doc["lines"] or 1
    out.append(f"Parse errors: {doc['parse_errors']:,} ({100 * doc['parse_errors'] / lines:.2f}%)")
    records = doc["records"] or 1
    shares = "  ".join(f"{k}: {100 * v / records:.1f}%" for k, v in doc["status"].items() if v)
    out += ["Status codes:", f"  {shares or '(no records)'}"]
    lat = doc["latency_ms"]
    if lat["count"]:
        out += [
            "Latency (ms):",
            f"  p50: {_ms(lat['p50'])}  p95: {_ms(lat['p95'])}  p99: {_ms(lat['p99'])}  max: {_ms(lat['max'])}",
        ]
    else:
        out += ["Latency (ms):", "  (no request times in this log)"]
    out.append("Top routes:")
    width = max((len(r["method"]) + len(r["path"]) for r in doc["top_routes"]), default=0) + 1
    for i, route in enumerate(doc["top_routes"], 1):
        name = f"{route['method']} {route['path']}"
        p95 = f"  (p95 {_ms(route['p95_ms'])}ms)" if route["p95_ms"] is not None else ""
        out.append(f"  {i}) {name:<{width}} {route['count']:>12,}{p95}")
    busiest = doc["busiest_minute"]
    if busiest:
        out += ["Busiest minute:", f"  {busiest['minute'].replace('T', ' ')}  {busiest['count']:,} req/min"]
    if doc["error_samples"]:
        out.append("Parse error samples:")
        out += [f"  line {s['line']}: {s['reason']}: {s['text'][:80]!r}" for s in doc["error_samples"]]
    return "\n".join(out) + "\n"


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if value >= 10 else f"{value:.1f}"


def _counted(
    chunks: Iterator[bytes], summary: Summarizer, progress: Progress | None, done_before: int
) -> Iterator[bytes]:
    done, lines = done_before, summary.lines
    for chunk in chunks:
        done += len(chunk)
        if progress is not None:
            lines += chunk.count(b"\n")  # counted in C; the parser's own count lags behind
            progress.tick(lines, done, summary.parse_errors)
        yield chunk


def _parallel_ok(name: str, stream: BinaryIO, jobs: int) -> bool:
    if jobs < 2 or name == "-" or not hasattr(os, "fork"):
        return False
    if type(stream).__name__ == "GzipFile":  # a compressed stream cannot be split by byte offset
        return False
    size = _size(name)
    return size is not None and size >= MIN_PARALLEL_BYTES


def _size(name: str) -> int | None:
    if name == "-":
        return None
    try:
        info = os.stat(name)
    except OSError:
        return None
    return info.st_size if stat.S_ISREG(info.st_mode) else None


def _shown(name: str) -> str:
    return "standard input" if name == "-" else repr(name)


def _say(message: str) -> None:
    try:
        print(f"loglens: {message}", file=sys.stderr, flush=True)
    except OSError:
        pass  # stderr itself is gone; nothing more useful to do


def _when(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace(" ", "T", 1))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a time: {text!r} (use e.g. 2025-12-26T13:00Z)") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds > 0, got {text!r}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="loglens",
        description="Streaming access-log analyzer: status classes, latency percentiles, top routes.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    summary = commands.add_parser("summary", help="summarize access logs (files, gzip or stdin)")
    summary.add_argument("files", nargs="*", metavar="FILE", help="log files; '-' or nothing reads stdin")
    summary.add_argument("--json", action="store_true", help="print one JSON object instead of the report")
    summary.add_argument("--top", type=_positive, default=10, metavar="N", help="how many routes (default 10)")
    summary.add_argument("--since", type=_when, metavar="T", help="only records at or after T (ISO 8601)")
    summary.add_argument("--until", type=_when, metavar="T", help="only records before T (ISO 8601)")
    summary.add_argument("--progress", action="store_true", help="report progress on stderr")
    summary.add_argument(
        "--progress-every", type=_seconds, default=2.0, metavar="S", help="seconds between progress lines"
    )
    summary.add_argument(
        "--jobs",
        type=_positive,
        default=min(2, os.cpu_count() or 1),
        metavar="N",
        help="processes for a large uncompressed file (default: up to 2)",
    )
    return parser
