"""``iolab release --out DIR``: the student copy of the course.

What the copy leaves out: ``solutions/``, the planted-bug variants (``tests/variants/``), the
course's own tests that need the reference (a test file that names ``solutions`` or carries
``# iolab: course-only``), benchmarks (they compare the reference with other tools), hidden
tests kept in the course folder (``hidden-tests/``), the course's CI and maintainer docs.
What it changes: ``labs/`` is generated afresh from the reference (whatever the instructor's own
labs hold), notebooks lose their outputs, the README gets a section for students, and
``.github/workflows/classroom.yml`` is added. It then scans ``labs/`` and ``notebooks/`` for the
text of every solution region (markers matched loosely, so a misspelled marker that the stub
generator copied through is caught too) and fails, removing the copy, if any leaked; it fails
the same way when a notebook (or a helper module next to the notebooks) imports or runs the
reference, which the copy does not have. Last, a fresh git repository with one commit.
``--check`` runs the copy's own quick grade: every test must be "not started" (or skipped), none
may error.

A check that compares with the reference skips in the copy (see ``impl.REFERENCE_MISSING``): the
reference is not shipped in any form, compiled or otherwise, since anything importable can be
read back. Those checks count where the instructor grades.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .. import course, stubs
from ..data.cache import data_dir
from . import templates

COURSE_ONLY = (
    "solutions/",
    "labs/",  # generated afresh below
    "tests/variants/",
    "bench/",
    ".ci/",
    ".github/",
    "hidden-tests/",
    "docs/classroom.md",
    "docs/adding-a-project.md",
)
COURSE_ONLY_MARK = "# iolab: course-only"
ALWAYS_SKIP = {".git", ".venv", "__pycache__", ".ipynb_checkpoints", ".mypy_cache", ".ruff_cache", ".pytest_cache"}
ALWAYS_SKIP |= {".hypothesis", ".iolab-artifacts", "node_modules"}
SKIP_TOP = {"reports", "build", "dist", "datasets/generated"}
MAINTAINERS_HEADING = "## For course maintainers"

BEGIN = re.compile(r"^\s*#\s*BEGIN\s*SOLUTION", re.IGNORECASE)
END = re.compile(r"^\s*#\s*END\s*SOLUTION", re.IGNORECASE)
DISTINCTIVE = 16  # a region line shorter than this (``return out``, ``else:``) proves nothing alone


class ReleaseError(Exception):
    """The copy cannot be made (a usage problem: exit code 2)."""


class BrokenCopyError(ReleaseError):
    """The copy would be wrong: it leaks the reference, a notebook needs the reference, or its own
    check failed (exit code 1; the message says where)."""


@dataclass
class Leak:
    solution: str  # solutions/<file>:<line> of the region
    found_in: str  # the released file
    lines: list[str]

    def __str__(self) -> str:
        shown = "\n      ".join(self.lines[:4])
        return f"{self.solution} -> {self.found_in}:\n      {shown}"


@dataclass
class Released:
    out: Path
    files: int
    excluded: list[str] = field(default_factory=list)
    needs_reference: list[str] = field(default_factory=list)  # "notebooks/x.ipynb, cell 3: ..." lines
    check: dict | None = None


def release(
    out: Path,
    source: Path | None = None,
    extra_excludes: Sequence[str] = (),
    check: bool = False,
) -> Released:
    source = (source or course.ROOT).resolve()
    out = out.resolve()
    solutions = source / "solutions"
    if not (solutions / "__init__.py").exists():
        raise ReleaseError(f"{source} has no solutions/: a release is made from the instructor's copy of the course")
    if out == source or source in out.parents:
        raise ReleaseError(f"--out {out} is inside the course: choose a folder outside it")
    if out.exists() and any(out.iterdir()):
        raise ReleaseError(f"--out {out} exists and is not empty")
    if shutil.which("git") is None:
        raise ReleaseError("git is needed to give the copy a fresh history (install git)")
    keep, excluded = _select(source, [*COURSE_ONLY, *extra_excludes])
    out.mkdir(parents=True, exist_ok=True)
    try:
        made = _build(source, out, keep, excluded)
        leaks = scan(solutions, [out / "labs", out / "notebooks"])
        if leaks:
            listing = "\n  ".join(str(leak) for leak in leaks)
            raise BrokenCopyError(
                f"{len(leaks)} solution region(s) leaked into the student copy; nothing was released:\n  {listing}"
            )
        if made.needs_reference:
            listing = "\n  ".join(made.needs_reference)
            raise BrokenCopyError(
                "notebook code uses the reference (solutions), which the student copy does not have; those cells "
                "would fail there. Go through grader.impl.resolve() (the learner's code, the reference under "
                "IOLAB_IMPL=solutions), or grader.experiment.reference() where the reference is optional. "
                f"Nothing was released:\n  {listing}"
            )
        _git_init(out, _source_commit(source))
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)
        raise
    if check:
        made.check = check_release(out)
    return made


def _select(source: Path, excludes: Sequence[str]) -> tuple[list[str], list[str]]:
    """(files to copy, what was left out), as paths relative to ``source``."""
    candidates = _git_files(source)
    if candidates is None:
        candidates = sorted(_walk(source))
    keep, excluded = [], []
    for rel in candidates:
        if not (source / rel).is_file():
            continue
        parts = rel.split("/")
        if ALWAYS_SKIP & set(parts) or parts[0] in SKIP_TOP or rel.startswith("datasets/generated/"):
            continue
        if rel.endswith((".pyc", ".pyo")) or (rel.startswith("notebooks/") and rel.endswith(".ipynb")):
            continue  # notebooks are written stripped, below (helper modules next to them are copied)
        if any(rel == e.rstrip("/") or rel.startswith(e.rstrip("/") + "/") for e in excludes):
            excluded.append(rel)
            continue
        if _course_only_test(source / rel, rel):
            excluded.append(rel)
            continue
        keep.append(rel)
    # A test that imports a left-out test module (tests/variants, say) is left out too.
    while True:
        gone = {Path(e).parts[1].removesuffix(".py") for e in excluded if e.startswith("tests/")}
        needing = [k for k in keep if k.startswith("tests/") and k.endswith(".py") and _imports_any(source / k, gone)]
        if not needing:
            return keep, excluded
        for rel in needing:
            keep.remove(rel)
            excluded.append(rel)


def _imports_any(path: Path, modules: set[str]) -> bool:
    text = path.read_text(encoding="utf-8", errors="replace")
    return any(re.search(rf"(from\s+(\.|tests\.){m}\b)|(import\s+tests\.{m}\b)", text) for m in modules)


def _course_only_test(path: Path, rel: str) -> bool:
    if not (rel.startswith("tests/") and rel.endswith(".py")):
        return False
    text = path.read_text(encoding="utf-8", errors="replace")
    return COURSE_ONLY_MARK in text or re.search(r"\bsolutions\b|\bSOLUTIONS\b", text) is not None


def _git_files(source: Path) -> list[str] | None:
    """Tracked files plus new ones that are not ignored (None when ``source`` is no git work tree)."""
    try:
        done = subprocess.run(
            ["git", "-C", str(source), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            capture_output=True,
            check=True,
            timeout=60,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return sorted({p for p in done.stdout.decode("utf-8", "replace").split("\0") if p})


def _walk(source: Path) -> Iterable[str]:
    for folder, dirs, files in os.walk(source):
        dirs[:] = [d for d in dirs if d not in ALWAYS_SKIP and not d.endswith(".egg-info")]
        for name in files:
            yield (Path(folder) / name).relative_to(source).as_posix()


def _build(source: Path, out: Path, keep: list[str], excluded: list[str]) -> Released:
    made = Released(out, 0, excluded=excluded)
    for rel in keep:
        target = out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / rel, target)
    planned = stubs.plan(source / "solutions", out / "labs")
    stubs.write(planned, out / "labs")
    notebooks = sorted(p for p in (source / "notebooks").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
    for path in notebooks:
        notebook = path.relative_to(source)
        target = out / notebook
        target.parent.mkdir(parents=True, exist_ok=True)
        text, uses = strip_notebook(path.read_text(encoding="utf-8"))
        target.write_text(text, encoding="utf-8")
        made.needs_reference += [f"{notebook.as_posix()}, {use}" for use in uses]
    for helper in sorted(p for p in (out / "notebooks").rglob("*.py") if p.is_file()):
        uses = reference_uses(helper.read_text(encoding="utf-8", errors="replace"))
        made.needs_reference += [f"{helper.relative_to(out).as_posix()}: {use}" for use in uses]
    readme = out / "README.md"
    text = readme.read_text(encoding="utf-8") if readme.exists() else "# iolab\n"
    if MAINTAINERS_HEADING in text:
        text = text[: text.index(MAINTAINERS_HEADING)]
    readme.write_text(text.rstrip() + "\n\n" + templates.STUDENT_README, encoding="utf-8")
    workflow = out / ".github" / "workflows" / "classroom.yml"
    workflow.parent.mkdir(parents=True, exist_ok=True)
    workflow.write_text(templates.CLASSROOM_WORKFLOW, encoding="utf-8")
    (out / ".iolab-release.json").write_text(
        json.dumps(
            {
                "made": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "from_commit": _source_commit(source),
                "projects": [p.name for p in course.PROJECTS if (source / "grader" / "suites" / p.name).is_dir()],
                "left_out": sorted({e.split("/")[0] + ("/" if "/" in e else "") for e in excluded}),
            },
            indent=1,
        )
        + "\n"
    )
    made.files = sum(1 for p in out.rglob("*") if p.is_file())
    return made


def strip_notebook(text: str) -> tuple[str, list[str]]:
    """The notebook without outputs, execution counts or widget state; and how its code cells use
    the reference directly ("cell N: ..." per use, see ``reference_uses``)."""
    nb = json.loads(text)
    uses = []
    for number, cell in enumerate(nb.get("cells", []), 1):
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
            uses += [f"cell {number}: {use}" for use in reference_uses("".join(cell.get("source", [])))]
        cell.get("metadata", {}).pop("execution", None)
    nb.get("metadata", {}).pop("widgets", None)
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n", uses


# A string that names the reference as code to run: "solutions", "solutions.loglens", or a command
# or program text with `-m solutions.x`, `from solutions...`, `import solutions`.
_REFERENCE_TEXT = re.compile(r"(?:-m\s+|\bfrom\s+|\bimport\s+)solutions\b")


def reference_uses(code: str) -> list[str]:
    """How notebook code (a cell, or a helper module) imports or runs the reference directly:
    ``import solutions...``, ``from solutions... import``, a string naming it (``"solutions"``,
    ``"solutions.loglens"``, ``resolve("solutions")``, ``python -m solutions.x`` in a command, an
    import inside a ``python -c`` program). A comparison (``root.package == "solutions"``) runs
    nothing and is allowed; so are comments and prose. Each use is "line N: what"."""
    import ast

    try:
        tree = ast.parse(_as_python(code))
    except SyntaxError:
        # not parseable even after IPython's transforms: judge the raw text, line by line
        return [
            f"line {number}: {line.strip()[:80]}"
            for number, line in enumerate(code.splitlines(), 1)
            if not line.lstrip().startswith("#")
            and (_REFERENCE_TEXT.search(line) or re.search(r"[\"']solutions[\"'.]", line))
        ]
    compares = [node for node in ast.walk(tree) if isinstance(node, ast.Compare)]
    compared = {id(side) for compare in compares for side in (compare.left, *compare.comparators)}
    uses = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names if a.name == "solutions" or a.name.startswith("solutions.")]
            uses += [f"line {node.lineno}: import {name}" for name in names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "solutions":
            uses.append(f"line {node.lineno}: from {node.module} import ...")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in compared:
            text = node.value
            if text == "solutions" or text.startswith("solutions.") or _REFERENCE_TEXT.search(text):
                uses.append(f"line {node.lineno}: {text.strip()[:80]!r}")
    return sorted(set(uses), key=lambda use: int(use.split(":")[0].split()[1]))


def _as_python(code: str) -> str:
    """Cell source as plain Python: IPython's own transforms turn ``%magic`` and ``!shell`` lines
    into calls (whose text is then checked like any string); top-level ``await`` parses as is."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:  # pragma: no cover - IPython comes with the notebook dependencies
        return code
    return TransformerManager().transform_cell(code)


