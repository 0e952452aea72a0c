"""docs/playbook-map.md: all 90 playbook topics, in their sections, and every reference in it exists."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from functools import cache

import pytest

from grader.course import BY_NAME, PROJECTS, ROOT

MAP = ROOT / "docs" / "playbook-map.md"
# The playbook's ten sections and the topic numbers each one holds (seeds/004: the content index).
SECTIONS = [(1, 10), (11, 18), (19, 29), (30, 40), (41, 50), (51, 60), (61, 70), (71, 76), (77, 84), (85, 90)]
DEPTHS = {"graded", "experiment", "discussion"}
NOT_YET = re.compile(r"^not yet \((?P<number>\d\d) (?P<name>[a-z]+)\)$")
HEADING = re.compile(r"^## (?P<section>\d+)\. ")
ROW = re.compile(r"^\|\s*(?P<number>\d+)\s*\|")
REFERENCE = re.compile(r"`([^`]+)`")


@dataclass(frozen=True)
class Row:
    number: int
    section: int
    topic: str
    counterpart: str
    where: str
    depth: str

    @property
    def references(self) -> list[str]:
        return REFERENCE.findall(self.where)


@cache
def rows() -> tuple[Row, ...]:
    found: list[Row] = []
    section = 0
    for line in MAP.read_text(encoding="utf-8").splitlines():
        heading = HEADING.match(line)
        if heading:
            section = int(heading.group("section"))
        elif ROW.match(line):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            assert len(cells) == 5, f"a row needs 5 cells (#, topic, counterpart, where, depth): {line}"
            found.append(Row(int(cells[0]), section, cells[1], cells[2], cells[3], cells[4]))
    return tuple(found)


def all_references() -> list[tuple[int, str]]:
    return [(row.number, ref) for row in rows() for ref in row.references]


def test_every_topic_has_exactly_one_row():
    numbers = [row.number for row in rows()]
    assert sorted(numbers) == list(range(1, 91)), (
        f"expected rows 1..90 once each; missing {sorted(set(range(1, 91)) - set(numbers))}, "
        f"duplicated {sorted({n for n in numbers if numbers.count(n) > 1})}"
    )


def test_rows_sit_in_their_playbook_section():
    wrong = []
    for row in rows():
        expected = next(i for i, (first, last) in enumerate(SECTIONS, 1) if first <= row.number <= last)
        if row.section != expected:
            wrong.append(f"topic {row.number} is under section {row.section}, the playbook has it in {expected}")
    assert not wrong, "\n".join(wrong)


def test_depth_is_one_of_the_four_kinds():
    names = {f"{p.number:02d} {p.name}" for p in PROJECTS}
    bad = []
    for row in rows():
        if row.depth in DEPTHS:
            if not row.references:
                bad.append(f"topic {row.number} is '{row.depth}' but names no notebook, module or test")
            if row.depth == "graded" and not any("::test_" in ref for ref in row.references):
                bad.append(f"topic {row.number} is 'graded' but names no test")
            continue
        match = NOT_YET.match(row.depth)
        if match is None:
            bad.append(f"topic {row.number}: depth {row.depth!r} is not graded/experiment/discussion/not yet (NN name)")
        elif f"{match.group('number')} {match.group('name')}" not in names:
            bad.append(f"topic {row.number}: {row.depth!r} names no project of the course")
    assert not bad, "\n".join(bad)


def test_not_yet_names_a_project_still_to_come():
    # once a project has a grading suite, its "not yet" rows are stale: either it teaches the topic
    # (fill the row in) or it does not (name the later project that will)
    stale = []
    for row in rows():
        match = NOT_YET.match(row.depth)
        if match and match.group("name") in BY_NAME and BY_NAME[match.group("name")].available:
            stale.append(
                f"topic {row.number} says '{row.depth}', but {match.group('name')} has a grading suite now: "
                "fill the row in from what it teaches, or name a later project"
            )
    assert not stale, "\n".join(stale)


def test_counts_in_the_summary_match_the_table():
    kinds = [row.depth.split(" (")[0] for row in rows()]
    wanted = (
        f"{kinds.count('graded')} graded, {kinds.count('experiment')} experiment, "
        f"{kinds.count('discussion')} discussion, {kinds.count('not yet')} not yet (of 90)"
    )
    assert wanted in MAP.read_text(encoding="utf-8"), f"the summary line should read: {wanted}"


@cache
def functions_in(path: str) -> frozenset[str]:
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    return frozenset(n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef))


@pytest.mark.parametrize(("topic", "reference"), all_references(), ids=[f"{n}:{r}" for n, r in all_references()])
def test_reference_exists(topic, reference):
    path, _, test = reference.partition("::")
    assert (ROOT / path).is_file(), f"topic {topic}: {path} does not exist"
    if test:
        assert test in functions_in(path), f"topic {topic}: {path} defines no test named {test}"


def test_readme_links_the_map():
    assert "docs/playbook-map.md" in (ROOT / "README.md").read_text(encoding="utf-8")
