"""The CLI contract: commands, exit codes and one-line messages for every failure."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest

from grader.harness.kill import wait_for
from grader.harness.proc import kill_tree, raise_if_stub

from .conftest import APP, no_traceback, one_line
from .test_concurrency import hold_lock

M2 = pytest.mark.milestone(2, "Handle concurrent writers with clear messages (race conditions)")
M3 = pytest.mark.milestone(3, "Reuse the store as a module in later CLIs (production primitives)")


@M3
@pytest.mark.hint(1)
def test_init_set_get_list(store_cli):
    """init creates the store; set, get, unset and list work, in text and --json"""
    init = store_cli("init")
    assert init.returncode == 0, init.describe()
    assert store_cli.state.exists(), f"init should create {store_cli.state} (got: {init.out.strip()!r})"
    assert str(store_cli.dir) in init.out, f"init should say what it created; it printed {init.out!r}"
    again = store_cli("init")
    assert again.returncode == 0, "init on an existing store is not an error: " + again.describe()
    assert store_cli("set", "theme=dark", "lang=en").returncode == 0
    got = store_cli("get", "theme")
    assert got.returncode == 0 and got.out == "dark\n", f"`get theme` should print 'dark'; {got.describe()}"
    assert store_cli("get", "theme", "--json").json() == "dark"
    listed = store_cli("list", "--json").json()
    assert listed.get("values") == {"theme": "dark", "lang": "en"}, f"`list --json` gave {listed}"
    missing = store_cli("get", "nope")
    assert missing.returncode == 1 and missing.out == "", (
        f"`get` of an unset key exits 1, prints nothing: {missing.describe()}"
    )
    one_line(missing, "get of an unset key")
    assert store_cli("unset", "lang").returncode == 0
    assert store_cli("get", "lang").returncode == 1, "after unset the key is gone"


@M3
@pytest.mark.hint(1)
@pytest.mark.parametrize(
    "args",
    [
        (),
        ("frobnicate",),
        ("set", "novalue"),
        ("set", "bad key=1"),
        ("get",),
        ("get", "x", "--lock-timeout", "0"),
        ("--app", "../etc", "get", "x"),
    ],
    ids=["no command", "unknown command", "set without =", "bad key", "get without key", "timeout 0", "app ../etc"],
)
def test_usage_errors_exit_2(store_cli, args):
    """wrong usage exits 2 with a message on stderr, never a traceback"""
    valid = store_cli("set", "ok=1")
    assert valid.returncode == 0, "first, a valid command must work: " + valid.describe()
    full = list(args) if args and args[0] == "--app" else store_cli.args(*args)
    if args and args[0] == "--app":
        full += ["--dir", str(store_cli.home)]
    result = store_cli.cli.run(*full)
    assert result.returncode == 2, (
        f"`safestate {' '.join(args)}` is a usage error: expected exit 2. " + result.describe()
    )
    assert result.err.strip(), "a usage error must say what is wrong on stderr"
    no_traceback(result, f"`safestate {' '.join(args)}`")


@M3
@pytest.mark.hint(2)
def test_corrupt_json_exits_65_and_is_kept(store_cli):
    """corrupt JSON on disk: get and set exit 65 naming the file; the file is never overwritten"""
    assert store_cli("set", "theme=dark").returncode == 0
    garbage = b'{"schema": 2, "values": {"theme": "da'  # what a torn in-place write leaves
    store_cli.state.write_bytes(garbage)
    for args in (("get", "theme"), ("set", "theme=light"), ("list",)):
        result = store_cli(*args)
        assert result.returncode == 65, (
            f"`{' '.join(args)}` on corrupt JSON must exit 65 (EX_DATAERR). " + result.describe()
        )
        one_line(result, f"`{' '.join(args)}` on a corrupt file")
        assert "state.json" in result.err, f"the message should name the corrupt file: {result.err.strip()!r}"
        assert store_cli.state.read_bytes() == garbage, (
            f"`{' '.join(args)}` rewrote the corrupt state.json: never silently replace data you could not read "
            "(the user may want to recover it); refuse and point at `doctor`"
        )


@M3
@pytest.mark.hint(1)
def test_future_schema_exits_65(store_cli):
    """a file written by a newer version (schema 3+) is refused with exit 65 and left as it is"""
    assert store_cli("init").returncode == 0
    future = json.dumps({"schema": 3, "values": {"theme": "dark"}, "tags": ["new-feature"]}).encode()
    store_cli.state.write_bytes(future)
    for args in (("get", "theme"), ("set", "theme=light")):
        result = store_cli(*args)
        assert result.returncode == 65, f"`{' '.join(args)}` on schema 3 must exit 65. " + result.describe()
        one_line(result, "a newer schema")
        assert "3" in result.err and "schema" in result.err.lower(), (
            f"say which schema version was found and that it is newer: {result.err.strip()!r}"
        )
        assert store_cli.state.read_bytes() == future, "an old program must not rewrite a newer program's file"


@M3
@pytest.mark.hint(1)
def test_missing_directory_and_uncreatable_store(store_cli, tmp_path):
    """get/list/unset before init exit 66 and say how to create it; a store that cannot be created exits 73"""
    first = store_cli.cli.run("set", "probe=1", "--app", "other", "--dir", str(store_cli.home))  # learner code first
    assert first.returncode == 0, first.describe()
    for args in (("get", "theme"), ("list",), ("unset", "theme")):
        result = store_cli(*args)
        assert result.returncode == 66, (
            f"`{' '.join(args)}` when {store_cli.dir} does not exist must exit 66 (EX_NOINPUT). " + result.describe()
        )
        one_line(result, f"`{' '.join(args)}` without a store")
        assert "init" in result.err, f"tell the user how to create the store (init): {result.err.strip()!r}"
        assert not store_cli.dir.exists(), f"`{args[0]}` must not create the store's directory"
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    for args in (("init",), ("set", "theme=dark")):
        result = store_cli.cli.run(*args, "--app", APP, "--dir", str(blocker))
        assert result.returncode == 73, (
            f"`{' '.join(args)} --dir {blocker.name}` (a regular file) cannot create the store: expected exit 73 "
            "(EX_CANTCREAT). " + result.describe()
        )
        one_line(result, "an uncreatable store")
    assert blocker.read_text() == "not a directory"


@M3
@pytest.mark.hint(4)
def test_doctor_reports_and_fixes(store_cli):
    """doctor finds a corrupt file, loose modes and temp files; --fix moves the corrupt file aside and cleans up"""
    assert store_cli("set", "theme=dark").returncode == 0
    healthy = store_cli("doctor")
    assert healthy.returncode == 0, "doctor on a healthy store exits 0: " + healthy.describe()
    garbage = b"{ this is not json"
    store_cli.state.write_bytes(garbage)
    os.chmod(store_cli.state, 0o644)
    temp = store_cli.dir / ".state.json.0123456789abcdef.tmp"
    temp.write_bytes(b'{"half": ')
    report = store_cli("doctor", "--json")
    assert report.returncode == 1, "doctor exits 1 when it finds problems: " + report.describe()
    found = {f["check"]: f for f in report.json()["findings"]}
    wanted = {"state file": "error", "permissions": "warn", "temp files": "warn"}
    wrong = {k: found.get(k, {}).get("status") for k, v in wanted.items() if found.get(k, {}).get("status") != v}
    assert not wrong, f"doctor --json findings: expected statuses {wanted}, got {wrong} (all: {sorted(found)})"
    fixed = store_cli("doctor", "--fix")
    assert fixed.returncode == 0, "after --fix the store should be healthy: " + fixed.describe()
    kept = [n for n in store_cli.files() if n.startswith("state.json.corrupt-")]
    assert len(kept) == 1 and (store_cli.dir / kept[0]).read_bytes() == garbage, (
        f"--fix must move the corrupt file aside (state.json.corrupt-<time>), byte for byte; files: {store_cli.files()}"
    )
    assert not temp.exists(), "--fix must remove the leftover temp file"
    assert store_cli("set", "theme=light").returncode == 0, "after --fix the store works again"
    mode = os.stat(store_cli.state).st_mode & 0o777
    assert mode == 0o600, f"state.json has mode {mode:04o} after the fix and a write"


def has_open(pid: int, path) -> bool:
    """True if process ``pid`` has ``path`` open (Linux: /proc/PID/fd)."""
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") == str(path):
                return True
        except OSError:
            continue
    return False


@M2
@pytest.mark.hint(4)
def test_ctrl_c_while_waiting_for_the_lock(store_cli, worker):
    """Ctrl-C while waiting for a busy lock: exit 130 with a short note, nothing changed"""
    assert store_cli("set", "theme=dark").returncode == 0
    before = store_cli.state.read_bytes()
    holder = hold_lock(worker, store_cli.home, 30)
    try:
        waiting = store_cli.popen("set", "theme=light", "--lock-timeout", "20")
        # Ctrl-C only once it is waiting for the lock (it has the lock file open), not while Python starts
        opened = wait_for(lambda: has_open(waiting.pid, store_cli.dir / ".lock") or waiting.poll() is not None, 20)
        assert opened and waiting.poll() is None, (
            "`set` should be waiting for the lock held by another process (with the store's .lock file open); "
            f"it {'exited with ' + str(waiting.returncode) if waiting.poll() is not None else 'never opened it'}"
        )
        time.sleep(0.2)
        os.kill(waiting.pid, signal.SIGINT)
        try:
            _, err = waiting.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            kill_tree(waiting)
            raise AssertionError("after Ctrl-C (SIGINT) `set` kept waiting for the lock: it must stop") from None
    finally:
        kill_tree(holder)
        holder.wait()
    text = err.decode("utf-8", "replace")
    raise_if_stub(waiting.returncode, text)
    assert waiting.returncode == 130, (
        f"after Ctrl-C the exit code should be 130, got {waiting.returncode}: {text[-300:]}"
    )
    assert "Traceback" not in text and "interrupt" in text.lower(), f"print a short note, no traceback: {text[-500:]}"
    assert store_cli.state.read_bytes() == before
    assert not store_cli.temps()


@M3
@pytest.mark.hint(1)
def test_encryption_without_cryptography_says_how_to_install(store_cli, tmp_path):
    """asking for encryption without the 'cryptography' package exits 69 with install instructions"""
    assert store_cli("set", "theme=dark").returncode == 0
    fake = tmp_path / "no-crypto"
    (fake / "cryptography").mkdir(parents=True)
    (fake / "cryptography" / "__init__.py").write_text("raise ImportError('simulated: cryptography is missing')\n")
    env = {
        "SAFESTATE_PASSPHRASE": "pw",
        "PYTHONPATH": os.pathsep.join([str(fake), store_cli.cli.env()["PYTHONPATH"]]),
    }
    result = store_cli("set", "--secret", "token=x", env=env)
    assert result.returncode == 69, (
        "encrypting secrets without the optional 'cryptography' package must exit 69 (EX_UNAVAILABLE) with a "
        "message; " + result.describe()
    )
    one_line(result, "cryptography missing")
    assert "cryptography" in result.err and "pip install" in result.err, f"say how to install it: {result.err!r}"
    assert not (store_cli.dir / "secrets.json").exists(), "no secret may be written unencrypted instead"
