"""Implementation roots: which code is under test.

A root is one of:
- ``labs`` (the learner's code, the default) or ``solutions`` (the reference);
- a directory: a checkout that contains ``labs/`` (a student's copy of the course), or a
  package directory that contains project packages directly (``mywork/loglens/...``);
- the name of any importable package (planted-bug variants are materialized this way).

Inside a project every import is relative, so the same code runs under any of these names.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from .course import ROOT

ENV = "IOLAB_IMPL"


# Why a check that compares with the reference is skipped in a student copy (no solutions/ there).
REFERENCE_MISSING = (
    "this check compares your code with the reference solution, which is not part of your copy of "
    "the course; it runs when your instructor grades (Gradescope, iolab gradebook)"
)


class ImplError(Exception):
    """The requested implementation root does not exist or cannot be imported."""


@dataclass(frozen=True)
class Root:
    package: str  # the importable package name ("labs", "solutions", "variant_x", ...)
    path: str | None  # a sys.path entry to put first, or None when importable as installed
    label: str  # what the user asked for, for messages

    def env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """Environment for a subprocess that must import this root (``python -m <pkg>.<project>``)."""
        env = dict(os.environ if base is None else base)
        env[ENV] = self.label
        if self.path:
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [self.path, env.get("PYTHONPATH")]))
        return env

    def activate(self) -> None:
        """Make this root importable in the current process, ahead of everything else.

        Being on sys.path is not enough: pytest puts the course's own folder in front when it
        imports the suites, and a student's checkout holds a ``labs`` package too. A package of
        this name already imported from elsewhere is forgotten, so the next import finds ours.
        """
        if not self.path:
            return
        if sys.path[:1] != [self.path]:
            while self.path in sys.path:
                sys.path.remove(self.path)
            sys.path.insert(0, self.path)
        loaded = sys.modules.get(self.package)
        where = [str(Path(p).resolve().parent) for p in getattr(loaded, "__path__", [])]
        if loaded is not None and str(Path(self.path).resolve()) not in where:
            for name in [m for m in sys.modules if m == self.package or m.startswith(self.package + ".")]:
                del sys.modules[name]

    def module(self, project: str) -> ModuleType:
        self.activate()
        return importlib.import_module(f"{self.package}.{project}")

    @property
    def present(self) -> bool:
        """False when the root's folder is not in this copy (``solutions`` in a student copy)."""
        return self.path is None or (Path(self.path) / self.package / "__init__.py").exists()

    def has(self, project: str) -> bool:
        self.activate()
        try:
            return importlib.util.find_spec(f"{self.package}.{project}") is not None
        except ImportError:
            return False


def resolve(spec: str | None = None) -> Root:
    """Turn ``--impl`` / ``IOLAB_IMPL`` into a Root (default: labs)."""
    spec = spec or os.environ.get(ENV) or "labs"
    if spec in ("labs", "solutions"):
        # The course's own folders, first on the path: whatever way iolab was installed (a copy
        # in site-packages would be stale), the files in this checkout are what run.
        return Root(spec, str(ROOT), spec)
    candidate = Path(spec).expanduser()
    if os.sep in spec or spec.startswith(".") or candidate.is_dir():
        if not candidate.is_dir():
            raise ImplError(f"--impl {spec}: no such directory")
        candidate = candidate.resolve()
        if (candidate / "labs" / "__init__.py").exists():
            return Root("labs", str(candidate), str(candidate))
        if (candidate / "__init__.py").exists():
            return Root(candidate.name, str(candidate.parent), str(candidate))
        raise ImplError(
            f"--impl {spec}: expected a course checkout (with labs/) or a package directory (with __init__.py)"
        )
    if not spec.replace(".", "_").replace("_", "a").isalnum():
        raise ImplError(f"--impl {spec}: not a directory and not a package name")
    try:
        found = importlib.util.find_spec(spec)
    except ImportError:
        found = None
    if found is None:
        raise ImplError(f"--impl {spec}: no such package is importable (is PYTHONPATH set?)")
    return Root(spec, None, spec)
