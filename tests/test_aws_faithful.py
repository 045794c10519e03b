"""The sandbox behaves as AWS does where AWS is less kind than moto, and the tool is right
against it (over HTTP, through the real clients and the CLI): array jobs whose parent runs
no container, logs where a Batch definition's logConfiguration puts them, Glue's log group
and automatic retries as new runs, messages with the exit code and the product documents'
remedies, and definition ARNs without a revision."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import boto3
import pytest

from polysync_spec.cli import run
from polysync_spec.providers.aws import Sessions
from polysync_spec.providers.base import RunRequest, RunStatus, StatusReport
from polysync_spec.providers.batch import spec as batch
from polysync_spec.providers.batch.client import BatchClient
from polysync_spec.providers.clients import client_for
from polysync_spec.providers.glue import spec as glue
from polysync_spec.providers.glue.client import GlueClient
from polysync_spec.sandbox.lifecycle import Outcome
from polysync_spec.sandbox.server import Sandbox
from tests.helpers import SANDBOX_PLATFORMS, write

FAST = Outcome(starting_seconds=0.15, running_seconds=0.2)
FAILS_137 = replace(FAST, result="FAILED", exit_code=137)
IMAGE = {"image": "public.ecr.aws/polysync/x:latest", "vcpus": 1, "memory": 256}


def _client(sandbox: Sandbox, service: str) -> Any:
    return boto3.client(service, endpoint_url=sandbox.endpoint_url, region_name="us-east-1")  # type: ignore[call-overload]


@pytest.fixture
def batch_client(sandbox: Sandbox) -> BatchClient:
    platform = {"type": "aws_batch", "region": "us-east-1", "default_job_queue": "etl-standard"}
    provider = client_for("batch", _platform(platform), Sessions())
    assert isinstance(provider, BatchClient)
    return provider


@pytest.fixture
def glue_client(sandbox: Sandbox) -> GlueClient:
    provider = client_for(
        "glue", _platform({"type": "aws_glue", "region": "us-east-1"}), Sessions()
    )
    assert isinstance(provider, GlueClient)
    return provider


def _platform(data: dict[str, Any]) -> Any:
    from polysync_spec.manifest.models import BatchPlatform, GluePlatform

    model = BatchPlatform if data["type"] == "aws_batch" else GluePlatform
    return model.model_validate(data)


def wait_for(
    poll: Callable[[], StatusReport], until: Callable[[StatusReport], bool], timeout: float = 8.0
) -> StatusReport:
    deadline = time.monotonic() + timeout
    while True:
        report = poll()
        if until(report) or time.monotonic() > deadline:
            return report
        time.sleep(0.05)


def _submit_array(
    provider: BatchClient, sandbox: Sandbox, size: int, outcome: Outcome, definition: str
) -> str:
    sandbox.script("batch", definition, outcome)
    return provider.submit(
        RunRequest(
            "SubmitJob",
            {
                "jobName": "Polysync-array",
                "jobQueue": "etl-standard",
                "jobDefinition": definition,
                "arrayProperties": {"size": size},
            },
        )
    )


def _register(sandbox: Sandbox, name: str, **container: Any) -> None:
    _client(sandbox, "batch").register_job_definition(
        jobDefinitionName=name, type="container", containerProperties={**IMAGE, **container}
    )


# ------------------------------------------------------------------ array jobs: the sandbox


def test_an_array_parent_runs_no_container_its_children_do(
    batch_client: BatchClient, sandbox: Sandbox
) -> None:
    outcome = replace(FAST, children=((1, FAILS_137),))
    parent = _submit_array(batch_client, sandbox, 3, outcome, "thumbnails")
    aws = _client(sandbox, "batch")
    seen: list[str] = []
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline:
        [described] = aws.describe_jobs(jobs=[parent])["jobs"]
        if not seen or seen[-1] != described["status"]:
            seen.append(described["status"])
        if described["status"] in ("SUCCEEDED", "FAILED"):
            break
        time.sleep(0.03)
    # "The parent array job can enter a SUBMITTED, PENDING, FAILED, or SUCCEEDED status."
    # Polling may miss a short state on a loaded machine: what was seen is in that order,
    # ends FAILED, and never a container's state (RUNNABLE, STARTING, RUNNING).
    lifecycle = ["SUBMITTED", "PENDING", "FAILED"]
    assert seen[-1] == "FAILED" and set(seen) <= set(lifecycle)
    assert seen == sorted(seen, key=lifecycle.index)
    assert described["arrayProperties"]["size"] == 3
    assert described["arrayProperties"]["statusSummary"]["FAILED"] == 1
    assert described["arrayProperties"]["statusSummary"]["SUCCEEDED"] == 2
    assert described["attempts"] == []
    assert "logStreamName" not in described.get("container", {})
    assert "exitCode" not in described.get("container", {})

    children = aws.describe_jobs(jobs=[f"{parent}:{i}" for i in range(3)])["jobs"]
    by_index = {c["arrayProperties"]["index"]: c for c in children}
    assert [by_index[i]["container"]["exitCode"] for i in range(3)] == [0, 137, 0]
    streams = {c["container"]["logStreamName"] for c in children}
    assert len(streams) == 3 and all(s.startswith("thumbnails/default/") for s in streams)
    failed = aws.list_jobs(arrayJobId=parent, jobStatus="FAILED")["jobSummaryList"]
    assert [(j["jobId"], j["container"]["exitCode"]) for j in failed] == [(f"{parent}:1", 137)]
    assert len(aws.list_jobs(arrayJobId=parent, jobStatus="SUCCEEDED")["jobSummaryList"]) == 2
    # A queue's listing holds the parent, not its children.
    listed = aws.list_jobs(jobQueue="etl-standard", jobStatus="FAILED")["jobSummaryList"]
    assert [j["jobId"] for j in listed] == [parent]


def test_terminating_an_array_parent_cancels_its_children(
    batch_client: BatchClient, sandbox: Sandbox
) -> None:
    parent = _submit_array(
        batch_client, sandbox, 2, Outcome(stuck_in="RUNNABLE", starting_seconds=0.1), "thumbnails"
    )
    assert batch_client.cancel([parent]) == {parent: None}
    report = wait_for(lambda: batch_client.poll([parent])[parent], lambda r: r.status.terminal)
    assert (report.status, report.message) == (RunStatus.CANCELLED, "Cancelled by Polysync")


# ------------------------------------------------------------------ array jobs: the tool


def _failed_array(batch_client: BatchClient, sandbox: Sandbox) -> str:
    """An array of 4: child 0 exits 137, child 2 is terminated, 1 and 3 succeed."""
    outcome = replace(
        FAST,
        logs=("rendered", "done"),
        children=(
            (0, replace(FAILS_137, logs=("loading shard 0", "Killed"))),
            (2, Outcome(stuck_in="RUNNING", starting_seconds=0.1)),
        ),
    )
    parent = _submit_array(batch_client, sandbox, 4, outcome, "thumbnails")
    aws = _client(sandbox, "batch")
    deadline = time.monotonic() + 8
    while aws.describe_jobs(jobs=[f"{parent}:2"])["jobs"][0]["status"] != "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    aws.terminate_job(jobId=f"{parent}:2", reason="Terminated by operator")
    return parent


def test_a_failed_array_job_counts_its_children_and_names_the_first_failure(
    batch_client: BatchClient, sandbox: Sandbox
) -> None:
    parent = _failed_array(batch_client, sandbox)
    report = wait_for(lambda: batch_client.poll([parent])[parent], lambda r: r.status.terminal)
    assert report.status is RunStatus.FAILED
    assert report.message == (
        "1 of 4 child jobs failed, 2 succeeded, 1 cancelled; first failed: child 0 "
        "(Essential container in task exited (exit code 137))"
    )
    assert report.children is not None and report.children["FAILED"] == 2
    [listing] = sandbox.requests("ListJobs")
    assert listing.params["arrayJobId"] == parent and listing.params["jobStatus"] == "FAILED"


def test_a_failed_array_jobs_log_tail_is_its_first_failed_childs(
    batch_client: BatchClient, sandbox: Sandbox
) -> None:
    parent = _failed_array(batch_client, sandbox)
    wait_for(lambda: batch_client.poll([parent])[parent], lambda r: r.status.terminal)
    tail = batch_client.log_tail(parent, 10)
    assert tail.lines == ("loading shard 0", "Killed")
    assert tail.source is not None and tail.source.startswith("/aws/batch/job / thumbnails/")
    assert tail.source.endswith(f"(child {parent}:0)")
    assert batch_client.log_tail(f"{parent}:1", 10).lines == ("rendered", "done")


def test_a_succeeded_array_job_points_at_its_childrens_logs(
    batch_client: BatchClient, sandbox: Sandbox
) -> None:
    parent = _submit_array(batch_client, sandbox, 2, FAST, "thumbnails")
    wait_for(lambda: batch_client.poll([parent])[parent], lambda r: r.status.terminal)
    assert batch_client.log_tail(parent, 5).note == (
        "an array job starts no container; each of its 2 children logs on its own: "
        f"polysync logs {parent}:<index>"
    )


ARRAY_PROJECT = (
    SANDBOX_PLATFORMS
    + """\
