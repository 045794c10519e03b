"""Where a cheaper call is denied, the clients fall back to what the product documents'
permission list allows, remember the denial (never send the refused call again) and say
once which permission would make it cheaper. On the sandbox with IAM enforced."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, cast

import boto3
import pytest

from polysync_spec.manifest.models import BatchPlatform, GluePlatform
from polysync_spec.providers.aws import AwsError, Sessions
from polysync_spec.providers.base import ATTEMPT_SLOT, RunRequest, RunStatus
from polysync_spec.providers.clients import client_for
from polysync_spec.providers.glue.client import GlueClient
from polysync_spec.providers.glue.rules import ATTEMPT_ARGUMENT
from polysync_spec.sandbox.lifecycle import Outcome
from polysync_spec.sandbox.server import Sandbox
from tests.helpers import attempt
from tests.iam_policies import PRODUCT_DOCUMENTS, allowing

Grant = Callable[[Mapping[str, Any]], tuple[str, str]]
FAST = Outcome(starting_seconds=0.1, running_seconds=0.2)
GLUE = GluePlatform(type="aws_glue", region="us-east-1")
BATCH = BatchPlatform(type="aws_batch", region="us-east-1", default_job_queue="etl-standard")


def _sandbox_client(sandbox: Sandbox, service: str) -> Any:
    """A client with the sandbox's own keys (before IAM is enforced)."""
    return boto3.client(
        service,  # type: ignore[call-overload]
        endpoint_url=sandbox.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="sandbox",
        aws_secret_access_key="sandbox",
    )


def _glue_job(sandbox: Sandbox, name: str, max_concurrent_runs: int = 5) -> None:
    _sandbox_client(sandbox, "glue").create_job(
        Name=name,
        Role="arn:aws:iam::123456789012:role/glue",
        Command={"Name": "glueetl", "ScriptLocation": "s3://scripts/x.py"},
        ExecutionProperty={"MaxConcurrentRuns": max_concurrent_runs},
    )


def _requests(sandbox: Sandbox, operation: str) -> int:
    return len(sandbox.requests(operation))


