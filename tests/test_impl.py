"""Implementation roots: labs, solutions, a student's checkout, a package directory, a package name."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from grader.course import ROOT, SOLUTIONS
from grader.impl import ImplError, resolve


def where(spec: str, tmp_path) -> str:
    """Where `loglens` is imported from for this root, asked in a fresh interpreter."""
    code = f"from grader.impl import resolve; print(resolve({spec!r}).module('loglens').__file__)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    return out.stdout.strip()


def test_course_roots(tmp_path):
    assert resolve("labs").package == "labs" and resolve("solutions").package == "solutions"
    assert where("labs", tmp_path).startswith(str(ROOT / "labs"))
    assert where("solutions", tmp_path).startswith(str(ROOT / "solutions"))


def test_a_students_checkout_shadows_the_course_labs(tmp_path):
    student = tmp_path / "alice"
    shutil.copytree(SOLUTIONS / "loglens", student / "labs" / "loglens")
    (student / "labs" / "__init__.py").write_text("")
    assert where(str(student), tmp_path).startswith(str(student / "labs" / "loglens"))


def test_a_package_directory(tmp_path):
    package = tmp_path / "mywork"
    shutil.copytree(SOLUTIONS / "loglens", package / "loglens")
    (package / "__init__.py").write_text("")
    root = resolve(str(package))
    assert root.package == "mywork" and where(str(package), tmp_path).startswith(str(package / "loglens"))


@pytest.mark.parametrize("spec", ["/no/such/dir", "./nope", "not a package!", "no_such_package_anywhere"])
def test_bad_roots_are_clear_errors(spec):
    with pytest.raises(ImplError, match="--impl"):
        resolve(spec)


def test_a_directory_that_is_neither(tmp_path):
    with pytest.raises(ImplError, match="expected a course checkout"):
        resolve(str(tmp_path))
