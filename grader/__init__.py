"""iolab's grader: the pytest plugin, the ``iolab`` command, reports, harness and datasets.

In a notebook: ``from grader import check, progress``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["check", "progress"]


def __getattr__(name: str) -> Any:
    # Lazy: the CLI and the pytest plugin must not pay for ipywidgets and matplotlib.
    if name in __all__:
        from . import notebook

        return getattr(notebook, name)
    raise AttributeError(name)
