"""Check cells for notebooks: ``check("loglens", milestone=1)`` and ``progress()``.

``check`` runs the tests in a separate pytest process (so your latest file edits are what runs,
with no restart of the kernel) and shows a compact report: one row per test, the message of each
failure, a button that reveals the hints one layer at a time, and the stress plots.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .hints import hints
from .outcomes import NOT_STARTED, PASSED, SKIPPED, Result
from .reports.common import SYMBOL
from .runner import CHECK_JOBS, Run, RunOptions, run
from .state import maybe_record

COLOR = {
    "passed": "#2e7d32",
    "failed": "#c62828",
    "error": "#c62828",
    "not started": "#b26a00",
    "blocked": "#6a1b9a",
    "skipped": "#757575",
}


@dataclass
class CheckResult:
    """What ``check`` returns: truthy when every selected test passed."""

    run: Run
    shown: bool = False  # check() already displayed the report

    @property
    def results(self) -> list[Result]:
        return self.run.results

    @property
    def passed(self) -> bool:
        return self.run.all_passed

    def __bool__(self) -> bool:
        return self.passed

    def summary(self) -> str:
        graded = [r for r in self.results if r.outcome != SKIPPED]
        ok = sum(r.outcome == PASSED for r in graded)
        return f"{ok}/{len(graded)} passed"

    def _repr_html_(self) -> str:
        return _static_html(self.run)

    def _ipython_display_(self) -> None:
        # A cell ending in check(...) would show the report a second time; show it once.
        if self.shown:
            self.shown = False  # an explicit display(result) later still works
            return
        _show(self)

    def __repr__(self) -> str:
        return f"<check {', '.join(self.run.projects)}: {self.summary()}>"


def check(
    project: str,
    milestone: int | None = None,
    *,
    scale: str = "quick",
    impl: str | None = None,
    keyword: str | None = None,
    display: bool = True,
) -> CheckResult:
    """Run a project's checks (optionally one milestone) and show the report in the notebook."""
    bar = _progress_bar(f"checking {project}" + (f" · milestone {milestone}" if milestone else ""))
    options = RunOptions([project], impl=impl, scale=scale, milestone=milestone, keyword=keyword, jobs=CHECK_JOBS)
    done = run(options, bar.on_event if bar else None)
    if bar:
        bar.close()
    maybe_record(done, complete=keyword is None)
    result = CheckResult(done)
    if display:
        _show(result)
        result.shown = True
    return result


def progress(impl: str | None = None) -> Any:
    """The course at a glance: every project and milestone (quick checks of your labs), with
    your attempts and when each milestone first passed (the same as ``iolab progress``)."""
    from .progress import course_progress, render_html
    from .state import load

    bar = _progress_bar("checking every project")
    rows = course_progress(impl, bar.on_event if bar else None, on_run=maybe_record)
    if bar:
        bar.close()
    from IPython.display import HTML

    return HTML(render_html(rows, load()))


# ---- rendering ----------------------------------------------------------------------------------


class _Bar:
    def __init__(self, label: str) -> None:
        import ipywidgets as w
        from IPython.display import display

        self.widget = w.IntProgress(value=0, max=1, description="", bar_style="info", layout=w.Layout(width="40%"))
        self.label = w.HTML(f"<b>{html.escape(label)}</b>")
        self.box = w.HBox([self.label, self.widget])
        display(self.box)
        self.total = 0

    def on_event(self, event: dict) -> None:
        if event.get("event") == "collected":
            self.total += event["count"]
            self.widget.max = max(self.total, 1)
        elif event.get("event") == "result":
            self.widget.value = min(self.widget.value + 1, self.widget.max)

    def close(self) -> None:
        self.box.close()


def _progress_bar(label: str) -> _Bar | None:
    try:
        return _Bar(label)
    except Exception:
        return None


def _show(result: CheckResult) -> None:
    from IPython.display import HTML, display

    try:
        display(_widget(result.run))
    except Exception:
        display(HTML(_static_html(result.run)))


