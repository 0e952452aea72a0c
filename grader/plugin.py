"""The grader's pytest plugin (``pytest -p grader.plugin``; the iolab runner loads it for you).

It adds the options ``--impl``, ``--scale``, ``--milestone``, ``--results`` and ``--artifacts``,
the markers ``milestone``, ``points``, ``hint``, ``stress`` and ``needs``, the fixtures suites
use (``root``, ``impl``, ``scale``, ``cli``, ``evidence``), and turns every test's ending into a
Result written as one JSON line the moment the test finishes.
"""

from __future__ import annotations

import importlib
import json
import os
import time
import traceback
import types
from collections.abc import Callable, Generator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from . import hints as hint_store
from . import impl as impl_mod
from . import scale as scale_mod
from .course import SUITES
from .evidence import Evidence
from .harness.proc import Cli
from .needs import check_need
from .outcomes import ERROR, FAILED, NOT_STARTED, PASSED, SKIPPED, Blocked, NotStarted, Result

ROOT_KEY = pytest.StashKey[impl_mod.Root]()
SCALE_KEY = pytest.StashKey[scale_mod.Scale]()
SINK_KEY = pytest.StashKey[int | None]()  # an O_APPEND descriptor of the results file
ARTIFACTS_KEY = pytest.StashKey[Path]()
STATE_KEY = pytest.StashKey[dict[str, Any]]()
EXTRA_KEY = pytest.StashKey[list[Path]]()

MARKERS = (
    "milestone(n, text): the curriculum milestone this test checks",
    "points(k): points this test is worth (default 1)",
    "hint(n): the hint layer (grader/suites/<project>/hints.toml) that helps when this fails",
    "stress: a stress test (big inputs, kills, slow peers)",
    "needs(*what): needs optional tools, e.g. needs('postgres'); skipped with a reason if missing",
)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("iolab", "iolab grader")
    group.addoption("--impl", default=None, help="code under test: labs (default), solutions, a path or a package")
    group.addoption("--scale", default=None, choices=scale_mod.NAMES, help="input sizes (default standard)")
    group.addoption("--milestone", type=int, default=None, help="only the tests of this milestone")
    group.addoption("--results", default=None, help="append one JSON line per test to this file")
    group.addoption("--artifacts", default=None, help="directory for plots and other evidence")
    group.addoption(
        "--extra-tests", action="append", default=[], help="directory of hidden tests (counted, marked hidden)"
    )


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    for line in MARKERS:
        config.addinivalue_line("markers", line)
    try:
        config.stash[ROOT_KEY] = impl_mod.resolve(config.getoption("impl"))
        config.stash[SCALE_KEY] = scale_mod.resolve(config.getoption("scale"))
    except (impl_mod.ImplError, ValueError) as exc:
        raise pytest.UsageError(str(exc)) from None
    if not config.stash[ROOT_KEY].present:
        # Checked here so that a root missing later (inside a test) can only be the reference.
        root = config.stash[ROOT_KEY]
        raise pytest.UsageError(f"--impl {root.label}: there is no {root.package}/ folder in this copy of the course")
    if getattr(config.option, "timeout", None) is None and not os.environ.get("PYTEST_TIMEOUT"):
        config.option.timeout = config.stash[SCALE_KEY].timeout
    results = config.getoption("results")
    config.stash[SINK_KEY] = os.open(results, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644) if results else None
    artifacts = config.getoption("artifacts")
    config.stash[ARTIFACTS_KEY] = Path(artifacts) if artifacts else Path(config.rootpath) / ".iolab-artifacts"
    config.stash[STATE_KEY] = {}
    config.pluginmanager.register(_CollectErrors(config), "iolab-collect-errors")
    config.stash[EXTRA_KEY] = [Path(p).resolve() for p in config.getoption("extra_tests")]
    for base in config.stash[EXTRA_KEY]:
        for folder in sorted(base.iterdir()) if base.is_dir() else []:
            _share_suite_fixtures(config, folder)


