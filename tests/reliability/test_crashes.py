"""Crashes and interrupts at random moments. A SIGKILL may land anywhere, including
between the AWS call and the ledger write; the next apply must submit nothing twice and
account for every run. A SIGINT or SIGTERM must cancel every run in flight, wait for AWS
to confirm, exit 4, and leave a ledger that matches the emulator."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from polysync_spec.cli import run
from polysync_spec.sandbox.lifecycle import Outcome
from polysync_spec.sandbox.server import Pacing, Sandbox
from tests.reliability.workload import (
    BATCH_DEFINITION,
    GLUE_JOB,
    apply_command,
    cli_env,
    create_wide_job,
    emulator_runs,
    ledger_view,
    mixed_plan,
    only_apply,
    record,
    submissions,
)

LONG = os.environ.get("RELIABILITY") == "long"
CRASH_TRIALS = 100 if LONG else 30
INTERRUPT_TRIALS = 40 if LONG else 10
RUNS = 50
# An uninterrupted apply of the crash workload takes about 2 s; kills land anywhere in it,
# from interpreter start-up to the last poll.
KILL_WINDOW = 2.2


def _ledger(state: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, tuple[str, str]]:
    """What `polysync status` says of the one apply in the ledger ({}: none recorded)."""
    if not state.exists():
        return {}
    capsys.readouterr()
    assert run(["status", "--state", str(state)]) == 0
    listed = capsys.readouterr().out
    if not listed.strip():
        return {}
    apply_id = only_apply(listed)
    assert run(["status", apply_id, "--state", str(state)]) == 0
    return ledger_view(capsys.readouterr().out)


def _prepare(
    sandbox: Sandbox,
    tmp_path: Path,
    outcome: Outcome,
    *,
    runs: int,
    max_concurrency: int,
    chained: int = 0,
) -> tuple[Path, Path]:
    """(manifest, ledger path): every run behaving as `outcome`; the request log is
    cleared, so the first request logged from here on is the apply's."""
    create_wide_job(sandbox)
    sandbox.script("glue", GLUE_JOB, outcome)
    sandbox.script("batch", BATCH_DEFINITION, outcome)
    path = mixed_plan(tmp_path, runs, max_concurrency=max_concurrency, chained=chained)
    sandbox.log.clear()
    return path, tmp_path / "state.db"


def _wait_for_first_request(sandbox: Sandbox, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 20
    while not sandbox.requests() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)


@pytest.mark.reliability
@pytest.mark.parametrize("trial", range(CRASH_TRIALS))
def test_sigkill_at_a_random_moment_then_apply_again_submits_each_run_once(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str], trial: int
) -> None:
    rng = random.Random(f"crash-{trial}")
    path, state = _prepare(
        sandbox, tmp_path, Outcome(starting_seconds=0.05, running_seconds=0.25),
        runs=RUNS, max_concurrency=20, chained=5,
    )  # fmt: skip
    first = subprocess.Popen(
        apply_command(path, state, "--submit-timeout", "1"), env=cli_env(sandbox), text=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    time.sleep(rng.uniform(0.0, KILL_WINDOW))
    first.kill()
    first.wait(timeout=10)
    before = sum(submissions(sandbox).values())

    # The sandbox's listings never lag, so a second is long enough to wait for a killed
    # submission to show before deciding it never reached AWS.
    again = apply_command(path, state, "--settle-seconds", "1", "--submit-timeout", "1")[3:]
    assert run(again) == 0, f"killed after {before} submissions"

    # exactly once, as the emulator counts submissions
    assert submissions(sandbox) == Counter({f"{k}{i}": 1 for k in "gb" for i in range(RUNS // 2)})
    # every run accounted for: the ledger and the emulator hold the same runs, all done
    ledger = _ledger(state, capsys)
    truth = emulator_runs(sandbox)
    assert len(ledger) == RUNS
    assert {run_id for _, run_id in ledger.values()} == set(truth)
    assert {status for status, _ in ledger.values()} == {"Success"}
    assert set(truth.values()) == {"SUCCEEDED"}
    record(f"sigkill-{trial}", submitted_before_kill=before, runs=RUNS)


@pytest.mark.reliability
@pytest.mark.parametrize("trial", range(INTERRUPT_TRIALS))
def test_interrupt_at_a_random_moment_cancels_every_run_in_flight(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str], trial: int
) -> None:
    rng = random.Random(f"interrupt-{trial}")
    signum = signal.SIGINT if trial % 2 == 0 else signal.SIGTERM
    path, state = _prepare(
        sandbox, tmp_path, Outcome(starting_seconds=0.05, stuck_in="RUNNING"),
        runs=30, max_concurrency=20,
    )  # fmt: skip
    # 50 ms a call stretches the submissions over about a second, so that signals land
    # before, during and after them; at most 20 in flight leaves some runs never sent.
    sandbox.pace(Pacing(latency=0.05))
    process = subprocess.Popen(
        apply_command(path, state), env=cli_env(sandbox), text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    _wait_for_first_request(sandbox, process)
    time.sleep(rng.uniform(0.0, 2.0))
    process.send_signal(signum)
    _out, err = process.communicate(timeout=60)

    assert process.returncode == 4, err
    assert "Traceback" not in err
    truth = emulator_runs(sandbox)
    # every run AWS has was cancelled, and the cancellation confirmed by AWS
    assert set(truth.values()) <= {"STOPPED", "FAILED"}, truth
    record(f"{signal.Signals(signum).name}-{trial}", cancelled=len(truth), runs=30)
    ledger = _ledger(state, capsys)
    if not ledger:  # interrupted before the apply began: nothing may have reached AWS
        assert truth == {}
        return
    submitted = {run_id: status for status, run_id in ledger.values() if run_id != "-"}
    assert set(submitted) == set(truth)
    assert set(submitted.values()) <= {"Cancelled"}
    # and nothing the ledger holds claims a run that never reached AWS
    assert all(status in ("Pending", "Skipped", "Cancelled") for status, _ in ledger.values())
