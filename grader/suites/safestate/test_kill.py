"""Kill a writer at random moments, hundreds of times: the state file is always one whole value."""

from __future__ import annotations

import json
import time

import pytest

from grader.harness import plots
from grader.harness.kill import KillDriver
from grader.harness.proc import kill_tree, raise_if_stub

from .conftest import APP
from .worker import blob_number

M1 = pytest.mark.milestone(1, "Explain atomic rename and show it working (durability basics)")
MB = 1 << 20

pytestmark = pytest.mark.stress


def on_disk(path) -> tuple[str, int | None]:
    """("ok", i) for a whole value i, ("empty", None) before the first commit, else ("torn", None)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return "missing", None
    try:
        values = json.loads(raw)["values"]
    except (ValueError, KeyError, TypeError):
        return "torn", None
    if "blob" not in values:
        return "empty", None
    number = blob_number(values["blob"])
    return ("ok", number) if number is not None else ("torn", None)


@M1
@pytest.mark.hint(4)
def test_kill_mid_write_never_tears_the_file(store_cli, worker, scale, evidence):
    """SIGKILL at seeded random moments (200 at standard scale): state.json always holds a whole committed value"""
    kills = scale.pick(20, 200, 2000)
    size = scale.pick(1, 2, 2) * MB  # big values, so most kills land inside a write
    sweep_every = 50  # doctor --fix now and then keeps the debris (one big temp file per kill) bounded
    driver = KillDriver()
    init = store_cli("init")
    assert init.returncode == 0, init.describe()
    home, path = str(store_cli.home), store_cli.state
    last_on_disk: int | None = None
    next_value = 1
    outcomes = {"previous value": 0, "value in flight": 0, "torn or lost": 0}
    inside_write = 0  # kills that left a new temp file: they landed between its creation and the rename
    temps_before = 0
    started = time.monotonic()
    for n in range(1, kills + 1):
        proc = worker.popen("commit", home, APP, str(next_value), str(size))
        ready = proc.stdout.readline()
        if ready.strip() != b"ready":
            kill_tree(proc)
            err = proc.stderr.read().decode("utf-8", "replace")
            proc.wait()
            raise_if_stub(proc.returncode or 1, err)
            raise AssertionError(f"the writer did not start (exit {proc.returncode}):\n{err[-800:]}")
        kill = driver.kill_after(proc, 0.0, 0.12)
        lines = proc.stdout.read().decode().split()
        err = proc.stderr.read().decode("utf-8", "replace")
        proc.stdout.close()
        proc.stderr.close()
        if not kill.signalled:
            raise_if_stub(proc.returncode, err)
            raise AssertionError(
                f"kill {n}: the writer stopped on its own (exit {proc.returncode}) before the kill:\n{err[-800:]}"
            )
        committed = [int(x) for x in lines if x.isdigit()]
        last = committed[-1] if committed else None
        in_flight = (last + 1) if last is not None else next_value
        allowed = {last if last is not None else last_on_disk, in_flight}
        status, found = on_disk(path)
        ok = status in ("ok", "empty") and found in allowed
        if not ok:
            outcomes["torn or lost"] += 1
            raise AssertionError(
                f"kill {n} of {kills} ({kill.delay * 1000:.0f} ms after the writer was ready; {driver.replay}): "
                f"state.json should hold value #{last if last is not None else last_on_disk} (the last one fully "
                f"written) or #{in_flight} (the one being written), but it is "
                + (f"{status} (not one whole JSON document)" if status not in ("ok", "empty") else f"value #{found}")
                + ". A kill in the middle of writing the real file leaves it torn: write a temp file and rename it "
                "over state.json. A value older than the last committed one means a write reported success "
                "before it was complete."
            )
        outcomes["value in flight" if found == in_flight else "previous value"] += 1
        last_on_disk = found
        next_value = in_flight + 1
        temps = store_cli.temps()
        inside_write += len(temps) > temps_before
        debris = [
            name
            for name in store_cli.files()
            if name not in ("state.json", ".lock", "secrets.json") and name not in temps
        ]
        assert not debris, (
            f"kill {n} ({driver.replay}): besides state.json, the lock file and temp files "
            f"(.state.json.<random>.tmp) the directory holds {debris}"
        )
        if n % sweep_every == 0 or n == kills:
            fixed = store_cli("doctor", "--fix")
            assert fixed.returncode == 0, f"doctor --fix after {n} kills ({driver.replay}): " + fixed.describe()
            assert not store_cli.temps(), (
                f"doctor --fix did not remove the temp files left by killed writers: {store_cli.temps()} "
                f"({driver.replay})"
            )
        temps_before = len(store_cli.temps())
    seconds = time.monotonic() - started
    evidence.value("kills", kills)
    evidence.value("outcomes", outcomes)
    evidence.value("kills_inside_write_atomic", inside_write)
    evidence.value("seed", driver.seed)
    evidence.attach(
        plots.bars(outcomes, evidence.path("kill-outcomes.png"), f"What state.json held after {kills} kills", "kills")
    )
    evidence.value("seconds", round(seconds, 1))
