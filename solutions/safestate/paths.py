"""Where an application's files live: per-user directories, with an override for tests.

The XDG Base Directory convention (Linux and most Unix desktops) separates two kinds of files:

- **config** (``$XDG_CONFIG_HOME``, default ``~/.config``): settings a person chose and may
  copy to another machine;
- **state** (``$XDG_STATE_HOME``, default ``~/.local/state``): what a program remembers between
  runs (last run, tokens, caches that are expensive to rebuild) and that belongs to this machine.

An override replaces both bases, so tests and demos never touch the real home directory:
the ``home`` argument (the CLI's ``--dir``), else the ``SAFESTATE_HOME`` environment variable.
Under an override H the layout mirrors XDG: ``H/config/<app>`` and ``H/state/<app>``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

HOME_ENV = "SAFESTATE_HOME"
KINDS = ("config", "state")
_XDG = {"config": ("XDG_CONFIG_HOME", (".config",)), "state": ("XDG_STATE_HOME", (".local", "state"))}
# One directory name: letters, digits, dot, dash, underscore; starts with a letter or digit.
_APP = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class BadAppName(ValueError):  # noqa: N818 (public name, reads as the condition)
    """An application name that is not safe to use as one directory name."""


def validate_app(name: str) -> str:
    """Return ``name`` unchanged if it is safe as a single directory name, else raise BadAppName.

    Safe means: 1 to 64 characters from ``A-Z a-z 0-9 . _ -``, starting with a letter or a digit.
    That rules out ``..`` and ``.`` (leaving the base directory), ``/`` and ``\\`` (reaching into
    another directory), hidden names, empty names and control characters. The message says
    which rule was broken and quotes the name with ``repr`` (it may contain anything).
    """
    # BEGIN SOLUTION: reject empty, "."/"..", separators, a leading dot and any other character
    if not isinstance(name, str) or not name:
        raise BadAppName("the application name is empty")
    if name in (".", ".."):
        raise BadAppName(f"{name!r} is not an application name (it would leave the base directory)")
    if "/" in name or "\\" in name or "\0" in name:
        raise BadAppName(f"{name!r} contains a path separator; an application name is one directory name")
    if not _APP.fullmatch(name):
        raise BadAppName(
            f"{name!r} is not a valid application name: use 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return name
    # END SOLUTION


def base_dir(kind: str = "config", home: str | os.PathLike[str] | None = None) -> Path:
    """The base directory for ``kind`` ("config" or "state"), before the application's name.

    Order: ``home`` (if given) -> ``$SAFESTATE_HOME`` -> ``$XDG_CONFIG_HOME`` / ``$XDG_STATE_HOME``
    -> ``~/.config`` / ``~/.local/state``. With an override H the result is ``H/<kind>``.
    XDG variables that are empty or relative are ignored (the XDG specification says so).
    The result is always an absolute path.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}; got {kind!r}")
    # BEGIN SOLUTION: home argument, then SAFESTATE_HOME, then the XDG variable, then the default
    override = home if home is not None else os.environ.get(HOME_ENV) or None
    if override is not None:
        return Path(override).expanduser().absolute() / kind
    variable, default = _XDG[kind]
    value = os.environ.get(variable, "")
    if value and os.path.isabs(value):
        return Path(value)
    return Path.home().joinpath(*default)
    # END SOLUTION


def app_dir(app: str, *, kind: str = "config", home: str | os.PathLike[str] | None = None) -> Path:
    """The directory that holds ``app``'s files of this kind (the name is validated first)."""
    return base_dir(kind, home) / validate_app(app)
