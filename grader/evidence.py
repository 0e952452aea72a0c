"""What a test leaves behind for the report: plots, measured values, seeds."""

from __future__ import annotations

from pathlib import Path
from typing import Any


class Evidence:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.artifacts: list[Path] = []
        self.values: dict[str, Any] = {}

    def path(self, name: str) -> Path:
        """A file path for an artifact of this test (the folder is created on demand)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        return self.folder / name

    def attach(self, path: Path) -> Path:
        self.artifacts.append(path)
        return path

    def value(self, name: str, value: Any) -> None:
        """Record a measurement (shown in reports; JSON-able)."""
        self.values[name] = value
