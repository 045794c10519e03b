"""Attacks on "a run is never submitted twice and never confused with another run".

Each test is a fault model the promise does not survive (at the commit it was written
against); each fails against that code.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest

from polysync_spec.cli import run
from polysync_spec.engine.ledger import SqliteLedger
from polysync_spec.errors import ExitCode
from polysync_spec.sandbox.lifecycle import Outcome
from polysync_spec.sandbox.server import Fault, Sandbox
from tests.applying import (
    HEADER,
    applier_for,
    apply_plan,
    clean_plan,
    crash_after_intent,
    fast,
    plan_for,
    submissions,
)
from tests.helpers import write

QUEUE = "etl-standard"


def _wait_until(condition: Callable[[], bool], what: str, limit: float = 30.0) -> None:
    """The test's own guard against a hang, not a timing assertion."""
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.02)


def _jobs_in_aws(prefix: str = "Polysync-") -> list[dict[str, Any]]:
    """Every Batch job in the queue whose name starts with `prefix`, in any state."""
    batch: Any = boto3.client("batch", region_name="us-east-1")
    listed = batch.list_jobs(
        jobQueue=QUEUE, filters=[{"name": "JOB_NAME", "values": [f"{prefix}*"]}]
    )
    return list(listed["jobSummaryList"])


# ------------------------------------------------------------------ the resend's own window