def _share_suite_fixtures(config: pytest.Config, folder: Path) -> None:
    """Hidden tests in ``DIR/<project>/`` get the fixtures of the public suite's conftest.

    pytest scopes conftest fixtures to their folder, and hidden tests live outside the suite. A
    copy of the suite's conftest namespace (fixtures only, no hooks) is registered as the
    conftest of the hidden folder; an instructor's own ``conftest.py`` there takes precedence
    (it can ``from grader.suites.<project>.conftest import *``).
    """
    public = SUITES / folder.name / "conftest.py"
    if not folder.is_dir() or not public.exists() or (folder / "conftest.py").exists():
        return
    module = importlib.import_module(f"grader.suites.{folder.name}.conftest")
    shared = types.ModuleType(f"iolab_hidden_{folder.name}_fixtures")
    for name, value in vars(module).items():
        if not name.startswith(("__", "pytest_")):
            setattr(shared, name, value)
    config.pluginmanager.register(shared, name=str(folder / "conftest.py"))


def pytest_unconfigure(config: pytest.Config) -> None:
    sink = config.stash.get(SINK_KEY, None)
    if sink is not None:
        os.close(sink)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    seen: dict[str, pytest.Item] = {}
    for item in items:
        first = seen.setdefault(item.nodeid, item)
        if first is not item:
            # The runner keys results by test id; a hidden test named like a public one would hide it.
            raise pytest.UsageError(
                f"two tests have the same id {item.nodeid!r} ({first.path} and {item.path}): "
                "give the hidden test file another name"
            )
    wanted = config.getoption("milestone")
    if wanted is None:
        return
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        marker = item.get_closest_marker("milestone")
        (keep if marker is not None and marker.args[0] == wanted else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
    items[:] = keep


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    _write(
        item.config,
        {
            "event": "start",
            "nodeid": item.nodeid,
            "project": project_of(item),
            "name": _display_name(item),
            "hidden": _is_hidden(item),
            "time": time.time(),
        },
    )


class _CollectErrors:
    """Says a test file that cannot be collected as an event: under pytest-xdist pytest then exits
    with 1, like a run with failing tests, not 2."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            text = report.longreprtext.splitlines()
            said = [line[1:].strip() for line in text if line.startswith("E ")]  # the error, not pytest's frames
            message = "\n".join(said or text[-20:])
            _write(self.config, {"event": "collect-error", "where": report.nodeid, "message": message})


def pytest_collection_finish(session: pytest.Session) -> None:
    # Under pytest-xdist every worker collects every test: count them once.
    if os.environ.get("PYTEST_XDIST_WORKER", "gw0") == "gw0":
        _write(session.config, {"event": "collected", "count": len(session.items)})


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    state = item.stash.setdefault(_ITEM_KEY, {"outcome": None, "message": "", "duration": 0.0})
    state["duration"] += report.duration
    if state["outcome"] is None:
        if report.skipped:
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
            state["outcome"], state["message"] = SKIPPED, reason.removeprefix("Skipped: ")
        elif report.failed and call.excinfo is not None:
            outcome, message = classify(call.excinfo, item)
            state["outcome"], state["message"] = outcome, message
            if outcome == NOT_STARTED:
                report.longrepr = message  # one line, no traceback: nothing is wrong yet
    if call.when == "teardown":
        _finish(item, state)
    return report


_ITEM_KEY = pytest.StashKey[dict[str, Any]]()


def _write(config: pytest.Config, doc: dict[str, Any]) -> None:
    """Append one event to the results file and flush it: a later crash cannot take it back."""
    sink = config.stash.get(SINK_KEY, None)
    if sink is not None:
        # One write() on an O_APPEND descriptor: the line lands whole even when several pytest-xdist
        # workers append to the same file.
        os.write(sink, (json.dumps(doc) + "\n").encode())


def _finish(item: pytest.Item, state: dict[str, Any]) -> None:
    outcome = state["outcome"] or PASSED
    project = project_of(item)
    milestone = item.get_closest_marker("milestone")
    points_marker = item.get_closest_marker("points")
    points = float(points_marker.args[0]) if points_marker else 1.0
    hint_marker = item.get_closest_marker("hint")
    layer = int(hint_marker.args[0]) if hint_marker else None
    found = hint_store.hint(project, layer) if layer else None
    evidence: Evidence | None = item.stash.get(EVIDENCE_KEY, None)
    result = Result(
        nodeid=item.nodeid,
        project=project,
        name=_display_name(item),
        outcome=outcome,
        points=points,
        score=points if outcome == PASSED else 0.0,
        milestone=milestone.args[0] if milestone else None,
        milestone_text=milestone.args[1] if milestone and len(milestone.args) > 1 else "",
        message=state["message"],
        hint=layer if outcome != PASSED else None,
        hint_count=len(hint_store.hints(project)),
        hint_text=found.text if found and outcome != PASSED else "",
        duration=round(state["duration"], 3),
        stress=item.get_closest_marker("stress") is not None,
        hidden=_is_hidden(item),
        artifacts=[str(p) for p in evidence.artifacts] if evidence else [],
        values=dict(evidence.values) if evidence else {},
    )
    _write(item.config, {"event": "result", **result.to_json()})


def classify(excinfo: pytest.ExceptionInfo[BaseException], item: pytest.Item) -> tuple[str, str]:
    """(outcome, message for a learner) for a test that raised."""
    exc = excinfo.value
    if isinstance(exc, NotImplementedError) and str(exc).startswith("TODO("):
        return NOT_STARTED, f"not started: {exc}"
    if isinstance(exc, NotStarted):
        return NOT_STARTED, f"not started: {exc}"
    if isinstance(exc, Blocked):
        return "blocked", str(exc)
    if isinstance(exc, ImplImportError):
        return ERROR, str(exc)
    notes = "\n".join(getattr(exc, "__notes__", []) or [])
    if isinstance(exc, AssertionError | pytest.fail.Exception):
        text = str(exc).strip()
        if text.startswith("Timeout"):
            text = f"did not finish in time ({text.split(chr(10))[0]}): is something stuck or far too slow?"
        if not text:
            entry = excinfo.traceback[-1]
            text = f"check failed at {Path(str(entry.path)).name}:{entry.lineno + 1}"
        return FAILED, _join(text, notes)
    where = _learner_frames(excinfo, item)
    if where:
        text = f"your code raised {type(exc).__name__}: {exc}\n{where}"
    else:
        entry = excinfo.traceback[-1]
        text = (
            f"the check itself failed with {type(exc).__name__}: {exc} "
            f"(at {Path(str(entry.path)).name}:{entry.lineno + 1}). This is a problem in the grader, "
            "not in your code: please report it."
        )
    return ERROR, _join(text, notes)


class ImplImportError(Exception):
    """The implementation could not be imported (syntax error, import-time crash)."""


def _join(text: str, notes: str) -> str:
    if not notes:
        return text
    notes = notes.replace("Falsifying example:", "Smallest failing input found:")
    return f"{text}\n{notes}"


def _learner_frames(excinfo: pytest.ExceptionInfo[BaseException], item: pytest.Item) -> str:
    """The last few frames that are in the implementation under test (where to look first)."""
    root: impl_mod.Root = item.config.stash[ROOT_KEY]
    base = _package_dir(root)
    if base is None:
        return ""
    frames = [f for f in traceback.extract_tb(excinfo.tb) if f.filename.startswith(base)][-3:]
    return "\n".join(f"  at {_short(f.filename)}:{f.lineno} in {f.name}: {(f.line or '').strip()}" for f in frames)


def _package_dir(root: impl_mod.Root) -> str | None:
    import importlib.util

    root.activate()
    try:
        spec = importlib.util.find_spec(root.package)
    except ImportError:
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return str(Path(next(iter(spec.submodule_search_locations))).resolve())


def _short(path: str) -> str:
    parts = Path(path).parts
    for anchor in ("labs", "solutions"):
        if anchor in parts:
            return "/".join(parts[parts.index(anchor) :])
    return "/".join(parts[-3:])


def _display_name(item: pytest.Item) -> str:
    doc = getattr(getattr(item, "function", None), "__doc__", None)
    first = (doc or "").strip().splitlines()[0] if doc else ""
    callspec = getattr(item, "callspec", None)
    if first and callspec is not None:
        return f"{first} [{callspec.id}]"  # parametrized: say which case, or every row reads the same
    return first or item.name


def project_of(item: pytest.Item) -> str:
    path = Path(str(item.path)).resolve()
    for base in [SUITES, *item.config.stash.get(EXTRA_KEY, [])]:
        try:
            rel = path.relative_to(base)
        except ValueError:
            continue
        if len(rel.parts) > 1:
            return rel.parts[0]
    return path.parent.name


def _is_hidden(item: pytest.Item) -> bool:
    path = Path(str(item.path)).resolve()
    return any(path.is_relative_to(base) for base in item.config.stash.get(EXTRA_KEY, []))


EVIDENCE_KEY = pytest.StashKey[Evidence]()


# ---- fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def root(pytestconfig: pytest.Config) -> impl_mod.Root:
    """The implementation root under test (labs, solutions, a path or a package)."""
    return pytestconfig.stash[ROOT_KEY]


@pytest.fixture(scope="session")
def scale(pytestconfig: pytest.Config) -> scale_mod.Scale:
    """The chosen scale; ``scale.pick(quick=..., standard=..., full=...)``."""
    return pytestconfig.stash[SCALE_KEY]


@pytest.fixture(scope="session")
def impl(root: impl_mod.Root) -> Callable[[str], ModuleType]:
    """``impl("loglens")`` -> the loglens package of the implementation under test."""

    def load(project: str) -> ModuleType:
        try:
            return root.module(project)
        except NotImplementedError:
            raise
        except (SyntaxError, ImportError, Exception) as exc:
            raise ImplImportError(_import_message(root, project, exc)) from None

    return load


@pytest.fixture(scope="session")
def reference() -> Callable[[str], ModuleType]:
    """``reference("loglens")`` -> the reference solution (for ratios measured in the same run).

    In a student copy (no solutions/) the test is skipped with a reason when it asks for the
    reference, i.e. after the learner's code ran: unwritten code still reads "not started".
    """
    solutions = impl_mod.resolve("solutions")

    def load(project: str) -> ModuleType:
        if not solutions.present:
            pytest.skip(impl_mod.REFERENCE_MISSING)
        return solutions.module(project)

    return load


@pytest.fixture
def cli(root: impl_mod.Root) -> Callable[[str], Cli]:
    """``cli("loglens").run("summary", "--json", input=b"...")``: the CLI as a real subprocess."""
    return lambda project: Cli(root, project)


@pytest.fixture
def evidence(request: pytest.FixtureRequest, tmp_path: Path) -> Evidence:
    """Collects plots, measured values and seeds for the report of this test."""
    folder = request.config.stash[ARTIFACTS_KEY] / _safe(request.node.nodeid)
    found = Evidence(folder)
    request.node.stash[EVIDENCE_KEY] = found
    return found


@pytest.fixture(autouse=True)
def _needs(request: pytest.FixtureRequest) -> None:
    marker = request.node.get_closest_marker("needs")
    if marker is None:
        return
    for what in marker.args:
        missing = check_need(what)
        if missing:
            if what in _required():
                pytest.fail(f"{what} is required here (IOLAB_REQUIRE) but missing: {missing}")
            pytest.skip(f"needs {what}: {missing}")


def _required() -> set[str]:
    return {w.strip() for w in os.environ.get("IOLAB_REQUIRE", "").split(",") if w.strip()}


def _safe(nodeid: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in nodeid)[-120:]


def _import_message(root: impl_mod.Root, project: str, exc: BaseException) -> str:
    if isinstance(exc, SyntaxError):
        where = f"{_short(exc.filename or '?')}, line {exc.lineno}"
        return f"{root.label}.{project} cannot be imported: {where}: {exc.msg}"
    frames = traceback.extract_tb(exc.__traceback__)
    mine = [f for f in frames if "importlib" not in f.filename and "/grader/" not in f.filename]
    where = f" (at {_short(mine[-1].filename)}:{mine[-1].lineno})" if mine else ""
    return f"{root.label}.{project} cannot be imported: {type(exc).__name__}: {exc}{where}"
