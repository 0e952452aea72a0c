"""A synthetic class for the gradebook's course test: one submission per way a class hands in
work, and one per way student code breaks a batch grader.

Every broken submission is the reference with one realistic mistake added at the end of a
module (a redefinition replaces the function before any other module imports it), so that what
breaks is exactly the mistake. ``build(folder, project)`` writes the class and returns what each
row must say.
"""

from __future__ import annotations

import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from grader import stubs
from grader.course import SOLUTIONS


@dataclass(frozen=True)
class Expect:
    status: str
    score: str  # "full", "zero", "partial" or "any"
    reason: tuple[str, ...] = ()  # words the reason must contain
    failing_with: dict[str, str] = field(default_factory=dict)  # test name part -> message part


# Appended to a module of the reference: the mistakes.
ENDLESS_LOOP = '''

def parse_line(line):
    """Retries a match that can never succeed: an endless loop."""
    while True:
        pass
'''
FORK_STORM = '''

import os as _os

_parse_line = parse_line


def parse_line(line):
    """A helper process per line, never waited for: every copy goes on parsing, and forking."""
    _os.fork()
    return _parse_line(line)
'''
OUTPUT_FLOOD = """

_merge = Summarizer.merge
_dumped = []


def _merge_with_debug_dump(self, other):
    if not _dumped:  # a one-off debug dump of the state, 100 MB of it, left in
        _dumped.append(True)
        print("debug:", "x" * 100_000_000)
    return _merge(self, other)


Summarizer.merge = _merge_with_debug_dump
"""
DELETES_CWD = """

import os as _os
import shutil as _shutil

# "clean up old output" at import time, in whatever folder it happens to run
for _name in _os.listdir("."):
    _shutil.rmtree(_name, ignore_errors=True) if _os.path.isdir(_name) else _os.remove(_name)
"""
SLEEPS_ON_BIG_INPUT = '''

import os as _os
import time as _time

_main = main


def main(argv=None):
    """Waits for a lock that is never released, but only on big inputs (the stress tests')."""
    if any(_os.path.isfile(a) and _os.path.getsize(a) > (12 << 20) for a in (argv or [])):
        _time.sleep(10**6)
    return _main(argv)
'''
IMPORT_CRASH = """

import json as _json

_SETTINGS = _json.load(open("loglens-settings.json"))  # a file that exists only on the student's machine
"""
BORROWS_REFERENCE = """

from solutions.loglens.parse import parse_line  # noqa: F401,E402 (the reference, not written)
"""


def build(folder: Path, project: str = "loglens") -> dict[str, Expect]:
    """Write the class into ``folder`` (one entry per student); what each row must say."""
    folder.mkdir(parents=True, exist_ok=True)
    reference = SOLUTIONS / project
    fresh = stubs.plan(SOLUTIONS, folder / ".unused-labs")  # nothing is written there

    def labs(dest: Path, tweak: dict[str, str] | None = None, stub_all: bool = False, keep: tuple = ()) -> Path:
        """A labs folder at ``dest``: the reference (or fresh stubs), with ``tweak`` appended."""
        target = dest / project
        target.mkdir(parents=True, exist_ok=True)
        (dest / "__init__.py").write_bytes(fresh.files["__init__.py"])
        for rel, data in fresh.files.items():
            if not rel.startswith(project + "/"):
                continue
            name = rel.split("/", 1)[1]
            use_reference = not stub_all or name in keep
            (target / name).write_bytes((reference / name).read_bytes() if use_reference else data)
        for name, code in (tweak or {}).items():
            with (target / name).open("a") as f:
                f.write(code)
        return dest

    expect: dict[str, Expect] = {}

    labs(folder / "alice" / "labs")  # a checkout: complete
    (folder / "alice" / "README.md").write_text("my copy of the course\n")
    expect["alice"] = Expect("graded", "full")

    labs(folder / "bob", stub_all=True, keep=("parse.py", "lines.py"))  # just the labs folder: partial
    expect["bob"] = Expect("graded", "partial")

    labs(folder / "carol" / "labs", stub_all=True)  # fresh stubs
    expect["carol"] = Expect("graded", "zero")

    staging = folder / ".erin"  # a zip as GitHub makes it (one top folder), with a syntax error
    broken_syntax = labs(staging / "erin-main" / "labs")
    with (broken_syntax / project / "parse.py").open("a") as f:
        f.write("\ndef half_written(line:\n")
    with zipfile.ZipFile(folder / "erin.zip", "w") as zf:
        for path in sorted(staging.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(staging).as_posix())
    shutil.rmtree(staging)
    expect["erin"] = Expect("import error", "zero", ("never closed", "parse.py"))

    labs(folder / "frank" / "labs", {"summary.py": IMPORT_CRASH})
    expect["frank"] = Expect("import error", "zero", ("FileNotFoundError", "summary.py"))

    labs(folder / "grace" / "labs", {"parse.py": ENDLESS_LOOP})
    expect["grace"] = Expect("timeout", "any", ("wall-clock",))

    labs(folder / "heidi" / "labs", {"parse.py": FORK_STORM})
    expect["heidi"] = Expect("killed", "any", ("processes", "fork storm"))

    labs(folder / "ivan" / "labs", {"summary.py": OUTPUT_FLOOD})
    expect["ivan"] = Expect("graded", "partial", ("file-size limit",))

    labs(folder / "judy" / "labs", {"parse.py": DELETES_CWD})
    expect["judy"] = Expect("graded", "any")

    labs(folder / "ken" / "labs", {"cli.py": SLEEPS_ON_BIG_INPUT})
    expect["ken"] = Expect(
        "graded",
        "partial",
        ("did not finish in time",),
        {"test_memory_flat_from_n_to_4n": "did not finish in time"},
    )

    other = folder / "leo" / "labs" / "safestate"  # handed in another project only
    other.mkdir(parents=True)
    (other / "__init__.py").write_text('"""Leo started the next project instead."""\n')
    expect["leo"] = Expect("missing", "zero", ("not in the submission",))

    (folder / "mia.zip").write_bytes(b"this is not a zip file\n")  # a broken upload
    expect["mia"] = Expect("invalid", "zero", ("zip",))
    return expect
