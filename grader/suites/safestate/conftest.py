"""Fixtures for the SafeState suite: the package, the CLI on a throw-away home, helper processes."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

import pytest

from grader.harness.proc import Cli, Completed

from .syscalls import STRACE

HERE = Path(__file__).parent
WORKER = HERE / "worker.py"
APP = "demo"


class StoreCli:
    """The learner's CLI bound to one throw-away home: ``store_cli("set", "a=1")`` runs
    ``python -m <root>.safestate set a=1 --app demo --dir HOME``."""

    def __init__(self, cli: Cli, home: Path, app: str = APP) -> None:
        self.cli = cli
        self.home = home
        self.app = app

    @property
    def dir(self) -> Path:
        """Where the store's files are (the documented layout: HOME/config/APP)."""
        return self.home / "config" / self.app

    @property
    def state(self) -> Path:
        return self.dir / "state.json"

    def args(self, *args: str) -> list[str]:
        return [*args, "--app", self.app, "--dir", str(self.home)]

    def __call__(self, *args: str, **kwargs) -> Completed:
        return self.cli.run(*self.args(*args), **kwargs)

    def popen(self, *args: str, **kwargs):
        return self.cli.popen(*self.args(*args), **kwargs)

    def files(self) -> list[str]:
        return sorted(os.listdir(self.dir)) if self.dir.is_dir() else []

    def temps(self) -> list[str]:
        return [n for n in self.files() if n.startswith(".state.json.") and n.endswith(".tmp")]


class Worker(Cli):
    """``worker.py`` (a helper that uses the implementation under test as a library)."""

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, str(WORKER), self.root.package, *args]


class Traced(Cli):
    """The project's CLI under ``strace``, logging to ``log``."""

    def __init__(self, base: Cli, log: Path) -> None:
        super().__init__(base.root, base.project)
        self.log = log

    def argv(self, *args: str) -> list[str]:
        return [*STRACE, "-o", str(self.log), *super().argv(*args)]


@pytest.fixture(scope="session")
def safestate(impl: Callable[[str], ModuleType]) -> ModuleType:
    return impl("safestate")


@pytest.fixture
def home(tmp_path: Path) -> Path:
    found = tmp_path / "home"
    found.mkdir()
    return found


@pytest.fixture
def store_cli(cli: Callable[[str], Cli], home: Path) -> StoreCli:
    return StoreCli(cli("safestate"), home)


@pytest.fixture
def worker(root) -> Worker:
    return Worker(root, "safestate")


@contextmanager
def umask(value: int) -> Iterator[None]:
    """Run a block (and the processes it starts: they inherit it) under another umask."""
    old = os.umask(value)
    try:
        yield
    finally:
        os.umask(old)


def no_traceback(result: Completed, what: str) -> None:
    assert "Traceback (most recent call last)" not in result.err, (
        f"{what}: a user should see a one-line message, not a Python traceback:\n{result.err[-800:]}"
    )


def one_line(result: Completed, what: str) -> None:
    no_traceback(result, what)
    lines = [line for line in result.err.strip().splitlines() if not line.startswith("usage:")]
    assert len(lines) == 1, f"{what}: expected exactly one line on stderr, got {len(lines)}:\n{result.err[-800:]}"
