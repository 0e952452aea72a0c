"""environment.yml installs the same packages as pyproject.toml (dependencies + all extras)."""

from __future__ import annotations

import re
import tomllib

import yaml

from grader.course import ROOT


def name(requirement: str) -> str:
    return re.split(r"[\s<>=!~;\[]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_environment_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {name(r) for r in project["dependencies"]}
    for extra in project.get("optional-dependencies", {}).values():
        wanted |= {name(r) for r in extra}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_lists = [d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert pip_lists, "environment.yml has no pip section"
    listed = {name(r) for r in pip_lists[0] if not r.startswith("-")}
    assert "-e .[dev]" in pip_lists[0] or any(r.startswith("-e .[") for r in pip_lists[0]), "install the course itself"
    assert listed == wanted, (
        f"only in pyproject: {sorted(wanted - listed)}; only in environment.yml: {sorted(listed - wanted)}"
    )
