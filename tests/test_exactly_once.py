"""Exactly once, at its edges: run identity, adoption and the submission protocol.

Each test is one of the ways the promise broke (issue 15), reproduced on the sandbox:
the ledger changed by a refused apply, a held request acted on after the read timeout,
identities shared between attempts, runs adopted by the wrong attempt, two holders of a
stale S3 lock, a host clock ahead of AWS, interrupts held back by hung calls, and a plan
that disagrees with apply.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest

from polysync_spec import load_project
from polysync_spec.cli import run
from polysync_spec.engine.discovery import discover_live
from polysync_spec.engine.ledger import LockHeld, S3Ledger, SqliteLedger
from polysync_spec.engine.plan import make_plan
from polysync_spec.errors import ExitCode
from polysync_spec.providers.aws import Sessions
from polysync_spec.providers.base import RunRequest
from polysync_spec.providers.clients import client_for, clients_of
from polysync_spec.providers.clock import AwsClock
from polysync_spec.providers.glue.rules import ATTEMPT_ARGUMENT
from polysync_spec.sandbox.lifecycle import Outcome
from polysync_spec.sandbox.server import Fault, Sandbox
from tests.applying import (
    FAST,
    HEADER,
    applier_for,
    apply_plan,
    crash_after_intent,
    fast,
    plan_for,
    submissions,
)
from tests.helpers import write

TWO_RUNS = HEADER + "run_plans:\n  p:\n    runs:\n      - {job: clean}\n      - {job: load}\n"
# The run key -> the AWS object its runs are scripted by.
SCRIPTED = {"clean": ("batch", "cleanup"), "load": ("glue", "customers-etl")}
SUBMIT = {"clean": "SubmitJob", "load": "StartJobRun"}


def _one_run(job: str) -> str:
    return HEADER + f"run_plans:\n  p:\n    runs:\n      - {{job: {job}}}\n"


def _identity(params: dict[str, Any]) -> str:
    """The attempt identity a submission carried."""
    if "jobName" in params:
        return str(params["jobName"]).removeprefix("Polysync-")
    return str(params["Arguments"][ATTEMPT_ARGUMENT])


def _wait_until(condition: Callable[[], bool], what: str, limit: float = 30.0) -> None:
    """Poll `condition` (the test's own guard against a hang, not a timing assertion)."""
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.02)


# ------------------------------------------------------------------ 1. the lock first


@pytest.mark.parametrize("flag", ["--rerun", "--retry-failed"])
@pytest.mark.parametrize("state", ["sqlite", "s3"])
def test_a_rerun_refused_by_the_lock_changes_nothing_in_the_ledger(
    sandbox: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    flag: str,
    state: str,
) -> None:
    """An apply --rerun / --retry-failed that another apply's lock refuses must leave the
    ledger as it was: the next plain apply then submits nothing."""
    fast(
        sandbox, **{"cleanup": Outcome(result="FAILED", starting_seconds=0.1, running_seconds=0.1)}
    )
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, TWO_RUNS)
    if state == "s3":
        s3 = boto3.client("s3", endpoint_url=sandbox.endpoint_url, region_name="us-east-1")
        s3.create_bucket(Bucket="polysync-state")
        url = "s3://polysync-state/ci"
        holder: Any = S3Ledger(url, s3)
    else:
        url = str(tmp_path / "state.db")
        holder = None
    args = ["apply", str(path), "--auto-approve", "--state", url, "--poll-interval", "0.05"]
    assert run(args) == ExitCode.RUNS_FAILED  # clean failed, load succeeded
    assert len(submissions(sandbox)) == 2
    capsys.readouterr()
    assert run(["status", "--state", url]) == 0
    apply_id = capsys.readouterr().out.split()[0]
    holder = holder or SqliteLedger(url)
    holder.acquire(apply_id)  # another apply of the same plan is running
    assert run([*args, flag]) == ExitCode.ERROR
    assert "is locked by" in capsys.readouterr().err
    holder.release(apply_id)
    holder.close()
    assert run(args) == ExitCode.RUNS_FAILED  # the failure stands, as recorded
    assert len(submissions(sandbox)) == 2  # and nothing was submitted again


# ------------------------------------------------------------------ 2. settle after the end


@pytest.mark.parametrize("job", ["clean", "load"])
def test_a_request_acted_on_after_the_read_timeout_is_found_not_sent_again(
    sandbox: Sandbox, tmp_path: Path, job: str
) -> None:
    """The client gives up after its read timeout; AWS acts on the held request later.
    With the settle time counted from the send, the read timeout used it up and the
    request was sent again: two runs. Counted from the failed call's end, it is found."""
    fast(sandbox)
    plan = plan_for(sandbox, write(tmp_path, _one_run(job)))
    sandbox.fail(SUBMIT[job], Fault.timeout(1.6, after=True, times=1))
    result, lines = apply_plan(
        sandbox,
        plan,
        tmp_path,
        submit_read_timeout=1.0,
        settle_seconds=1.0,  # no more than the read timeout: the case that broke
        consistency_delay=0.1,
    )
    assert any("went through despite the error" in line for line in lines), lines
    sent = [params for _, params in submissions(sandbox)]
    assert len(sent) == 1  # the held one, never a second
    assert result.runs[job].status == "Success"


