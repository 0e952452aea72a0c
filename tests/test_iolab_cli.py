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
