"""Graceful shutdown: in-process on virtual time, then real SIGINT/SIGTERM to a service with work in flight."""

from __future__ import annotations

import asyncio
import signal
import time

import pytest

from grader.harness.fakeclock import run_virtual

M3 = pytest.mark.milestone(3, "Stay up when things fail: retries, rate limits, breakers, bulkheads, shutdown")
pytestmark = [M3, pytest.mark.timeout(120)]
SLACK = 10.0  # seconds allowed beyond a deadline for a process to exit: the OS, not the algorithm


def job(log, name, seconds):
    async def run():
        try:
            await asyncio.sleep(seconds)
            log.append(f"{name} done at {asyncio.get_running_loop().time():.2f}")
        except asyncio.CancelledError:
            log.append(f"{name} cancelled at {asyncio.get_running_loop().time():.2f}")
            raise

    return run()


@pytest.mark.hint(8)
def test_drain_waits_for_work_then_cancels_at_the_deadline(runtime):
    """a stop lets in-flight work finish until the deadline, then cancels the rest (virtual time)"""
    log: list[str] = []

    async def scenario():
        shutdown = runtime.GracefulShutdown(deadline=3.0)
        stopped: list[float] = []
        shutdown.on_stop(lambda: stopped.append(asyncio.get_running_loop().time()))
        for name, seconds in (("quick", 1.5), ("slow", 4.5), ("stuck", 1000.0)):
            shutdown.track(job(log, name, seconds))
        await asyncio.sleep(1.0)
        shutdown.request_stop(signal.SIGTERM)
        signum = await shutdown.wait()
        report = await shutdown.drain()
        return stopped, signum, report, asyncio.get_running_loop().time()

    stopped, signum, report, ended = run_virtual(scenario())
    assert stopped == [1.0] and signum == signal.SIGTERM, (
        f"on_stop callbacks run once at the stop request (t=1.0) and wait() returns its signal; "
        f"got calls at {stopped}, signal {signum!r}"
    )
    assert sorted(log) == ["quick done at 1.50", "slow cancelled at 4.00", "stuck cancelled at 4.00"], (
        "stop at t=1.0 with deadline 3.0: 'quick' (ends at 1.5) finishes; 'slow' (4.5 s) and 'stuck' are cancelled "
        f"at t=4.0 exactly; the jobs logged {log}"
    )
    assert (report.finished, report.cancelled, report.forced) == (1, 2, False) and ended == pytest.approx(4.0), (
        f"expected a report of 1 finished, 2 cancelled, not forced, drain ending at t=4.0; got {report!r} at {ended}"
    )
    assert report.exit_code == 1, f"work was cancelled, so the exit code is 1; got {report.exit_code}"


@pytest.mark.hint(8)
def test_drain_returns_as_soon_as_work_is_done(runtime):
    """when everything finishes early, the drain ends then, not at the deadline"""
    log: list[str] = []

    async def scenario():
        shutdown = runtime.GracefulShutdown(deadline=30.0)
        for i in range(5):
            shutdown.track(job(log, f"j{i}", 0.2 * (i + 1)))
        shutdown.request_stop(signal.SIGINT)
        report = await shutdown.drain()
        return report, asyncio.get_running_loop().time()

    report, ended = run_virtual(scenario())
    assert ended == pytest.approx(1.0) and report.finished == 5 and report.cancelled == 0, (
        f"five jobs ending by t=1.0 with a 30 s deadline: the drain ends at t=1.0 with 5 finished; "
        f"it ended at t={ended:.2f} with {report!r}"
    )
    assert report.exit_code == 0, f"everything finished: exit code 0; got {report.exit_code}"


@pytest.mark.hint(8)
def test_second_stop_request_forces(runtime):
    """a second stop request cancels everything at once instead of waiting for the deadline"""
    log: list[str] = []

    async def scenario():
        loop = asyncio.get_running_loop()
        shutdown = runtime.GracefulShutdown(deadline=60.0)
        shutdown.track(job(log, "long", 50.0))
        shutdown.request_stop(signal.SIGTERM)
        loop.call_later(2.0, shutdown.request_stop, signal.SIGTERM)
        report = await shutdown.drain()
        return report, loop.time()

    report, ended = run_virtual(scenario())
    assert report.forced and report.cancelled == 1 and ended == pytest.approx(2.0), (
        f"the second request at t=2.0 must cancel 'long' at once (forced); got {report!r}, drain ended at {ended:.2f}"
    )
    assert report.exit_code == 128 + signal.SIGTERM, (
        f"a forced stop after SIGTERM exits with 128+15=143; got {report.exit_code}"
    )