# ------------------------------------------------------------------ 3. an identity per attempt


@pytest.mark.parametrize("job", ["clean", "load"])
def test_a_retry_is_a_new_attempt_and_never_adopts_the_failed_one(
    sandbox: Sandbox, tmp_path: Path, job: str
) -> None:
    """--retry-failed whose submission gets a 5xx that did not take effect must not find
    the earlier, failed run by a shared name or equal arguments and call it its own."""
    service, name = SCRIPTED[job]
    sandbox.script(
        service, name, Outcome(result="FAILED", starting_seconds=0.1, running_seconds=0.1)
    )
    plan = plan_for(sandbox, write(tmp_path, _one_run(job)))
    first, _ = apply_plan(sandbox, plan, tmp_path)
    assert first.runs[job].status == "Failed"
    failed_run = first.runs[job].run_id
    sandbox.script(service, name, FAST)
    status = 503 if service == "batch" else 500
    sandbox.fail(SUBMIT[job], Fault("ServiceUnavailable", "try later", status, times=1))
    again, _ = apply_plan(
        sandbox,
        plan,
        tmp_path,
        retry_failed=True,
        settle_seconds=0.0,
        submit_read_timeout=1.0,
        consistency_delay=0.1,
    )
    assert again.runs[job].status == "Success"
    assert again.runs[job].run_id != failed_run
    identities = [_identity(params) for _, params in submissions(sandbox)]
    # the first attempt, then the retry: refused once, sent again under its own identity
    assert len(identities) == 3 and identities[0] != identities[1] == identities[2]


# ------------------------------------------------------------------ 4. adopt only our own


