"""Request-scoped context: a request id that follows a request everywhere, into every log line.

``contextvars`` is Python's counterpart of Node's AsyncLocalStorage. A ``ContextVar`` holds a
value per *context*, and asyncio gives every task its own context:

- ``asyncio.create_task`` copies the current context when the task is created, so a task
  started while handling request r1 sees r1, even after the handler has moved on;
- a value set inside a task stays in that task (and tasks it starts later): it never leaks back
  into the code that created the task, and never into a sibling;
- threads are the trap: ``asyncio.to_thread`` copies the context into the worker thread, but
  ``loop.run_in_executor`` and ``threading.Thread`` do **not**: code there sees the defaults.

``run_request`` runs a handler with its id set; ``in_thread`` runs blocking code in a thread
with the caller's context; ``RequestIdFilter`` puts the id on every log record.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from typing import Any, TypeVar

T = TypeVar("T")

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


def new_request_id() -> str:
    """A fresh id (12 hex digits): short enough to read in a log, unique enough for a day's traffic."""
    return uuid.uuid4().hex[:12]


def current_request_id() -> str | None:
    """The id of the request being handled here, or None outside any request."""
    raise NotImplementedError('TODO(runtime.current_request_id): read the context variable')


async def run_request(rid: str, handler: Callable[[], Awaitable[T]]) -> T:
    """Run ``handler()`` as request ``rid`` and return its result.

    Inside the handler, in every task it creates and in every ``in_thread`` call it makes,
    ``current_request_id()`` is ``rid``. The caller's own context is left exactly as it was,
    so many requests can be started from one accept loop without their ids mixing.
    """
    raise NotImplementedError('TODO(runtime.run_request): a task with a copied context in which request_id is set to rid')


async def in_thread(fn: Callable[..., T], *args: Any, executor: Executor | None = None) -> T:
    """Run blocking ``fn(*args)`` in a thread (``executor``, default the loop's) with the caller's
    context, so the request id (and every other ContextVar) is visible there."""
    raise NotImplementedError('TODO(runtime.in_thread): run_in_executor on a function that runs fn inside a copy of the current context')


class RequestIdFilter(logging.Filter):
    """Adds ``record.request_id`` (the current id, or "-" outside a request) to every record.

    Attach it to a *handler* (``handler.addFilter(RequestIdFilter())``) so it sees records from
    every logger, and use ``%(request_id)s`` in the format.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        raise NotImplementedError('TODO(runtime.RequestIdFilter.filter): set record.request_id and keep the record')


def log_handler(stream: Any = None, fmt: str = "%(request_id)s %(levelname)s %(message)s") -> logging.Handler:
    """A stream handler whose lines start with the request id."""
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(logging.Formatter(fmt))
    return handler
