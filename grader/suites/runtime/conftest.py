"""Fixtures for the runtime suite: the package under test, virtual time, the practice service."""

from __future__ import annotations

import gc
import warnings
from collections.abc import Callable, Iterator
from types import ModuleType

import pytest
from hypothesis import settings

from grader.harness.fakeclock import FakeClock, virtual_loop
from grader.harness.proc import Cli

from .service import Service


def examples(scale, quick: int, standard: int, full: int) -> settings:
    """Hypothesis settings for this scale: derandomized, so a run can be replayed and a planted bug
    is found (or not) the same way every time."""
    return settings(max_examples=scale.pick(quick, standard, full), deadline=None, database=None, derandomize=True)


@pytest.fixture(scope="session")
def runtime(impl: Callable[[str], ModuleType]) -> ModuleType:
    return impl("runtime")


@pytest.fixture
def vloop() -> Iterator[tuple[object, FakeClock]]:
    """A fresh asyncio loop on virtual time and its clock; leftover tasks are cancelled at the end."""
    import asyncio

    loop, clock = virtual_loop()
    yield loop, clock
    leftovers = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in leftovers:
        task.cancel()
    if leftovers:
        loop.run_until_complete(asyncio.gather(*leftovers, return_exceptions=True))
    loop.close()


@pytest.fixture
def service(cli: Callable[[str], Cli]) -> Iterator[Callable[..., Service]]:
    """``service(deadline=2.0)`` starts ``python -m <root>.runtime serve`` on 127.0.0.1, port 0."""
    started: list[Service] = []

    def start(deadline: float = 10.0) -> Service:
        svc = Service(cli("runtime"), deadline)
        started.append(svc)
        return svc.start()

    yield start
    for svc in started:
        svc.kill()


@pytest.fixture(autouse=True, scope="session")
def _freeze_what_was_imported() -> Iterator[None]:
    """Move everything alive at the start (pytest, hypothesis, matplotlib...) out of the collector's
    sight, so that the collection between tests only looks at what the tests made: milliseconds,
    not a quarter of a second each."""
    gc.collect()
    gc.freeze()
    yield
    gc.unfreeze()


@pytest.fixture(autouse=True)
def _no_garbage_collection_during_a_test() -> Iterator[None]:
    """Collect garbage between tests, never in the middle of one.

    Why: these tests create coroutines, tasks and async generators that a learner's unfinished
    code may never run. If the cyclic garbage collector finalizes them while pytest is parsing a
    file to format a failure, the finalizer's traceback formatting calls ast.parse re-entrantly,
    and CPython 3.11 aborts the outer parse with "SystemError: AST constructor recursion depth
    mismatch", which kills the test process. Collecting here, at a safe point, avoids that.
    """
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "coroutine ... was never awaited" from stubbed code
            gc.collect()
