"""Fixtures for the StreamFoundry suite: the package under test, generated events, the CLI."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import pytest

from grader.data import Dataset, ensure
from grader.harness.proc import Cli
from grader.impl import resolve


@pytest.fixture(scope="session")
def sf(impl: Callable[[str], ModuleType]) -> ModuleType:
    """The streamfoundry package under test."""
    return impl("streamfoundry")


@pytest.fixture(scope="session")
def events() -> Callable[..., Dataset]:
    """``events(40_000, seed=3, kind="events-hostile")`` -> a cached NDJSON file with its exact truth."""

    def make(lines: int, seed: int = 1, kind: str = "events", gzip: bool = False) -> Dataset:
        return ensure(kind, lines, seed, gzip=gzip, progress=False)

    return make


@pytest.fixture
def sf_cli(cli: Callable[[str], Cli]) -> Cli:
    return cli("streamfoundry")


@pytest.fixture(scope="session")
def reference_cli() -> Cli:
    return Cli(resolve("solutions"), "streamfoundry")
