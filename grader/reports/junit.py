"""JUnit XML (one testsuite per project), for CI systems that draw test tables."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from ..outcomes import BLOCKED, ERROR, FAILED, NOT_STARTED, SKIPPED
from ..runner import Run
from .common import student_message


def write(run: Run, path: Path, show_hidden: bool = False) -> Path:
    suites = ET.Element("testsuites", name="iolab", time=f"{run.elapsed:.3f}")
    for name in run.projects:
        results = run.for_project(name)
        failures = sum(r.outcome in (FAILED, NOT_STARTED, BLOCKED) for r in results)
        errors = sum(r.outcome == ERROR for r in results)
        skipped = sum(r.outcome == SKIPPED for r in results)
        suite = ET.SubElement(
            suites,
            "testsuite",
            name=name,
            tests=str(len(results)),
            failures=str(failures),
            errors=str(errors),
            skipped=str(skipped),
            time=f"{sum(r.duration for r in results):.3f}",
        )
        for r in results:
            case = ET.SubElement(
                suite, "testcase", classname=f"iolab.{name}", name=r.nodeid.split("::")[-1], time=f"{r.duration:.3f}"
            )
            message = student_message(r, show_hidden)
            first = message.splitlines()[0] if message else r.outcome
            if r.outcome in (FAILED, NOT_STARTED, BLOCKED):
                element = ET.SubElement(case, "failure", message=first, type=r.outcome.replace(" ", "-"))
                element.text = message
            elif r.outcome == ERROR:
                element = ET.SubElement(case, "error", message=first, type="error")
                element.text = message
            elif r.outcome == SKIPPED:
                ET.SubElement(case, "skipped", message=r.message)
    ET.indent(suites)
    ET.ElementTree(suites).write(path, encoding="utf-8", xml_declaration=True)
    return path
