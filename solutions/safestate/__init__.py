"""SafeState: a crash-safe store for an application's config, state and secrets (project 02).

Reuse it in any CLI::

    from <root>.safestate import Store
    store = Store("myapp")                 # ~/.config/myapp/state.json
    store.update(lambda v: v.update(runs=v.get("runs", 0) + 1))
"""

from .atomic import write_atomic
from .lock import FileLock, LockTimeout
from .paths import BadAppName, app_dir, validate_app
from .store import CorruptState, CryptoUnavailable, FutureSchema, PassphraseError, Store

__all__ = [
    "BadAppName",
    "CorruptState",
    "CryptoUnavailable",
    "FileLock",
    "FutureSchema",
    "LockTimeout",
    "PassphraseError",
    "Store",
    "app_dir",
    "validate_app",
    "write_atomic",
]
