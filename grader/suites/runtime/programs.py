"""Scripted programs that run unchanged on asyncio and on a MiniLoop, writing an event log.

A program is ``async def program(loop, log)``. It may use only what both loops offer:
``call_soon``, ``call_later``, ``call_at``, ``time``, ``create_future``, ``create_task``,
``add_reader``/``remove_reader``/``add_writer``/``remove_writer``, ``set_exception_handler``,
futures (``set_result``, ``cancel``, ``add_done_callback``, ``await fut``), tasks (``cancel``,
``cancelled``, ``await task``) and ``yield_now()`` below (one bare yield, like asyncio.sleep(0)).
asyncio's log is the expected answer; each program says what it is about, for failure messages.
"""

from __future__ import annotations

import asyncio
import random
import socket
import types
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from grader.harness.fakeclock import FakeClock, VirtualTimeSelector, virtual_loop


@types.coroutine
def yield_now() -> Any:
    """Give the other ready callbacks a turn: exactly one bare ``yield`` to the task."""
    yield


def stamp(loop: Any, what: str) -> str:
    return f"{what}@{loop.time():.4f}"


@dataclass(frozen=True)
class Program:
    name: str
    about: str  # what the program checks, in a sentence, for the failure message
    run: Callable[[Any, list[str]], Coroutine[Any, Any, Any]]


PROGRAMS: list[Program] = []


def program(about: str) -> Callable[[Callable[[Any, list[str]], Coroutine[Any, Any, Any]]], Any]:
    def register(fn: Callable[[Any, list[str]], Coroutine[Any, Any, Any]]) -> Any:
        PROGRAMS.append(Program(fn.__name__, about, fn))
        return fn

    return register


@program("call_soon runs callbacks first in, first out; one scheduled by a callback runs in the next iteration")
async def soon_fifo(loop: Any, log: list[str]) -> None:
    done = loop.create_future()

    def a() -> None:
        log.append("a")
        loop.call_soon(c)

    def c() -> None:
        log.append("c (scheduled by a)")
        done.set_result(None)

    loop.call_soon(a)
    loop.call_soon(log.append, "b")
    await done
    log.append("main resumes")


@program("a ready callback runs before a timer that is already due (call_later(0) is still a timer)")
async def soon_before_due_timer(loop: Any, log: list[str]) -> None:
    done = loop.create_future()
    loop.call_later(0, log.append, "timer(0)")
    loop.call_soon(log.append, "soon")
    loop.call_later(0.001, done.set_result, None)
    await done
    log.append("main resumes")


@program("timers fire in deadline order, whatever order they were scheduled in, at their deadline")
async def timers_by_deadline(loop: Any, log: list[str]) -> None:
    done = loop.create_future()
    start = loop.time()
    loop.call_later(0.3, lambda: log.append(stamp(loop, "x")))
    loop.call_later(0.1, lambda: log.append(stamp(loop, "y")))
    loop.call_at(start + 0.15, lambda: log.append(stamp(loop, "w")))
    loop.call_later(0.2, lambda: log.append(stamp(loop, "z")))
    loop.call_later(0.35, done.set_result, None)
    await done
    log.append(stamp(loop, "main"))


@program("a cancelled timer never runs, and the loop does not wait for it")
async def cancelled_timer(loop: Any, log: list[str]) -> None:
    done = loop.create_future()
    handle = loop.call_later(0.1, log.append, "cancelled timer ran")
    loop.call_later(0.2, lambda: log.append(stamp(loop, "b")))
    loop.call_later(0.25, done.set_result, None)
    handle.cancel()
    soon = loop.call_soon(log.append, "cancelled soon ran")
    soon.cancel()
    await done
    log.append(stamp(loop, "main"))


@program("in one iteration: callbacks already ready, then ready I/O callbacks, then due timers")
async def io_between_ready_and_timers(loop: Any, log: list[str]) -> None:
    done = loop.create_future()
    r, w = socket.socketpair()
    r.setblocking(False)
    try:
        w.send(b"x")

        def readable() -> None:
            log.append(f"reader got {r.recv(16)!r}")
            loop.remove_reader(r)

        loop.add_reader(r, readable)
        loop.call_later(0, log.append, "timer(0)")
        loop.call_soon(log.append, "soon")
        loop.call_later(0.01, done.set_result, None)
        await done
    finally:
        r.close()
        w.close()
    log.append("main resumes")


@program("a reader is called in every iteration while its socket stays readable, until removed")
async def reader_until_drained(loop: Any, log: list[str]) -> None:
    done = loop.create_future()
    r, w = socket.socketpair()
    r.setblocking(False)
    try:
        w.send(b"abc")

        def readable() -> None:
            byte = r.recv(1)
            log.append(f"read {byte!r}")
            if byte == b"c":
                loop.remove_reader(r)
                done.set_result(None)

        loop.add_reader(r, readable)

        def tick(n: int) -> None:
            log.append(f"tick {n}")
            if n < 4:
                loop.call_soon(tick, n + 1)

        loop.call_soon(tick, 1)
        await done
    finally:
        r.close()
        w.close()


