"""``iolab dev stubs``: write labs/ from solutions/, turning marked regions into TODO stubs.

A region runs from ``# BEGIN SOLUTION[: task]`` to ``# END SOLUTION``. Inside a function it
becomes ``raise NotImplementedError("TODO(<project>.<qualname>): <task>")`` at the marker's
indentation; at module or class level (helpers the learner will write their own way) it is
dropped. Everything else is copied, so scaffolding keeps working in labs.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

BEGIN = re.compile(r"^(?P<indent>[ \t]*)# BEGIN SOLUTION(?::\s*(?P<task>.*?))?\s*$")
END = re.compile(r"^[ \t]*# END SOLUTION\s*$")
MANIFEST = ".stubs-manifest.json"
LABS_INIT = '"""Your implementations: one package per project, generated from the course\'s reference."""\n'
SKIP_PARTS = {"__pycache__", ".ipynb_checkpoints"}


class StubError(Exception):
    """A solution file whose markers cannot be turned into a stub (the message says where)."""


@dataclass
class Plan:
    """What generating labs/ would write, and how it compares with what is there now."""

    files: dict[str, bytes] = field(default_factory=dict)  # relative path -> generated content
    changed: list[str] = field(default_factory=list)  # would be written (new or different)
    edited: list[str] = field(default_factory=list)  # differ from what we generated last time
    stale: list[str] = field(default_factory=list)  # generated earlier, no solution any more


def stub_source(source: str, project: str, filename: str = "<solution>") -> str:
    """Return ``source`` with every marked region replaced (see the module docstring)."""
    lines = source.splitlines(keepends=True)
    try:
        tree = ast.parse(source, filename)
    except SyntaxError as exc:
        raise StubError(f"{filename}:{exc.lineno}: not valid Python: {exc.msg}") from exc
    scopes = _function_scopes(tree)
    out: list[str] = []
    i = 0
    while i < len(lines):
        begin = BEGIN.match(lines[i])
        if END.match(lines[i]):
            raise StubError(f"{filename}:{i + 1}: '# END SOLUTION' without a BEGIN")
        if not begin:
            out.append(lines[i])
            i += 1
            continue
        j = i + 1
        while j < len(lines) and not END.match(lines[j]):
            if BEGIN.match(lines[j]):
                raise StubError(f"{filename}:{j + 1}: regions cannot nest (BEGIN at line {i + 1})")
            j += 1
        if j == len(lines):
            raise StubError(f"{filename}:{i + 1}: '# BEGIN SOLUTION' is never closed")
        qualname = _innermost(scopes, i + 1)
        i = j + 1
        if qualname is not None:
            task = begin.group("task") or "write this part"
            message = f"TODO({project}.{qualname}): {task}"
            out.append(f"{begin.group('indent')}raise NotImplementedError({message!r})\n")
        elif out and not out[-1].strip() and i < len(lines) and not lines[i].strip():
            i += 1  # the dropped region sat between two blank lines: keep only one
    return "".join(out)


def plan(solutions: Path, labs: Path) -> Plan:
    """Compute the generated labs/ tree and compare it with the one on disk."""
    result = Plan()
    for path in sorted(solutions.rglob("*")):
        relative = path.relative_to(solutions)
        if path.is_dir() or SKIP_PARTS & set(relative.parts) or path.suffix in {".pyc", ".pyo"}:
            continue
        data = path.read_bytes()
        if relative.as_posix() == "__init__.py":
            data = LABS_INIT.encode()
        elif path.suffix == ".py" and len(relative.parts) > 1:
            data = stub_source(data.decode("utf-8"), relative.parts[0], str(path)).encode("utf-8")
        result.files[relative.as_posix()] = data
    previous = _read_manifest(labs)
    for rel, data in result.files.items():
        target = labs / rel
        current = target.read_bytes() if target.exists() else None
        if current != data:
            result.changed.append(rel)
            if (current is not None and rel in previous and _digest(current) != previous[rel]) or (
                current is not None and rel not in previous
            ):
                result.edited.append(rel)
    for rel in previous:
        if rel not in result.files and (labs / rel).exists():
            result.stale.append(rel)
    return result


def write(result: Plan, labs: Path, force: bool = False) -> list[str]:
    """Write the planned files; refuses (StubError) to overwrite a learner's edits unless forced."""
    if result.edited and not force:
        listing = "\n  ".join(result.edited)
        raise StubError(
            f"these lab files were changed since they were generated; not overwriting them:\n  {listing}\n"
            "(use --force to replace them with fresh stubs; your changes would be lost)"
        )
    previous = _read_manifest(labs)
    for rel in result.changed:
        target = labs / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(result.files[rel])
    removed = []
    for rel in result.stale:
        target = labs / rel
        if force or _digest(target.read_bytes()) == previous.get(rel):
            target.unlink()
            removed.append(rel)
    manifest = {rel: _digest(data) for rel, data in sorted(result.files.items())}
    (labs / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
    return removed


def drift(result: Plan, labs: Path) -> list[str]:
    """Human-readable differences between the planned tree and labs/ on disk (empty: in sync)."""
    problems = [f"out of date: labs/{rel}" for rel in result.changed]
    problems += [f"left over: labs/{rel}" for rel in result.stale]
    manifest = {rel: _digest(data) for rel, data in sorted(result.files.items())}
    if _read_manifest(labs) != manifest:
        problems.append(f"labs/{MANIFEST} does not match the generated files")
    return problems


def _function_scopes(tree: ast.AST) -> list[tuple[int, int, str]]:
    scopes: list[tuple[int, int, str]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = prefix + child.name
                scopes.append((child.lineno, child.end_lineno or child.lineno, name))
                visit(child, name + ".")
            elif isinstance(child, ast.ClassDef):
                visit(child, prefix + child.name + ".")
            else:
                visit(child, prefix)

    visit(tree, "")
    return scopes


def _innermost(scopes: list[tuple[int, int, str]], line: int) -> str | None:
    best: tuple[int, int, str] | None = None
    for start, end, name in scopes:
        if start < line <= end and (best is None or start > best[0]):
            best = (start, end, name)
    return None if best is None else best[2]


def _read_manifest(labs: Path) -> dict[str, str]:
    try:
        return dict(json.loads((labs / MANIFEST).read_text()))
    except (OSError, ValueError):
        return {}


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