jobs:
  thumbs: {platform: batch, external_id: thumbnails, array_size: 3}
run_plans:
  p:
    runs: [{job: thumbs}]
"""
)


def test_apply_shows_a_failed_array_jobs_counts_and_first_failed_childs_logs(
    sandbox: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    child = replace(FAILS_137, logs=("OutOfMemory: shard 1",))
    sandbox.script("batch", "thumbnails", replace(FAST, children=((1, child),)))
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, ARRAY_PROJECT)
    assert run(["apply", str(path), "--auto-approve", "--poll-interval", "0.05"]) == 3
    out = capsys.readouterr().out
    assert (
        "thumbs: Failed: 1 of 3 child jobs failed, 2 succeeded, 0 cancelled; first failed: "
        "child 1 (Essential container in task exited (exit code 137))"
    ) in out
    assert "thumbs: last 1 log line(s) from /aws/batch/job / thumbnails/default/" in out
    assert "    | OutOfMemory: shard 1" in out
    assert "never started a container" not in out
    # The child's own logs, by its id: its parent is in the ledger.
    assert run(["status"]) == 0
    apply_id = capsys.readouterr().out.split()[0]
    assert run(["status", apply_id]) == 0
    parent = capsys.readouterr().out.split()[2]
    assert run(["logs", f"{parent}:1"]) == 0
    assert capsys.readouterr().out == "OutOfMemory: shard 1\n"
    assert run(["logs", f"{parent}:0", "--follow", "--interval", "0.05"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "job started\njob finished\n"
    assert "(the child job ended Success)" in captured.err
    assert run(["logs", f"{parent}:7x"]) == 1
    assert f"run {parent}:7x is not in the ledger" in capsys.readouterr().err


# ------------------------------------------------------------------ Batch log configurations


@pytest.mark.parametrize(
    ("configuration", "group", "prefix"),
    [
        (None, "/aws/batch/job", "logged"),
        ({"logDriver": "awslogs"}, "/aws/batch/job", "logged"),
        (
            {"logDriver": "awslogs", "options": {"awslogs-group": "/teams/media"}},
            "/teams/media",
            "logged",
        ),
        (
            {"logDriver": "awslogs", "options": {"awslogs-stream-prefix": "render"}},
            "/aws/batch/job",
            "render",
        ),
        (
            {
                "logDriver": "awslogs",
                "options": {"awslogs-group": "/teams/media", "awslogs-stream-prefix": "render"},
            },
            "/teams/media",
            "render",
        ),
    ],
)
def test_batch_logs_are_read_where_the_definitions_log_configuration_puts_them(
    batch_client: BatchClient,
    sandbox: Sandbox,
    configuration: dict[str, Any] | None,
    group: str,
    prefix: str,
) -> None:
    _register(sandbox, "logged", **({"logConfiguration": configuration} if configuration else {}))
    sandbox.script("batch", "logged", replace(FAILS_137, logs=("line one", "line two")))
    job_id = batch_client.submit(
        RunRequest(
            "SubmitJob",
            {"jobName": "Polysync-x", "jobQueue": "etl-standard", "jobDefinition": "logged"},
        )
    )
    wait_for(lambda: batch_client.poll([job_id])[job_id], lambda r: r.status.terminal)
    [described] = _client(sandbox, "batch").describe_jobs(jobs=[job_id])["jobs"]
    stream = described["container"]["logStreamName"]
    assert stream.startswith(f"{prefix}/default/")
    assert described["attempts"][-1]["container"]["logStreamName"] == stream
    if configuration is not None:
        assert described["container"]["logConfiguration"] == configuration
    tail = batch_client.log_tail(job_id, 5)
    assert (tail.lines, tail.source) == (("line one", "line two"), f"{group} / {stream}")
    events = _client(sandbox, "logs").get_log_events(logGroupName=group, logStreamName=stream)
    assert [e["message"] for e in events["events"]] == ["line one", "line two"]


@pytest.mark.parametrize("driver", ["splunk", "fluentd", "json-file"])
def test_batch_logs_sent_elsewhere_than_cloudwatch_say_so(
    batch_client: BatchClient, sandbox: Sandbox, driver: str
) -> None:
    _register(sandbox, "elsewhere", logConfiguration={"logDriver": driver})
    sandbox.script("batch", "elsewhere", FAILS_137)
    job_id = batch_client.submit(
        RunRequest(
            "SubmitJob",
            {"jobName": "Polysync-x", "jobQueue": "etl-standard", "jobDefinition": "elsewhere"},
        )
    )
    wait_for(lambda: batch_client.poll([job_id])[job_id], lambda r: r.status.terminal)
    [described] = _client(sandbox, "batch").describe_jobs(jobs=[job_id])["jobs"]
    assert "logStreamName" not in described["container"]
    tail = batch_client.log_tail(job_id, 5)
    assert (tail.lines, tail.note) == ((), f"logs go to {driver}, not CloudWatch")


# ------------------------------------------------------------------ Batch messages


def test_a_job_stuck_in_runnable_carries_the_documented_remedy(
    batch_client: BatchClient, sandbox: Sandbox
) -> None:
    reason = "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT - The job resource requirement is higher"
    sandbox.script("batch", "cleanup", Outcome(stuck_in="RUNNABLE", message=reason))
    job_id = batch_client.submit(
        RunRequest(
            "SubmitJob",
            {"jobName": "Polysync-x", "jobQueue": "etl-standard", "jobDefinition": "cleanup"},
        )
    )
    report = wait_for(lambda: batch_client.poll([job_id])[job_id], lambda r: r.message is not None)
    assert (report.status, report.state) == (RunStatus.RUNNING, "RUNNABLE")
    assert report.message == (
        f"{reason}. Stuck in RUNNABLE: the compute environment can't satisfy resource "
        "requirements. Check vCPU quotas (EC2 / Fargate) and the environment's instance types."
    )


# ------------------------------------------------------------------ definition ARNs


def test_a_definition_arn_without_revision_runs_the_latest_active_revision(
    batch_client: BatchClient,
    sandbox: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    arn = "arn:aws:batch:us-east-1:123456789012:job-definition/nightly-export"
    aws = _client(sandbox, "batch")
    aws.deregister_job_definition(jobDefinition=f"{arn}:3")  # the latest ACTIVE is now 2
    text = SANDBOX_PLATFORMS + (
        f"jobs:\n  export: {{platform: batch, external_id: '{arn}', "
        "parameters: {input_path: x, partners: y}}\n"
        "run_plans:\n  p:\n    runs: [{job: export}]\n"
    )
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, text)
    assert run(["validate", str(path)]) == 0
    capsys.readouterr()
    assert run(["plan", str(path)]) == 0
    assert f"{arn} -> nightly-export:2" in capsys.readouterr().out
    assert [r.params["jobDefinitionName"] for r in sandbox.requests("DescribeJobDefinitions")] == [
        "nightly-export"
    ]
    sandbox.script("batch", "nightly-export", FAST)
    assert run(["apply", str(path), "--auto-approve", "--poll-interval", "0.05"]) == 0
    [submitted] = sandbox.requests("SubmitJob")
    assert submitted.params["jobDefinition"] == arn
    [job] = aws.list_jobs(jobQueue="etl-standard", jobStatus="SUCCEEDED")["jobSummaryList"]
    assert job["jobDefinition"] == f"{arn}:2"


# ------------------------------------------------------------------ Glue log group


def test_glue_answers_its_log_group_and_the_tool_reads_error_then_output(
    glue_client: GlueClient, sandbox: Sandbox
) -> None:
    sandbox.script("glue", "customers-etl", replace(FAST, result="FAILED", logs=("boom",)))
    run_id = glue_client.submit(RunRequest("StartJobRun", {"JobName": "customers-etl"}))
    wait_for(lambda: glue_client.poll([run_id])[run_id], lambda r: r.status.terminal)
    job_run_id = glue.split_run_id(run_id)[1]
    job_run = _client(sandbox, "glue").get_job_run(JobName="customers-etl", RunId=job_run_id)
    assert job_run["JobRun"]["LogGroupName"] == "/aws-glue/jobs"  # moto alone: "test/log"
    assert job_run["JobRun"]["CompletedOn"] > job_run["JobRun"]["StartedOn"]
    tail = glue_client.log_tail(run_id, 5)
    assert (tail.lines, tail.source) == (("boom",), f"/aws-glue/jobs/error / {job_run_id}")


# ------------------------------------------------------------------ Glue retries


def _retrying_job(sandbox: Sandbox, max_retries: int, outcome: Outcome) -> None:
    _client(sandbox, "glue").create_job(
        Name="retrying",
        Role="r",
        Command={"Name": "glueetl", "ScriptLocation": "s3://s/x.py"},
        MaxRetries=max_retries,
    )
    sandbox.script("glue", "retrying", outcome)


def _start(glue_client: GlueClient, marker: str = "m-1") -> str:
    from polysync_spec.providers.glue.rules import ATTEMPT_ARGUMENT

    return glue_client.submit(
        RunRequest("StartJobRun", {"JobName": "retrying", "Arguments": {ATTEMPT_ARGUMENT: marker}})
    )


def test_glue_retries_are_new_runs_and_the_failed_one_stays_failed(
    glue_client: GlueClient, sandbox: Sandbox
) -> None:
    _retrying_job(sandbox, 2, replace(FAST, result="FAILED", message="boom"))
    run_id = _start(glue_client)
    first = glue.split_run_id(run_id)[1]
    time.sleep(3 * (FAST.starting_seconds + FAST.running_seconds) + 0.2)
    runs = _client(sandbox, "glue").get_job_runs(JobName="retrying")["JobRuns"]
    assert [(r["Id"], r["Attempt"], r.get("PreviousRunId"), r["JobRunState"]) for r in runs] == [
        (f"{first}_attempt_2", 2, f"{first}_attempt_1", "FAILED"),
        (f"{first}_attempt_1", 1, first, "FAILED"),
        (first, 0, None, "FAILED"),
    ]
    assert len({tuple(sorted(r["Arguments"].items())) for r in runs}) == 1  # the same arguments
    assert runs[1]["StartedOn"] >= runs[2]["CompletedOn"]
    report = glue_client.poll([run_id])[run_id]
    assert (report.status, report.state, report.message) == (
        RunStatus.FAILED,
        "FAILED",
        "boom (retry attempt 2)",
    )
    # Retries are the run's continuation, never another submission.
    assert glue_client.find_submitted(_request("m-1"), time.time() - 60) == [run_id]


def _request(marker: str) -> RunRequest:
    from polysync_spec.providers.glue.rules import ATTEMPT_ARGUMENT

    return RunRequest(
        "StartJobRun", {"JobName": "retrying", "Arguments": {ATTEMPT_ARGUMENT: marker}}
    )


def test_a_glue_run_is_followed_to_the_retry_that_succeeds(
    glue_client: GlueClient, sandbox: Sandbox
) -> None:
    retry = replace(FAST, logs=("second time lucky",))
    _retrying_job(sandbox, 1, replace(FAST, result="FAILED", message="boom", retries=(retry,)))
    run_id = _start(glue_client)
    seen: list[StatusReport] = []

    def record() -> StatusReport:
        report = glue_client.poll([run_id])[run_id]
        if not seen or seen[-1] != report:
            seen.append(report)
        return report

    final = wait_for(record, lambda r: r.status.terminal)
    assert (final.status, final.state, final.message) == (
        RunStatus.SUCCESS,
        "SUCCEEDED",
        "retry attempt 1",
    )
    assert not any(r.status.terminal for r in seen[:-1])  # the failure was never final
    assert glue_client.log_tail(run_id, 5).lines == ("second time lucky",)


def test_a_failure_whose_retry_glue_has_yet_to_start_is_not_final(
    glue_client: GlueClient, sandbox: Sandbox
) -> None:
    outcome = replace(
        FAST, result="FAILED", message="boom", retry_after_seconds=1.0, retries=(FAST,)
    )
    _retrying_job(sandbox, 1, outcome)
    run_id = _start(glue_client)
    pending = wait_for(lambda: glue_client.poll([run_id])[run_id], lambda r: r.state == "FAILED")
    assert pending == StatusReport(
        RunStatus.STARTING, "FAILED", "boom; Glue retries it (retry attempt 1 of 1)"
    )
    final = wait_for(lambda: glue_client.poll([run_id])[run_id], lambda r: r.status.terminal)
    assert (final.status, final.message) == (RunStatus.SUCCESS, "retry attempt 1")


def test_a_glue_timeout_is_not_retried_and_carries_the_documented_remedy(
    glue_client: GlueClient, sandbox: Sandbox
) -> None:
    _retrying_job(sandbox, 3, replace(FAST, result="TIMEOUT", message="Job run timed out"))
    run_id = _start(glue_client)
    report = wait_for(lambda: glue_client.poll([run_id])[run_id], lambda r: r.status.terminal)
    assert (report.status, report.message) == (
        RunStatus.FAILED,
        "Job run timed out. Run reaches TIMEOUT — increase Glue Timeout (Minutes) on the "
        "Polysync job, or revisit worker type / DPU allocation in the Glue console.",
    )
    assert len(_client(sandbox, "glue").get_job_runs(JobName="retrying")["JobRuns"]) == 1


@pytest.mark.parametrize("polled", [True, False])
def test_cancelling_a_retried_glue_run_stops_its_latest_attempt(
    glue_client: GlueClient, sandbox: Sandbox, polled: bool
) -> None:
    """By the attempt last polled; or, from a client that never polled (`polysync cancel`
    in another process), after the run itself refuses the stop (it has FAILED)."""
    stuck = Outcome(stuck_in="RUNNING", starting_seconds=0.05)
    _retrying_job(sandbox, 1, replace(FAST, result="FAILED", retries=(stuck,)))
    run_id = _start(glue_client)
    wait_for(lambda: glue_client.poll([run_id])[run_id], lambda r: r.state == "RUNNING"
             and "retry" in (r.message or ""))  # fmt: skip
    fresh = client_for("glue", _platform({"type": "aws_glue", "region": "us-east-1"}), Sessions())
    provider = glue_client if polled else fresh
    assert provider.cancel([run_id]) == {run_id: None}
    first = glue.split_run_id(run_id)[1]
    stops = [r.params["JobRunIds"] for r in sandbox.requests("BatchStopJobRun")]
    retry = [f"{first}_attempt_1"]
    assert stops == ([retry] if polled else [[first], retry])
    report = wait_for(lambda: glue_client.poll([run_id])[run_id], lambda r: r.status.terminal)
    assert (report.status, report.message) == (RunStatus.CANCELLED, "retry attempt 1")


def test_apply_follows_a_glue_run_through_its_retry(
    sandbox: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _retrying_job(sandbox, 1, replace(FAST, result="FAILED", message="flaky", retries=(FAST,)))
    text = SANDBOX_PLATFORMS + (
        "jobs:\n  load: {platform: glue, external_id: retrying}\n"
        "run_plans:\n  p:\n    runs: [{job: load}]\n"
    )
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, text)
    assert run(["apply", str(path), "--auto-approve", "--poll-interval", "0.05"]) == 0
    out = capsys.readouterr().out
    assert "load: Success: retry attempt 1" in out
    assert len(sandbox.requests("StartJobRun")) == 1


def test_batch_spec_exit_code_prefers_the_container_then_the_last_attempt() -> None:
    job = {"status": "FAILED", "statusReason": "Essential container in task exited"}
    attempts = [{"container": {"exitCode": 1}}, {"container": {"exitCode": 137}}]
    assert batch.map_status({**job, "attempts": attempts}).message == (
        "Essential container in task exited (exit code 137)"
    )
    assert batch.map_status({**job, "container": {"exitCode": 2}}).message == (
        "Essential container in task exited (exit code 2)"
    )


def test_without_glue_get_job_a_started_retry_is_still_followed(
    glue_client: GlueClient, sandbox: Sandbox
) -> None:
    """MaxRetries cannot be read: nothing is waited for, but a retry found is followed."""
    from polysync_spec.sandbox.server import Fault

    _retrying_job(sandbox, 1, replace(FAST, result="FAILED", message="boom", retries=(FAST,)))
    sandbox.fail("GetJob", Fault("AccessDeniedException", "not authorized", 400))
    run_id = _start(glue_client)
    final = wait_for(lambda: glue_client.poll([run_id])[run_id], lambda r: r.status.terminal)
    assert (final.status, final.message) == (RunStatus.SUCCESS, "retry attempt 1")


def test_batch_log_location_of_every_configuration() -> None:
    def located(config: dict[str, Any] | None, **container: Any) -> batch.LogLocation:
        job = {"container": {**container, **({"logConfiguration": config} if config else {})}}
        return batch.log_location(job, "us-east-1")

    assert located(None, logStreamName="d/default/1") == batch.LogLocation(
        "/aws/batch/job", "d/default/1"
    )
    assert located({"logDriver": "awslogs", "options": {"awslogs-group": "/g"}}).group == "/g"
    assert located({"logDriver": "splunk"}).note == "logs go to splunk, not CloudWatch"
    elsewhere = located({"logDriver": "awslogs", "options": {"awslogs-region": "eu-west-1"}})
    assert elsewhere.note == "logs go to /aws/batch/job in eu-west-1; polysync reads us-east-1"
    latest = {
        "container": {"logStreamName": "old"},
        "attempts": [
            {"container": {"logStreamName": "a1"}},
            {"container": {"logStreamName": "a2"}},
        ],
    }
    assert batch.log_location(latest, "us-east-1").stream == "a2"


def test_batch_array_message_without_the_children_listing() -> None:
    summary = {"SUCCEEDED": 3, "FAILED": 2, "RUNNING": 0}
    report = batch.map_status({"status": "FAILED", "arrayProperties": {"statusSummary": summary}})
    assert report.message == "2 of 5 child jobs failed, 3 succeeded"
