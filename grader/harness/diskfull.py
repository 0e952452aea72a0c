"""Disk-full simulation without root or a special filesystem: a file-size limit (RLIMIT_FSIZE).

With the limit set and SIGXFSZ ignored, a write that would grow a file past the limit fails
with EFBIG ("File too large"). A real full disk says ENOSPC instead; code that handles one
OSError from write() the right way handles both, which is what the tests check. Pass
``fsize=`` to ``Cli.run``/``Cli.popen`` (see proc.limits), or use ``fsize_limit`` directly.
"""

from __future__ import annotations

import errno

from .proc import limits

FULL_ERRNOS = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)


def fsize_limit(max_bytes: int):  # type: ignore[no-untyped-def]
    """A preexec_fn for subprocess: any file the child writes may not exceed ``max_bytes``."""
    return limits(memory=None, fsize=max_bytes)
