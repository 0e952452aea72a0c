"""``doctor``: look at a store's directory the way a support engineer would, and fix what is safe.

Each check gives a Finding. Status "ok" and "info" are fine; "warn" and "error" are problems.
``fixable`` means ``fix()`` can repair it without losing anything:

| check       | problem                                   | fix                                       |
|-------------|-------------------------------------------|-------------------------------------------|
| directory   | missing                                   | none (the first write creates it)         |
| directory   | group/others have access (mode & 0o077)   | chmod 0700                                |
| state file  | not JSON / not a store document (corrupt) | move aside to ``state.json.corrupt-<t>``  |
| state file  | older schema                              | migrate and write back                    |
| state file  | newer schema                              | none: needs a newer program               |
| secrets     | corrupt                                   | move aside                                |
| permissions | a file readable by group/others           | chmod 0600                                |
| temp files  | ``.<file>.<random>.tmp`` left by a crash  | delete (under the lock: never a live one) |

A corrupt file is never overwritten or deleted: moved aside, it stays for a human to inspect.
"""

from __future__ import annotations

import fcntl
import os
import stat
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .atomic import fsync_dir, is_temp_for, write_atomic
from .lock import FileLock
from .store import (
    DIR_MODE,
    FILE_MODE,
    LOCK_FILE,
    SCHEMA,
    SECRETS_FILE,
    STATE_FILE,
    CorruptState,
    FutureSchema,
    Store,
    decode,
    encode,
    migrate,
)

OK, INFO, WARN, ERROR = "ok", "info", "warn", "error"
PROBLEMS = (WARN, ERROR)
CORRUPT_MARK = ".corrupt-"


@dataclass
class Finding:
    check: str  # "directory", "state file", "secrets", "permissions", "temp files", "lock", "kept aside"
    status: str  # ok | info | warn | error
    detail: str  # one line for a person
    fixable: bool = False
    paths: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def is_problem(finding: Finding) -> bool:
    return finding.status in PROBLEMS


def temp_files(directory: Path) -> list[Path]:
    """Temp files of the state and secrets files in ``directory`` (see atomic.is_temp_for)."""
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return []
    return [directory / n for n in names if is_temp_for(n, STATE_FILE) or is_temp_for(n, SECRETS_FILE)]


def kept_aside(directory: Path) -> list[Path]:
    """Corrupt files moved aside earlier (``<file>.corrupt-<time>``)."""
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return []
    return [
        directory / n for n in names if CORRUPT_MARK in n and n.split(CORRUPT_MARK)[0] in (STATE_FILE, SECRETS_FILE)
    ]


def diagnose(store: Store) -> list[Finding]:
    """Every finding about ``store``'s directory, in this order: directory, state file, secrets,
    permissions, temp files, lock, kept aside. Never changes anything on disk (it does not take
    the lock either, so it works while another process holds it).

    - directory: missing -> error (not fixable); mode & 0o077 -> warn, fixable; else ok.
      When the directory is missing, that is the only finding.
    - state file: missing -> ok ("not created yet"); corrupt -> error, fixable (move aside);
      future schema -> error, not fixable; older schema -> warn, fixable; else ok with the
      schema and the number of keys.
    - secrets: missing -> ok; corrupt -> error, fixable; else ok, saying encrypted or plain.
    - permissions: any of state.json, secrets.json, .lock with mode & 0o077 -> warn, fixable,
      listing them; else ok.
    - temp files: any -> warn, fixable, listing them; else ok.
    - lock: held (``FileLock(...).holder()`` names someone and a non-blocking flock fails) ->
      info naming the holder; else ok.
    - kept aside: any corrupt copies -> info listing them (a human decides); else omitted.
    """
    # BEGIN SOLUTION: one Finding per check, in the documented order
    directory = store.dir
    if not directory.exists():
        return [Finding("directory", ERROR, f"{directory} is missing (nothing was saved yet; init creates it)")]
    if not directory.is_dir():
        return [Finding("directory", ERROR, f"{directory} exists but is not a directory")]
    findings: list[Finding] = []
    mode = stat.S_IMODE(directory.stat().st_mode)
    if mode & 0o077:
        findings.append(
            Finding(
                "directory", WARN, f"mode {mode:04o}: others can look inside; should be 0700", True, [str(directory)]
            )
        )
    else:
        findings.append(Finding("directory", OK, f"{directory} (mode {mode:04o})"))
    findings.append(_state_finding(store))
    findings.append(_secrets_finding(store))
    loose = []
    for name in (STATE_FILE, SECRETS_FILE, LOCK_FILE):
        try:
            file_mode = stat.S_IMODE(os.stat(directory / name).st_mode)
        except FileNotFoundError:
            continue
        if file_mode & 0o077:
            loose.append(f"{name} ({file_mode:04o})")
    if loose:
        findings.append(
            Finding(
                "permissions",
                WARN,
                "readable by others: " + ", ".join(loose) + "; should be 0600",
                True,
                [str(directory / s.split()[0]) for s in loose],
            )
        )
    else:
        findings.append(Finding("permissions", OK, "not readable by others (0600)"))
    temps = temp_files(directory)
    if temps:
        findings.append(
            Finding(
                "temp files",
                WARN,
                f"{len(temps)} left by an interrupted write (safe to remove: doctor --fix)",
                True,
                [str(p) for p in temps],
            )
        )
    else:
        findings.append(Finding("temp files", OK, "none"))
    findings.append(_lock_finding(store))
    aside = kept_aside(directory)
    if aside:
        findings.append(
            Finding(
                "kept aside", INFO, f"{len(aside)} damaged file(s) kept for inspection", False, [str(p) for p in aside]
            )
        )
    return findings


