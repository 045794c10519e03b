"""Every command as robust as apply (issue 16): status --watch, cancel, logs --follow and
re-attached runs share apply's status engine, its throttling tolerance, bounds and final
states; cancellation never aborts; a damaged ledger is a clear error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest

from polysync_spec import load_project
from polysync_spec.app.follow import watch
from polysync_spec.cli import run
from polysync_spec.engine.ledger import SqliteLedger
from polysync_spec.engine.monitor import Limits
from polysync_spec.errors import ExitCode
from polysync_spec.providers.aws import Sessions
from polysync_spec.providers.batch.spec import map_status
from polysync_spec.providers.clients import client_for
from polysync_spec.providers.glue.spec import map_status as glue_status
from polysync_spec.render.events import text_sink
from polysync_spec.sandbox.lifecycle import Outcome
from polysync_spec.sandbox.server import Fault, Sandbox
from tests.applying import (
    HEADER,
    apply_plan,
    crash_after_intent,
    fast,
    plan_for,
)
from tests.helpers import write

STUCK = Outcome(stuck_in="RUNNING", starting_seconds=0.05)


def _one(job: str, extra: str = "") -> str:
    return HEADER + f"run_plans:\n  p:\n    runs:\n      - {{job: {job}{extra}}}\n"


def _detached(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str
) -> tuple[Path, str]:
    """Apply `text` with --detach in tmp_path; (manifest path, apply id)."""
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, text)
    assert run(["apply", str(path), "--auto-approve", "--detach"]) == ExitCode.OK
    ledger = SqliteLedger(tmp_path / ".polysync" / "state.db")
    try:
        [(apply_id, _, _)] = ledger.applies()
    finally:
        ledger.close()
    return path, apply_id


def _watch(
    sandbox: Sandbox, tmp_path: Path, apply_id: str, **kwargs: Any
) -> tuple[ExitCode, list[str]]:
    ledger = SqliteLedger(tmp_path / ".polysync" / "state.db")
    lines: list[str] = []
    plan_path = ledger.plan(apply_id)["manifest_path"]  # type: ignore[index]
    project = load_project(plan_path, env={})
    sessions = Sessions(sandbox_url=sandbox.endpoint_url)
    try:
        code = watch(
            ledger,
            apply_id,
            lambda name: client_for(name, project.platforms[name], sessions),
            sink=text_sink(lines.append),
            interval=0.05,
            **kwargs,
        )
    finally:
        ledger.close()
    return code, lines


# ------------------------------------------------------------------ status --watch


def test_status_watch_survives_throttling_and_exits_3_when_a_run_failed(
    sandbox: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fast(sandbox, cleanup=Outcome(result="FAILED", starting_seconds=0.3, running_seconds=0.5))
    _, apply_id = _detached(sandbox, tmp_path, monkeypatch, _one("clean"))
    sandbox.fail(
        "DescribeJobs", Fault("TooManyRequestsException", "Too Many Requests", 429, times=8)
    )
    code = run(["status", apply_id, "--watch", "--interval", "0.05"])
    out = capsys.readouterr()
    assert "internal error" not in out.err
    assert code == ExitCode.RUNS_FAILED  # a failed run fails the CI step
    assert "clean: Failed" in out.out


def test_status_watch_ends_a_run_aws_no_longer_knows_as_unknown(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast(sandbox, cleanup=STUCK)
    _, apply_id = _detached(sandbox, tmp_path, monkeypatch, _one("clean"))
    ledger = SqliteLedger(tmp_path / ".polysync" / "state.db")
    ledger._db.execute("UPDATE runs SET run_id = 'gone-0000'")
    ledger.close()
    code, lines = _watch(sandbox, tmp_path, apply_id, limits=Limits(vanish=0.3))
    assert code == ExitCode.RUNS_FAILED
    assert any("clean: Unknown" in line and "does not know" in line for line in lines), lines
    # bounded: a handful of reads, not a poll without end
    assert len(sandbox.requests("DescribeJobs")) < 40


def test_status_watch_reads_dependent_job_failed_as_skipped_like_apply(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast(
        sandbox,
        **{"nightly-export": Outcome(result="FAILED", starting_seconds=0.3, running_seconds=0.3)},
    )
    text = HEADER + (
        "run_plans:\n  p:\n    on_failure: continue\n    runs:\n"
        "      - {job: export}\n      - {job: clean, after: [export]}\n"
    )
    _, apply_id = _detached(sandbox, tmp_path, monkeypatch, text)
    code, lines = _watch(sandbox, tmp_path, apply_id)
    assert code == ExitCode.RUNS_FAILED
    assert any("clean: Skipped" in line for line in lines), lines


# ------------------------------------------------------------------ limits for every run


def test_a_re_attached_batch_run_is_bounded_by_its_definition_s_timeout(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    batch = boto3.client("batch", endpoint_url=sandbox.endpoint_url, region_name="us-east-1")
    batch.register_job_definition(
        jobDefinitionName="cleanup",
        type="container",
        containerProperties={"image": "x", "vcpus": 1, "memory": 64},
        timeout={"attemptDurationSeconds": 60},
        retryStrategy={"attempts": 2},
    )
    fast(sandbox, cleanup=STUCK)
    plan = plan_for(sandbox, write(tmp_path, _one("clean")))
    assert plan.runs[0].compute["attempt_duration_seconds"] == {"value": 60, "tier": "definition"}
    first, _ = apply_plan(sandbox, plan, tmp_path, detach=True)
    assert first.runs["clean"].run_id
    # A later apply re-attaches: the run's limit (60 s x 2 attempts) still holds it.
    again, lines = apply_plan(sandbox, plan, tmp_path, limits=Limits(grace=-119.5))
    state = again.runs["clean"]
    assert any("re-attached" in line for line in lines)
    assert state.status == "Unknown" and "beyond its limit of 120s" in (state.message or "")
    assert again.exit_code is ExitCode.RUNS_FAILED


def test_a_run_stuck_runnable_is_given_up_with_the_reason_aws_gives(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    reason = "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY - no instances of the type in the zone"
    fast(sandbox, cleanup=Outcome(stuck_in="RUNNABLE", message=reason, starting_seconds=0.1))
    plan = plan_for(sandbox, write(tmp_path, _one("clean")))
    result, lines = apply_plan(sandbox, plan, tmp_path, limits=Limits(stall=1.0))
    state = result.runs["clean"]
    assert state.status == "Unknown" and result.exit_code is ExitCode.RUNS_FAILED
    assert reason in (state.message or "") and "stall limit" in (state.message or "")
    assert any("RUNNABLE" in line and reason in line for line in lines)  # the progress line
    ledger = SqliteLedger(tmp_path / "state.db")
    try:
        assert reason in (ledger.runs(plan.plan_id)["clean"].message or "")  # and status
    finally:
        ledger.close()


def test_a_glue_run_refused_for_want_of_a_slot_waits_and_the_timeout_ends_it(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    sandbox.script("glue", "customers-etl", STUCK)
    glue = boto3.client("glue", endpoint_url=sandbox.endpoint_url, region_name="us-east-1")
    glue.start_job_run(JobName="customers-etl")  # someone else's run holds the one slot
    plan = plan_for(sandbox, write(tmp_path, _one("load")))
    result, lines = apply_plan(sandbox, plan, tmp_path, timeout=2.0)
    state = result.runs["load"]
    assert any("waiting for a free slot (MaxConcurrentRuns 1)" in line for line in lines), lines
    assert state.status == "Failed" and result.exit_code is ExitCode.RUNS_FAILED
    assert "never started" in (state.message or "") and "--timeout" in (state.message or "")
    assert len(sandbox.requests("StartJobRun")) >= 2  # tried again, with a back-off


# ------------------------------------------------------------------ cancellation


def test_cancel_apply_finds_a_run_whose_id_was_never_recorded(
    sandbox: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A SIGKILL between SubmitJob and the ledger write: cancel --apply finds the job by
    its attempt identity and cancels it, and says so."""
    fast(sandbox, cleanup=STUCK)
    monkeypatch.chdir(tmp_path)
    plan = plan_for(sandbox, write(tmp_path, _one("clean")))
    crash_after_intent(sandbox, plan, tmp_path, submitted=True)
    code = run(["cancel", "--apply", plan.plan_id, "--state", str(tmp_path / "state.db")])
    out = capsys.readouterr().out
    assert "submitted but never recorded" in out
    assert len(sandbox.requests("TerminateJobs")) == 1
    assert code == ExitCode.OK, out


