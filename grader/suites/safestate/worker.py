"""A helper process for the SafeState suite, using the implementation under test as a library.

Run by path (never imported by the code under test)::

    python worker.py <root package> commit HOME APP START SIZE   # set "blob" = blob(i) for i = START, START+1, ...
    python worker.py <root package> incr HOME APP COUNT          # after "go" on stdin: COUNT x update(counter + 1)
    python worker.py <root package> hold HOME APP SECONDS        # hold the store's lock inside update()
    python worker.py <root package> raw PATH ID COUNT SIZE       # after "go": COUNT x write_atomic(PATH, payload)

It prints "ready" when imported and set up, then one line per finished step, flushed, so the
test knows exactly which writes were complete before it killed the process.
"""

from __future__ import annotations

import hashlib
import importlib
import sys
import time


def blob(i: int, size: int) -> str:
    """Value number ``i``: a header with the number, then a filler that depends on it (so a file
    mixing two values, or cut short, is never mistaken for a whole one)."""
    head = f"{i:08d}|"
    filler = hashlib.sha256(head.encode()).hexdigest()
    return (head + filler * (size // len(filler) + 1))[:size]


def blob_number(value: object) -> int | None:
    """The ``i`` of a value made by ``blob``, or None if it is not exactly such a value."""
    if not isinstance(value, str) or len(value) < 9 or value[8] != "|" or not value[:8].isdigit():
        return None
    i = int(value[:8])
    return i if value == blob(i, len(value)) else None


def payload(writer: int, i: int, size: int) -> bytes:
    """Raw file contents for ``raw`` mode: ``writer:i|`` and a filler that depends on both."""
    head = f"{writer}:{i}|".encode()
    filler = hashlib.sha256(head).digest()
    return (head + filler * (size // len(filler) + 1))[:size]


def payload_owner(data: bytes) -> tuple[int, int] | None:
    """(writer, i) if ``data`` is exactly one whole ``payload``, else None."""
    head, sep, _ = data[:40].partition(b"|")
    try:
        writer, i = (int(x) for x in head.split(b":"))
    except ValueError:
        return None
    return (writer, i) if sep and data == payload(writer, i, len(data)) else None


def say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def main(argv: list[str]) -> int:
    package, mode, *rest = argv
    safestate = importlib.import_module(f"{package}.safestate")
    if mode == "commit":
        home, app, start, size = rest[0], rest[1], int(rest[2]), int(rest[3])
        store = safestate.Store(app, home=home, lock_timeout=30)
        say("ready")
        i = start
        while True:  # runs until the test kills it
            store.set("blob", blob(i, size))
            say(f"committed {i}")
            i += 1
    if mode == "incr":
        home, app, count = rest[0], rest[1], int(rest[2])
        store = safestate.Store(app, home=home, lock_timeout=120)
        say("ready")
        sys.stdin.readline()  # "go": every worker starts at the same moment

        def add_one(values: dict) -> None:
            values["counter"] = values.get("counter", 0) + 1

        for _ in range(count):
            store.update(add_one)
        say("done")
        return 0
    if mode == "hold":
        home, app, seconds = rest[0], rest[1], float(rest[2])
        store = safestate.Store(app, home=home, lock_timeout=30, owner="worker hold")

        def hold(values: dict) -> None:
            say("holding")
            time.sleep(seconds)

        store.update(hold)
        return 0
    if mode == "raw":
        path, writer, count, size = rest[0], int(rest[1]), int(rest[2]), int(rest[3])
        say("ready")
        sys.stdin.readline()
        for i in range(count):
            safestate.write_atomic(path, payload(writer, i, size))
        say("done")
        return 0
    print(f"unknown mode {mode!r}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
