"""Labs and solutions have identical public interfaces: names, signatures, classes and methods."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

from grader.course import SOLUTIONS

PROJECTS = sorted(p.name for p in SOLUTIONS.iterdir() if (p / "__init__.py").exists())


def public_api(package: str) -> dict[str, str]:
    api: dict[str, str] = {}
    root = importlib.import_module(package)
    for info in pkgutil.walk_packages(root.__path__, package + "."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        short = info.name.split(".", 1)[1]
        for name, value in vars(module).items():
            if name.startswith("_") or getattr(value, "__module__", None) != module.__name__:
                continue
            api[f"{short}.{name}"] = describe(value)
            if inspect.isclass(value):
                for attr, member in vars(value).items():
                    if attr.startswith("_") and attr != "__init__":
                        continue
                    if inspect.ismemberdescriptor(member):
                        continue  # a __slots__ entry: how attributes are stored, not the interface
                    api[f"{short}.{name}.{attr}"] = describe(member)
    return api


def describe(value: object) -> str:
    if isinstance(value, property):
        return "property"
    if isinstance(value, staticmethod | classmethod):
        value = value.__func__
    if callable(value):
        try:
            return f"{type(value).__name__}{inspect.signature(value)}"
        except (TypeError, ValueError):
            return type(value).__name__
    return type(value).__name__


@pytest.mark.parametrize("project", PROJECTS)
def test_same_public_interface(project):
    labs, solutions = public_api(f"labs.{project}"), public_api(f"solutions.{project}")
    missing = sorted(set(solutions) - set(labs))
    extra = sorted(set(labs) - set(solutions))
    assert not missing and not extra, f"only in solutions: {missing}; only in labs: {extra}"
    different = {k: (solutions[k], labs[k]) for k in solutions if solutions[k] != labs[k]}
    assert not different, f"signatures differ (solutions, labs): {different}"
