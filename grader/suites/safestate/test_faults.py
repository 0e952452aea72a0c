"""Disk full and permission denied: a clear message and exit code, the old file intact, no debris."""

from __future__ import annotations

import os
import stat

import pytest

from .conftest import one_line

M1 = pytest.mark.milestone(1, "Explain atomic rename and show it working (durability basics)")
KB = 1 << 10


def snapshot(store_cli) -> dict[str, bytes]:
    return {n: (store_cli.dir / n).read_bytes() for n in ("state.json", "secrets.json") if (store_cli.dir / n).exists()}


@M1
@pytest.mark.hint(2)
def test_disk_full_keeps_the_old_file(store_cli):
    """a write that hits a full disk exits 74 with one line; the old value survives and no temp is left"""
    assert store_cli("set", "note=small and safe").returncode == 0
    before = snapshot(store_cli)
    limit = 64 * KB  # RLIMIT_FSIZE: no file may grow past 64 KB, as if the disk filled up
    big = ("x" * 1023 + "\n") * 1024  # a 1 MB value
    result = store_cli("set", "note", "--stdin", input=big.encode(), fsize=limit)
    assert result.returncode == 74, (
        "writing 1 MB with only 64 KB of room must fail with exit 74 (EX_IOERR). A full disk raises OSError "
        "(ENOSPC, or EFBIG here) from os.write: let it propagate out of write_atomic after cleaning up, "
        "never swallow it (the user would believe the value was saved). " + result.describe()
    )
    one_line(result, "disk full")
    assert snapshot(store_cli) == before, "after a failed write state.json must be byte-for-byte what it was"
    left = store_cli.temps()
    assert not left, (
        f"a failed write left its temp file behind: {left}. On any error, remove the temp file before re-raising "
        "(on a full disk, a half-written temp file is exactly the space the user needs back)."
    )
    got = store_cli("get", "note")
    assert got.returncode == 0 and got.out.strip() == "small and safe", "the old value must still read back"


@M1
@pytest.mark.hint(2)
def test_permission_denied_exits_77(store_cli):
    """no write permission on the store's directory: exit 77 with one line, the old file intact, no temp file"""
    assert store_cli("set", "theme=dark").returncode == 0
    before = snapshot(store_cli)
    os.chmod(store_cli.dir, 0o500)  # the owner may read and enter, not create files
    try:
        readable = store_cli("get", "theme", unprivileged=True)
        denied = store_cli("set", "theme=light", unprivileged=True)
    finally:
        os.chmod(store_cli.dir, 0o700)
    assert readable.returncode == 0 and readable.out.strip() == "dark", (
        "a read-only store directory must still be readable with `get`: " + readable.describe()
    )
    assert denied.returncode == 77, (
        "`set` in a directory without write permission must exit 77 (EX_NOPERM) with a message; " + denied.describe()
    )
    one_line(denied, "permission denied")
    assert "permission" in denied.err.lower(), f"the message should say permission was denied: {denied.err!r}"
    assert snapshot(store_cli) == before, "the files must be unchanged after a refused write"
    assert not store_cli.temps(), f"no temp file may be left behind: {store_cli.files()}"


@M1
@pytest.mark.hint(1)
def test_someone_elses_store_exits_77(store_cli):
    """a store directory that belongs to another user: `get` and `set` exit 77, nothing changes"""
    assert store_cli("set", "theme=dark").returncode == 0
    if os.geteuid() != 0:
        pytest.skip("needs root to hand the directory to another user")  # pragma: no cover (CI runs as root)
    before = snapshot(store_cli)
    owner = os.stat(store_cli.dir)
    os.chown(store_cli.dir, 65534, 65534)  # nobody:nogroup, mode stays 0700
    try:
        got = store_cli("get", "theme", unprivileged=True)
        put = store_cli("set", "theme=light", unprivileged=True)
    finally:
        os.chown(store_cli.dir, owner.st_uid, owner.st_gid)
    for result, what in ((got, "get"), (put, "set")):
        assert result.returncode == 77, f"`{what}` on another user's 0700 store must exit 77: " + result.describe()
        one_line(result, f"{what} on another user's store")
    assert snapshot(store_cli) == before
    assert stat.S_IMODE(os.stat(store_cli.dir).st_mode) == 0o700
