"""Run independent measurements at the same time.

Peak memory is a property of each process tree, so runs that only measure memory need not wait
for each other; on two cores a memory check then takes the time of its longest run. Never use
this for throughput: runs measured side by side slow each other down.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import TypeVar

import psutil

T = TypeVar("T")


def side_by_side(*calls: Callable[[], T]) -> list[T]:
    """Each call's result, in order. When a call fails, the processes still running are killed and
    its exception is raised once every call has returned."""
    mine = psutil.Process()
    before = {child.pid for child in mine.children(recursive=True)}  # e.g. a server the test started
    pool = ThreadPoolExecutor(len(calls), thread_name_prefix="iolab-side-by-side")
    try:
        futures = [pool.submit(call) for call in calls]
        wait(futures, return_when=FIRST_EXCEPTION)
        for future in futures:
            if future.done() and future.exception() is not None:
                future.result()  # raises it
        return [future.result() for future in futures]
    except BaseException:
        # A failed run or the test's own timeout: the other runs must not outlive the test, and
        # the pool cannot finish until their processes are gone.
        for child in mine.children(recursive=True):
            if child.pid in before:
                continue
            try:
                child.kill()
            except psutil.Error:
                pass
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
