"""Command line: ``python -m <root>.safestate [--app NAME] [--dir DIR] COMMAND ...``.

Exit codes (sysexits.h, so scripts can tell failures apart):

    0  done                        65  corrupt data (bad JSON, newer schema)
    1  key not set / doctor found  66  no store yet (get/list/unset before init)
       problems                    69  encryption asked for, 'cryptography' missing
    2  usage                       73  cannot create the directory or file
    70 internal: code not written  74  I/O error, disk full
    130 interrupted (Ctrl-C)       75  lock timeout (another process holds the lock)
    141 reader went away (| head)  77  permission denied, or a wrong/missing passphrase

Every failure is one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import re
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .doctor import diagnose, fix, is_problem
from .lock import LockTimeout
from .paths import HOME_ENV, BadAppName
from .store import (
    PASSPHRASE_ENV,
    SECRETS_FILE,
    STATE_FILE,
    CorruptState,
    CryptoUnavailable,
    FutureSchema,
    PassphraseError,
    Store,
)

EXIT_OK, EXIT_NOT_SET, EXIT_USAGE = 0, 1, 2
EXIT_DATAERR, EXIT_NOINPUT, EXIT_UNAVAILABLE, EXIT_SOFTWARE = 65, 66, 69, 70
EXIT_CANTCREAT, EXIT_IOERR, EXIT_TEMPFAIL, EXIT_NOPERM = 73, 74, 75, 77
EXIT_INTERRUPTED, EXIT_PIPE = 130, 141
APP_ENV = "SAFESTATE_APP"
KEY = re.compile(r"[A-Za-z0-9_.-]{1,128}")
FULL = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EIO}
DENIED = {errno.EACCES, errno.EPERM}
CANNOT_CREATE = {errno.ENOENT, errno.ENOTDIR, errno.EEXIST, errno.EROFS, errno.EISDIR, errno.ENAMETOOLONG}


class Usage(Exception):  # noqa: N818 (raised as "Usage(...)": reads as the message)
    """A usage error found after parsing (exit 2)."""


class NoStore(Exception):  # noqa: N818
    """get/list/unset on a store that was never created (exit 66)."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit code (see the module doc)."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return _dispatch(args)
    except Usage as exc:
        parser.print_usage(sys.stderr)
        return _fail(EXIT_USAGE, str(exc))
    except KeyboardInterrupt:
        return _fail(EXIT_INTERRUPTED, "interrupted (a write in progress was abandoned; the old file is intact)")
    except NotImplementedError as exc:
        if str(exc).startswith("TODO("):
            return _fail(EXIT_SOFTWARE, f"not written yet: {exc}")
        raise
    except BadAppName as exc:
        return _fail(EXIT_USAGE, str(exc))
    except NoStore as exc:
        return _fail(EXIT_NOINPUT, str(exc))
    except LockTimeout as exc:
        return _fail(EXIT_TEMPFAIL, f"{exc} (try again, or raise --lock-timeout)")
    except FutureSchema as exc:
        return _fail(EXIT_DATAERR, f"{exc}; the file was left untouched")
    except CorruptState as exc:
        return _fail(
            EXIT_DATAERR, f"{exc}; the file was left untouched (`safestate doctor --fix` moves a corrupt file aside)"
        )
    except CryptoUnavailable as exc:
        return _fail(EXIT_UNAVAILABLE, str(exc))
    except PassphraseError as exc:
        return _fail(EXIT_NOPERM, str(exc))
    except OSError as exc:
        return _os_error(exc)


def _dispatch(args: argparse.Namespace) -> int:
    app = args.app or os.environ.get(APP_ENV)
    if not app:
        raise Usage(f"which application? pass --app NAME (or set {APP_ENV})")
    store = Store(app, home=args.dir, lock_timeout=args.lock_timeout, owner=f"safestate {args.command}")
    if args.command == "init":
        return _init(store, args)
    if args.command == "set":
        return _set(store, args)
    if args.command == "doctor":
        return _doctor(store, args)
    if not store.exists():
        raise NoStore(f"no store for {store.app!r} at {store.dir} (create it with: safestate init --app {store.app})")
    if args.command == "get":
        return _get(store, args)
    if args.command == "unset":
        return _unset(store, args)
    return _list(store, args)


def _init(store: Store, args: argparse.Namespace) -> int:
    created = store.init()
    if args.json:
        return _out(json.dumps({"dir": str(store.dir), "created": [str(p) for p in created]}) + "\n")
    lines = [f"Created {'directory' if p.is_dir() else 'file'}: {p}" for p in created]
    return _out("\n".join(lines or [f"Already initialized: {store.path}"]) + "\n")