@program("a writer runs when its socket is writable; removing it stops it")
async def writer_once(loop: Any, log: list[str]) -> None:
    done = loop.create_future()
    r, w = socket.socketpair()
    w.setblocking(False)
    try:

        def writable() -> None:
            log.append(f"writable, sent {w.send(b'hi')}")
            loop.remove_writer(w)
            loop.call_soon(done.set_result, None)

        loop.add_writer(w, writable)
        loop.call_soon(log.append, "soon")
        await done
        log.append(f"peer got {r.recv(16)!r}")
    finally:
        r.close()
        w.close()


@program("two tasks that yield after each step take turns, one step per iteration")
async def tasks_take_turns(loop: Any, log: list[str]) -> None:
    async def worker(name: str) -> str:
        for i in range(3):
            log.append(f"{name}{i}")
            await yield_now()
        return name

    a = loop.create_task(worker("a"))
    b = loop.create_task(worker("b"))
    log.append("tasks created")
    log.append(f"a returned {await a}")
    log.append(f"b returned {await b}")


@program("no microtask queue: resolving a future puts the waiting task at the BACK of the ready queue")
async def future_wakeup_goes_to_the_back(loop: Any, log: list[str]) -> None:
    fut = loop.create_future()

    async def waiter() -> None:
        log.append("waiter: waiting")
        value = await fut
        log.append(f"waiter: woke with {value}")

    task = loop.create_task(waiter())
    await yield_now()

    def resolve() -> None:
        loop.call_soon(log.append, "callback scheduled before set_result")
        fut.set_result(42)
        log.append("resolve: set_result returned (nothing ran inline)")

    loop.call_soon(resolve)
    await task
    log.append("main resumes")


@program("done callbacks are scheduled (not called inline), in the order they were added")
async def done_callbacks(loop: Any, log: list[str]) -> None:
    fut = loop.create_future()
    fut.add_done_callback(lambda f: log.append(f"first sees {f.result()}"))
    fut.add_done_callback(lambda f: log.append(f"second sees {f.result()}"))
    loop.call_soon(log.append, "already queued")
    fut.set_result("ok")
    log.append("set_result returned")
    late = loop.create_future()
    late.set_result("late")
    late.add_done_callback(lambda f: log.append(f"added after done sees {f.result()}"))
    await yield_now()
    await yield_now()
    log.append("main resumes")


@program("a task's result reaches the task awaiting it; an exception too")
async def task_results(loop: Any, log: list[str]) -> None:
    async def child(fail: bool) -> int:
        await yield_now()
        if fail:
            raise ValueError("child failed")
        return 7

    ok = loop.create_task(child(False))
    bad = loop.create_task(child(True))
    log.append(f"ok -> {await ok}")
    try:
        await bad
    except ValueError as exc:
        log.append(f"bad -> ValueError({exc})")


@program("cancelling a waiting task throws CancelledError at its await; it can clean up; awaiting it raises")
async def cancel_waiting_task(loop: Any, log: list[str]) -> None:
    never = loop.create_future()

    async def sleeper() -> None:
        try:
            log.append("sleeper: waiting forever")
            await never
        except asyncio.CancelledError:
            log.append("sleeper: cancelled, cleaning up")
            await yield_now()
            log.append("sleeper: cleanup done")
            raise

    task = loop.create_task(sleeper())
    await yield_now()
    log.append(f"cancel() -> {task.cancel()}")
    log.append(f"waited future cancelled: {never.cancelled()}")
    try:
        await task
    except asyncio.CancelledError:
        log.append(f"main: task cancelled = {task.cancelled()}")
    log.append(f"cancel() again -> {task.cancel()}")


@program("a task cancelled before its first step never runs its body")
async def cancel_before_start(loop: Any, log: list[str]) -> None:
    async def body() -> None:
        log.append("body ran")

    task = loop.create_task(body())
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        log.append(f"cancelled before start: {task.cancelled()}")


@program("a task that catches the cancellation and returns normally is not cancelled")
async def cancellation_swallowed(loop: Any, log: list[str]) -> None:
    gate = loop.create_future()

    async def stubborn() -> str:
        try:
            await gate
        except asyncio.CancelledError:
            log.append("stubborn: caught it")
        return "finished anyway"

    task = loop.create_task(stubborn())
    await yield_now()
    task.cancel()
    log.append(f"result: {await task}, cancelled={task.cancelled()}")


@program("an exception in a callback goes to the exception handler and the loop keeps running")
async def callback_error(loop: Any, log: list[str]) -> None:
    done = loop.create_future()
    loop.set_exception_handler(lambda _loop, ctx: log.append(f"handler: {type(ctx.get('exception')).__name__}"))

    def boom() -> None:
        log.append("boom")
        raise KeyError("boom")

    loop.call_soon(boom)
    loop.call_soon(log.append, "next callback")
    loop.call_later(0.01, done.set_result, None)
    await done
    loop.set_exception_handler(None)
    log.append("main resumes")


