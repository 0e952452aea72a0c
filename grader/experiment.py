"""Experiments in the notebooks run the learner's code.

"Your code" is whatever ``IOLAB_IMPL`` names (``grader.impl.resolve()``): the learner's ``labs``
by default, the reference when it is ``solutions`` (as in CI). A learner meets an experiment
before writing the piece it runs, so an experiment that reaches a stub prints one line naming
that piece (the stub's ``TODO(...)``) instead of a traceback, and the notebook goes on:

    ROOT = resolve()
    with your_code() as tried:
        sketch = ROOT.module("loglens").LatencySketch()
        ...
    if tried.ok:
        ...

The reference is only in the instructor's copy of the course: ``reference()`` is None in a
student copy, so a notebook compares with it only where it exists.
"""

from __future__ import annotations

import contextlib
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from .course import ROOT
from .impl import Root, resolve
from .outcomes import NotStarted

T = TypeVar("T")


def stub_reached(exc: BaseException) -> str | None:
    """What is not written yet, when ``exc`` comes from a stub: a ``NotImplementedError`` whose
    message starts with ``TODO(``, ``NotStarted`` (a subprocess that reached one), or a group of
    exceptions (a TaskGroup's) that are all of these. None for any other error: a bug in written
    code must show its traceback."""
    if isinstance(exc, BaseExceptionGroup):
        found = [stub_reached(e) for e in exc.exceptions]
        return found[0] if found and all(found) else None
    if isinstance(exc, NotStarted) or (isinstance(exc, NotImplementedError) and str(exc).startswith("TODO(")):
        return str(exc) + _written_in(exc)
    return None


def _written_in(exc: BaseException) -> str:
    # the file of the stub that raised, as a learner would open it (none for a subprocess's)
    frames = traceback.extract_tb(exc.__traceback__)
    if isinstance(exc, NotStarted) or not frames:
        return ""
    path = Path(frames[-1].filename)
    with contextlib.suppress(ValueError):
        path = path.relative_to(ROOT)
    return f" ({path})"


def not_written_yet(todo: str) -> None:
    # (a stub's message read from a subprocess's stderr may end cut short at a quote: "reject empty,")
    print(f"not written yet: {todo.rstrip(' ,;:')}; this experiment runs once it is")


@dataclass
class Tried:
    ok: bool = True  # False when the block stopped at a stub
    todo: str | None = None


@contextlib.contextmanager
def your_code() -> Iterator[Tried]:
    """Run the block; if it reaches a piece not written yet, say which in one line and go on."""
    tried = Tried()
    try:
        yield tried
    except BaseException as exc:
        todo = stub_reached(exc)
        if todo is None:
            raise
        tried.ok, tried.todo = False, todo
        not_written_yet(todo)


def attempt(fn: Callable[..., T], *args: object, **kwargs: object) -> T | None:
    """``fn(*args, **kwargs)``, or None (with the one line) when it reaches a stub."""
    with your_code():
        return fn(*args, **kwargs)
    return None


def reference() -> Root | None:
    """The reference solution, when this copy of the course has it (an instructor's copy)."""
    root = resolve("solutions")
    return root if root.present else None