# ---- the leak scan ------------------------------------------------------------------------------


@dataclass
class Region:
    file: Path
    line: int
    lines: list[str]  # distinctive lines, stripped


def regions(solutions: Path) -> list[Region]:
    """Every marked region of the reference (markers matched loosely), with its distinctive lines:
    long enough to mean something, and not also written outside the regions of any file of the
    reference (such a line is public scaffolding somewhere, e.g. the BrokenPipeError idiom that
    LogLens teaches and later projects' command lines use as given). A region needs at least two
    distinctive lines to be told apart from coincidence; one-line regions are not scanned."""
    public: set[str] = set()
    inside: list[tuple[Path, int, list[str]]] = []
    for path in sorted(solutions.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        current: list[str] | None = None
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if BEGIN.match(line):
                current = []
                inside.append((path, number, current))
            elif END.match(line):
                current = None
            elif current is not None:
                current.append(line.strip())
            else:
                public.add(line.strip())
    found = []
    for path, number, body in inside:
        distinctive = [x for x in body if len(x) >= DISTINCTIVE and not x.startswith("#") and x not in public]
        if len(distinctive) >= 2:
            found.append(Region(path, number, distinctive))
    return found


def scan(solutions: Path, folders: Sequence[Path]) -> list[Leak]:
    """Regions whose code appears in the released files: all of a region's distinctive lines in
    one file, or at least three and half of them; and any solution marker left in the copy."""
    targets = {}
    for folder in folders:
        for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
            if path.suffix in (".py", ".ipynb") and path.is_file():
                targets[path] = _code_lines(path)
    leaks = []
    for path in targets:
        for number, line in enumerate(_raw_lines(path), 1):
            if BEGIN.match(line) or END.match(line):
                leaks.append(Leak("(a solution marker)", f"{path}:{number}", [line.strip()]))
    for region in regions(solutions):
        where = f"{region.file.relative_to(solutions.parent)}:{region.line}"
        wanted = set(region.lines)
        for path, lines in targets.items():
            shared = wanted & lines
            if shared and (shared == wanted or (len(shared) >= 3 and 2 * len(shared) >= len(wanted))):
                leaks.append(Leak(where, str(path), [x for x in region.lines if x in shared]))
    return leaks


def _raw_lines(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix == ".ipynb":
        try:
            cells = json.loads(text).get("cells", [])
        except ValueError:
            return text.splitlines()
        return [line for c in cells for line in "".join(c.get("source", [])).splitlines()]
    return text.splitlines()


def _code_lines(path: Path) -> set[str]:
    return {line.strip() for line in _raw_lines(path)}


# ---- history and the copy's own check -----------------------------------------------------------


def _source_commit(source: Path) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(source), "rev-parse", "HEAD"], capture_output=True, text=True, check=True, timeout=30
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None


def _git_init(out: Path, commit: str | None) -> None:
    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false", *args],
            cwd=out,
            check=True,
            capture_output=True,
            timeout=120,
        )

    git("init", "-q")
    git("add", "-A")
    message = "iolab: your copy of the course" + (f"\n\nReleased from the course at {commit[:12]}." if commit else "")
    git("-c", "user.name=iolab release", "-c", "user.email=release@iolab.invalid", "commit", "-q", "-m", message)


