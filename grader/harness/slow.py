"""Slow peers: a consumer that reads a pipe at a throttled rate, a producer that trickles input."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from typing import IO


class SlowReader:
    """Reads ``stream`` at about ``rate`` bytes per second on a background thread.

    It keeps only counts (never the data), so it can sit behind a program that writes gigabytes.
    ``keep`` bytes from the start are kept for checks.
    """

    def __init__(self, stream: IO[bytes], rate: float, block: int = 4096, keep: int = 0) -> None:
        self.stream = stream
        self.rate = rate
        self.block = block
        self.keep = keep
        self.head = bytearray()
        self.total = 0
        self._thread = threading.Thread(target=self._loop, name="slow-reader", daemon=True)

    def start(self) -> SlowReader:
        self._thread.start()
        return self

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def _loop(self) -> None:
        started = time.monotonic()
        while True:
            data = self.stream.read(self.block)
            if not data:
                return
            if len(self.head) < self.keep:
                self.head += data[: self.keep - len(self.head)]
            self.total += len(data)
            ahead = self.total / self.rate - (time.monotonic() - started)
            if ahead > 0:
                time.sleep(ahead)


def trickle(stream: IO[bytes], chunks: Iterable[bytes], rate: float, close: bool = True) -> threading.Thread:
    """Write ``chunks`` into ``stream`` at about ``rate`` bytes per second (a slow producer)."""

    def loop() -> None:
        started, sent = time.monotonic(), 0
        try:
            for chunk in chunks:
                stream.write(chunk)
                stream.flush()
                sent += len(chunk)
                ahead = sent / rate - (time.monotonic() - started)
                if ahead > 0:
                    time.sleep(ahead)
        except (BrokenPipeError, ValueError):
            return  # the reader went away; that is its business
        finally:
            if close:
                try:
                    stream.close()
                except OSError:
                    pass

    thread = threading.Thread(target=loop, name="trickle", daemon=True)
    thread.start()
    return thread
