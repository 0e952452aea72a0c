"""Optional tools a test may need, and how to get each one."""

from __future__ import annotations

import os
import shutil

HOW = {
    "postgres": "install PostgreSQL (Debian: apt-get install postgresql; conda: it is in environment.yml) "
    "so that pg_ctl and initdb are on PATH, or set IOLAB_PG_DSN",
    "chromium": "install Chromium (Debian: apt-get install chromium)",
    "strace": "install strace (Debian: apt-get install strace)",
    "goaccess": "install GoAccess (Debian: apt-get install goaccess)",
    "jq": "install jq (Debian: apt-get install jq)",
    "mlr": "install Miller (Debian: apt-get install miller)",
}


def check_need(what: str) -> str | None:
    """None when available, else a sentence saying what is missing and how to get it."""
    if what == "postgres":
        if os.environ.get("IOLAB_PG_DSN") or (shutil.which("pg_ctl") and shutil.which("initdb")) or _pg_bin():
            return None
    elif what in HOW and shutil.which(what):
        return None
    return HOW.get(what, f"unknown requirement {what!r}")


def _pg_bin() -> str | None:
    """Debian keeps pg_ctl in /usr/lib/postgresql/<version>/bin, off PATH."""
    base = "/usr/lib/postgresql"
    if not os.path.isdir(base):
        return None
    for version in sorted(os.listdir(base), reverse=True):
        candidate = os.path.join(base, version, "bin")
        if os.path.exists(os.path.join(candidate, "pg_ctl")):
            return candidate
    return None
