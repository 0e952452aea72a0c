"""Fixtures for the LogLens suite: the package under test, generated logs, the CLI."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import pytest

from grader.data import Dataset, ensure
from grader.harness.proc import Cli
from grader.impl import resolve


@pytest.fixture(scope="session")
def loglens(impl: Callable[[str], ModuleType]) -> ModuleType:
    return impl("loglens")


@pytest.fixture(scope="session")
def log() -> Callable[..., Dataset]:
    """``log("access", 100_000, seed=1)`` -> a cached generated log with its exact truth."""

    def make(kind: str, lines: int, seed: int = 1, gzip: bool = False) -> Dataset:
        return ensure(kind, lines, seed, gzip=gzip, progress=False)

    return make


@pytest.fixture
def loglens_cli(cli: Callable[[str], Cli]) -> Cli:
    return cli("loglens")


@pytest.fixture(scope="session")
def reference_cli() -> Cli:
    return Cli(resolve("solutions"), "loglens")
