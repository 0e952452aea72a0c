"""write_atomic and the store's files: contents, modes under any umask, cleanup, a simulated crash."""

from __future__ import annotations

import json
import os
import stat

import pytest

from .conftest import no_traceback, umask

M1 = pytest.mark.milestone(1, "Explain atomic rename and show it working (durability basics)")


def mode_of(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@M1
@pytest.mark.hint(2)
def test_write_atomic_replaces_the_contents(safestate, tmp_path):
    """write_atomic creates or replaces a file with exactly the bytes given"""
    target = tmp_path / "file.bin"
    cases = [b"first version\n", b"", bytes(range(256)) * 4, os.urandom(1 << 20), b"last"]
    for data in cases:
        safestate.write_atomic(target, data)
        got = target.read_bytes()
        assert got == data, (
            f"after write_atomic(path, {len(data):,} bytes) the file holds {len(got):,} bytes "
            f"{'with different contents' if len(got) == len(data) else ''}: every byte must be written "
            "(os.write may write fewer bytes than asked; loop until all are written)"
        )
    leftovers = sorted(p.name for p in tmp_path.iterdir() if p.name != "file.bin")
    assert not leftovers, f"after successful writes only the target may remain; also found {leftovers}"


@M1
@pytest.mark.hint(2)
def test_modes_are_private_under_a_permissive_umask(store_cli):
    """under umask 000 the store's directory is 0700 and its files 0600 (never world-readable)"""
    with umask(0):
        for args in (("init",), ("set", "theme=dark"), ("set", "--secret", "token=s3cret")):
            result = store_cli(*args)
            assert result.returncode == 0, result.describe()
    problems = []
    if mode_of(store_cli.dir) != 0o700:
        problems.append(f"directory {store_cli.dir.name}/ has mode {mode_of(store_cli.dir):04o}, expected 0700")
    for name in ("state.json", "secrets.json"):
        path = store_cli.dir / name
        if not path.exists():
            problems.append(f"{name} was not created in {store_cli.dir}")
        elif mode_of(path) != 0o600:
            problems.append(f"{name} has mode {mode_of(path):04o}, expected 0600")
    assert not problems, (
        "with umask 000 (every bit allowed) files came out world-readable or world-writable: "
        + "; ".join(problems)
        + ". Set modes explicitly (os.fchmod on the temp file, os.chmod after mkdir): the umask can only remove "
        "bits, and a permissive umask removes none."
    )


@M1
@pytest.mark.hint(2)
def test_explicit_mode_wins_over_the_umask(safestate, tmp_path):
    """write_atomic(mode=...) gives exactly that mode, for a new file and over an existing one"""
    target = tmp_path / "shared.txt"
    with umask(0o077):
        safestate.write_atomic(target, b"x", mode=0o644)
    assert mode_of(target) == 0o644, f"mode=0o644 under umask 077 gave {mode_of(target):04o}: use os.fchmod"
    with umask(0):
        safestate.write_atomic(target, b"y")
    assert mode_of(target) == 0o600, (
        f"replacing a 0644 file with the default mode gave {mode_of(target):04o}, expected 0600: the new file's "
        "mode comes from write_atomic, not from the file it replaces"
    )


@M1
@pytest.mark.hint(2)
def test_failed_replace_keeps_the_target_and_cleans_up(safestate, tmp_path):
    """when the final rename fails, the error is raised and no temp file is left behind"""
    target = tmp_path / "state.json"
    target.mkdir()  # a directory where the file should go: os.replace must fail
    (target / "keep").write_text("precious")
    with pytest.raises(OSError):
        safestate.write_atomic(target, b"new contents")
        raise AssertionError(
            "write_atomic over a non-empty directory returned normally: the error from os.replace must be raised"
        )
    left = sorted(p.name for p in tmp_path.iterdir() if p.name != "state.json")
    assert not left, f"after a failed write, temp files were left behind: {left}. Remove the temp file on any error."
    assert (target / "keep").read_text() == "precious", "the failed write damaged what was at the target"


@M1
@pytest.mark.hint(2)
def test_simulated_crash_keeps_the_previous_version(store_cli):
    """`set --simulate-crash` dies before the rename: the old value survives and doctor sees the temp file"""
    assert store_cli("set", "token=old").returncode == 0
    before = store_cli.state.read_bytes()
    crashed = store_cli("set", "token=new", "--simulate-crash")
    no_traceback(crashed, "set --simulate-crash")
    assert crashed.returncode != 0, (
        "`set --simulate-crash` finished normally: the crash fires when the new version is renamed over "
        "state.json, so no rename happened. Was the file written in place? " + crashed.describe()
    )
    assert store_cli.state.read_bytes() == before, "after the crash state.json must still hold the previous version"
    got = store_cli("get", "token")
    assert got.out.strip() == "old", f"after the crash `get token` should print old; {got.describe()}"
    assert store_cli.temps(), (
        f"the crash happened after the temp file was written, so it should still be there; files: {store_cli.files()}"
    )
    report = store_cli("doctor", "--json")
    found = {f["check"]: f for f in report.json()["findings"]}
    temps = found.get("temp files", {})
    assert temps.get("status") == "warn" and temps.get("fixable"), (
        f"doctor should report the leftover temp file as a fixable warning; it said {temps or 'nothing'}"
    )
    fixed = store_cli("doctor", "--fix")
    assert fixed.returncode == 0, "doctor --fix should clean up and report a healthy store: " + fixed.describe()
    assert not store_cli.temps(), f"doctor --fix left temp files: {store_cli.files()}"
    assert json.loads(store_cli.state.read_bytes())["values"]["token"] == "old"
