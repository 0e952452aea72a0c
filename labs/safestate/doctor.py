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
    raise NotImplementedError('TODO(safestate.diagnose): one Finding per check, in the documented order')


def fix(store: Store) -> list[str]:
    """Repair what ``diagnose`` marks fixable; returns one line per action taken.

    Everything happens under the store's lock (so a temp file that belongs to a live writer is
    never deleted and no update runs halfway through a repair). Corrupt files are renamed to
    ``<name>.corrupt-<UTC time>`` (never deleted or overwritten); modes are set to 0700/0600;
    temp files are deleted; a version-1 state file is migrated. A missing directory or a newer
    schema is left alone.
    """
    raise NotImplementedError('TODO(safestate.fix): under the lock: chmod, move corrupt files aside, delete temps, migrate')
