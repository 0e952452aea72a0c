"""The process that grades one submission: ``python -m grader.classroom.worker JOB.json``.

The gradebook starts it with the submission's limits (and, as root, as the submission's own
user); everything the learner's code does happens in processes below it. For each project it
imports the modules first (``preflight``: a syntax error, a crash or an endless loop at import
time ends the project there, with the reason), then runs the suite with the ordinary runner,
whose results file is written test by test: when the gradebook has to kill the submission, what
finished is kept. Everything goes to ``OUT/<project>/``:
``preflight.json``, ``results.jsonl`` (the runner's), ``done.json`` (elapsed, restarts, or error).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass
class Job:
    code: str  # the implementation root (holds labs/)
    out: str
    projects: list[str]
    scale: str
    extra_tests: list[str] = field(default_factory=list)
    import_timeout: float = 30.0
    scratch: str = ""  # the working folder for the import check

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=1))

    @classmethod
    def load(cls, path: Path) -> Job:
        return cls(**json.loads(path.read_text()))


def main(argv: list[str]) -> int:
    job = Job.load(Path(argv[0]))
    for project in job.projects:
        folder = Path(job.out) / project
        folder.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        checked = preflight(job, project, folder)
        if checked["status"] not in ("ok", "module errors"):
            _write(folder / "done.json", {"elapsed": time.monotonic() - started, "suite": False})
            continue
        _write(folder / "done.json", grade(job, project, folder, started))
    return 0


def preflight(job: Job, project: str, folder: Path) -> dict:
    """Import the project's modules in a child process; the verdict, also in preflight.json."""
    report = folder / "preflight.json"
    log = folder / "preflight.log"
    argv = [sys.executable, "-m", "grader.classroom.preflight", job.code, project, str(report)]
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            argv, cwd=job.scratch or job.code, stdout=out, stderr=out, stdin=subprocess.DEVNULL, start_new_session=True
        )
        try:
            code = proc.wait(timeout=job.import_timeout)
        except subprocess.TimeoutExpired:
            _killpg(proc)
            code = None
    try:
        found = json.loads(report.read_text())
    except (OSError, ValueError):
        found = {"status": "running", "modules": []}
    if code is None:
        found["status"] = "import timeout"
        found["reason"] = (
            f"importing {found.get('importing', project)} did not finish in {job.import_timeout:.0f}s "
            "(an endless loop, or a wait for input, at import time?)"
        )
    elif code == -signal.SIGXFSZ:
        found["status"] = "output limit"
        found["reason"] = (
            f"importing {found.get('importing', project)} wrote past the file-size limit (a flood of output)"
        )
    elif code != 0 or found.get("status") == "running":
        found["status"] = "package error" if found.get("status") in (None, "running") else found["status"]
        from ..runner import died_how

        found.setdefault(
            "reason", f"importing {found.get('importing', project)} crashed the interpreter ({died_how(code)})"
        )
    _write(report, found)
    return found


def grade(job: Job, project: str, folder: Path, started: float) -> dict:
    from ..impl import ImplError
    from ..runner import InfrastructureError, RunOptions, run

    options = RunOptions([project], impl=job.code, scale=job.scale, extra_tests=job.extra_tests, out=folder)
    try:
        done = run(options)
    except (InfrastructureError, ImplError, LookupError, ValueError) as exc:
        return {"elapsed": time.monotonic() - started, "suite": True, "error": str(exc)[-3000:]}
    return {"elapsed": time.monotonic() - started, "suite": True, "restarts": done.restarts}


def _killpg(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def _write(path: Path, doc: dict) -> None:
    temp = path.with_name(path.name + ".tmp")
    temp.write_text(json.dumps(doc))
    os.replace(temp, path)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
