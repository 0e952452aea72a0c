"""Replace a file so that a crash at any instant leaves either the old or the new contents.

The recipe, and what each step buys on Linux (ext4, XFS, btrfs):

1. create a temp file with a unique name **in the same directory** (``O_CREAT | O_EXCL``, so
   two writers can never share one): ``rename`` is only atomic within one filesystem, and the
   same directory is the only place sure to be on the target's filesystem;
2. write every byte (``os.write`` may write less than asked: loop);
3. ``fsync`` the temp file: its data reaches the disk *before* its name does; without it a
   power cut can leave the new name pointing at an empty or partly written file;
4. ``os.replace`` it over the target: readers see the old file or the new one, never a mix;
5. ``fsync`` the directory: the rename itself (a change to the directory) is made durable.

If anything fails before step 4, the temp file is removed and the target is untouched; the
error is raised, never swallowed. Permissions are set with ``fchmod``, so the umask cannot make
a secret world-readable. A process killed with SIGKILL cannot clean up, so a temp file may be
left behind: its name, ``.<target name>.<random>.tmp``, lets ``doctor`` recognise it.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

TEMP_SUFFIX = ".tmp"


def temp_prefix(target: str | os.PathLike[str]) -> str:
    """Temp files for ``target`` are named ``<prefix><random>.tmp`` (doctor looks for them)."""
    return f".{Path(target).name}."


def is_temp_for(name: str, target: str | os.PathLike[str]) -> bool:
    """True if the file name ``name`` looks like one of ``target``'s temp files."""
    prefix = temp_prefix(target)
    return name.startswith(prefix) and name.endswith(TEMP_SUFFIX) and len(name) > len(prefix) + len(TEMP_SUFFIX)


def write_atomic(path: str | os.PathLike[str], data: bytes, *, mode: int = 0o600) -> None:
    """Replace the file at ``path`` with ``data`` atomically and durably (see the module doc).

    - The temp file is ``<dir of path>/.<name>.<random hex>.tmp``, created with
      ``O_WRONLY | O_CREAT | O_EXCL`` (retry with a new name if it exists).
    - Its mode is exactly ``mode`` whatever the umask (``os.fchmod``).
    - Order: write all -> fsync(temp) -> close -> os.replace -> fsync(directory).
    - On any error before the replace (``OSError`` such as ENOSPC/EFBIG/EACCES, or even
      KeyboardInterrupt) the temp file is closed and removed, the target is not touched, and the
      exception propagates to the caller.
    """
    # BEGIN SOLUTION: unique temp in the same dir (O_EXCL), write all, fsync, replace, fsync the dir
    target = os.path.abspath(os.fspath(path))
    directory = os.path.dirname(target)
    prefix = os.path.join(directory, temp_prefix(target))
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | getattr(os, "O_NOFOLLOW", 0)
    while True:
        temp = f"{prefix}{secrets.token_hex(8)}{TEMP_SUFFIX}"
        try:
            fd = os.open(temp, flags, mode)
            break
        except FileExistsError:
            continue  # 64 random bits collided: astronomically rare, but cheap to handle
    try:
        try:
            os.fchmod(fd, mode)
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, target)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass  # the original error is the one worth reporting
        raise
    fsync_dir(directory)
    # END SOLUTION


def fsync_dir(directory: str | os.PathLike[str]) -> None:
    """Make the directory's entries (a rename, a new file) durable: open it read-only and fsync."""
    # BEGIN SOLUTION: open the directory read-only, fsync the descriptor, close it
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    # END SOLUTION