def _header(run: Run) -> str:
    graded = [r for r in run.results if r.outcome != SKIPPED]
    ok = sum(r.outcome == PASSED for r in graded)
    color = COLOR["passed"] if ok == len(graded) and graded else COLOR["failed"]
    names = ", ".join(run.projects)
    return (
        f"<div style='font-size:1.1em'><b>{html.escape(names)}</b>: "
        f"<span style='color:{color}'><b>{ok}/{len(graded)} passed</b></span> "
        f"<span style='color:#757575'>({run.elapsed:.1f}s, {run.scale.name} scale, "
        f"{html.escape(run.root.label)})</span></div>"
    )


def _rows(run: Run) -> str:
    rows = []
    for r in run.results:
        color = COLOR[r.outcome]
        milestone = f"M{r.milestone}" if r.milestone else ""
        rows.append(
            f"<tr><td style='color:{color}'>{SYMBOL[r.outcome]}</td>"
            f"<td style='text-align:left'>{html.escape(r.name)}</td>"
            f"<td>{milestone}</td><td style='color:{color}'>{r.outcome}</td></tr>"
        )
    return "<table style='border-collapse:collapse'>" + "".join(rows) + "</table>"


def _static_html(run: Run) -> str:
    parts = [_header(run), _rows(run)]
    for r in run.results:
        if r.outcome not in (PASSED, SKIPPED, NOT_STARTED):
            parts.append(f"<p><b>{html.escape(r.name)}</b></p><pre>{html.escape(r.message)}</pre>")
    todo = _todos(run)
    if todo:
        parts.append(f"<p style='color:{COLOR['not started']}'>Not started yet: {html.escape(todo)}</p>")
    return "\n".join(parts)


def _todos(run: Run) -> str:
    names = sorted(
        {r.message.removeprefix("not started: ").split(":")[0] for r in run.results if r.outcome == NOT_STARTED}
    )
    return ", ".join(names)


def _widget(run: Run) -> Any:
    import ipywidgets as w

    children: list[Any] = [w.HTML(_header(run) + _rows(run))]
    for r in run.results:
        if r.outcome in (PASSED, SKIPPED, NOT_STARTED):
            continue
        children.append(_failure(r))
    todo = _todos(run)
    if todo:
        children.append(
            w.HTML(f"<p style='color:{COLOR['not started']}'>Not started yet: <code>{html.escape(todo)}</code></p>")
        )
    for r in run.results:
        for artifact in r.artifacts:
            path = Path(artifact)
            if path.suffix == ".png" and path.exists():
                children.append(w.HTML(f"<i>{html.escape(r.name)}</i>"))
                children.append(w.Image(value=path.read_bytes(), format="png", layout=w.Layout(max_width="720px")))
    return w.VBox(children)


def _failure(r: Result) -> Any:
    import ipywidgets as w

    message = w.HTML(
        f"<div style='margin-top:0.6em'><b style='color:{COLOR[r.outcome]}'>"
        f"{SYMBOL[r.outcome]} {html.escape(r.name)}</b>"
        f"<pre style='white-space:pre-wrap'>{html.escape(r.message)}</pre></div>"
    )
    layers = hints(r.project)
    if not layers:
        return message
    shown = w.VBox([])
    button = w.Button(description="show hint 1", icon="lightbulb-o", layout=w.Layout(width="auto"))
    useful = r.hint or len(layers)

    def reveal(_: Any) -> None:
        i = len(shown.children)
        if i < len(layers):
            layer = layers[i]
            mark = " (the one this test points to)" if layer.layer == useful else ""
            shown.children = (
                *shown.children,
                w.HTML(
                    f"<div style='margin-left:1em'><b>hint {layer.layer} of {len(layers)}: "
                    f"{html.escape(layer.title)}</b>"
                    f"{mark}<br>{html.escape(layer.text)}</div>"
                ),
            )
        if len(shown.children) >= len(layers):
            button.disabled = True
            button.description = "no more hints"
        else:
            button.description = f"show hint {len(shown.children) + 1}"

    button.on_click(reveal)
    return w.VBox([message, button, shown])
