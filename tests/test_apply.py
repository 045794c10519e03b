"""`polysync apply` against the sandbox: order, conditions, failure modes, native
dependsOn, the ledger (re-attach, exactly once, crashes, locks), stale plans, interrupts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import boto3
import pytest

from polysync_spec import load_project
from polysync_spec.cli import run
from polysync_spec.engine.execute import Executor
from polysync_spec.engine.ledger import LockHeld, SqliteLedger
from polysync_spec.engine.monitor import Limits, PollPolicy
from polysync_spec.errors import ExitCode
from polysync_spec.providers.aws import Sessions
from polysync_spec.providers.clients import client_for
from polysync_spec.render.events import text_sink
from polysync_spec.sandbox.lifecycle import Outcome
from polysync_spec.sandbox.server import Fault, Sandbox
from tests.applying import (
    FAST,
    HEADER,
    ONE_CLEAN_RUN,
    applier_for,
    apply_plan,
    clean_plan,
    crash_after_intent,
    fast,
    operations,
    plan_for,
    statuses,
    submissions,
)
from tests.conftest import EXAMPLES
from tests.helpers import write

# ------------------------------------------------------------------ order and conditions


def test_diamond_of_glue_and_batch_runs_in_order_with_native_depends_on(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    # export (Batch) outlasts check (Glue): when check succeeds, clean goes to Batch at once
    # with a native dependsOn on the export still running.
    fast(sandbox, **{"nightly-export": Outcome(starting_seconds=0.3, running_seconds=1.2)})
    text = HEADER + (
        "run_plans:\n  p:\n    runs:\n"
        "      - {job: load}\n"
        "      - {job: export, after: [load]}\n"
        "      - {job: check, after: [load]}\n"
        "      - {job: clean, after: [export, check]}\n"
    )
    plan = plan_for(sandbox, write(tmp_path, text))
    result, _ = apply_plan(sandbox, plan, tmp_path)
    assert result.exit_code is ExitCode.OK
    assert statuses(result) == dict.fromkeys(["load", "export", "check", "clean"], "Success")
    order = [
        params.get("JobName") or params.get("jobDefinition") for _, params in submissions(sandbox)
    ]
    assert order[0] == "customers-etl" and order[-1] == "cleanup"
    # clean waits for check client-side, then goes to Batch with a native dependsOn on export.
    clean_request = submissions(sandbox)[-1][1]
    assert clean_request["dependsOn"] == [{"jobId": result.runs["export"].run_id}]
    assert result.runs["clean"].native_after == ["export"]


def test_batch_chain_is_submitted_at_once_and_ordered_by_batch(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    fast(sandbox, **{"nightly-export": Outcome(starting_seconds=0.3, running_seconds=0.5)})
    text = (
        HEADER
        + "run_plans:\n  p:\n    runs:\n      - {job: export}\n      - {job: clean, after: [export]}\n"
    )
    result, _ = apply_plan(sandbox, plan_for(sandbox, write(tmp_path, text)), tmp_path)
    submits = sandbox.requests("SubmitJob")
    assert len(submits) == 2
    assert submits[1].at - submits[0].at < 0.3  # not after export finished
    assert result.exit_code is ExitCode.OK


@pytest.mark.parametrize(
    ("check_result", "condition", "handler"),
    [
        ("SUCCEEDED", "succeeded", "Success"),
        ("FAILED", "succeeded", "Skipped"),
        ("FAILED", "failed", "Success"),
        ("SUCCEEDED", "failed", "Skipped"),
        ("FAILED", "completed", "Success"),
        ("SUCCEEDED", "completed", "Success"),
    ],
)
def test_after_conditions(
    sandbox: Sandbox, tmp_path: Path, check_result: str, condition: str, handler: str
) -> None:
    fast(
        sandbox,
        **{
            "orders-quality": Outcome(
                result=check_result, starting_seconds=0.1, running_seconds=0.1
            )
        },
    )
    text = HEADER + (
        "run_plans:\n  p:\n    on_failure: continue\n    runs:\n"
        f"      - {{job: check}}\n      - {{job: clean, after: [{{run: check, on: {condition}}}]}}\n"
    )
    result, _ = apply_plan(sandbox, plan_for(sandbox, write(tmp_path, text)), tmp_path)
    assert result.runs["clean"].status == handler
    expected = ExitCode.RUNS_FAILED if check_result == "FAILED" else ExitCode.OK
    assert result.exit_code is expected


# ------------------------------------------------------------------ on_failure


def _failure_plan(mode: str) -> str:
    return HEADER + (
        f"run_plans:\n  p:\n    on_failure: {mode}\n    runs:\n"
        "      - {job: check}\n"  # fails fast
        "      - {job: load}\n"  # slow, independent
        "      - {job: clean, after: [load]}\n"
    )


def _failing(sandbox: Sandbox) -> None:
    fast(
        sandbox,
        **{
            "orders-quality": Outcome(
                result="FAILED", message="boom", starting_seconds=0.1, running_seconds=0.1
            ),
            "customers-etl": Outcome(starting_seconds=0.1, running_seconds=1.2),
        },
    )


def test_on_failure_stop_submits_nothing_new(sandbox: Sandbox, tmp_path: Path) -> None:
    _failing(sandbox)
    result, _ = apply_plan(
        sandbox, plan_for(sandbox, write(tmp_path, _failure_plan("stop"))), tmp_path
    )
    assert statuses(result) == {"check": "Failed", "load": "Success", "clean": "Skipped"}
    assert result.runs["check"].message == "boom"
    assert result.exit_code is ExitCode.RUNS_FAILED


def test_on_failure_continue_runs_what_does_not_depend_on_the_failure(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    _failing(sandbox)
    result, _ = apply_plan(
        sandbox, plan_for(sandbox, write(tmp_path, _failure_plan("continue"))), tmp_path
    )
    assert statuses(result) == {"check": "Failed", "load": "Success", "clean": "Success"}


def test_on_failure_cancel_cancels_what_is_in_flight(sandbox: Sandbox, tmp_path: Path) -> None:
    _failing(sandbox)
    result, _ = apply_plan(
        sandbox, plan_for(sandbox, write(tmp_path, _failure_plan("cancel"))), tmp_path
    )
    assert statuses(result) == {"check": "Failed", "load": "Cancelled", "clean": "Skipped"}
    assert len(sandbox.requests("BatchStopJobRun")) == 1


def test_max_concurrency_limits_runs_in_flight(sandbox: Sandbox, tmp_path: Path) -> None:
    fast(sandbox)
    text = (
        HEADER
        + "run_plans:\n  p:\n    max_concurrency: 1\n    runs:\n      - {job: clean}\n      - {job: export}\n"
    )
    result, _ = apply_plan(sandbox, plan_for(sandbox, write(tmp_path, text)), tmp_path)
    assert result.exit_code is ExitCode.OK
    _first, second = sandbox.requests("SubmitJob")
    finished = result.runs["clean"].finished_at
    assert finished is not None and second.at >= finished - 0.05


# ------------------------------------------------------------------ the ledger


def test_applying_the_same_plan_again_submits_nothing(sandbox: Sandbox, tmp_path: Path) -> None:
    fast(sandbox)
    plan = plan_for(sandbox, EXAMPLES, "nightly", {"ORDERS_API_TOKEN": "t"})
    sandbox.script("glue", "orders-quality", FAST)
    first, _ = apply_plan(sandbox, plan, tmp_path)
    assert first.exit_code is ExitCode.OK
    count = len(submissions(sandbox))
    second, lines = apply_plan(sandbox, plan, tmp_path)
    assert len(submissions(sandbox)) == count == 5
    assert second.exit_code is ExitCode.OK
    assert all("not submitted again" in line for line in lines)


@pytest.mark.parametrize("job", ["clean", "load"])
def test_a_run_submitted_before_a_crash_is_found_and_not_submitted_again(
    sandbox: Sandbox, tmp_path: Path, job: str
) -> None:
    fast(sandbox)
    plan = plan_for(
        sandbox, write(tmp_path, HEADER + f"run_plans:\n  p:\n    runs:\n      - {{job: {job}}}\n")
    )
    crash_after_intent(sandbox, plan, tmp_path, submitted=True)
    result, lines = apply_plan(sandbox, plan, tmp_path)
    assert len(submissions(sandbox)) == 1
    assert any("from an interrupted submission" in line for line in lines)
    assert result.runs[job].status == "Success" and result.exit_code is ExitCode.OK


def test_a_submission_that_never_reached_aws_is_submitted_once(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    fast(sandbox)
    plan = clean_plan(sandbox, tmp_path)
    crash_after_intent(sandbox, plan, tmp_path, submitted=False, age=120)
    result, _ = apply_plan(sandbox, plan, tmp_path)
    assert len(submissions(sandbox)) == 1 and result.exit_code is ExitCode.OK


def test_a_fresh_unfound_submission_is_waited_for_then_submitted_once(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """AWS's listings may lag: an unfound submission younger than the settle time is not
    sent again until the listings must show it: looked up, waited for, looked up again,
    and only then submitted, once."""
    fast(sandbox)
    text = HEADER + "run_plans:\n  p:\n    runs:\n      - {job: clean}\n      - {job: load}\n"
    plan = plan_for(sandbox, write(tmp_path, text))
    applier, ledger, lines = applier_for(
        sandbox, plan, tmp_path, settle_seconds=1.0, submit_read_timeout=1.0, consistency_delay=0.1
    )
    crash_after_intent(sandbox, plan, tmp_path, submitted=False)  # just now: must wait
    try:
        result = applier.run()
    finally:
        ledger.close()
    waiting = next(i for i, line in enumerate(lines) if "not visible in AWS yet; waiting" in line)
    resent = next(i for i, line in enumerate(lines) if "never reached AWS; submitting it" in line)
    assert waiting < resent
    # The clean run (Batch): looks by its identity before and after the wait, then its
    # one submission.
    batch_calls = operations(sandbox, "ListJobs", "SubmitJob")
    assert batch_calls.count("ListJobs") >= 2 and batch_calls[-1] == "SubmitJob", batch_calls
    assert batch_calls.count("SubmitJob") == 1
    assert sorted(op for op, _ in submissions(sandbox)) == ["StartJobRun", "SubmitJob"]
    assert result.exit_code is ExitCode.OK


def test_an_apply_stopped_while_waiting_for_the_listings_leaves_the_run_unknown(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    fast(sandbox)
    text = ONE_CLEAN_RUN
    plan = plan_for(sandbox, write(tmp_path, text))
    crash_after_intent(sandbox, plan, tmp_path, submitted=False)
    project = load_project(plan.manifest_path, env={})
    sessions = Sessions(sandbox_url=sandbox.endpoint_url)
    providers = {name: client_for(name, p, sessions) for name, p in project.platforms.items()}
    ledger = SqliteLedger(tmp_path / "state.db")
    applier = Executor(plan, providers, ledger, env={})
    threading.Timer(0.3, applier.interrupt).start()  # Ctrl-C during the 60 s wait
    try:
        result = applier.run()
    finally:
        ledger.close()
    assert result.exit_code is ExitCode.INTERRUPTED
    assert result.runs["clean"].status == "Unknown"
    assert "apply again to submit it or find it" in (result.runs["clean"].message or "")
    assert submissions(sandbox) == []


def test_a_submission_acted_on_after_its_answer_was_lost_is_found_not_sent_again(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """The case the long fault run caught: the client times out, looks at once, finds
    nothing, and must not resend, because AWS acts on the held request a moment later."""
    fast(sandbox)
    plan = clean_plan(sandbox, tmp_path)
    sandbox.fail("SubmitJob", Fault.timeout(1.5, after=True, times=1))
    result, lines = apply_plan(
        sandbox, plan, tmp_path, read_timeout=1.0, settle_seconds=3.0, consistency_delay=0.0
    )
    assert any("not visible in AWS; waiting for the settle time" in line for line in lines), lines
    assert any("went through despite the error" in line for line in lines)
    assert len(submissions(sandbox)) == 1
    assert result.runs["clean"].status == "Success"


def test_a_failed_submission_that_never_took_effect_is_sent_again_once_it_must_show(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    fast(sandbox)
    plan = clean_plan(sandbox, tmp_path)
    sandbox.fail("SubmitJob", Fault("ServiceUnavailable", "try later", 503, times=1))
    result, lines = apply_plan(
        sandbox, plan, tmp_path, settle_seconds=0.0, submit_read_timeout=1.0, consistency_delay=0.1
    )
    waiting = next(i for i, line in enumerate(lines) if "waiting for the settle time" in line)
    resent = next(i for i, line in enumerate(lines) if "sending it again" in line)
    assert waiting < resent
    # the failed one, two looks by its identity (at once, after the settle time), then the
    # one that counts, under the same job name
    assert operations(sandbox, "ListJobs", "SubmitJob") == [
        "SubmitJob",
        "ListJobs",
        "ListJobs",
        "SubmitJob",
    ]
    first, second = sandbox.requests("SubmitJob")
    assert first.params["jobName"] == second.params["jobName"]
    jobs = boto3.client("batch", region_name="us-east-1").list_jobs(
        jobQueue="etl-standard", jobStatus="SUCCEEDED"
    )["jobSummaryList"]
    assert len(jobs) == 1 and result.runs["clean"].status == "Success"


def test_a_second_apply_of_the_same_plan_is_refused_while_the_first_holds_the_lock(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = ONE_CLEAN_RUN
    plan = plan_for(sandbox, write(tmp_path, text))
    ledger = SqliteLedger(tmp_path / "state.db")
    ledger.acquire(plan.plan_id)
    with pytest.raises(LockHeld, match=f"pid {os.getpid()}"):
        apply_plan(sandbox, plan, tmp_path)
    assert submissions(sandbox) == []
    assert run(["unlock", plan.plan_id, "--state", str(tmp_path / "state.db")]) == 0
    fast(sandbox)
    result, _ = apply_plan(sandbox, plan, tmp_path)
    assert result.exit_code is ExitCode.OK
    ledger.close()


# ------------------------------------------------------------------ the command


def _cli_env(sandbox: Sandbox, tmp_path: Path) -> dict[str, str]:
    return {**os.environ, **sandbox.env(), "ORDERS_API_TOKEN": "t", "PYTHONUNBUFFERED": "1"}


def test_stale_plan_file_is_refused_naming_what_changed(
    sandbox: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("ORDERS_API_TOKEN", "t")
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "plan.json"
    assert run(["plan", str(EXAMPLES), "-r", "nightly", "--out", str(out)]) == 0
    batch = boto3.client("batch", endpoint_url=sandbox.endpoint_url, region_name="us-east-1")
    batch.register_job_definition(
        jobDefinitionName="cleanup",
        type="container",
        containerProperties={"image": "x", "vcpus": 1, "memory": 64},
    )
    capsys.readouterr()
    sandbox.log.clear()
    assert run(["apply", str(out), "--auto-approve"]) == 1
    err = capsys.readouterr().err
    assert "stale plan" in err and "job-definition/cleanup" in err and "cleanup:2" in err
    assert submissions(sandbox) == []


def test_without_a_terminal_apply_needs_auto_approve(sandbox: Sandbox, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "polysync_spec", "apply", str(EXAMPLES), "-r", "nightly", "--state", str(tmp_path / "s.db")],
        env=_cli_env(sandbox, tmp_path), capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert "pass --auto-approve" in result.stderr
    assert submissions(sandbox) == []


def test_detach_submits_and_returns(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox.script("batch", "cleanup", Outcome(stuck_in="RUNNING"))
    path = write(tmp_path, ONE_CLEAN_RUN)
    monkeypatch.chdir(tmp_path)
    assert run(["apply", str(path), "--auto-approve", "--detach", "--poll-interval", "0.05"]) == 0
    assert len(sandbox.requests("SubmitJob")) == 1
    assert sandbox.requests("TerminateJobs") == []


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_cancels_in_flight_runs_of_both_kinds(
    sandbox: Sandbox, tmp_path: Path, signum: int
) -> None:
    sandbox.script("glue", "customers-etl", Outcome(stuck_in="RUNNING", starting_seconds=0.05))
    sandbox.script("batch", "cleanup", Outcome(stuck_in="RUNNING", starting_seconds=0.05))
    path = write(
        tmp_path,
        HEADER + "run_plans:\n  p:\n    runs:\n      - {job: load}\n      - {job: clean}\n",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "polysync_spec", "apply", str(path), "--auto-approve", "--poll-interval", "0.1",
         "--state", str(tmp_path / "s.db")],
        env=_cli_env(sandbox, tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while len(submissions(sandbox)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    process.send_signal(signum)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 4, err
    assert len(sandbox.requests("BatchStopJobRun")) == 1
    assert [r.params["reason"] for r in sandbox.requests("TerminateJobs")] == [
        "Cancelled by Polysync"
    ]
    summary = {line.split()[0]: line.split()[1] for line in out.splitlines()[-2:]}
    assert summary == {"load": "Cancelled", "clean": "Cancelled"}


def test_status_and_cancel_work_from_the_ledger_in_a_later_process(
    sandbox: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sandbox.script("batch", "cleanup", Outcome(stuck_in="RUNNING"))
    path = write(tmp_path, ONE_CLEAN_RUN)
    monkeypatch.chdir(tmp_path)
    assert run(["apply", str(path), "--auto-approve", "--detach"]) == 0
    capsys.readouterr()
    assert run(["status"]) == 0
    apply_id = capsys.readouterr().out.split()[0]
    assert run(["cancel", "--apply", apply_id]) == 0  # 0: the cancellation was confirmed
    assert "ended Cancelled" in capsys.readouterr().out
    assert [r.params["reason"] for r in sandbox.requests("TerminateJobs")] == [
        "Cancelled by Polysync"
    ]
    assert run(["status", apply_id]) == 0
    assert capsys.readouterr().out.startswith("clean  Cancelled")  # what AWS confirmed


def test_apply_resumes_after_sigkill_and_submits_each_run_once(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """SIGKILL while runs are in flight leaves a lock and runs without results; the next
    apply takes the dead process's lock over, re-attaches, and finishes."""
    sandbox.script("glue", "customers-etl", Outcome(starting_seconds=0.1, running_seconds=1.5))
    sandbox.script("batch", "cleanup", Outcome(starting_seconds=0.1, running_seconds=1.5))
    path = write(
        tmp_path,
        HEADER + "run_plans:\n  p:\n    runs:\n      - {job: load}\n      - {job: clean}\n",
    )
    state = tmp_path / "s.db"
    process = subprocess.Popen(
        [sys.executable, "-m", "polysync_spec", "apply", str(path), "--auto-approve", "--poll-interval", "0.1",
         "--state", str(state)],
        env=_cli_env(sandbox, tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while len(submissions(sandbox)) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.2)  # let the ledger record both run ids
    process.kill()
    process.wait(timeout=10)
    plan = plan_for(sandbox, path)
    lines: list[str] = []
    ledger = SqliteLedger(state)
    project = load_project(path, env={})
    sessions = Sessions(sandbox_url=sandbox.endpoint_url)
    providers = {name: client_for(name, p, sessions) for name, p in project.platforms.items()}
    applier = Executor(
        plan,
        providers,
        ledger,
        env={},
        poll=PollPolicy(minimum=0.05, maximum=0.2),
        sink=text_sink(lines.append),
    )
    try:
        result = applier.run()
    finally:
        ledger.close()
    assert result.exit_code is ExitCode.OK
    assert statuses(result) == {"load": "Success", "clean": "Success"}
    assert len(submissions(sandbox)) == 2
    assert sum("re-attached" in line for line in lines) == 2


def test_runs_in_flight_are_polled_between_slices_of_a_long_submission_phase(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import polysync_spec.engine.execute as engine

    monkeypatch.setattr(engine, "SUBMIT_SLICE", 0.0)  # one submission a slice
    fast(sandbox)
    runs = "".join(f"      - {{name: c{i}, job: clean}}\n" for i in range(3))
    plan = plan_for(
        sandbox,
        write(tmp_path, HEADER + "run_plans:\n  p:\n    max_concurrency: 3\n    runs:\n" + runs),
    )
    result, _ = apply_plan(sandbox, plan, tmp_path, poll=PollPolicy(minimum=2.0, maximum=2.0))
    assert result.exit_code is ExitCode.OK
    order = [
        r.operation for r in sandbox.requests() if r.operation in ("SubmitJob", "DescribeJobs")
    ]
    # a poll right after each slice, without waiting out the 2 s interval
    assert order[:5] == ["SubmitJob", "DescribeJobs", "SubmitJob", "DescribeJobs", "SubmitJob"]


def test_a_run_past_its_own_limit_is_reported_unknown_not_waited_on(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    sandbox.script("batch", "cleanup", Outcome(stuck_in="RUNNING", starting_seconds=0.05))
    text = (
        HEADER
        + "run_plans:\n  p:\n    runs:\n      - job: clean\n        compute: {attempt_duration_seconds: 60, retry_attempts: 2}\n"
    )
    plan = plan_for(sandbox, write(tmp_path, text))
    result, _ = apply_plan(
        sandbox, plan, tmp_path, limits=Limits(grace=-119.5)
    )  # limit 120 s, less "grace"
    state = result.runs["clean"]
    assert state.status == "Unknown" and result.exit_code is ExitCode.RUNS_FAILED
    assert "beyond its limit of 120s" in (state.message or "") and "it was not cancelled" in (
        state.message or ""
    )
    assert sandbox.requests("TerminateJobs") == []


def test_apply_timeout_bounds_the_whole_apply(
    sandbox: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import json

    sandbox.script("glue", "customers-etl", Outcome(stuck_in="RUNNING"))
    path = write(tmp_path, HEADER + "run_plans:\n  p:\n    runs:\n      - {job: load}\n")
    monkeypatch.chdir(tmp_path)
    code = run(
        [
            "apply",
            str(path),
            "--auto-approve",
            "--timeout",
            "1",
            "--poll-interval",
            "0.1",
            "-o",
            "json",
        ]
    )
    document = json.loads(capsys.readouterr().out)
    assert code == 3 and document["exit_code"] == 3
    [state] = document["runs"]
    assert (
        state["status"] == "Unknown" and "when the --timeout of 1s was reached" in state["message"]
    )
    assert state["url"].startswith("https://us-east-1.console.aws.amazon.com/gluestudio/")


def test_array_jobs_report_child_counts(sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.script("batch", "thumbnails", Outcome(starting_seconds=0.2, running_seconds=0.6))
    text = (
        HEADER
        + "  thumbs: {platform: batch, external_id: thumbnails, array_size: 5}\nrun_plans:\n  p:\n    runs:\n      - {job: thumbs}\n"
    )
    result, lines = apply_plan(sandbox, plan_for(sandbox, write(tmp_path, text)), tmp_path)
    assert result.exit_code is ExitCode.OK
    assert any(line.startswith("thumbs: ") and "/5 succeeded" in line for line in lines)
    assert (
        result.runs["thumbs"].children is not None
        and sum(result.runs["thumbs"].children.values()) == 5
    )


def test_two_applies_at_once_one_runs_the_other_is_refused(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    # The first apply's run never ends by itself: the second apply always meets its lock.
    sandbox.script("batch", "cleanup", Outcome(starting_seconds=0.1, stuck_in="RUNNING"))
    path = write(tmp_path, ONE_CLEAN_RUN)
    command = [
        sys.executable,
        "-m",
        "polysync_spec",
        "apply",
        str(path),
        "--auto-approve",
        "--poll-interval",
        "0.1",
        "--state",
        str(tmp_path / "s.db"),
    ]
    first = subprocess.Popen(
        command,
        env=_cli_env(sandbox, tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 20
    while not sandbox.requests("SubmitJob") and time.monotonic() < deadline:
        time.sleep(0.02)
    second = subprocess.run(
        command, env=_cli_env(sandbox, tmp_path), capture_output=True, text=True, check=False
    )
    assert second.returncode == 1
    assert f"is locked by pid {first.pid}" in second.stderr
    first.send_signal(signal.SIGINT)  # the first cancels its run and exits 4
    first.communicate(timeout=60)
    assert first.returncode == ExitCode.INTERRUPTED
    assert len(sandbox.requests("SubmitJob")) == 1


def test_status_watch_follows_a_detached_apply_to_its_end(
    sandbox: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Long enough that the watch, started after two commands, sees it running.
    sandbox.script("batch", "cleanup", Outcome(starting_seconds=0.2, running_seconds=4.0))
    path = write(tmp_path, ONE_CLEAN_RUN)
    monkeypatch.chdir(tmp_path)
    assert run(["apply", str(path), "--auto-approve", "--detach"]) == 0
    capsys.readouterr()
    assert run(["status"]) == 0
    apply_id = capsys.readouterr().out.split()[0]
    assert run(["status", apply_id, "--watch", "--interval", "0.1"]) == 0
    out = capsys.readouterr().out
    assert "clean: Running" in out and "clean: Success" in out
    assert out.splitlines()[-1].startswith("clean  Success")


def test_a_plan_file_with_errors_is_never_applied(
    sandbox: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = write(
        tmp_path,
        HEADER.replace("external_id: cleanup", "external_id: no-such-def")
        + "run_plans:\n  p:\n    runs:\n      - {job: clean}\n",
    )
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "plan.json"
    assert run(["plan", str(path), "--out", str(out)]) == 1
    assert out.exists()  # kept for review
    capsys.readouterr()
    assert run(["apply", str(out), "--auto-approve"]) == 1
    assert "has errors (PS702); nothing was submitted" in capsys.readouterr().err
    assert submissions(sandbox) == []