def _state_finding(store: Store) -> Finding:
    try:
        raw = store.path.read_bytes()
    except FileNotFoundError:
        return Finding("state file", OK, "not created yet (an empty store)")
    try:
        doc, changed = migrate(decode(raw))
    except FutureSchema as exc:
        return Finding("state file", ERROR, f"{exc.reason}", False, [str(store.path)])
    except CorruptState as exc:
        return Finding("state file", ERROR, f"corrupt: {exc.reason} (--fix moves it aside)", True, [str(store.path)])
    if changed:
        return Finding("state file", WARN, "old schema version 1 (--fix migrates it)", True, [str(store.path)])
    return Finding("state file", OK, f"valid JSON, schema {doc['schema']}, {len(doc['values'])} key(s)")


def _secrets_finding(store: Store) -> Finding:
    try:
        raw = store.secrets_path.read_bytes()
    except FileNotFoundError:
        return Finding("secrets", OK, "none stored")
    try:
        doc = decode(raw)
    except CorruptState as exc:
        return Finding(
            "secrets", ERROR, f"corrupt: {exc.reason} (--fix moves it aside)", True, [str(store.secrets_path)]
        )
    version = doc.get("schema")
    if isinstance(version, int) and not isinstance(version, bool) and version > SCHEMA:
        return Finding("secrets", ERROR, f"schema version {version} is newer than this program", False)
    if version != SCHEMA or not ("sealed" in doc or isinstance(doc.get("secrets"), dict)):
        return Finding("secrets", ERROR, "corrupt: not a secrets document (--fix moves it aside)", True)
    if "sealed" in doc:
        return Finding("secrets", OK, "encrypted (scrypt + AES-GCM)")
    return Finding(
        "secrets", OK, f"{len(doc['secrets'])} stored in plain text, mode 0600 (set a passphrase to encrypt)"
    )


def _lock_finding(store: Store) -> Finding:
    try:
        fd = os.open(store.lock_path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return Finding("lock", OK, "free")
    except OSError as exc:
        return Finding("lock", INFO, f"cannot inspect: {exc.strerror}")
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        who = FileLock(store.lock_path).holder() or "another process"
        return Finding("lock", INFO, f"held by {who}")
    finally:
        os.close(fd)  # closing drops the probe's lock, if it got one
    return Finding("lock", OK, "free (an flock cannot go stale: it dies with its process)")
    # END SOLUTION


def fix(store: Store) -> list[str]:
    """Repair what ``diagnose`` marks fixable; returns one line per action taken.

    Everything happens under the store's lock (so a temp file that belongs to a live writer is
    never deleted and no update runs halfway through a repair). Corrupt files are renamed to
    ``<name>.corrupt-<UTC time>`` (never deleted or overwritten); modes are set to 0700/0600;
    temp files are deleted; a version-1 state file is migrated. A missing directory or a newer
    schema is left alone.
    """
    # BEGIN SOLUTION: under the lock: chmod, move corrupt files aside, delete temps, migrate
    directory = store.dir
    if not directory.is_dir():
        return []
    actions: list[str] = []
    with store.lock():
        mode = stat.S_IMODE(directory.stat().st_mode)
        if mode & 0o077:
            os.chmod(directory, DIR_MODE)
            actions.append(f"chmod 0700 {directory} (was {mode:04o})")
        for name in (STATE_FILE, SECRETS_FILE, LOCK_FILE):
            path = directory / name
            try:
                file_mode = stat.S_IMODE(path.stat().st_mode)
            except FileNotFoundError:
                continue
            if file_mode & 0o077:
                os.chmod(path, FILE_MODE)
                actions.append(f"chmod 0600 {path} (was {file_mode:04o})")
        state = _state_finding(store)
        if state.status == ERROR and state.fixable:
            actions.append(_move_aside(store.path))
        elif state.status == WARN and state.fixable:
            doc, _ = migrate(decode(store.path.read_bytes()))
            write_atomic(store.path, encode(doc), mode=FILE_MODE)
            actions.append(f"migrated {store.path} to schema {doc['schema']}")
        secrets = _secrets_finding(store)
        if secrets.status == ERROR and secrets.fixable:
            actions.append(_move_aside(store.secrets_path))
        for temp in temp_files(directory):
            try:
                temp.unlink()
            except FileNotFoundError:
                continue
            actions.append(f"removed {temp.name}")
        if actions:
            fsync_dir(directory)
    return actions


def _move_aside(path: Path) -> str:
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    target = path.with_name(f"{path.name}{CORRUPT_MARK}{stamp}")
    counter = 1
    while target.exists():
        counter += 1
        target = path.with_name(f"{path.name}{CORRUPT_MARK}{stamp}-{counter}")
    os.rename(path, target)
    return f"moved the corrupt {path.name} aside to {target.name} (kept for inspection)"
    # END SOLUTION
