"""Test outcomes and the per-test result record written as JSON lines."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

PASSED = "passed"
FAILED = "failed"
NOT_STARTED = "not started"
BLOCKED = "blocked"
SKIPPED = "skipped"
ERROR = "error"
ORDER = (PASSED, FAILED, ERROR, NOT_STARTED, BLOCKED, SKIPPED)

# A stub's message: TODO(loglens.parse_line): match the line, ...
TODO = re.compile(r"TODO\((?P<where>[\w.]+)\)(?::\s*(?P<task>[^'\"\n]*))?")


class NotStarted(Exception):  # noqa: N818 (it is an outcome, not an error)
    """The code under test reached a TODO stub (directly or inside a subprocess)."""

    def __init__(self, where: str, task: str = "") -> None:
        super().__init__(f"TODO({where}): {task}" if task else f"TODO({where})")
        self.where = where
        self.task = task

    @classmethod
    def find(cls, text: str) -> NotStarted | None:
        """The first TODO stub mentioned in ``text`` (a subprocess's stderr, say), if any."""
        match = TODO.search(text or "")
        return None if match is None else cls(match.group("where"), (match.group("task") or "").strip())


class Blocked(Exception):  # noqa: N818
    """A prerequisite project fails, so this test cannot say anything about this one."""


@dataclass
class Result:
    """One test's outcome, as the reports see it."""

    nodeid: str
    project: str
    name: str
    outcome: str
    points: float = 1.0
    score: float = 0.0
    milestone: int | None = None
    milestone_text: str = ""
    message: str = ""
    hint: int | None = None
    hint_count: int = 0
    hint_text: str = ""
    duration: float = 0.0
    stress: bool = False
    hidden: bool = False
    artifacts: list[str] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Result:
        known = {k: v for k, v in doc.items() if k in cls.__dataclass_fields__}
        return cls(**known)
