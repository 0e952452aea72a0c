"""Shared checks for the StreamFoundry suite: counters, models of the expected output, asyncio."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
from collections.abc import Iterator
from typing import Any

from grader.data.events import EventSpec, EventTruth, records

COUNTERS = re.compile(r"^streamfoundry: (processed=.*)$", re.MULTILINE)


def counters(stderr: str, what: str = "the run") -> dict[str, Any]:
    """The last final-counters line on stderr (``streamfoundry: processed=... emitted=...``) as a dict."""
    found = COUNTERS.findall(stderr)
    assert found, (
        f"{what}: the final counters line (`streamfoundry: processed=N emitted=N bad=N ...`) is missing "
        f"from stderr; stderr ends with:\n{stderr[-600:]}"
    )
    doc: dict[str, Any] = {}
    for pair in found[-1].split():
        key, _, value = pair.partition("=")
        try:
            doc[key] = float(value) if "." in value else int(value)
        except ValueError:
            doc[key] = value
    return doc


def good_events(truth: EventTruth) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line, event) for every good line of a generated file, replayed without parsing it."""
    spec = EventSpec(**truth.spec)
    for line, event, _ in records(spec):
        if event is not None:
            yield line, event


def as_cell(value: Any) -> str:
    """What the course's CSV convention makes of a JSON value (null -> '', JSON true/false, compact JSON)."""
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def read_csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def ndjson(text: str, what: str) -> list[dict[str, Any]]:
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        try:
            out.append(json.loads(line))
        except ValueError:
            raise AssertionError(f"{what}: output line {number} is not JSON: {line[:200]!r}") from None
    return out


def run_async(coro: Any, timeout: float = 30) -> Any:
    """Run a coroutine in a fresh loop with a timeout (a hang becomes a clear failure)."""

    async def bounded() -> Any:
        try:
            async with asyncio.timeout(timeout):  # no extra task, unlike wait_for: all_tasks() stays exact
                return await coro
        except TimeoutError:
            raise AssertionError(
                f"did not finish within {timeout:.0f}s: something waits forever "
                "(a task that is never awaited, a slot that is never freed?)"
            ) from None

    return asyncio.run(bounded())


def shown(text: str, limit: int = 300) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")