def _set(store: Store, args: argparse.Namespace) -> int:
    pairs = _pairs(args)
    if args.simulate_crash:
        _crash_before_rename(store)
    if args.secret:
        store.update_secrets(lambda found: found.update(pairs))
        if not store.passphrase:
            _say(f"note: secrets are stored unencrypted (mode 0600); set {PASSPHRASE_ENV} to encrypt them")
    else:
        store.update(lambda values: values.update(pairs))
    if args.simulate_crash:
        _say("--simulate-crash: no rename happened, so there was nothing to interrupt (was this write atomic?)")
    if args.json:
        return _out(json.dumps({"ok": True, "keys": sorted(pairs), "file": str(_file(store, args))}) + "\n")
    return _out(f"OK (wrote atomically): {', '.join(sorted(pairs))}\n")


def _get(store: Store, args: argparse.Namespace) -> int:
    key = _checked_key(args.key)
    value = store.secrets().get(key) if args.secret else store.all().get(key)
    if value is None:
        return _fail(EXIT_NOT_SET, f"{key!r} is not set{' as a secret' if args.secret else ''} for {store.app!r}")
    if args.json:
        return _out(json.dumps(value) + "\n")
    return _out((value if isinstance(value, str) else json.dumps(value)) + "\n")


def _unset(store: Store, args: argparse.Namespace) -> int:
    keys = [_checked_key(k) for k in args.keys]
    removed: list[str] = []

    def drop(found: dict[str, Any]) -> None:
        for key in keys:
            if found.pop(key, None) is not None:
                removed.append(key)

    if args.simulate_crash:
        _crash_before_rename(store)
    if args.secret:
        store.update_secrets(drop)
    else:
        store.update(drop)
    missing = [k for k in keys if k not in removed]
    if args.json:
        _out(json.dumps({"removed": removed, "not_set": missing}) + "\n")
    elif removed:
        _out(f"Removed: {', '.join(removed)}\n")
    if missing:
        return _fail(EXIT_NOT_SET, f"not set: {', '.join(missing)}")
    return EXIT_OK


def _list(store: Store, args: argparse.Namespace) -> int:
    values = store.all()
    secret_names = sorted(store.secrets()) if store.secrets_path.exists() else []
    if args.json:
        return _out(json.dumps({"values": values, "secrets": secret_names}, indent=2, sort_keys=True) + "\n")
    lines = [f"{k} = {v if isinstance(v, str) else json.dumps(v)}" for k, v in sorted(values.items())]
    lines += [f"{k} = ******** (secret)" for k in secret_names]
    return _out("".join(line + "\n" for line in lines))


def _doctor(store: Store, args: argparse.Namespace) -> int:
    fixed = fix(store) if args.fix else []
    findings = diagnose(store)
    healthy = not any(is_problem(f) for f in findings)
    if args.json:
        doc = {"dir": str(store.dir), "healthy": healthy, "fixed": fixed, "findings": [f.to_json() for f in findings]}
        code = _out(json.dumps(doc, indent=2) + "\n")
    else:
        lines = [f"Fixed: {action}" for action in fixed]
        for f in findings:
            lines.append(f"{(f.check.capitalize() + ':'):<13}{f.status.upper():<6}{f.detail}")
            lines += [f"{'':13}{'':6}- {p}" for p in f.paths if f.status != "ok"]
        if not healthy:
            hint = "run `safestate doctor --fix`" if any(f.fixable and is_problem(f) for f in findings) else "see above"
            lines.append(f"Problems found: {hint}")
        code = _out("\n".join(lines) + "\n")
    return code if code != EXIT_OK or healthy else EXIT_NOT_SET


# ---- helpers -------------------------------------------------------------------------------


def _pairs(args: argparse.Namespace) -> dict[str, str]:
    if args.stdin:
        if len(args.items) != 1 or "=" in args.items[0]:
            raise Usage("with --stdin give exactly one KEY (the value is read from standard input)")
        data = sys.stdin.buffer.read()
        try:
            return {_checked_key(args.items[0]): data.decode("utf-8")}
        except UnicodeDecodeError:
            raise Usage("the value on standard input is not UTF-8 text") from None
    pairs: dict[str, str] = {}
    for item in args.items:
        key, sep, value = item.partition("=")
        if not sep:
            raise Usage(f"expected KEY=VALUE, got {item!r}")
        pairs[_checked_key(key)] = value
    return pairs


