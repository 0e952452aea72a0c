"""Command line: ``python -m <root>.runtime serve [--host H] [--port P] [--deadline S]``."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from .service import CannotListen, serve

EXIT_UNAVAILABLE, EXIT_SOFTWARE = 69, 70


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (see ``service`` for what ``serve`` returns)."""
    args = _parser().parse_args(argv)
    try:
        return asyncio.run(serve(args.host, args.port, args.deadline))
    except NotImplementedError as exc:
        if str(exc).startswith("TODO("):
            print(f"runtime: not written yet: {exc}", file=sys.stderr)
            return EXIT_SOFTWARE
        raise
    except CannotListen as exc:
        print(f"runtime: {exc}", file=sys.stderr)
        return EXIT_UNAVAILABLE


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m runtime", description="Practice service for graceful shutdown.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve_cmd = commands.add_parser("serve", help="serve jobs until SIGINT/SIGTERM, then drain")
    serve_cmd.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve_cmd.add_argument("--port", type=int, default=0, help="port (default 0: the OS picks a free one)")
    serve_cmd.add_argument(
        "--deadline", type=_seconds, default=10.0, help="seconds in-flight work may take after a signal (default 10)"
    )
    return parser


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return value
