"""Where a student's code is in a submission, and a private copy of it to grade.

A submission is an entry of the submissions folder, named after the student:
- a checkout of the course (``alice/labs/loglens/...``),
- just the ``labs`` folder, or its project folders (``bob/loglens/...``),
- a zip of either (``carol.zip``), also with the one top folder GitHub and most zip tools add.

Grading never touches the original: the labs are copied (or unpacked) into the submission's own
temporary folder first, so code that deletes files deletes its copy.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..course import PROJECTS

MAX_BYTES = 200 << 20  # a whole submission, unpacked: far above any honest labs folder
MAX_FILES = 20_000
SKIP = {
    "__pycache__",
    ".git",
    ".venv",
    "venv",
    "node_modules",
    ".ipynb_checkpoints",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    ".hypothesis",
    "__MACOSX",
}
LABS_INIT = '"""A student\'s labs, copied for grading."""\n'


class InvalidSubmission(Exception):  # noqa: N818 (an outcome for one student, reported as a row)
    """The entry holds no gradable code (the message says what was found instead)."""


@dataclass(frozen=True)
class Submission:
    student: str
    path: Path

    @property
    def is_zip(self) -> bool:
        return self.path.is_file()


def discover(folder: Path) -> list[Submission]:
    """Every submission in ``folder``, sorted by student name (folders and ``.zip`` files; names
    starting with ``.`` or ``_`` and other files are not submissions)."""
    if not folder.is_dir():
        raise LookupError(f"{folder}: no such folder of submissions")
    found: list[Submission] = []
    taken: set[str] = set()
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith((".", "_")):
            continue
        if entry.is_dir():
            name = entry.name
        elif entry.is_file() and entry.suffix.lower() == ".zip":
            name = entry.stem
        else:
            continue
        student = safe_name(name)
        if student in taken:  # alice/ and alice.zip: keep both, told apart
            student = safe_name(entry.name)
        taken.add(student)
        found.append(Submission(student, entry))
    return found


def safe_name(name: str) -> str:
    """A student name usable as a file name (letters, digits, ``.-_@``)."""
    cleaned = re.sub(r"[^A-Za-z0-9._@-]+", "_", name).strip("._") or "student"
    return cleaned[:100]


def fingerprint(sub: Submission) -> str:
    """A hash of the submission's content: ``--resume`` regrades a submission that changed."""
    digest = hashlib.sha256()
    if sub.is_zip:
        digest.update(sub.path.read_bytes())
        return digest.hexdigest()
    for path in sorted(_files(sub.path)):
        digest.update(path.relative_to(sub.path).as_posix().encode() + b"\0")
        try:
            digest.update(path.read_bytes())
        except OSError:
            digest.update(b"(unreadable)")
        digest.update(b"\0")
    return digest.hexdigest()


def materialize(sub: Submission, dest: Path) -> Path:
    """Copy the submission's labs to ``dest/labs``; return ``dest`` (an implementation root)."""
    dest.mkdir(parents=True, exist_ok=True)
    if sub.is_zip:
        unpacked = dest / ".unpacked"
        _unzip(sub.path, unpacked)
        try:
            _copy_labs(locate(unpacked), dest / "labs")
        finally:
            shutil.rmtree(unpacked, ignore_errors=True)
    else:
        _copy_labs(locate(sub.path), dest / "labs")
    init = dest / "labs" / "__init__.py"
    if not init.exists():
        init.write_text(LABS_INIT)
    return dest


def locate(folder: Path) -> Path:
    """The labs folder inside ``folder``: ``labs/`` itself, or a folder holding project folders,
    looking through up to three single top folders (``repo-main/`` and the like)."""
    names = {p.name for p in PROJECTS}
    here = folder
    for _ in range(4):
        if (here / "labs").is_dir():
            return here / "labs"
        if any((here / name).is_dir() for name in names):
            return here
        inside = [d for d in here.iterdir() if d.is_dir() and d.name not in SKIP and not d.name.startswith(".")]
        if len(inside) != 1:
            break
        here = inside[0]
    seen = ", ".join(sorted(p.name for p in folder.iterdir())[:8]) or "nothing"
    raise InvalidSubmission(
        f"no labs/ folder and no project folder ({', '.join(sorted(names)[:3])}, ...) in it; found: {seen}"
    )


def _files(root: Path) -> Iterable[Path]:
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in SKIP]
        for name in files:
            if not name.endswith((".pyc", ".pyo")):
                yield Path(folder) / name


def _copy_labs(source: Path, target: Path) -> None:
    files = list(_files(source))
    size = sum(p.lstat().st_size for p in files)
    if len(files) > MAX_FILES or size > MAX_BYTES:
        raise InvalidSubmission(
            f"the labs folder holds {len(files):,} files, {size / 1e6:,.0f} MB: more than a labs folder can "
            f"(limits: {MAX_FILES:,} files, {MAX_BYTES / 1e6:,.0f} MB)"
        )
    shutil.copytree(source, target, symlinks=True, ignore=shutil.ignore_patterns(*SKIP, "*.pyc", "*.pyo"))


def _unzip(archive: Path, target: Path) -> None:
    """Unpack with the checks a zip from anyone needs: no absolute or ``..`` paths, no links,
    bounded total size and file count (a zip bomb is refused before anything is written)."""
    try:
        with zipfile.ZipFile(archive) as zf:
            members = [m for m in zf.infolist() if not m.is_dir()]
            _check_members(members)
            for member in members:
                if stat.S_ISLNK(member.external_attr >> 16):
                    continue
                path = target / _safe_member(member.filename)
                path.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(member) as src, open(path, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError, EOFError) as exc:
        raise InvalidSubmission(f"{archive.name} is not a zip file that can be read: {exc}") from None


def _check_members(members: Sequence[zipfile.ZipInfo]) -> None:
    total = sum(m.file_size for m in members)
    if len(members) > MAX_FILES or total > MAX_BYTES:
        raise InvalidSubmission(
            f"the zip unpacks to {len(members):,} files, {total / 1e6:,.0f} MB "
            f"(limits: {MAX_FILES:,} files, {MAX_BYTES / 1e6:,.0f} MB)"
        )
    for m in members:
        _safe_member(m.filename)


def _safe_member(name: str) -> Path:
    parts = Path(name.replace("\\", "/")).parts
    if not parts or name.startswith(("/", "\\")) or ".." in parts or ":" in parts[0]:
        raise InvalidSubmission(f"the zip holds a path outside its own folder: {name!r}")
    return Path(*parts)