# -- the real thing: a subprocess, real signals ---------------------------------------------------


@pytest.mark.stress
@pytest.mark.points(3)
@pytest.mark.hint(8)
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_lets_in_flight_work_finish(service, sig, evidence):
    """SIGTERM/SIGINT with 5 jobs in flight: new connections refused, all 5 finish, exit 0"""
    svc = service(deadline=30.0)
    jobs = [svc.job(i) for i in range(5)]
    sent = svc.send(sig)
    line = svc.expect("stopping")
    assert f"in_flight={len(jobs)}" in line, f"5 jobs were in flight when the signal came; the service said {line!r}"
    assert svc.refuses_connections(), (
        "after the signal the service must stop accepting: a new connection should be refused (close the "
        "listening server in on_stop)" + svc.output()
    )
    for j in jobs:
        j.release()
    answers = [j.line() for j in jobs]
    code = svc.wait()
    took = time.monotonic() - sent
    evidence.value("seconds_from_signal_to_exit", round(took, 2))
    lost = [(j.id, a) for j, a in zip(jobs, answers, strict=True) if a != f"done {j.id}"]
    assert not lost, (
        f"every job in flight at the signal must finish; these did not: {lost} (expected 'done <id>'). "
        "Wait for the tracked tasks before cancelling anything." + svc.output()
    )
    assert code == 0, f"everything finished, so the exit code should be 0; got {code}" + svc.output()
    drained = [ln for ln in svc.stdout if ln.startswith("drained")]
    assert drained and "finished=5 cancelled=0" in drained[0], (
        f"the drain report should say finished=5 cancelled=0; got {drained}"
    )


@pytest.mark.stress
@pytest.mark.points(2)
@pytest.mark.hint(8)
def test_stragglers_are_cancelled_at_the_deadline(service, evidence):
    """a job that never ends is cancelled at the deadline: its client hears 'cancelled', the service exits 1"""
    deadline = 1.0
    svc = service(deadline=deadline)
    finisher = svc.job(1, "sleep", 0.2)
    straggler = svc.job(2)  # never released
    sent = svc.send(signal.SIGTERM)
    svc.expect("stopping")
    quick = finisher.line()
    late = straggler.line()
    code = svc.wait(timeout=deadline + SLACK)
    took = time.monotonic() - sent
    evidence.value("seconds_from_signal_to_exit", round(took, 2))
    assert quick == "done 1", f"job 1 (0.2 s) ends well within the deadline and must answer 'done 1'; got {quick!r}"
    assert late == "cancelled 2", (
        f"job 2 never ends on its own, so at the deadline it must be cancelled (its handler answers "
        f"'cancelled 2'); got {late!r}" + svc.output()
    )
    assert took >= deadline - 0.05, (
        f"the service exited {took:.2f} s after the signal, before the {deadline} s deadline: it gave up on "
        "in-flight work too early"
    )
    assert code == 1, f"work was cancelled, so the exit code should be 1; got {code}" + svc.output()


@pytest.mark.stress
@pytest.mark.points(2)
@pytest.mark.hint(8)
def test_second_signal_forces_exit(service):
    """a second SIGTERM during the drain cancels in-flight work at once and exits 143"""
    deadline = 20.0
    svc = service(deadline=deadline)
    held = svc.job(7)
    sent = svc.send(signal.SIGTERM)
    svc.expect("stopping")
    svc.send(signal.SIGTERM)
    answer = held.line(timeout=deadline / 2)
    assert answer == "cancelled 7", (
        f"the second signal should cancel job 7 at once (it answers 'cancelled 7'), long before the {deadline:.0f} s "
        f"deadline; within {deadline / 2:.0f} s it got {answer!r}" + svc.output()
    )
    code = svc.wait(timeout=deadline / 2)
    took = time.monotonic() - sent
    assert code == 128 + signal.SIGTERM, (
        f"a forced stop after SIGTERM exits with 143 (128+15); got {code} after {took:.1f} s" + svc.output()
    )


@pytest.mark.hint(8)
def test_idle_service_stops_at_once(service):
    """SIGTERM with nothing in flight: the service reports an empty drain and exits 0"""
    svc = service(deadline=30.0)
    svc.send(signal.SIGTERM)
    line = svc.expect("stopping")
    code = svc.wait(timeout=SLACK)
    assert "in_flight=0" in line and code == 0, (
        f"an idle service stops with in_flight=0 and exit 0; got {line!r} and exit {code}" + svc.output()
    )