@program("a timer callback that schedules more work: its call_soon runs before its call_later(0)")
async def work_from_a_timer(loop: Any, log: list[str]) -> None:
    done = loop.create_future()

    def fire() -> None:
        log.append(stamp(loop, "timer"))
        loop.call_later(0, lambda: log.append(stamp(loop, "timer's timer(0)")))
        loop.call_soon(lambda: log.append(stamp(loop, "timer's soon")))
        loop.call_later(0.05, done.set_result, None)

    loop.call_later(0.1, fire)
    await done
    log.append(stamp(loop, "main"))


@program("a chain of call_soon does not starve a timer forever: the timer runs once it is due")
async def chain_does_not_starve_timers(loop: Any, log: list[str]) -> None:
    done = loop.create_future()
    loop.call_later(0, log.append, "timer(0)")

    def link(n: int) -> None:
        log.append(f"link {n}")
        if n < 3:
            loop.call_soon(link, n + 1)
        else:
            done.set_result(None)

    loop.call_soon(link, 1)
    await done


# -- running a program on each loop -------------------------------------------------------------


def run_on_asyncio(fn: Callable[[Any, list[str]], Coroutine[Any, Any, Any]]) -> list[str]:
    loop, _ = virtual_loop(FakeClock())
    log: list[str] = []
    try:
        loop.run_until_complete(fn(loop, log))
    finally:
        loop.close()
    return log


class GuardedSelector(VirtualTimeSelector):
    """Virtual time, plus a limit on select() calls so a loop that spins forever fails instead of hanging."""

    def __init__(self, clock: FakeClock, limit: int = 20_000) -> None:
        super().__init__(clock)
        self.limit = limit

    def select(self, timeout: float | None = None) -> list[Any]:
        if self.count >= self.limit:
            raise AssertionError(
                f"the loop called select() {self.limit:,} times without finishing the program: "
                "it spins (a timeout of 0 when nothing is ready?) or never runs what is due"
            )
        return super().select(timeout)


def run_on_miniloop(runtime: Any, fn: Callable[[Any, list[str]], Coroutine[Any, Any, Any]]) -> list[str]:
    clock = FakeClock()
    loop = runtime.MiniLoop(clock=clock, selector=GuardedSelector(clock))
    log: list[str] = []
    try:
        loop.run_until_complete(fn(loop, log))
    finally:
        loop.close()
    return log


def first_difference(expected: list[str], got: list[str]) -> str:
    for i, (e, g) in enumerate(zip(expected, got, strict=False)):
        if e != g:
            return f"event #{i + 1}: asyncio logs {e!r}, MiniLoop logs {g!r}"
    if len(expected) != len(got):
        shorter = "MiniLoop stopped early" if len(got) < len(expected) else "MiniLoop logged extra events"
        return f"{shorter}: {len(expected)} events on asyncio, {len(got)} on MiniLoop"
    return "no difference"


# -- random programs (for the property test) ----------------------------------------------------


def random_program(ops: list[tuple[str, int]], seed: int) -> Callable[[Any, list[str]], Coroutine[Any, Any, Any]]:
    """Build a program from generated ops. Every timer gets its own deadline (no ties: asyncio
    does not promise an order for timers due at the very same instant)."""
    rng = random.Random(seed)

    async def run(loop: Any, log: list[str]) -> None:
        handles: list[Any] = []
        tasks: list[Any] = []
        unique = iter(range(1, 10_000))

        def delay(base: int) -> float:
            return base * 0.01 + next(unique) * 1e-6

        def nested(label: str) -> None:
            log.append(stamp(loop, label))
            loop.call_later(delay(0), lambda: log.append(stamp(loop, label + ".t")))
            loop.call_soon(log.append, label + ".s")

        async def worker(label: str, steps: int, fut: Any) -> None:
            for i in range(steps):
                log.append(f"{label}.{i}")
                await yield_now()
            if fut is not None:
                log.append(f"{label} got {await fut}")

        for n, (op, arg) in enumerate(ops):
            label = f"{op}{n}"
            if op == "soon":
                handles.append(loop.call_soon(log.append, label))
            elif op == "later":
                handles.append(loop.call_later(delay(arg), lambda label=label: log.append(stamp(loop, label))))
            elif op == "nest":
                handles.append(loop.call_soon(nested, label))
            elif op == "nest_later":
                handles.append(loop.call_later(delay(arg), nested, label))
            elif op == "cancel" and handles:
                handles[rng.randrange(len(handles))].cancel()
            elif op == "task":
                tasks.append(loop.create_task(worker(label, arg % 4, None)))
            elif op == "future":
                fut = loop.create_future()
                tasks.append(loop.create_task(worker(label, arg % 3, fut)))
                loop.call_later(delay(arg), fut.set_result, label)
            elif op == "yield":
                await yield_now()
                log.append(f"main yielded at {n}")
        done = loop.create_future()
        loop.call_later(1.0, done.set_result, None)
        await done
        for task in tasks:
            await task
        log.append(stamp(loop, "end"))

    return run