def test_a_failing_glue_stop_never_keeps_batch_runs_from_their_cancel(
    sandbox: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fast(sandbox, cleanup=STUCK, **{"customers-etl": STUCK})
    text = HEADER + "run_plans:\n  p:\n    runs:\n      - {job: load}\n      - {job: clean}\n"
    _, apply_id = _detached(sandbox, tmp_path, monkeypatch, text)
    sandbox.fail("BatchStopJobRun", Fault("InternalServiceException", "boom", 500))
    code = run(["cancel", "--apply", apply_id, "--wait", "5"])
    out = capsys.readouterr()
    assert "internal error" not in out.err
    assert len(sandbox.requests("TerminateJobs")) == 1  # Batch still got its cancel
    assert len(sandbox.requests("BatchStopJobRun")) > 1  # a server error is tried again
    assert "refused: InternalServiceException" in out.out
    assert code == ExitCode.ERROR  # not every cancellation was confirmed


def test_a_throttled_terminate_is_tried_again_and_confirmed(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    fast(sandbox, cleanup=STUCK)
    plan = plan_for(sandbox, write(tmp_path, _one("clean")))
    apply_plan(sandbox, plan, tmp_path, detach=True)
    sandbox.fail(
        "TerminateJobs", Fault("TooManyRequestsException", "Too Many Requests", 429, times=2)
    )
    code = run(["cancel", "--apply", plan.plan_id, "--state", str(tmp_path / "state.db")])
    assert len(sandbox.requests("TerminateJobs")) == 3
    assert code == ExitCode.OK


def test_on_failure_cancel_survives_a_failing_stop_call(sandbox: Sandbox, tmp_path: Path) -> None:
    fast(
        sandbox,
        **{
            "orders-quality": Outcome(result="FAILED", starting_seconds=0.1, running_seconds=0.1),
            "customers-etl": STUCK,
        },
    )
    sandbox.script("batch", "cleanup", STUCK)
    text = HEADER + (
        "run_plans:\n  p:\n    on_failure: cancel\n    runs:\n"
        "      - {job: check}\n      - {job: load}\n      - {job: clean}\n"
    )
    plan = plan_for(sandbox, write(tmp_path, text))
    sandbox.fail("BatchStopJobRun", Fault("InternalServiceException", "boom", 500))
    # The Glue run's cancel keeps failing: --timeout ends the wait on it. It must leave
    # time for the Batch run's cancel to be confirmed on a loaded machine (5 s did not).
    result, lines = apply_plan(sandbox, plan, tmp_path, timeout=15.0)
    assert result.runs["check"].status == "Failed"
    assert result.runs["clean"].status == "Cancelled"  # the other platform's run
    assert any("refused: InternalServiceException" in line for line in lines), lines


# ------------------------------------------------------------------ cancellation detection


def test_a_host_termination_is_a_failure_and_after_on_failed_fires(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    fast(
        sandbox,
        cleanup=Outcome(
            result="FAILED",
            message="Host EC2 (instance i-0abc) terminated.",
            starting_seconds=0.1,
            running_seconds=0.1,
        ),
    )
    text = HEADER + (
        "run_plans:\n  p:\n    on_failure: continue\n    runs:\n"
        "      - {job: clean}\n      - {job: load, after: [{run: clean, on: failed}]}\n"
    )
    result, _ = apply_plan(sandbox, plan_for(sandbox, write(tmp_path, text)), tmp_path)
    assert result.runs["clean"].status == "Failed"
    assert result.runs["load"].status == "Success"


@pytest.mark.parametrize(
    ("job", "status"),
    [
        ({"status": "RUNNABLE", "statusReason": "CAPACITY:X"}, "Running"),
        ({"status": "SUCCEEDED"}, "Success"),
        ({"status": "FAILED", "statusReason": "Essential container in task exited"}, "Failed"),
        ({"status": "FAILED", "statusReason": "Host EC2 (instance i-1) terminated."}, "Failed"),
        ({"status": "FAILED", "statusReason": "x", "isTerminated": True}, "Cancelled"),
        ({"status": "FAILED", "statusReason": "Cancelled by Polysync"}, "Cancelled"),
        ({"status": "FAILED", "statusReason": "Dependent Job failed"}, "Failed"),
        ({}, "Unknown"),
    ],
)
def test_every_batch_status_path(job: dict[str, Any], status: str) -> None:
    """The status apply, status and status --watch report for each Batch state (they
    share the mapping and the monitor); exit 3 follows for Failed, Cancelled, Unknown."""
    assert map_status(job).status.value == status


@pytest.mark.parametrize(
    ("state", "status"),
    [
        ("STARTING", "Starting"),
        ("WAITING", "Starting"),
        ("RUNNING", "Running"),
        ("STOPPING", "Running"),
        ("SUCCEEDED", "Success"),
        ("STOPPED", "Cancelled"),
        ("FAILED", "Failed"),
        ("TIMEOUT", "Failed"),
        ("ERROR", "Failed"),
        ("EXPIRED", "Failed"),
        (None, "Unknown"),
    ],
)
def test_every_glue_status_path(state: str | None, status: str) -> None:
    assert glue_status({"JobRunState": state} if state else {}).status.value == status


# ------------------------------------------------------------------ the ledger


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_damaged_ledger_is_a_clear_error_naming_the_file(
    sandbox: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    damage: str,
) -> None:
    fast(sandbox)
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, _one("clean"))
    assert run(["apply", str(path), "--auto-approve", "--poll-interval", "0.05"]) == 0
    db = tmp_path / ".polysync" / "state.db"
    data = db.read_bytes()
    db.write_bytes(b"this is not a database" * 200 if damage == "garbage" else data[:1500])
    capsys.readouterr()
    for command in (["status"], ["apply", str(path), "--auto-approve"]):
        assert run(command) == ExitCode.ERROR
        err = capsys.readouterr().err
        assert "internal error" not in err and "move it aside" in err
        assert ".polysync/state.db" in err  # the file, as --state names it


def test_a_ledger_that_cannot_be_opened_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """(Root, as in CI, may write a read-only file: a directory where the file should be
    is what no one can open.)"""
    (tmp_path / "state.db").mkdir()
    assert run(["status", "--state", str(tmp_path / "state.db")]) == ExitCode.ERROR
    err = capsys.readouterr().err
    assert "internal error" not in err and f"the ledger {tmp_path / 'state.db'}" in err


def test_a_ledger_that_fails_after_a_submission_names_the_run(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    fast(sandbox, cleanup=STUCK)
    plan = plan_for(sandbox, write(tmp_path, _one("clean")))

    class Failing(SqliteLedger):
        def submitted(self, apply_id: str, key: str, run_id: str) -> None:
            import sqlite3

            from polysync_spec.engine.ledger.base import _ledger_error

            raise _ledger_error(self.path, sqlite3.OperationalError("disk I/O error"))

    from polysync_spec.engine.execute import Executor
    from polysync_spec.engine.ledger import LedgerError

    project = load_project(plan.manifest_path, env={})
    sessions = Sessions(sandbox_url=sandbox.endpoint_url)
    providers = {n: client_for(n, p, sessions) for n, p in project.platforms.items()}
    ledger = Failing(tmp_path / "state.db")
    try:
        with pytest.raises(LedgerError) as raised:
            Executor(plan, providers, ledger, env={}).run()
    finally:
        ledger.close()
    [job] = boto3.client("batch", region_name="us-east-1").list_jobs(
        jobQueue="etl-standard", filters=[{"name": "JOB_NAME", "values": ["Polysync-*"]}]
    )["jobSummaryList"]
    message = str(raised.value)
    assert str(tmp_path / "state.db") in message and f"clean ({job['jobId']})" in message