def _until_ended(poll: Callable[[], dict[str, Any]], timeout: float = 20.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        reports = poll()
        if all(r.status.terminal for r in reports.values()) or time.monotonic() > deadline:
            return reports
        time.sleep(0.1)


def test_three_runs_of_one_job_end_succeeded_when_get_job_runs_is_denied(
    sandbox: Sandbox, as_iam_user: Grant, caplog: pytest.LogCaptureFixture
) -> None:
    _glue_job(sandbox, "wide")
    sandbox.script("glue", "wide", FAST)
    as_iam_user(PRODUCT_DOCUMENTS)
    glue = cast(GlueClient, client_for("glue", GLUE, Sessions()))
    request = RunRequest("StartJobRun", {"JobName": "wide", "Arguments": {}})
    run_ids = [glue.submit(request) for _ in range(3)]
    with caplog.at_level(logging.WARNING, logger="polysync_spec"):
        reports = _until_ended(lambda: glue.poll(run_ids))
    assert {r.status for r in reports.values()} == {RunStatus.SUCCESS}
    # Refused once, then remembered: every later poll reads the runs one by one.
    assert _requests(sandbox, "GetJobRuns") == 1
    assert _requests(sandbox, "GetJobRun") >= 3
    warnings = [r.getMessage() for r in caplog.records if "glue:GetJobRuns" in r.getMessage()]
    assert len(warnings) == 1
    assert "GetJobRun" in warnings[0] and "grant glue:GetJobRuns" in warnings[0]


def test_snapshot_reads_each_job_with_get_job_when_batch_get_jobs_is_denied(
    sandbox: Sandbox, as_iam_user: Grant, caplog: pytest.LogCaptureFixture
) -> None:
    as_iam_user(PRODUCT_DOCUMENTS)
    glue = cast(GlueClient, client_for("glue", GLUE, Sessions()))
    with caplog.at_level(logging.WARNING, logger="polysync_spec"):
        found, missing = glue.discover(["orders-etl", "customers-etl", "no-such-job"])
        glue.discover(["orders-etl"])
    assert sorted(found) == ["customers-etl", "orders-etl"]
    assert found["orders-etl"].max_concurrent_runs == 2
    assert missing == ["no-such-job"]
    assert _requests(sandbox, "BatchGetJobs") == 1
    assert _requests(sandbox, "GetJob") == 4
    assert sum("glue:BatchGetJobs is denied" in r.getMessage() for r in caplog.records) == 1


def test_many_jobs_are_read_from_get_jobs_pages_when_batch_get_jobs_is_denied(
    sandbox: Sandbox, as_iam_user: Grant
) -> None:
    for index in range(12):
        _glue_job(sandbox, f"many-{index:02d}")
    as_iam_user(PRODUCT_DOCUMENTS)
    glue = cast(GlueClient, client_for("glue", GLUE, Sessions()))
    names = [f"many-{index:02d}" for index in range(12)]
    found, missing = glue.discover([*names, "absent"])
    assert sorted(found) == names and missing == ["absent"]
    assert _requests(sandbox, "GetJobs") >= 1 and _requests(sandbox, "GetJob") == 0


def test_a_denied_fallback_names_the_permission_plan_needs(
    sandbox: Sandbox, as_iam_user: Grant
) -> None:
    as_iam_user(allowing("glue:GetJobs"))
    glue = cast(GlueClient, client_for("glue", GLUE, Sessions()))
    with pytest.raises(AwsError) as raised:
        glue.discover(["orders-etl"])
    message = str(raised.value)
    assert "not authorized to perform: glue:GetJob" in message
    assert (
        "needs glue:BatchGetJobs (or, without it, glue:GetJob) on "
        "arn:aws:glue:us-east-1:<account>:job/orders-etl" in message
    )


def test_a_failed_run_with_retries_left_says_its_retry_cannot_be_followed(
    sandbox: Sandbox, as_iam_user: Grant
) -> None:
    glue_api = _sandbox_client(sandbox, "glue")
    glue_api.create_job(
        Name="flaky",
        Role="arn:aws:iam::123456789012:role/glue",
        Command={"Name": "glueetl", "ScriptLocation": "s3://scripts/x.py"},
        MaxRetries=1,
    )
    sandbox.script(
        "glue", "flaky", Outcome(result="FAILED", starting_seconds=0.1, running_seconds=0.1)
    )
    as_iam_user(PRODUCT_DOCUMENTS)
    glue = cast(GlueClient, client_for("glue", GLUE, Sessions()))
    run_id = glue.submit(RunRequest("StartJobRun", {"JobName": "flaky", "Arguments": {}}))
    report = _until_ended(lambda: glue.poll([run_id]))[run_id]
    assert report.status is RunStatus.FAILED
    assert "glue:GetJobRuns is denied, so a retry is not followed" in (report.message or "")


def test_finding_a_lost_glue_submission_names_get_job_runs(
    sandbox: Sandbox, as_iam_user: Grant
) -> None:
    as_iam_user(PRODUCT_DOCUMENTS)
    glue = cast(GlueClient, client_for("glue", GLUE, Sessions()))
    request = attempt(
        RunRequest(
            "StartJobRun",
            {"JobName": "orders-etl", "Arguments": {ATTEMPT_ARGUMENT: ATTEMPT_SLOT}},
        )
    )
    with pytest.raises(AwsError, match=r"needs glue:GetJobRuns on arn:aws:glue:us-east-1:"):
        glue.find_submitted(request, time.time())


def test_batch_snapshot_takes_queues_as_named_when_describe_job_queues_is_denied(
    sandbox: Sandbox, as_iam_user: Grant, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    from polysync_spec import load_project
    from polysync_spec.engine.discovery import discover_live
    from polysync_spec.engine.plan import make_plan
    from polysync_spec.providers.clients import clients_of
    from tests.helpers import SANDBOX_PLATFORMS, write

    as_iam_user(PRODUCT_DOCUMENTS)
    path = write(
        tmp_path,
        SANDBOX_PLATFORMS
        + "jobs:\n  clean: {platform: batch, external_id: cleanup}\n"
        + "run_plans:\n  p:\n    runs: [{job: clean}]\n",
    )
    project = load_project(path, env={})
    with caplog.at_level(logging.WARNING, logger="polysync_spec"):
        live = discover_live(project, "p", clients_of(project, Sessions()))
    queue = live.of("batch").queues["etl-standard"]
    assert queue is not None and not queue.described
    assert live.of("batch").definitions["cleanup"].resolved.revision == 1
    plan = make_plan(project, "p", live, manifest_path=str(path))
    assert not plan.has_errors
    notes = [f for f in plan.all_findings() if f.code == "PS719"]
    assert len(notes) == 1 and "batch:DescribeJobQueues is denied" in notes[0].message
    assert any("batch:DescribeJobQueues is denied" in r.getMessage() for r in caplog.records)


def test_batch_discover_lists_definitions_without_queues_when_describe_job_queues_is_denied(
    sandbox: Sandbox, as_iam_user: Grant
) -> None:
    as_iam_user(PRODUCT_DOCUMENTS)
    found = client_for("batch", BATCH, Sessions()).inventory("batch")
    assert found.document["job_queues"] is None
    assert "Batch job queues: not listed (batch:DescribeJobQueues is denied)" in found.lines
    assert {d["name"] for d in found.document["job_definitions"]} >= {"cleanup", "thumbnails"}


def test_finding_a_lost_batch_submission_names_list_jobs(
    sandbox: Sandbox, as_iam_user: Grant
) -> None:
    as_iam_user(PRODUCT_DOCUMENTS)
    batch = client_for("batch", BATCH, Sessions())
    request = attempt(
        RunRequest(
            "SubmitJob",
            {
                "jobName": "Polysync-${attempt_id}",
                "jobQueue": "etl-standard",
                "jobDefinition": "cleanup",
            },
        )
    )
    with pytest.raises(AwsError, match=r"needs batch:ListJobs \(only ListJobs finds"):
        batch.find_submitted(request, time.time())


def test_denied_log_reads_become_a_note_naming_get_log_events(
    sandbox: Sandbox, as_iam_user: Grant
) -> None:
    sandbox.script(
        "batch", "cleanup", Outcome(starting_seconds=0.1, running_seconds=0.1, logs=("hi",))
    )
    as_iam_user(allowing("batch:SubmitJob", "batch:DescribeJobs"))
    batch = client_for("batch", BATCH, Sessions())
    job_id = batch.submit(
        RunRequest(
            "SubmitJob", {"jobName": "j", "jobQueue": "etl-standard", "jobDefinition": "cleanup"}
        )
    )
    _until_ended(lambda: batch.poll([job_id]))
    tail = batch.log_tail(job_id, 10)
    assert not tail.lines
    assert (
        tail.note is not None and "needs logs:GetLogEvents on log group /aws/batch/job" in tail.note
    )


def test_denied_cancellations_name_the_permission_and_its_resource(
    sandbox: Sandbox, as_iam_user: Grant
) -> None:
    sandbox.script("glue", "orders-etl", Outcome(stuck_in="RUNNING"))
    as_iam_user(allowing("glue:StartJobRun", "glue:GetJobRun"))
    glue = cast(GlueClient, client_for("glue", GLUE, Sessions()))
    run_id = glue.submit(RunRequest("StartJobRun", {"JobName": "orders-etl", "Arguments": {}}))
    refusal = glue.cancel([run_id])[run_id]
    assert refusal is not None and refusal.code == "AccessDeniedException"
    assert "needs glue:BatchStopJobRun on arn:aws:glue:us-east-1:<account>:job/orders-etl" in str(
        refusal
    )
