"""``iolab demo PROJECT``: dispatch to ``grader.demos.<project>.demo``."""

from __future__ import annotations

import importlib
from pathlib import Path

from rich.console import Console


def run_demo(project: str, scale: str, out: Path, console: Console) -> list[Path]:
    try:
        module = importlib.import_module(f"grader.demos.{project}")
    except ModuleNotFoundError:
        raise LookupError(f"there is no demo for {project} yet") from None
    return module.demo(scale, out, console)
