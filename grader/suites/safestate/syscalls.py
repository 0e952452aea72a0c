"""Read an strace log (``strace -f -y``) into events, and check the order of a durable write.

Only what the process really did counts: the kernel saw these calls in this order. Killing a
process cannot reveal a missing fsync (the page cache survives the process), so the suite
checks the discipline here instead: write -> fsync(temp) -> rename -> fsync(directory).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

TRACED = (
    "open,openat,openat2,creat,write,writev,pwrite64,pwritev,pwritev2,fsync,fdatasync,sync_file_range,"
    "rename,renameat,renameat2,close"
)
STRACE = ["strace", "-f", "-qq", "-y", "-s", "0", "-e", f"trace={TRACED}"]
WRITES = {"write", "writev", "pwrite64", "pwritev", "pwritev2"}
SYNCS = {"fsync", "fdatasync"}
OPENS = {"open", "openat", "openat2", "creat"}
_LINE = re.compile(
    r"^(?:\[pid\s+)?(?P<pid>\d+)\]?\s+(?P<name>\w+)\((?P<args>.*)\)\s+=\s+(?P<ret>-?\d+|\?)(?P<rest>.*)$"
)
_FD = re.compile(r"^(?P<fd>-?\d+|AT_FDCWD)<(?P<path>[^>]*)>")
_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')


@dataclass
class Event:
    index: int
    name: str
    args: str
    ret: str
    fd_path: str | None  # the path of the first argument's descriptor (strace -y), if any
    strings: list[str]  # quoted string arguments (paths), resolved to absolute when possible
    result_path: str | None  # for opens: the path of the descriptor returned

    @property
    def ok(self) -> bool:
        return self.ret not in ("?",) and not self.ret.startswith("-")


def parse(text: str) -> list[Event]:
    events: list[Event] = []
    for line in text.splitlines():
        match = _LINE.match(line.strip())
        if not match:
            continue  # "<unfinished ...>" halves, signals, exit notes
        args, rest = match["args"], match["rest"]
        first = _FD.match(args)
        fd_path = first["path"] if first else None
        base = fd_path if first and first["fd"] == "AT_FDCWD" else None
        strings = [_resolve(s, base) for s in _STRING.findall(args)]
        if match["name"] in ("renameat", "renameat2"):
            strings = _renameat_paths(args) or strings
        result = re.match(r"^<(?P<path>[^>]*)>", rest.strip())
        events.append(
            Event(len(events), match["name"], args, match["ret"], fd_path, strings, result["path"] if result else None)
        )
    return events


def _resolve(path: str, base: str | None) -> str:
    if os.path.isabs(path) or base is None:
        return path
    return os.path.normpath(os.path.join(base, path))


def _renameat_paths(args: str) -> list[str]:
    found = re.findall(r'(?:-?\d+|AT_FDCWD)(?:<([^>]*)>)?,\s*"((?:[^"\\]|\\.)*)"', args)
    return [_resolve(path, base or None) for base, path in found[:2]]


def check_durable_replace(events: list[Event], target: Path) -> list[str]:
    """Problems with how ``target`` was replaced (empty: the discipline was followed)."""
    target_s, directory = str(target), str(target.parent)
    renames = [
        e for e in events if e.name.startswith("rename") and e.ok and len(e.strings) >= 2 and e.strings[1] == target_s
    ]
    if not renames:
        in_place = [e for e in events if e.name in WRITES and e.fd_path == target_s]
        if in_place:
            return [
                f"{target.name} was written in place ({len(in_place)} write calls on the file itself, no rename): "
                "a crash in the middle leaves it torn. Write a temp file and os.replace() it over the target."
            ]
        return [f"no rename onto {target.name} was seen: write a temp file next to it, then os.replace() it"]
    rename = renames[-1]
    temp = rename.strings[0]
    problems = []
    if os.path.dirname(temp) != directory:
        problems.append(
            f"the temp file {temp} is not in the same directory as {target.name} ({directory}): a rename is only "
            "atomic within one filesystem, and only the same directory is sure to be on the target's filesystem"
        )
    opened = [e for e in events[: rename.index] if e.name in OPENS and e.ok and e.result_path == temp]
    if opened and not ("O_EXCL" in opened[-1].args and "O_CREAT" in opened[-1].args):
        problems.append(
            f"the temp file was opened without O_CREAT|O_EXCL ({opened[-1].name}({opened[-1].args[:120]}...)): two "
            "writers could share it; create it exclusively with a random name"
        )
    writes = [e for e in events[: rename.index] if e.name in WRITES and e.fd_path == temp]
    if not writes:
        problems.append(f"no write to the temp file {os.path.basename(temp)} was seen before the rename")
        return problems
    last_write = writes[-1].index
    synced = [e for e in events[last_write : rename.index] if e.name in SYNCS and e.fd_path == temp and e.ok]
    if not synced:
        problems.append(
            "the temp file was not fsynced before the rename (after its last write): after a power cut the new "
            "name could point at an empty or partial file. Call os.fsync(fd) on the temp file, then rename."
        )
    dir_synced = [e for e in events[rename.index :] if e.name in SYNCS and e.fd_path == directory and e.ok]
    if not dir_synced:
        problems.append(
            "the directory was not fsynced after the rename: the rename is a change to the directory, and "
            "until the directory is fsynced a power cut can undo it. Open the directory (os.O_RDONLY) and "
            "os.fsync it after os.replace."
        )
    return problems


def describe(events: list[Event], around: Path, limit: int = 12) -> str:
    """The calls that touched ``around``'s directory, for a failure message."""
    directory = str(around.parent)
    lines = [
        f"  {e.name}({(e.fd_path or ', '.join(e.strings))[-90:]}) = {e.ret}"
        for e in events
        if (e.fd_path or "").startswith(directory) or any(s.startswith(directory) for s in e.strings)
    ]
    lines = [line for line in lines if "close(" not in line]
    shown = lines[:limit] + (["  ..."] if len(lines) > limit else [])
    return "what the process did in the store's directory:\n" + "\n".join(shown)
