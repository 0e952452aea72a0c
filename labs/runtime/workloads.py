"""Workloads for the notebooks' experiments: CPU work, a regex that backtracks, blocking I/O.

They live in a module (not in a notebook cell) so that a process pool can import them: a worker
process finds a function by its module and name, and a notebook's cells have no importable module.
"""

from __future__ import annotations

import re
import time

# Nested quantifiers: on "aaaa...a!" the engine tries every way to split the a's before failing,
# about 2**n steps for n a's. CPython's re is a backtracking engine written in C, and it holds the
# GIL for the whole match: a thread does not help, only another process does.
CATASTROPHIC = re.compile(r"(a+)+$")


def crunch(seconds: float) -> int:
    """Pure-Python CPU work for about ``seconds`` of wall time (it never waits, never yields)."""
    end = time.perf_counter() + seconds
    total = 0
    while time.perf_counter() < end:
        total += sum(i * i for i in range(200))
    return total


def crunch_count(rounds: int) -> int:
    """A fixed amount of pure-Python CPU work (``rounds`` small sums), whatever the machine's speed."""
    total = 0
    for _ in range(rounds):
        total += sum(i * i for i in range(200))
    return total


def backtrack(n: int) -> bool:
    """Match the catastrophic pattern against n a's and a '!': about 2**n steps, then no match."""
    return CATASTROPHIC.match("a" * n + "!") is not None


def blocking_io(seconds: float) -> float:
    """Stand-in for a blocking system call (a disk read, a DNS lookup): sleeps, releasing the GIL."""
    time.sleep(seconds)
    return seconds


def probe_clients(port: int, duration: float, plan: list[tuple[float, str]]) -> dict[str, list]:
    """Clients for the blocking experiment (run in their own process, as real clients would be).

    One connection sends ``fast`` every 20 ms for ``duration`` seconds and records each latency;
    another sends each ``(at, command)`` of ``plan`` at ``at`` seconds. Returns
    ``{"fast": [(sent_at, latency), ...], "sent": [(at, command), ...]}`` with ``sent_at`` and
    ``at`` as wall-clock times (``time.time()``), comparable across processes.
    """
    import asyncio

    wall = time.time() - time.monotonic()  # add to a monotonic reading to get wall-clock time

    async def main() -> dict[str, list]:
        loop = asyncio.get_running_loop()
        start = loop.time()
        fast: list[tuple[float, float]] = []
        sent: list[tuple[float, str]] = []

        async def fast_client() -> None:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            while loop.time() - start < duration:
                t0 = loop.time()
                writer.write(b"fast\n")
                await reader.readline()
                fast.append((t0 + wall, loop.time() - t0))
                await asyncio.sleep(0.02)
            writer.close()

        async def slow_client() -> None:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            for at, command in plan:
                await asyncio.sleep(max(0.0, start + at - loop.time()))
                sent.append((loop.time() + wall, command))
                writer.write(command.encode() + b"\n")
                await reader.readline()
            writer.close()

        await asyncio.gather(fast_client(), slow_client())
        return {"fast": fast, "sent": sent}

    return asyncio.run(main())