def test_an_unanswered_resend_is_waited_for_from_its_own_send_not_the_first_one(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """The first SubmitJob gets a 503 (no effect); after the settle time it is sent again
    and that resend's answer is lost (held, acted on within its own read timeout plus the
    settle time). The apply stops (Ctrl-C, or a SIGKILL: the ledger is the same) while the
    resend is unanswered. The ledger's `answer_by` still belongs to the first send, so the
    next apply waits from there, finds nothing yet, and submits a new attempt: AWS then
    holds two jobs for one run."""
    fast(sandbox)
    plan = clean_plan(sandbox, tmp_path)
    timing: dict[str, Any] = {"submit_read_timeout": 1.0, "settle_seconds": 3.0}
    timing["consistency_delay"] = 0.1
    sandbox.fail("SubmitJob", Fault("ServiceUnavailable", "try later", 503, times=1))
    first, ledger, _ = applier_for(sandbox, plan, tmp_path, **timing)

    def lose_the_resend_then_interrupt() -> None:
        _wait_until(lambda: len(sandbox.requests("SubmitJob")) == 1, "the first SubmitJob")
        # Acted on 3.5 s after it is sent: before its own answer_by + settle (1 + 3 s).
        sandbox.fail("SubmitJob", Fault.timeout(3.5, after=True, times=1))
        _wait_until(lambda: sandbox.holding > 0, "the resend is held")
        first.interrupt()

    threading.Thread(target=lose_the_resend_then_interrupt, daemon=True).start()
    try:
        first.run()  # stopped while the resend is unanswered: its intent stays
    finally:
        ledger.close()
    held = sandbox.requests("SubmitJob")[1].params["jobName"]
    second, ledger, lines = applier_for(sandbox, plan, tmp_path, **timing)
    try:
        second.run()
    finally:
        ledger.close()
    _wait_until(lambda: bool(_jobs_in_aws(held)), "the held resend takes effect")
    jobs = _jobs_in_aws()
    assert len(jobs) == 1, (sorted(j["jobName"] for j in jobs), lines)


# ------------------------------------------------------------------ one look is not two


def test_a_look_answered_after_the_settle_time_is_not_the_second_look(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """A SubmitJob's answer is lost; AWS acts on it 1.5 s after the failed call ended,
    inside the settle time (2 s). The first look by its identity is made at once but its
    answer is slow to arrive (here: 2.5 s in transit), so it arrives after the settle time
    with "nothing". The promise: resend only once the settle time has passed AND a second
    look still finds nothing. The applier resends on that one stale look: two jobs."""
    fast(sandbox)
    plan = clean_plan(sandbox, tmp_path)
    sandbox.fail("SubmitJob", Fault.timeout(2.5, after=True, times=1))
    applier, ledger, lines = applier_for(
        sandbox, plan, tmp_path, submit_read_timeout=1.0, settle_seconds=2.0,
        consistency_delay=0.1,
    )  # fmt: skip
    slowed = {"done": False}

    def slow_answer(**_: Any) -> None:  # the first ListJobs answer is slow in transit
        if not slowed["done"]:
            slowed["done"] = True
            time.sleep(2.5)

    applier.providers["batch"].client.meta.events.register(  # type: ignore[attr-defined]
        "after-call.batch.ListJobs", slow_answer
    )
    try:
        result = applier.run()
    finally:
        ledger.close()
    _wait_until(lambda: sandbox.holding == 0, "the held SubmitJob is over")
    _wait_until(lambda: len(sandbox.requests("ListJobs")) >= 1, "a look")
    jobs = _jobs_in_aws()
    assert len(jobs) == 1, (sorted(j["jobId"] for j in jobs), lines, result.runs["clean"])


# ------------------------------------------------------------------ interrupts


def test_an_interrupt_during_the_last_submission_exits_4_and_cancels_what_it_created(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """Ctrl-C while the plan's only (or last) submission hangs. The README: the run the
    hung submission creates is recorded and cancelled if it answers during the wait, and
    apply exits 4. The applier sees nothing in flight and nothing pending, ends the apply
    as if it had finished (exit 3, not interrupted), and the run AWS creates a moment
    later is left running, never cancelled."""
    fast(sandbox, cleanup=Outcome(stuck_in="RUNNING", starting_seconds=0.1))
    plan = clean_plan(sandbox, tmp_path)
    sandbox.fail("SubmitJob", Fault.delay(1.0, times=1))  # answered, 1 s late
    applier, ledger, lines = applier_for(sandbox, plan, tmp_path, submit_read_timeout=5.0)

    def interrupt_once_held() -> None:
        _wait_until(lambda: sandbox.holding > 0, "the SubmitJob is held")
        applier.interrupt()

    threading.Thread(target=interrupt_once_held, daemon=True).start()
    try:
        result = applier.run()
    finally:
        ledger.close()
    _wait_until(lambda: bool(_jobs_in_aws()), "the held SubmitJob takes effect")
    assert (result.exit_code, result.interrupted) == (ExitCode.INTERRUPTED, True), lines
    assert len(sandbox.requests("TerminateJobs")) == 1, lines


# ------------------------------------------------------------------ array jobs


def test_an_array_job_whose_submission_was_lost_is_found_not_confused_with_its_children(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """A crash between SubmitJob and the ledger write, for an array job of 3. Looking it
    up by its job name lists the parent and its children (`<id>:0`..`<id>:2`, which carry
    the same name); the applier counts them as four runs with this identity, adopts none
    and reports the run Unknown ("several runs carry this submission's identity"), and
    its hint (--retry-failed) then submits the array job a second time."""
    sandbox.script("batch", "thumbnails", Outcome(starting_seconds=0.1, running_seconds=0.3))
    text = HEADER + (
        "  thumbs: {platform: batch, external_id: thumbnails, array_size: 3}\n"
        "run_plans:\n  p:\n    runs:\n      - {job: thumbs}\n"
    )
    plan = plan_for(sandbox, write(tmp_path, text))
    crash_after_intent(sandbox, plan, tmp_path, submitted=True)
    result, lines = apply_plan(sandbox, plan, tmp_path)
    assert len(sandbox.requests("SubmitJob")) == 1
    assert result.runs["thumbs"].status == "Success", lines


# ------------------------------------------------------------------ plan agrees with apply


def test_plan_detailed_exitcode_agrees_with_apply_about_a_run_its_condition_skips(
    sandbox: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`check` runs only if `load` failed. `load` succeeded and was recorded, then the
    apply was SIGKILLed before it recorded `check` as Skipped. Apply will submit nothing
    (the condition can no longer be met), but plan counts `check` as a run to start and
    exits 2."""
    fast(sandbox)
    monkeypatch.chdir(tmp_path)
    text = HEADER + (
        "run_plans:\n  p:\n    runs:\n      - {job: load}\n"
        "      - {job: check, after: [{run: load, on: failed}]}\n"
    )
    path = str(write(tmp_path, text))
    args = ["--state", str(tmp_path / "state.db")]
    assert run(["apply", path, "--auto-approve", "--poll-interval", "0.05", *args]) == 0
    plan_id = plan_for(sandbox, Path(path)).plan_id
    recorded = SqliteLedger(tmp_path / "state.db")
    assert recorded.runs(plan_id)["check"].status == "Skipped"
    recorded.forget(plan_id, ["check"])  # the SIGKILL came before this row was written
    recorded.close()
    before = len(submissions(sandbox))
    capsys.readouterr()
    planned = run(["plan", path, "--detailed-exitcode", *args])
    out = capsys.readouterr().out
    assert run(["apply", path, "--auto-approve", "--poll-interval", "0.05", *args]) == 0
    applied_submits = len(submissions(sandbox)) - before
    assert applied_submits == 0
    assert planned == ExitCode.OK, out  # plan: "1 run to start", exit 2


# ------------------------------------------------------------------ a read miss is not an end


def test_a_run_the_first_poll_missed_is_not_submitted_again_by_retry_failed(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """Right after SubmitJob, DescribeJobs may not list the new job yet (read-after-write
    lag; here the first answer comes back without it). The applier records the run's
    status as Unknown, as if it had ended so. The apply is detached by Ctrl-C
    (--on-interrupt detach) while the job runs. `apply --retry-failed` then treats the
    running job as an Unknown run to submit again: two jobs for one run."""
    fast(sandbox, cleanup=Outcome(stuck_in="RUNNING", starting_seconds=0.1))
    plan = clean_plan(sandbox, tmp_path)
    applier, ledger, lines = applier_for(sandbox, plan, tmp_path, on_interrupt="detach")
    missed = {"done": False}

    def lagging_listing(parsed: dict[str, Any], **_: Any) -> None:
        if not missed["done"]:
            missed["done"] = True
            parsed["jobs"] = []
            applier.interrupt()  # the apply is detached before the next poll

    applier.providers["batch"].client.meta.events.register(  # type: ignore[attr-defined]
        "after-call.batch.DescribeJobs", lagging_listing
    )
    try:
        assert applier.run().exit_code is ExitCode.INTERRUPTED
    finally:
        ledger.close()
    again, _ = apply_plan(sandbox, plan, tmp_path, retry_failed=True, on_interrupt="detach",
                          detach=True)  # fmt: skip
    assert len(_jobs_in_aws()) == 1, (lines, again.runs["clean"])
