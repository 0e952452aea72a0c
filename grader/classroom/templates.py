"""Files the release and the Gradescope bundle write (kept as text here, so that an installed
copy of the grader has them too).

CLASSROOM_WORKFLOW: ``.github/workflows/classroom.yml`` for GitHub Classroom. The job is named
"Autograding Tests" because that is the check run the Classroom's grading reporter updates; it
runs ``iolab grade``, whose classroom format prints the ``Points x/y`` notice line, sets the step
output ``result`` the reporter reads from ``IOLAB_RESULTS``, and whose Markdown format appends
the summary to the job summary; reports and plots are uploaded as an artifact.
"""

from __future__ import annotations

GRADE_COMMAND = "iolab grade --format terminal,markdown,classroom,json,junit,plots --out reports"

CLASSROOM_WORKFLOW = f"""\
# GitHub Classroom autograding for iolab (written by `iolab release`).
# Every push grades the labs at the standard scale. Exit code of `iolab grade`: 0 all tests pass,
# 1 some fail or are not started, 2 the grading itself could not run.
name: Autograding Tests
on:
  push:
  workflow_dispatch:
  repository_dispatch:
permissions:
  checks: write
  actions: read
  contents: read
jobs:
  run-autograding-tests:
    name: Autograding Tests
    runs-on: ubuntu-latest
    if: github.actor != 'github-classroom[bot]'
    timeout-minutes: 45
    env:
      IOLAB_SCALE: standard
      MPLBACKEND: Agg
    steps:
      - name: Check out the code
        uses: actions/checkout@v4
      - name: Set up Python
        uses: actions/setup-python@v5
        with:
          python-version: "3.11"
          cache: pip
      - name: Install iolab
        run: python -m pip install --quiet -e .
      - name: Grade with iolab
        id: iolab
        run: {GRADE_COMMAND}
      - name: Report the points to GitHub Classroom
        if: always() && steps.iolab.outputs.result != ''
        uses: classroom-resources/autograding-grading-reporter@v1
        env:
          IOLAB_RESULTS: "${{{{ steps.iolab.outputs.result }}}}"
        with:
          runners: iolab
      - name: Upload the report and plots
        if: always()
        uses: actions/upload-artifact@v4
        with:
          name: iolab-report
          path: reports/
          if-no-files-found: warn
"""

STUDENT_README = """\
## For students

This is your copy of the course. Work in `labs/`: each project's package has the same modules
and signatures as the reference your instructor keeps, with the parts you write raising
`NotImplementedError("TODO(...)")`. The notebooks in `notebooks/` walk you through them.

- `iolab check PROJECT --milestone N` (or `check(...)` in a notebook): quick feedback with hints.
- `iolab grade` (or `make check`): the whole grade, as CI computes it.
- `iolab progress`: your attempts and first passes per milestone (`--reset` clears the record,
  which lives in your own state folder, not in this repository).

What this copy does not have: the reference solution, the instructor's hidden tests and the
course's own maintenance tests. The notebooks' experiments run your code in `labs/`: one that
needs a piece you have not written yet says which, and the notebook goes on; run it again once
that piece passes its check. `iolab demo` needs the reference, so it only runs in your
instructor's copy. A few stress checks compare your code's speed or memory with
the reference measured in the same run; here they are skipped with a reason once your code has
run, and they count when your instructor grades (Gradescope or `iolab gradebook`). Hidden tests
count there too.

Every push runs `.github/workflows/classroom.yml`: the grade (`Points x/y`), the Markdown
summary on the run's page, and the full report with plots as the `iolab-report` artifact.
Exit codes of `iolab grade`: 0 every test passes, 1 some fail or are not started, 2 the grading
could not run (a usage or setup problem, not your code).
"""

GRADESCOPE_SETUP = """\
#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image (written by
# `iolab gradescope-bundle`). It installs Python 3.11+ if the image lacks it, and the course.
set -euo pipefail
AUTOGRADER="${IOLAB_AUTOGRADER_ROOT:-/autograder}"
COURSE="$AUTOGRADER/source/course"
VENV="$AUTOGRADER/iolab-venv"

python_ok() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; }
PY=""
for candidate in python3.13 python3.12 python3.11 python3; do
  if command -v "$candidate" >/dev/null && python_ok "$(command -v "$candidate")"; then
    PY="$(command -v "$candidate")"; break
  fi
done
if [ -z "$PY" ]; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends python3.11 python3.11-venv
  PY="$(command -v python3.11)"
fi
"$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet -e "$COURSE"
# Warm the dataset cache and matplotlib's font cache at build time, not in every submission.
cd "$COURSE" && "$VENV/bin/python" -m grader.classroom.bundle warm "$AUTOGRADER/source/iolab-bundle.json"
"""

GRADESCOPE_RUN = """\
#!/usr/bin/env bash
# Gradescope runs this for every submission (written by `iolab gradescope-bundle`): it grades
# the upload in /autograder/submission and writes /autograder/results/results.json.
# IOLAB_AUTOGRADER_ROOT points it at another folder laid out like /autograder (for tests);
# IOLAB_PYTHON at another interpreter than the one setup.sh installed.
set -uo pipefail
AUTOGRADER="${IOLAB_AUTOGRADER_ROOT:-/autograder}"
PY="${IOLAB_PYTHON:-$AUTOGRADER/iolab-venv/bin/python}"
cd "$AUTOGRADER/source/course"
mkdir -p "$AUTOGRADER/results"
exec "$PY" -m grader.classroom.bundle run "$AUTOGRADER"
"""
