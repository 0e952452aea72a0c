"""fsync discipline, read from the system calls the process really made (strace)."""

from __future__ import annotations

import pytest

from .conftest import Traced
from .syscalls import check_durable_replace, describe, parse

M1 = pytest.mark.milestone(1, "Explain atomic rename and show it working (durability basics)")


def traced_run(store_cli, tmp_path, name, *args):
    log = tmp_path / f"{name}.strace"
    traced = Traced(store_cli.cli, log)
    result = traced.run(*store_cli.args(*args))
    assert result.returncode == 0, result.describe()
    assert log.exists() and log.stat().st_size > 0, f"strace wrote no log for `{' '.join(args)}`"
    return parse(log.read_text(errors="replace"))


@M1
@pytest.mark.hint(4)
@pytest.mark.needs("strace")
@pytest.mark.parametrize("secret", [False, True], ids=["state", "secrets"])
def test_write_fsync_rename_fsync_directory(store_cli, tmp_path, secret):
    """the process writes a temp file, fsyncs it, renames it over the target, then fsyncs the directory"""
    assert store_cli("init").returncode == 0
    assert store_cli("set", "theme=light").returncode == 0
    args = ("set", "--secret", "token=t0ps3cret") if secret else ("set", "theme=dark")
    events = traced_run(store_cli, tmp_path, "set", *args)
    target = store_cli.dir / ("secrets.json" if secret else "state.json")
    problems = check_durable_replace(events, target)
    assert not problems, (
        f"`{' '.join(args)}` did not replace {target.name} durably:\n- "
        + "\n- ".join(problems)
        + "\n"
        + describe(events, target)
    )
