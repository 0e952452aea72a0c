"""Store: an application's settings, state and secrets as JSON files that survive any crash.

Files in the store's directory (``paths.app_dir(app, kind=...)``, mode 0700):

- ``state.json`` (0600): ``{"schema": 2, "values": {KEY: any JSON value}}``;
- ``secrets.json`` (0600): ``{"schema": 2, "secrets": {KEY: str}}``, or with a passphrase
  ``{"schema": 2, "sealed": {...}}`` (scrypt + AES-256-GCM, see ``seal``);
- ``.lock``: the flock every read-modify-write holds (never deleted);
- ``.<file>.<random>.tmp``: a write in progress, or debris of a process killed mid-write;
- ``<file>.corrupt-<time>``: a damaged file that ``doctor --fix`` moved aside (never deleted).

Schema history: version 1 was ``{"version": 1, "data": {...}}``. A version-1 file is migrated on
read and written back (atomically, under the lock). A version newer than ``SCHEMA`` is refused
(FutureSchema): an old program must not rewrite a file it does not understand.

Reads take no lock: ``write_atomic`` guarantees a reader sees one complete version. Every
change is ``update(fn)``: lock, read, apply, write, unlock, so concurrent changes never get lost.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .atomic import fsync_dir, write_atomic
from .lock import FileLock
from .paths import app_dir, validate_app

SCHEMA = 2
STATE_FILE = "state.json"
SECRETS_FILE = "secrets.json"
LOCK_FILE = ".lock"
PASSPHRASE_ENV = "SAFESTATE_PASSPHRASE"
FILE_MODE = 0o600
DIR_MODE = 0o700
# scrypt cost: 2**14 * 8 * 128 bytes = 16 MB and ~50 ms per derivation; stored in the file so
# a later version can raise it without breaking old files.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
AAD = b"safestate secrets v2"  # binds the ciphertext to its purpose
CRYPTO_HINT = "pip install 'iolab[crypto]' (or: pip install cryptography)"


class StoreError(Exception):
    """Base class of the store's own errors (the CLI maps each to an exit code)."""


