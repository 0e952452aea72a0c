"""Request context: the request id follows a request through tasks and threads into every log line."""

from __future__ import annotations

import asyncio
import io
import logging
import random
from concurrent.futures import ThreadPoolExecutor

import pytest

from grader.harness.fakeclock import run_virtual

pytestmark = [
    pytest.mark.milestone(2, "Bound the work: limits, timeouts, cancellation, and context that follows a request"),
    pytest.mark.timeout(60),
]


@pytest.mark.points(2)
@pytest.mark.hint(7)
def test_handler_sees_its_request_id(runtime):
    """inside run_request, the handler and the tasks it starts see the request's id"""
    seen: dict[str, object] = {}

    async def handler():
        seen["handler"] = runtime.current_request_id()

        async def child():
            await asyncio.sleep(0.01)
            seen["child task"] = runtime.current_request_id()

        await asyncio.gather(child(), asyncio.create_task(child()))
        return "answer"

    result = run_virtual(runtime.run_request("req-42", handler))
    assert result == "answer", f"run_request returns the handler's result; got {result!r}"
    assert seen == {"handler": "req-42", "child task": "req-42"}, (
        f"the handler and every task it starts should see request id 'req-42'; they saw {seen}. Set the id in "
        "the context the handler's task runs in (a copy, created before the task), not in some other task."
    )


@pytest.mark.hint(7)
def test_caller_context_is_left_alone(runtime):
    """the code that calls run_request sees no request id before, during, or after it"""
    seen: list[object] = []

    async def handler():
        await asyncio.sleep(0.01)
        return runtime.current_request_id()

    async def accept_loop():
        seen.append(runtime.current_request_id())
        inner = await runtime.run_request("r1", handler)
        seen.append(runtime.current_request_id())
        return inner

    inner = run_virtual(accept_loop())
    assert inner == "r1", f"the handler should see 'r1'; it saw {inner!r}"
    assert seen == [None, None], (
        f"the caller's own context must not change: it should see no request id before and after; it saw {seen}. "
        "Setting the variable in the caller leaks the id into everything the caller does next."
    )


@pytest.mark.points(2)
@pytest.mark.hint(7)
def test_concurrent_requests_never_mix(runtime, scale):
    """hundreds of interleaved requests, each logging from tasks and threads: every line carries its own id"""
    n = scale.pick(100, 400, 2000)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(runtime.RequestIdFilter())
    handler.setFormatter(logging.Formatter("%(request_id)s|%(message)s"))
    logger = logging.getLogger("iolab.runtime.test")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    logger.addHandler(handler)
    rng = random.Random(9)
    pauses = [rng.uniform(0, 0.02) for _ in range(3 * n)]

    def blocking_part(i):
        logger.info("thread work for %s", i)
        return i

    async def serve_one(i):
        async def handler_fn():
            logger.info("start %s", i)
            await asyncio.sleep(pauses[3 * i])
            await asyncio.create_task(_sub(i))
            await runtime.in_thread(blocking_part, i)
            await asyncio.sleep(pauses[3 * i + 1])
            logger.info("end %s", i)

        async def _sub(i):
            await asyncio.sleep(pauses[3 * i + 2])
            logger.info("subtask for %s", i)

        await runtime.run_request(f"id{i}", handler_fn)

    async def main():
        logger.info("before any request")
        with ThreadPoolExecutor(4) as pool:
            asyncio.get_running_loop().set_default_executor(pool)
            await asyncio.gather(*(serve_one(i) for i in range(n)))
        logger.info("after all requests")

    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(asyncio.wait_for(main(), 60))
    finally:
        loop.close()
        logger.removeHandler(handler)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 4 * n + 2, f"expected {4 * n + 2} log lines, got {len(lines)}"
    assert lines[0] == "-|before any request" and lines[-1] == "-|after all requests", (
        f"outside any request the filter writes '-' for the id; got {lines[0]!r} and {lines[-1]!r}"
    )
    wrong = [ln for ln in lines[1:-1] if ln.split("|")[0] != "id" + ln.rsplit(" ", 1)[-1]]
    assert not wrong, (
        f"{len(wrong)} of {4 * n} log lines carry another request's id (or none); first few: {wrong[:4]}. "
        "Remember run_in_executor does not copy the context into the thread; in_thread must."
    )


@pytest.mark.hint(7)
def test_id_follows_into_threads(runtime):
    """in_thread runs the function in a worker thread that sees the caller's request id"""
    import threading

    seen: list[tuple[str | None, bool]] = []

    def blocking():
        seen.append((runtime.current_request_id(), threading.current_thread() is threading.main_thread()))
        return 5

    async def handler():
        return await runtime.in_thread(blocking)

    async def main():
        with ThreadPoolExecutor(2) as pool:
            asyncio.get_running_loop().set_default_executor(pool)
            return await runtime.run_request("t-1", handler)

    loop = asyncio.new_event_loop()
    try:
        result = loop.run_until_complete(asyncio.wait_for(main(), 30))
    finally:
        loop.close()
    assert result == 5 and seen == [("t-1", False)], (
        f"in_thread should run the function in a worker thread (not the loop's) that sees request id 't-1', "
        f"and return its result; got result {result!r}, seen {seen}"
    )
