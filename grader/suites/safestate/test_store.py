"""The store as a library for later projects: paths, get/set/update, migrations, secrets, encryption."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

M3 = pytest.mark.milestone(3, "Reuse the store as a module in later CLIs (production primitives)")


@M3
@pytest.mark.hint(1)
def test_unsafe_app_names_are_refused(safestate):
    """an application name that could escape its directory is refused with BadAppName"""
    for good in ("loglens", "my-app_2.0", "A1"):
        assert safestate.validate_app(good) == good, f"validate_app({good!r}) should accept and return it"
    accepted = []
    for name in ("..", ".", "a/b", "../etc", "", ".hidden", "a\\b", "x" * 65, "with space", "tab\tname", "nul\0"):
        try:
            safestate.validate_app(name)
        except safestate.BadAppName:
            continue
        accepted.append(name)
    assert not accepted, (
        f"validate_app accepted {accepted}: a name becomes a directory name, so it must be one plain component "
        "(no '..', no separators, no leading dot; letters, digits, '.', '_', '-' only) and raise BadAppName otherwise"
    )


@M3
@pytest.mark.hint(1)
def test_directories_follow_xdg_with_an_override(safestate, monkeypatch, tmp_path):
    """config and state go to XDG_CONFIG_HOME / XDG_STATE_HOME; SAFESTATE_HOME or home= override both"""
    from importlib import import_module

    paths = import_module(safestate.__name__ + ".paths")
    for var in ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "SAFESTATE_HOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "me"))
    expectations = [
        (paths.app_dir("app"), tmp_path / "me/.config/app", "no variables: ~/.config/<app>"),
        (paths.app_dir("app", kind="state"), tmp_path / "me/.local/state/app", "no variables: ~/.local/state/<app>"),
    ]
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xc"))
    monkeypatch.setenv("XDG_STATE_HOME", "relative/ignored")
    expectations += [
        (paths.app_dir("app"), tmp_path / "xc/app", "XDG_CONFIG_HOME set: $XDG_CONFIG_HOME/<app>"),
        (paths.app_dir("app", kind="state"), tmp_path / "me/.local/state/app", "a relative XDG_STATE_HOME is ignored"),
    ]
    monkeypatch.setenv("SAFESTATE_HOME", str(tmp_path / "sh"))
    expectations += [
        (paths.app_dir("app"), tmp_path / "sh/config/app", "SAFESTATE_HOME=H: H/config/<app>"),
        (paths.app_dir("app", kind="state"), tmp_path / "sh/state/app", "SAFESTATE_HOME=H: H/state/<app>"),
        (paths.app_dir("app", home=tmp_path / "arg"), tmp_path / "arg/config/app", "home= wins over SAFESTATE_HOME"),
    ]
    wrong = [f"{why}: expected {want}, got {got}" for got, want, why in expectations if Path(got) != want]
    assert not wrong, "directory convention:\n- " + "\n- ".join(wrong)


@M3
@pytest.mark.hint(1)
def test_get_set_delete_update(safestate, home):
    """Store: get/set/delete/update round-trip any JSON value; update is one transaction"""
    store = safestate.Store("demo", home=home)
    assert store.get("missing", "dflt") == "dflt", "get(key, default) on a fresh store must return the default"
    values = {"theme": "dark", "count": 3, "ratio": 0.5, "flags": [1, "two"], "nested": {"a": None}, "on": True}
    for key, value in values.items():
        store.set(key, value)
    reread = safestate.Store("demo", home=home)  # a second process would see the same
    assert reread.all() == values, f"all() after set() should be {values}, got {reread.all()}"
    assert reread.delete("count") is True and reread.delete("count") is False, "delete returns whether it was there"
    result = reread.update(lambda v: v.update(count=v.get("count", 0) + 10))
    assert result.get("count") == 10 and reread.get("count") == 10, f"update(fn) should apply fn: {result}"
    before = store.path.read_bytes()

    def broken(v):
        v["theme"] = "half-done"
        raise RuntimeError("the caller's function failed")

    with pytest.raises(RuntimeError):
        store.update(broken)
    assert store.path.read_bytes() == before, "when fn raises inside update(), nothing may be written"
    doc = json.loads(store.path.read_bytes())
    assert doc.get("schema") == 2 and isinstance(doc.get("values"), dict), (
        f'state.json must be {{"schema": 2, "values": {{...}}}}; got keys {sorted(doc)}'
    )


@M3
@pytest.mark.hint(1)
def test_version_1_is_migrated_and_written_back(safestate, home):
    """a schema-1 file is read as schema 2 and written back atomically (0600)"""
    store = safestate.Store("demo", home=home)
    store.dir.mkdir(parents=True)
    store.path.write_text(json.dumps({"version": 1, "data": {"theme": "dark", "runs": 4}}))
    os.chmod(store.path, 0o644)
    assert store.get("theme") == "dark" and store.get("runs") == 4, "version-1 values must read back unchanged"
    doc = json.loads(store.path.read_bytes())
    assert doc == {"schema": 2, "values": {"theme": "dark", "runs": 4}}, (
        f"after reading a version-1 file it should be written back as schema 2; the file now holds {doc}"
    )
    mode = stat.S_IMODE(store.path.stat().st_mode)
    assert mode == 0o600, f"the migrated file has mode {mode:04o}: write it back with write_atomic (0600)"


@M3
@pytest.mark.hint(1)
@pytest.mark.parametrize(
    ("content", "error"),
    [
        (b'{"schema": 2, "values": {"a": ', "CorruptState"),
        (b"", "CorruptState"),
        (b"[1, 2]", "CorruptState"),
        (b'{"schema": 99, "values": {}}', "FutureSchema"),
    ],
    ids=["truncated", "empty", "not-an-object", "future-schema"],
)
def test_bad_files_raise_and_stay_untouched(safestate, home, content, error):
    """a corrupt file or a newer schema raises CorruptState/FutureSchema and is never rewritten"""
    store = safestate.Store("demo", home=home)
    store.set("seed", 1)
    store.path.write_bytes(content)
    for action in ("get", "set"):
        with pytest.raises(getattr(safestate, error)) as raised:
            store.get("seed") if action == "get" else store.set("seed", 2)
            raise AssertionError(f"{action} on a file holding {content[:40]!r} should raise {error}")
        assert str(store.path.name) in str(raised.value), f"the error should name the file: {raised.value}"
        assert store.path.read_bytes() == content, (
            f"{action} changed a file it could not read ({content[:40]!r}): never overwrite what you do not "
            "understand; leave it for doctor (and the user) to look at"
        )
    assert issubclass(safestate.FutureSchema, safestate.CorruptState)


@M3
@pytest.mark.hint(1)
def test_secrets_live_in_their_own_private_file(safestate, home):
    """secrets go to secrets.json (0600), never into state.json"""
    store = safestate.Store("demo", home=home, passphrase="")
    store.set("theme", "dark")
    store.set_secret("token", "s3cr3t-value")
    assert store.get_secret("token") == "s3cr3t-value"
    assert b"s3cr3t-value" not in store.path.read_bytes(), "a secret ended up in state.json"
    assert stat.S_IMODE(store.secrets_path.stat().st_mode) == 0o600
    assert store.delete_secret("token") is True and store.get_secret("token") is None


@M3
@pytest.mark.hint(1)
def test_encrypted_secrets(safestate, home):
    """with a passphrase, secrets.json holds no plaintext; the right passphrase reads it, a wrong one cannot"""
    pytest.importorskip("cryptography", reason="needs the cryptography package: pip install 'iolab[crypto]'")
    store = safestate.Store("demo", home=home, passphrase="correct horse")
    store.set_secret("token", "plaintext-token-123")
    raw = store.secrets_path.read_bytes()
    assert b"plaintext-token-123" not in raw, "with a passphrase the secret must not appear in the file"
    assert safestate.Store("demo", home=home, passphrase="correct horse").get_secret("token") == "plaintext-token-123"
    for wrong in ("wrong horse", None):
        with pytest.raises(safestate.PassphraseError):
            safestate.Store("demo", home=home, passphrase=wrong or "").secrets()
            raise AssertionError(f"reading encrypted secrets with passphrase {wrong!r} must raise PassphraseError")
    store.set_secret("other", "x")
    assert store.secrets_path.read_bytes() != raw, "each write should seal again (fresh salt and nonce)"
