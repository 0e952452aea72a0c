"""Import every module of one project of a submission, and say what broke.

Run as ``python -m grader.classroom.preflight ROOT PROJECT REPORT`` (its own process, under the
submission's limits): ROOT holds ``labs/``. Before each import the report names the module being
imported, so when the process is killed (an endless loop at import time, a flood of output) the
gradebook can say where it happened. The report is JSON:
``{"status": "ok" | "missing" | "package error" | "module errors" | "running", "importing": ...,
"modules": [{"module": ..., "ok": ..., "error": ...}]}``.

Only the standard library is imported here, so nothing of the grader runs next to the code.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import traceback
from pathlib import Path


def main(argv: list[str]) -> int:
    root, project, report = Path(argv[0]).resolve(), argv[1], Path(argv[2])
    package = root / "labs" / project
    if not (package / "__init__.py").exists():
        what = "has no __init__.py" if package.is_dir() else "is not in the submission"
        _write(report, {"status": "missing", "reason": f"labs/{project} {what}", "modules": []})
        return 0
    sys.path.insert(0, str(root))
    names = [f"labs.{project}"] + [
        f"labs.{project}.{p.stem}" for p in sorted(package.glob("*.py")) if p.stem not in ("__init__", "__main__")
    ]
    modules: list[dict] = []
    for name in names:
        _write(report, {"status": "running", "importing": name, "modules": modules})
        try:
            importlib.import_module(name)
            modules.append({"module": name, "ok": True})
        except BaseException as exc:  # SystemExit and friends at import time are breakage too
            modules.append({"module": name, "ok": False, "error": describe(exc, root)})
            if name == names[0]:
                break
    failed = [m for m in modules if not m["ok"]]
    status = "ok" if not failed else ("package error" if failed[0]["module"] == names[0] else "module errors")
    # Importing the course's reference instead of writing the code is worth a look by hand.
    borrowed = sorted(m for m in sys.modules if m == "solutions" or m.startswith("solutions."))
    _write(report, {"status": status, "modules": modules, "imports_reference": borrowed})
    # The code may have started threads or changed signal handlers: leave without running them down.
    sys.stdout.flush()
    os._exit(0)


def describe(exc: BaseException, root: Path) -> str:
    """``labs/loglens/parse.py, line 3: invalid syntax`` or ``ZeroDivisionError: ... (at ...:12)``."""
    if isinstance(exc, SyntaxError):
        return f"{_short(exc.filename or '?', root)}, line {exc.lineno}: {exc.msg}"
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.startswith(str(root))]
    where = f" (at {_short(frames[-1].filename, root)}:{frames[-1].lineno})" if frames else ""
    return f"{type(exc).__name__}: {str(exc)[:300]}{where}"


def _short(path: str, root: Path) -> str:
    try:
        return Path(path).resolve().relative_to(root).as_posix()
    except ValueError:
        return path


def _write(report: Path, doc: dict) -> None:
    temp = report.with_name(report.name + ".tmp")
    temp.write_text(json.dumps(doc))
    os.replace(temp, report)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
