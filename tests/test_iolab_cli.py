"""The iolab command as a user meets it: help, wrong input, exit codes."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["nonsense"], "invalid choice"),
        (["check", "nosuchproject"], "available: "),
        (["check", "loglens", "--impl", "/no/such/dir"], "no such directory"),
        (["grade", "loglens", "--format", "pdf"], "unknown report format"),
        (["data", "make", "nosuchkind"], "unknown dataset kind"),
        (["data", "make", "access", "--size", "lots"], "not a size"),
        (["demo", "nosuchproject"], "no project named"),
    ],
)
def test_usage_errors_exit_2_with_a_message(run_iolab, args, words):
    result = run_iolab(*args)
    assert result.returncode == 2, (args, result.stdout, result.stderr)
    assert words in result.stderr and "Traceback" not in result.stderr, result.stderr


def test_help_and_doctor(run_iolab):
    assert run_iolab("--help").returncode == 0
    doctor = run_iolab("doctor")
    assert doctor.returncode == 0 and "Python" in doctor.stdout


def test_data_make_and_list(run_iolab, tmp_path):
    env = {"IOLAB_DATA_DIR": str(tmp_path)}
    made = run_iolab("data", "make", "access-hostile", "--size", "2k", "--seed", "3", env=env)
    assert made.returncode == 0, made.stderr
    assert (tmp_path / "access-hostile-2000-s3.log").exists() and "ground truth" in made.stdout
    listed = run_iolab("data", "list", env=env)
    assert listed.returncode == 0 and "access-hostile-2000-s3.log" in listed.stdout


@pytest.mark.slow
def test_check_exit_codes(run_iolab):
    assert run_iolab("check", "loglens", "--impl", "solutions", "--milestone", "2").returncode == 0
    fresh = run_iolab("check", "loglens", "--milestone", "2")
    assert fresh.returncode == 1 and "not started" in fresh.stdout


def test_demo_needs_the_reference_and_says_so_in_one_line(monkeypatch, tmp_path, capsys):
    """`iolab demo` runs the reference: in a copy without solutions/ (a student's) it must not
    start at all, but exit 2 with one line that says why."""
    from grader import impl
    from grader.cli import main

    monkeypatch.setattr(impl, "ROOT", tmp_path)  # the course folder, as if it had no solutions/
    assert main(["demo", "loglens", "--scale", "quick"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {lines}"
    assert "reference solution" in lines[0] and "instructor" in lines[0] and "Traceback" not in lines[0], lines