def _checked_key(key: str) -> str:
    if not KEY.fullmatch(key):
        raise Usage(f"invalid key {key!r}: use 1-128 letters, digits, '.', '_' or '-'")
    return key


def _file(store: Store, args: argparse.Namespace) -> Path:
    return store.secrets_path if args.secret else store.path


def _crash_before_rename(store: Store) -> None:
    """For the demo: SIGKILL this process at the instant the new version would be renamed into
    place (the temp file is written, the rename has not happened). Works with any writer that
    goes through os.rename/os.replace, because it listens to Python's audit event for them."""
    targets = {str(store.dir / STATE_FILE), str(store.dir / SECRETS_FILE)}

    def hook(event: str, hook_args: tuple[Any, ...]) -> None:
        if event == "os.rename" and os.path.abspath(os.fsdecode(hook_args[1])) in targets:
            _say("--simulate-crash: killed half-way through the write (new version in a temp file, not renamed yet)")
            os.kill(os.getpid(), signal.SIGKILL)

    sys.addaudithook(hook)


def _os_error(exc: OSError) -> int:
    where = f" ({exc.filename})" if exc.filename else ""
    reason = exc.strerror or str(exc)
    if exc.errno in FULL:
        return _fail(EXIT_IOERR, f"cannot save: {reason}{where} (disk full?); the previous version was kept")
    if exc.errno in DENIED:
        return _fail(EXIT_NOPERM, f"permission denied{where}: check the owner and mode of the store's directory")
    if exc.errno in (errno.EEXIST, errno.ENOTDIR) and exc.filename:
        return _fail(EXIT_CANTCREAT, f"cannot create the store: {exc.filename} is in the way (it is not a directory)")
    if exc.errno in CANNOT_CREATE:
        return _fail(EXIT_CANTCREAT, f"cannot create{where}: {reason}")
    return _fail(EXIT_IOERR, f"I/O error{where}: {reason}")


def _out(text: str) -> int:
    """Write to stdout; a reader that went away (``| head``) ends quietly with 141."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return EXIT_PIPE
    return EXIT_OK


def _fail(code: int, message: str) -> int:
    _say(message)
    return code


def _say(message: str) -> None:
    try:
        print(f"safestate: {message}", file=sys.stderr, flush=True)
    except OSError:
        pass


def _timeout(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds > 0, got {text!r}")
    return value


def _common(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """Options accepted before or after the command. Sub-commands use SUPPRESS as default so a
    value given before the command is not reset by the sub-command's default."""

    def default(value: Any) -> Any:
        return value if top else argparse.SUPPRESS

    parser.add_argument("--app", default=default(None), help=f"application name (or ${APP_ENV})")
    parser.add_argument(
        "--dir", default=default(None), metavar="DIR", help=f"base directory instead of ~/.config (or ${HOME_ENV})"
    )
    parser.add_argument("--json", action="store_true", default=default(False), help="machine-readable output")
    parser.add_argument(
        "--lock-timeout",
        type=_timeout,
        default=default(10.0),
        metavar="S",
        help="seconds to wait for another process's update (default 10)",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="safestate",
        description="A crash-safe store for an application's settings, state and secrets.",
        epilog=__doc__.split("\n\n", 1)[1] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common(parser, top=True)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help, description=help)
        _common(sub, top=False)
        return sub

    command("init", "create the store's directory (0700) and an empty state file (0600)")
    p = command("get", "print one value (exit 1 if it is not set)")
    p.add_argument("key", metavar="KEY")
    p.add_argument("--secret", action="store_true", help="read from the secrets file")
    p = command("set", "set KEY=VALUE pairs in one atomic write")
    p.add_argument("items", nargs="+", metavar="KEY=VALUE")
    p.add_argument("--secret", action="store_true", help="store in the secrets file (encrypted with a passphrase)")
    p.add_argument("--stdin", action="store_true", help="read the value of the single KEY from standard input")
    p.add_argument("--simulate-crash", action="store_true", help="die half-way through the write (demo)")
    p = command("unset", "remove keys (exit 1 if one was not set)")
    p.add_argument("keys", nargs="+", metavar="KEY")
    p.add_argument("--secret", action="store_true", help="remove from the secrets file")
    p.add_argument("--simulate-crash", action="store_true", help="die half-way through the write (demo)")
    command("list", "every key and value (secret values hidden)")
    p = command("doctor", "check directory, files, permissions, temp files and the lock")
    p.add_argument("--fix", action="store_true", help="repair what is safe to repair")
    return parser
