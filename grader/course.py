"""Where things are, and which projects the course has."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GRADER = ROOT / "grader"
SUITES = GRADER / "suites"
SOLUTIONS = ROOT / "solutions"
LABS = ROOT / "labs"
NOTEBOOKS = ROOT / "notebooks"
DATASETS = ROOT / "datasets"
REPORTS = ROOT / "reports"


@dataclass(frozen=True)
class Project:
    number: int
    name: str
    title: str

    @property
    def slug(self) -> str:
        return f"{self.number:02d}-{self.name}"

    @property
    def suite(self) -> Path:
        return SUITES / self.name

    @property
    def available(self) -> bool:
        """True when the project has a grading suite in this copy of the course."""
        return (self.suite / "hints.toml").exists()


PROJECTS = [
    Project(0, "runtime", "How asyncio really works"),
    Project(1, "loglens", "Streaming access-log analyzer"),
    Project(2, "safestate", "Crash-safe state store"),
    Project(3, "streamfoundry", "Streaming NDJSON ETL"),
    Project(4, "minifetch", "HTTP client with timeouts, retries, streaming downloads"),
    Project(5, "tinyrouter", "HTTP server with routing and middleware"),
    Project(6, "notevault", "SQLite-backed HTTP service with migrations"),
    Project(7, "queuesmith", "Persistent background job queue"),
    Project(8, "livetail", "Server-sent events for real-time streams"),
    Project(9, "mirrorsync", "Folder sync: hashing, watching, backpressure"),
    Project(10, "procpilot", "Child-process supervisor"),
    Project(11, "pipecraft", "Subprocess pipelines"),
    Project(12, "postgreslift", "PostgreSQL service: pooling, migrations, transactions"),
    Project(13, "workflowforge", "Capstone: durable workflow engine"),
]
BY_NAME = {p.name: p for p in PROJECTS}


def available_projects() -> list[Project]:
    return [p for p in PROJECTS if p.available]


def project(name: str) -> Project:
    """Look a project up by name, with a message that lists the choices when it is unknown."""
    try:
        return BY_NAME[name]
    except KeyError:
        names = ", ".join(p.name for p in available_projects()) or "(none yet)"
        raise LookupError(f"no project named {name!r}; available: {names}") from None