def test_glue_recovery_never_adopts_a_run_someone_else_started_with_equal_arguments(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    fast(sandbox)
    plan = plan_for(sandbox, write(tmp_path, _one_run("load")))
    crash_after_intent(sandbox, plan, tmp_path, submitted=False)
    # Another team starts the same job by hand, with the very arguments of our run.
    by_hand = dict(plan.runs[0].request["Arguments"])
    del by_hand[ATTEMPT_ARGUMENT]
    glue = boto3.client("glue", endpoint_url=sandbox.endpoint_url, region_name="us-east-1")
    theirs = glue.start_job_run(JobName="customers-etl", Arguments=by_hand)["JobRunId"]
    result, lines = apply_plan(
        sandbox, plan, tmp_path, settle_seconds=0.0, submit_read_timeout=1.0, consistency_delay=0.1
    )
    assert not any("found" in line and theirs in line for line in lines), lines
    assert result.runs["load"].run_id != f"customers-etl/{theirs}"
    assert len(submissions(sandbox)) == 2  # theirs, then ours
    assert result.runs["load"].status == "Success"


def test_glue_recovery_never_adopts_a_sibling_run_of_the_same_plan(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """Two runs of one Glue job with equal arguments: the one whose submission was
    interrupted must not adopt its sibling's run (which then stands for both)."""
    fast(sandbox, **{"customers-etl": Outcome(starting_seconds=0.1, running_seconds=1.0)})
    text = HEADER + (
        "run_plans:\n  p:\n    runs:\n      - {job: load, name: a}\n      - {job: load, name: b}\n"
    )
    plan = plan_for(sandbox, write(tmp_path, text))
    # a's submission was interrupted before it reached AWS; b is submitted and recorded.
    crash_after_intent(sandbox, plan, tmp_path, submitted=False)
    sibling = plan.runs[1]
    project = load_project(plan.manifest_path, env={})
    sessions = Sessions(sandbox_url=sandbox.endpoint_url)
    provider = client_for("glue", project.platforms["glue"], sessions)
    b_id = provider.submit(RunRequest(sibling.api, sibling.resolved_request({}, "b-attempt")))
    recorded = SqliteLedger(tmp_path / "state.db")
    recorded.intent(plan.plan_id, sibling, "b-attempt", time.time())
    recorded.submitted(plan.plan_id, "b", b_id)
    recorded.close()
    result, lines = apply_plan(
        sandbox, plan, tmp_path, settle_seconds=0.0, submit_read_timeout=1.0, consistency_delay=0.1
    )
    assert result.runs["b"].run_id == b_id
    assert result.runs["a"].run_id not in (None, b_id)
    assert len(submissions(sandbox)) == 2, (submissions(sandbox), lines)
    assert {s.status for s in result.runs.values()} == {"Success"}


# ------------------------------------------------------------------ 5. one holder of a lock


def _stale_lock(s3: Any, key: str) -> None:
    """A lock left by a process of this host that is gone."""
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    holder = {"holder": f"pid {gone.stdout.strip()} on {socket.gethostname()}", "acquired_at": 0}
    s3.put_object(Bucket="polysync-state", Key=key, Body=json.dumps(holder).encode())


@pytest.mark.parametrize("trial", range(3))
def test_two_contenders_for_a_stale_s3_lock_exactly_one_wins(sandbox: Sandbox, trial: int) -> None:
    """Both read the stale lock before either writes (the writes are slowed down, as a
    slow DELETE did before): a takeover conditional on the ETag lets exactly one in."""
    s3 = boto3.client("s3", endpoint_url=sandbox.endpoint_url, region_name="us-east-1")
    s3.create_bucket(Bucket="polysync-state")
    key = "ci/locks/a1.json"
    _stale_lock(s3, key)
    sandbox.fail(f"PUT /polysync-state/{key}", Fault.delay(0.3, times=2))
    sandbox.fail(f"DELETE /polysync-state/{key}", Fault.delay(0.3, times=2))
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def contend() -> None:
        ledger = S3Ledger("s3://polysync-state/ci", s3)
        barrier.wait()
        try:
            ledger.acquire("a1")
            outcomes.append("won")
        except LockHeld:
            outcomes.append("refused")

    threads = [threading.Thread(target=contend) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["refused", "won"], (trial, outcomes)


def test_releasing_a_lock_taken_over_meanwhile_leaves_the_new_holder_s(
    sandbox: Sandbox,
) -> None:
    s3 = boto3.client("s3", endpoint_url=sandbox.endpoint_url, region_name="us-east-1")
    s3.create_bucket(Bucket="polysync-state")
    first = S3Ledger("s3://polysync-state/ci", s3)
    first.acquire("a1")
    # An operator unlocks it, and another apply takes it.
    S3Ledger("s3://polysync-state/ci", s3).release("a1")
    second = S3Ledger("s3://polysync-state/ci", s3)
    second.acquire("a1")
    assert first.release("a1") is False  # not its lock any more
    with pytest.raises(LockHeld):
        S3Ledger("s3://polysync-state/ci", s3).acquire("a1")


# ------------------------------------------------------------------ 6. AWS's clock


def test_a_host_clock_ahead_of_aws_still_finds_a_glue_submission(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """The recovery window is on AWS's clock, learned from the Date of its answers: a host
    15 minutes ahead would otherwise look for the run after it started, miss it, and
    submit it again."""
    fast(sandbox)
    path = write(tmp_path, _one_run("load"))
    ahead = AwsClock(host=lambda: time.time() + 900)
    sessions = Sessions(sandbox_url=sandbox.endpoint_url, submit_read_timeout=1.0, clock=ahead)
    project = load_project(path, env={})
    # Planning talks to AWS through the same sessions (as the CLI does): the clock learns.
    plan = make_plan(
        project,
        "p",
        discover_live(project, "p", clients_of(project, sessions)),
        manifest_path=str(path),
    )
    assert abs(ahead.now() - time.time()) < 5
    sandbox.fail("StartJobRun", Fault.timeout(1.4, after=True, times=1))
    result, lines = apply_plan(
        sandbox, plan, tmp_path, sessions=sessions, settle_seconds=1.0, consistency_delay=0.1
    )
    assert any("went through despite the error" in line for line in lines), lines
    assert len(submissions(sandbox)) == 1
    assert result.runs["load"].status == "Success"


# ------------------------------------------------------------------ 7. interrupts at once


def test_an_interrupt_during_a_hung_submission_cancels_the_runs_in_flight_at_once(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    fast(sandbox, **{"cleanup": Outcome(stuck_in="RUNNING", starting_seconds=0.1)})
    plan = plan_for(sandbox, write(tmp_path, TWO_RUNS))  # clean (Batch), then load (Glue)
    sandbox.fail("StartJobRun", Fault.timeout(3.0, times=1))
    applier, ledger, lines = applier_for(sandbox, plan, tmp_path, submit_read_timeout=3.0)

    def interrupt_once_held() -> None:
        _wait_until(lambda: sandbox.holding > 0, "the StartJobRun is held")
        applier.interrupt()

    threading.Thread(target=interrupt_once_held, daemon=True).start()
    try:
        result = applier.run()
    finally:
        ledger.close()
    [held] = sandbox.requests("StartJobRun")
    [terminate] = sandbox.requests("TerminateJobs")
    assert terminate.at < held.at + 3.0  # sent while the submission was still unanswered
    assert result.exit_code is ExitCode.INTERRUPTED
    assert result.runs["clean"].status == "Cancelled"
    assert result.runs["load"].status == "Unknown"
    assert any("find it by its identity" in line for line in lines), lines
    # The ledger keeps the intent: the next apply looks it up instead of guessing.
    records = SqliteLedger(tmp_path / "state.db").runs(plan.plan_id)
    assert records["load"].status == "Submitting" and records["load"].attempt_id


def test_sigterm_during_a_hung_poll_cancels_at_once(sandbox: Sandbox, tmp_path: Path) -> None:
    """The CLI in a process of its own: SIGTERM while DescribeJobs hangs. The cancel goes
    out on its own connection while the poll is still held, and apply exits 4."""
    fast(sandbox, **{"cleanup": Outcome(stuck_in="RUNNING", starting_seconds=0.1)})
    path = write(tmp_path, _one_run("clean"))
    env = {**os.environ, **sandbox.env(), "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "polysync_spec", "apply", str(path), "--auto-approve",
         "--state", str(tmp_path / "state.db"), "--poll-interval", "0.1"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        _wait_until(lambda: bool(sandbox.requests("SubmitJob")), "the job is submitted")
        sandbox.fail("DescribeJobs", Fault.timeout(30.0, times=1))
        _wait_until(lambda: sandbox.holding > 0, "a DescribeJobs is held")
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == ExitCode.INTERRUPTED, out
    assert sandbox.holding > 0  # the poll is still unanswered
    [terminate] = sandbox.requests("TerminateJobs")
    assert terminate.params["reason"] == "Cancelled by Polysync"


# ------------------------------------------------------------------ 8. plan agrees with apply


def test_plan_shows_what_apply_will_do_with_the_ledger(
    sandbox: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fast(
        sandbox, **{"cleanup": Outcome(result="FAILED", starting_seconds=0.1, running_seconds=0.1)}
    )
    monkeypatch.chdir(tmp_path)
    path = str(write(tmp_path, TWO_RUNS))
    assert run(["plan", path, "--detailed-exitcode"]) == ExitCode.PENDING
    assert run(["apply", path, "--auto-approve", "--poll-interval", "0.05"]) == 3
    capsys.readouterr()
    # After the apply, nothing would be submitted: plan says so, and exits 0.
    assert run(["plan", path, "--detailed-exitcode"]) == ExitCode.OK
    out = capsys.readouterr().out
    assert "0 runs to start, 2 ended in an earlier apply" in out
    assert "Failed" in out and "apply --retry-failed submits it again" in out
    assert "apply --rerun submits it again" in out
    # With --retry-failed, the failed one would go again: pending, and apply agrees.
    assert run(["plan", path, "--detailed-exitcode", "--retry-failed"]) == ExitCode.PENDING
    assert "1 run to start, 1 ended in an earlier apply" in capsys.readouterr().out
    before = len(submissions(sandbox))
    capsys.readouterr()
    assert run(["apply", path, "--auto-approve", "--poll-interval", "0.05"]) == 3
    assert len(submissions(sandbox)) == before  # plan said nothing would be submitted
    # and the plan apply shows before it starts says the same
    assert "0 runs to start, 2 ended in an earlier apply" in capsys.readouterr().out
    assert run(["apply", path, "--auto-approve", "--retry-failed", "--poll-interval", "0.05"]) == 3
    assert len(submissions(sandbox)) == before + 1  # plan said one
    # A plan file made with --retry-failed shows the failed run starting again: applied
    # without the flag, it would do less than it showed. Refused, nothing sent (found by
    # a fresh tester); with the flag it does what it showed.
    assert run(["plan", path, "--retry-failed", "--out", "retry.json"]) == ExitCode.OK
    capsys.readouterr()
    assert run(["apply", "retry.json", "--auto-approve"]) == ExitCode.ERROR
    err = capsys.readouterr().err
    assert "starts clean again, which the ledger holds as ended" in err
    assert "apply it with the same flag. Nothing was submitted" in err
    assert len(submissions(sandbox)) == before + 1
    code = run(
        ["apply", "retry.json", "--auto-approve", "--retry-failed", "--poll-interval", "0.05"]
    )
    assert code == 3 and len(submissions(sandbox)) == before + 2


def test_no_glue_parameter_may_take_the_place_of_the_attempt_marker(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(
        tmp_path,
        HEADER.replace(
            "load: {platform: glue, external_id: customers-etl}",
            "load: {platform: glue, external_id: customers-etl, parameters: {polysync-attempt-id: x}}",
        )
        + "run_plans:\n  p:\n    runs:\n      - {job: load}\n",
    )
    assert run(["validate", str(path)]) == ExitCode.ERROR
    out = capsys.readouterr().out
    assert "PS307" in out and "attempt identity" in out