def check_release(out: Path) -> dict:
    """The copy's own quick grade: every test "not started" (or skipped with a reason)."""
    with tempfile.TemporaryDirectory(prefix="iolab-release-check-") as reports:
        env = {k: v for k, v in os.environ.items() if not k.startswith("IOLAB_")}
        env["PYTHONPATH"] = str(out)
        env["IOLAB_RECORD"] = "0"
        env["IOLAB_DATA_DIR"] = str(data_dir())  # the instructor's cache: the same files, generated once
        done = subprocess.run(
            [sys.executable, "-m", "grader", "grade", "--scale", "quick", "--format", "json", "--out", reports],
            cwd=out,
            env=env,
            capture_output=True,
            text=True,
            timeout=1800,
            check=False,
        )
        try:
            report = json.loads((Path(reports) / "report.json").read_text())
        except (OSError, ValueError):
            raise BrokenCopyError(
                f"the copy's quick check did not run (exit {done.returncode}):\n{done.stderr[-2000:]}"
            ) from None
    wrong = [t for t in report["tests"] if t["outcome"] not in ("not started", "skipped")]
    if wrong or done.returncode != 1 or "Traceback" in done.stdout + done.stderr:
        listing = "\n  ".join(f"{t['nodeid']}: {t['outcome']}: {t['message'][:200]}" for t in wrong[:10])
        raise BrokenCopyError(f"the copy's quick check is not all 'not started' (exit {done.returncode}):\n  {listing}")
    counts: dict[str, int] = {}
    for t in report["tests"]:
        counts[t["outcome"]] = counts.get(t["outcome"], 0) + 1
    return {"counts": counts, "seconds": report["elapsed_seconds"], "projects": sorted(report["projects"])}