class CorruptState(StoreError):  # noqa: N818 (public name, reads as the condition)
    """A file that is not a valid store document. It is left exactly as it was."""

    def __init__(self, reason: str, path: str | os.PathLike[str] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.path = Path(path) if path is not None else None

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path is not None else ""
        return f"{where}{self.reason}"


class FutureSchema(CorruptState):
    """Written by a newer program (schema version above SCHEMA): refuse to read or rewrite it."""

    def __init__(self, version: int, path: str | os.PathLike[str] | None = None) -> None:
        super().__init__(
            f"schema version {version} is newer than this program understands ({SCHEMA}); "
            "upgrade safestate instead of overwriting it",
            path,
        )
        self.version = version


class PassphraseError(StoreError):
    """Encrypted secrets without a passphrase, or with the wrong one."""


class CryptoUnavailable(StoreError):  # noqa: N818
    """Encryption was asked for but the optional ``cryptography`` package is not installed."""


def encode(doc: dict[str, Any]) -> bytes:
    """The bytes written to disk for ``doc``: indented, sorted JSON with a final newline."""
    return (json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def decode(raw: bytes) -> dict[str, Any]:
    """Parse a file's bytes into a JSON object, or raise CorruptState saying what is wrong.

    Empty file -> "empty file"; bad UTF-8 or JSON -> "not valid JSON (<parser message>)";
    anything but an object at the top -> "not a JSON object".
    """
    raise NotImplementedError('TODO(safestate.decode): json.loads with every failure turned into CorruptState')


def migrate(doc: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """Bring a state document to the current schema: ``(document, changed)``.

    - ``{"schema": 2, "values": {...}}`` -> returned as is, changed=False;
    - ``{"version": 1, "data": {...}}`` -> ``{"schema": 2, "values": data}``, changed=True;
    - ``{"schema": N}`` with N > SCHEMA -> FutureSchema(N);
    - anything else (no version, a non-integer version, "values" not an object) -> CorruptState.
    """
    raise NotImplementedError('TODO(safestate.migrate): recognise v2, upgrade v1, refuse future versions, reject the rest')


def _crypto() -> tuple[Any, Any, type[Exception]]:
    """(AESGCM, Scrypt, InvalidTag) from the optional ``cryptography`` package, or a clear error."""
    try:
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
    except ImportError:
        raise CryptoUnavailable(
            f"encrypting secrets needs the optional 'cryptography' package, which is not installed: {CRYPTO_HINT}"
        ) from None
    return AESGCM, Scrypt, InvalidTag


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def seal(plaintext: bytes, passphrase: str) -> dict[str, Any]:
    """Encrypt ``plaintext`` with a key derived from ``passphrase``; returns a JSON-able dict.

    Key: scrypt(passphrase, fresh 16-byte salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P) -> 32 bytes.
    Cipher: AES-256-GCM with a fresh 12-byte nonce and ``AAD`` as associated data.
    Returned: ``{"cipher": "AES-256-GCM", "kdf": "scrypt", "n", "r", "p", "salt", "nonce",
    "data"}`` (bytes as base64 text). Use ``_crypto()`` to import the package (it raises
    CryptoUnavailable with install instructions when it is missing).
    """
    raise NotImplementedError('TODO(safestate.seal): fresh salt and nonce, scrypt key, AES-GCM with AAD, base64 fields')


def unseal(sealed: dict[str, Any], passphrase: str) -> bytes:
    """The plaintext of a ``seal`` result. A wrong passphrase or any tampering with the stored
    fields -> PassphraseError (AES-GCM cannot tell the two apart); malformed fields -> CorruptState."""
    raise NotImplementedError('TODO(safestate.unseal): decode the fields, derive the key with the stored parameters, decrypt')


class Store:
    """One application's store: ``Store("loglens").set("theme", "dark")``.

    ``home`` overrides the base directory (see ``paths.base_dir``); ``kind`` is "config" or
    "state"; ``passphrase`` (default: ``$SAFESTATE_PASSPHRASE``) encrypts secrets;
    ``lock_timeout`` bounds the wait for another process's update; ``owner`` is what the lock
    note says this process is doing.
    """

    def __init__(
        self,
        app: str,
        *,
        home: str | os.PathLike[str] | None = None,
        kind: str = "config",
        passphrase: str | None = None,
        lock_timeout: float | None = 10.0,
        owner: str | None = None,
    ) -> None:
        self.app = validate_app(app)
        self.dir = app_dir(app, kind=kind, home=home)
        self.passphrase = passphrase if passphrase is not None else os.environ.get(PASSPHRASE_ENV) or None
        self.lock_timeout = lock_timeout
        self.owner = owner

    def __repr__(self) -> str:
        return f"Store({self.app!r}, dir={str(self.dir)!r})"

    @property
    def path(self) -> Path:
        return self.dir / STATE_FILE

    @property
    def secrets_path(self) -> Path:
        return self.dir / SECRETS_FILE

    @property
    def lock_path(self) -> Path:
        return self.dir / LOCK_FILE

    def exists(self) -> bool:
        """True when the store's directory exists (``init`` or a first write created it)."""
        return self.dir.is_dir()

    def lock(self) -> FileLock:
        """The store's lock (not yet acquired): ``with store.lock(): ...``."""
        return FileLock(self.lock_path, timeout=self.lock_timeout, owner=self.owner)

    # ---- creating ----------------------------------------------------------------------------

    def init(self) -> list[Path]:
        """Create the directory (and missing parents) with mode 0700 and an empty ``state.json``
        (0600) if there is none. Returns what was created, in order (empty: nothing to do).
        Directory modes are set explicitly (umask-proof); each new entry is made durable by an
        fsync of its parent directory."""
        raise NotImplementedError('TODO(safestate.Store.init): make the missing directories (0700), then an empty state file if absent')

    # ---- plain values ------------------------------------------------------------------------

    def all(self) -> dict[str, Any]:
        """Every value (a copy). A missing store or file reads as empty. A version-1 file is
        migrated and written back under the lock. CorruptState/FutureSchema propagate and the
        file is left untouched."""
        raise NotImplementedError('TODO(safestate.Store.all): read without the lock; migrate and write back under the lock if needed')

    def get(self, key: str, default: Any = None) -> Any:
        """The value for ``key``, or ``default`` when it is not set."""
        return self.all().get(key, default)

    def update(self, fn: Callable[[dict[str, Any]], dict[str, Any] | None]) -> dict[str, Any]:
        """Read-modify-write as one transaction: under the lock, read the current values, call
        ``fn(values)`` (it may change the dict in place and return None, or return a new dict),
        and write the result atomically. Returns the values written. If ``fn`` raises, nothing
        is written. Creates the store's directory if it does not exist yet. Raises LockTimeout if
        another process holds the lock past ``lock_timeout``."""
        raise NotImplementedError('TODO(safestate.Store.update): make the dirs; under the lock: read, apply fn, write atomically')

    def set(self, key: str, value: Any) -> None:
        """Set one value (any JSON value) in one transaction."""
        self.update(lambda values: values.__setitem__(_key(key), value))

    def delete(self, key: str) -> bool:
        """Remove ``key``; True if it was there."""
        found: list[bool] = []
        self.update(lambda values: found.append(values.pop(_key(key), _MISSING) is not _MISSING))
        return found[0]

    # ---- secrets -----------------------------------------------------------------------------

    def secrets(self) -> dict[str, str]:
        """Every secret (a copy). Encrypted secrets need the passphrase (PassphraseError without
        it or with a wrong one; CryptoUnavailable without the ``cryptography`` package)."""
        raise NotImplementedError('TODO(safestate.Store.secrets): read secrets.json; unseal with the passphrase when it is encrypted')

    def update_secrets(self, fn: Callable[[dict[str, str]], dict[str, str] | None]) -> dict[str, str]:
        """``update`` for secrets: under the same lock, written to ``secrets.json`` (0600),
        sealed when the store has a passphrase."""
        raise NotImplementedError('TODO(safestate.Store.update_secrets): like update(), then seal if there is a passphrase')

    def get_secret(self, key: str, default: str | None = None) -> str | None:
        return self.secrets().get(key, default)

    def set_secret(self, key: str, value: str) -> None:
        self.update_secrets(lambda found: found.__setitem__(_key(key), value))

    def delete_secret(self, key: str) -> bool:
        found: list[bool] = []
        self.update_secrets(lambda values: found.append(values.pop(_key(key), _MISSING) is not _MISSING))
        return found[0]

    def secrets_encrypted(self) -> bool | None:
        """True/False for an encrypted/plain secrets file, None when there is none (or it is unreadable)."""
        try:
            doc = json.loads(self.secrets_path.read_bytes())
        except (OSError, ValueError):
            return None
        return isinstance(doc, dict) and "sealed" in doc


_MISSING = object()


def _key(key: str) -> str:
    if not isinstance(key, str) or not key:
        raise ValueError(f"a key is a non-empty string, not {key!r}")
    return key
