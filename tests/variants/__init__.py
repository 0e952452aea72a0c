"""Planted bugs: the reference with one realistic mistake, and the test that must catch it.

A variant is a patch (find -> replace, each find must occur exactly once) applied to a copy of
``solutions/<project>``; the copy is graded as its own package. Keeping patches instead of whole
copies means a variant cannot drift from the reference silently: if the code it patches changes,
the find string no longer matches and the course test says so.
"""

from __future__ import annotations

import importlib
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from grader.course import SOLUTIONS

HERE = Path(__file__).parent


@dataclass(frozen=True)
class Variant:
    name: str  # short identifier, used as the package name suffix
    mistake: str  # what a learner did wrong, in one sentence
    patches: list[tuple[str, str, str]]  # (file in the project, find, replace)
    test: str  # the test that must catch it: "test_file.py::test_name" (parameters allowed)
    message: str  # words the failure message must contain
    outcomes: tuple[str, ...] = field(default=("failed", "error"))


def all_variants() -> list[tuple[str, Variant]]:
    """(project, variant) for every ``tests/variants/<project>.py``."""
    found = []
    for project in sorted(p.stem for p in HERE.glob("*.py") if p.stem != "__init__"):
        module = importlib.import_module(f"tests.variants.{project}")
        found += [(project, v) for v in module.VARIANTS]
    return found


def materialize(project: str, variant: Variant, dest: Path) -> Path:
    """Write ``dest/variant_<name>/<project>/`` and return the package directory to grade."""
    package = dest / f"variant_{variant.name}"
    target = package / project
    shutil.copytree(SOLUTIONS / project, target, ignore=shutil.ignore_patterns("__pycache__"))
    (package / "__init__.py").write_text(f'"""Planted bug: {variant.mistake}"""\n')
    for file, find, replace in variant.patches:
        path = target / file
        source = path.read_text()
        count = source.count(find)
        if count != 1:
            raise AssertionError(
                f"variant {variant.name}: the text to replace occurs {count} times in {project}/{file} "
                f"(expected once); update the variant to the current reference:\n{find}"
            )
        path.write_text(source.replace(find, replace))
    return package
