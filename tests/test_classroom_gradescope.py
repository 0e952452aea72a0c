"""The Gradescope bundle, end to end, in a temporary folder laid out like /autograder (the real
/autograder is never touched: IOLAB_AUTOGRADER_ROOT points the scripts at the temporary one)."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest

from grader.course import SOLUTIONS

from . import gradescope_schema
from .test_classroom import M1, SECRET

BLANK_LINE_BUG = """

_parse_line = parse_line


def parse_line(line):
    if not line.strip():
        return Record(None, "", "", 0, 0, None)  # a blank line as an empty record: the hidden test's case
    return _parse_line(line)
"""


def hidden_suite(folder: Path) -> Path:
    (folder / "loglens").mkdir(parents=True)
    (folder / "loglens" / "test_hidden_blank.py").write_text(
        "import pytest\n\n\n"
        f"@pytest.mark.milestone(1, {M1!r})\n@pytest.mark.points(2)\n"
        "def test_hidden_blank_line(loglens):\n"
        '    """a blank line is malformed"""\n'
        f"    assert loglens.parse_line(b'') is None, {SECRET!r}\n"
    )
    return folder


pytestmark = pytest.mark.slow


@pytest.fixture
def autograder_root():
    """A folder laid out like /autograder, readable by all users like the real one (pytest's own
    temporary folders are private to root, and submissions run as other users)."""
    folder = Path(tempfile.mkdtemp(prefix="iolab-fake-autograder-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_the_bundle_grades_an_upload_end_to_end(run_iolab, tmp_path, autograder_root):
    hidden = hidden_suite(tmp_path / "hidden")
    bundle = tmp_path / "autograder.zip"
    made = run_iolab(
        "gradescope-bundle", "loglens", "--scale", "quick", "--extra-tests", str(hidden), "--out", str(bundle)
    )
    assert made.returncode == 0, made.stderr

    root = autograder_root  # what Gradescope builds: /autograder/source holds the zip's content
    source = root / "source"
    with zipfile.ZipFile(bundle) as zf:
        names = zf.namelist()
        assert {"setup.sh", "run_autograder", "iolab-bundle.json"} <= set(names), "both scripts at the zip's root"
        assert "course/solutions/loglens/parse.py" in names, "the reference is in the bundle (stress ratios)"
        assert any(n.startswith("hidden/loglens/") for n in names)
        assert not any(n.startswith("course/tests/") or "__pycache__" in n for n in names)
        for name in ("setup.sh", "run_autograder"):
            assert (zf.getinfo(name).external_attr >> 16) & stat.S_IXUSR, f"{name} must be executable"
        zf.extractall(source)
    for name in ("setup.sh", "run_autograder"):
        os.chmod(source / name, 0o755)  # zipfile does not restore modes; Gradescope's unzip does
        subprocess.run(["bash", "-n", str(source / name)], check=True)

    env = dict(os.environ, IOLAB_AUTOGRADER_ROOT=str(root), IOLAB_PYTHON=sys.executable)
    env.pop("PYTHONPATH", None)  # the bundle's own course must be what runs
    env.pop("IOLAB_DATA_DIR", None)
    # setup.sh's last step (its install steps need the network and are not run here)
    warm = subprocess.run(
        [sys.executable, "-m", "grader.classroom.bundle", "warm", str(source / "iolab-bundle.json")],
        cwd=source / "course",
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert warm.returncode == 0, warm.stdout[-2000:] + warm.stderr[-2000:]
    worth = json.loads((source / "iolab-worth.json").read_text())["loglens"]["max_score"]

    def grade(upload_files: dict[str, bytes | None]) -> dict:
        submission = root / "submission"
        shutil.rmtree(submission, ignore_errors=True)
        shutil.rmtree(root / "results", ignore_errors=True)
        submission.mkdir()
        for rel, data in upload_files.items():
            path = submission / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data or b"")
        done = subprocess.run(
            [str(source / "run_autograder")], env=env, capture_output=True, text=True, timeout=900, check=False
        )
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        doc = json.loads((root / "results" / "results.json").read_text())
        gradescope_schema.validate(doc)
        return doc

    # a student uploads a zip of their repository: the reference's code with the hidden test's bug
    packed = tmp_path / "upload.zip"
    with zipfile.ZipFile(packed, "w") as zf:
        for path in sorted((SOLUTIONS / "loglens").glob("*.py")):
            code = path.read_text() + (BLANK_LINE_BUG if path.name == "parse.py" else "")
            zf.writestr(f"my-repo/labs/loglens/{path.name}", code)
    graded = grade({"upload.zip": packed.read_bytes()})
    by_name = {t["name"]: t for t in graded["tests"]}
    (hidden_test,) = [t for t in graded["tests"] if t["visibility"] != "visible"]
    assert hidden_test["visibility"] == "after_due_date" and hidden_test["status"] == "failed", hidden_test
    assert hidden_test["output"] == "(hidden test: its details are not shown to students)"
    assert SECRET not in json.dumps(graded)
    passed = [t for t in by_name.values() if t["status"] == "passed"]
    assert len(passed) >= len(by_name) // 2, "most of the suite passes: the upload was found and graded"
    assert graded["score"] == sum(t["score"] for t in graded["tests"]) < worth

    # an upload without the project: one failed entry, worth the project, that says why
    missing = grade({"README.md": b"I forgot the code\n"})
    assert missing["score"] == 0
    (entry,) = missing["tests"]
    assert entry["max_score"] == worth and entry["status"] == "failed" and "labs/ folder" in entry["output"], entry
