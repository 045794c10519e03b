"""The provider rules of the product documents, as pure functions: status tables,
cancellation detection, composite run ids, console URLs, and the requests runs make.
(Tests against the emulator, over HTTP, come with the sandbox.)"""

from __future__ import annotations

import uuid
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from polysync_spec import load_project
from polysync_spec.manifest import Project
from polysync_spec.manifest.models import BatchJob, GlueJob, Run, RunCompute
from polysync_spec.providers.base import ATTEMPT_SLOT, RunRequest, RunStatus, Tier
from polysync_spec.providers.batch import spec as batch
from polysync_spec.providers.batch.client import BatchClient
from polysync_spec.providers.glue import spec as glue
from tests.conftest import EXAMPLES

SECRET = "CANARY-s3cr3t-91"


@pytest.fixture(scope="module")
def project() -> Project:
    loaded = load_project(EXAMPLES, env={"ORDERS_API_TOKEN": SECRET})
    assert loaded.ok, loaded.diagnostics
    return loaded


def _glue(project: Project, name: str) -> GlueJob:
    job = project.jobs[name]
    assert isinstance(job, GlueJob)
    return job


def _batch(project: Project, name: str) -> BatchJob:
    job = project.jobs[name]
    assert isinstance(job, BatchJob)
    return job


# ------------------------------------------------------------------ status tables


@pytest.mark.parametrize(
    ("state", "status"),
    [
        ("STARTING", RunStatus.STARTING),
        ("WAITING", RunStatus.STARTING),
        ("RUNNING", RunStatus.RUNNING),
        ("STOPPING", RunStatus.RUNNING),
        ("SUCCEEDED", RunStatus.SUCCESS),
        ("STOPPED", RunStatus.CANCELLED),
        ("FAILED", RunStatus.FAILED),
        ("TIMEOUT", RunStatus.FAILED),
        ("ERROR", RunStatus.FAILED),
        ("EXPIRED", RunStatus.FAILED),
        ("SOMETHING_NEW", RunStatus.UNKNOWN),
        (None, RunStatus.UNKNOWN),
    ],
)
def test_glue_status_table(state: str | None, status: RunStatus) -> None:
    report = glue.map_status({"JobRunState": state, "ErrorMessage": "boom"} if state else {})
    assert report.status is status
    assert report.state == state


def test_glue_failure_message_is_the_error_message() -> None:
    report = glue.map_status({"JobRunState": "FAILED", "ErrorMessage": "NameError: x"})
    assert report.message == "NameError: x"
    assert glue.map_status({"JobRunState": "EXPIRED"}).message


@pytest.mark.parametrize("state", ["SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING"])
def test_batch_in_flight_states_are_running(state: str) -> None:
    assert batch.map_status({"status": state}).status is RunStatus.RUNNING


@pytest.mark.parametrize(
    "reason",
    [
        "Cancelled by user",
        "Canceled by user",
        "Terminated by operator",
        "Job terminated",
        "Cancelled by Polysync",
    ],
)
def test_batch_failed_with_a_cancellation_reason_is_cancelled(reason: str) -> None:
    report = batch.map_status({"status": "FAILED", "statusReason": reason})
    assert report.status is RunStatus.CANCELLED
    assert report.message == reason


@pytest.mark.parametrize("flag", ["isCancelled", "isTerminated"])
def test_batch_cancellation_flags_count_too(flag: str) -> None:
    job = {"status": "FAILED", "statusReason": "Essential container in task exited", flag: True}
    assert batch.map_status(job).status is RunStatus.CANCELLED


@pytest.mark.parametrize(
    "reason",
    [
        "Host EC2 (instance i-0abc123) terminated.",
        "CannotPullContainerError: context canceled",
        "job was cancelled by its own script",
    ],
)
def test_batch_failures_that_mention_ending_are_failures_not_cancellations(reason: str) -> None:
    """The markers are matched as written (case-sensitive): a host termination or a
    "context canceled" is a failure, so on_failure and `after: {on: failed}` fire."""
    assert batch.map_status({"status": "FAILED", "statusReason": reason}).status is RunStatus.FAILED


def test_batch_cancellation_flags_decide_when_present() -> None:
    """Flags present and false: a failure, whatever the reason's words."""
    job = {
        "status": "FAILED",
        "statusReason": "Terminated",
        "isCancelled": False,
        "isTerminated": False,
    }
    assert batch.map_status(job).status is RunStatus.FAILED


def test_batch_other_failures_are_failed_with_reason_or_exit_code() -> None:
    failed = batch.map_status(
        {"status": "FAILED", "statusReason": "Essential container in task exited"}
    )
    assert (failed.status, failed.message) == (
        RunStatus.FAILED,
        "Essential container in task exited",
    )
    by_code = batch.map_status({"status": "FAILED", "container": {"exitCode": 137}})
    assert (by_code.status, by_code.message) == (RunStatus.FAILED, "Container exit code: 137")
    by_attempt = batch.map_status(
        {"status": "FAILED", "attempts": [{"container": {"exitCode": 2}}]}
    )
    assert by_attempt.message == "Container exit code: 2"


@pytest.mark.parametrize(
    ("job", "status"),
    [
        ({"status": "SUCCEEDED"}, RunStatus.SUCCESS),
        ({"status": "WEIRD"}, RunStatus.UNKNOWN),
        ({}, RunStatus.UNKNOWN),
    ],
)
def test_batch_success_and_unknown(job: dict[str, Any], status: RunStatus) -> None:
    assert batch.map_status(job).status is status


def test_batch_success_has_no_exit_code_message() -> None:
    report = batch.map_status({"status": "SUCCEEDED", "container": {"exitCode": 0}})
    assert report.message is None


def test_terminal_statuses() -> None:
    assert {s for s in RunStatus if s.terminal} == {
        RunStatus.SUCCESS,
        RunStatus.FAILED,
        RunStatus.CANCELLED,
    }


# ------------------------------------------------------------------ ids and URLs


def test_glue_composite_run_id_round_trips_even_with_slashes_in_the_job_name() -> None:
    run_id = glue.composite_run_id("team/orders-etl", "jr_0123abcd")
    assert run_id == "team/orders-etl/jr_0123abcd"
    assert glue.split_run_id(run_id) == ("team/orders-etl", "jr_0123abcd")
    with pytest.raises(ValueError, match="JOB_NAME/JOB_RUN_ID"):
        glue.split_run_id("jr_only")


def test_glue_monitor_url_is_the_documented_one() -> None:
    assert glue.monitor_url("ap-southeast-2", "orders-etl", "jr_42") == (
        "https://ap-southeast-2.console.aws.amazon.com/gluestudio/home?region=ap-southeast-2"
        "#/job/orders-etl/run/jr_42"
    )


def test_batch_monitor_url_is_the_documented_one() -> None:
    job_id = "5e9a1c2f-0b3d-4e6a-9f11-2c3d4e5f6a7b"
    assert batch.monitor_url("us-east-1", job_id) == (
        f"https://us-east-1.console.aws.amazon.com/batch/home?region=us-east-1#jobs/detail/{job_id}"
    )


def test_batch_job_names_are_polysync_guid_within_limits() -> None:
    name = batch.job_name(str(uuid.uuid4()))
    assert name.startswith("Polysync-") and len(name) == 45 and len(name) <= 128
    assert name[0].isalnum() and all(c.isalnum() or c in "-_" for c in name)
    assert batch.job_name(str(uuid.uuid4())) != name


def test_plans_hold_the_attempt_slot_which_no_batch_job_name_may_contain() -> None:
    """A plan never fixes the job name: each attempt fills it. An unfilled slot would be
    refused by Batch's name rules, so it can never name a run."""
    slotted = batch.job_name()
    assert slotted == f"Polysync-{ATTEMPT_SLOT}"
    assert not all(c.isalnum() or c in "-_" for c in slotted)


# ------------------------------------------------------------------ Glue requests


def test_glue_request_for_the_example_job(project: Project) -> None:
    request = glue.build_request(_glue(project, "orders_etl"), project.platforms["glue_main"])
    assert request.api == "StartJobRun"
    assert request.payload == {
        "JobName": "orders-etl",
        "Arguments": {
            "--source_path": "s3://raw/orders/",
            "--target_table": "lake.orders",
            "--row_limit": "1000",
            "--dry_run": "false",
            "--api_token": SECRET,
            "--polysync-attempt-id": ATTEMPT_SLOT,
            "--glue-version": "4.0",
        },
        "WorkerType": "G.2X",
        "NumberOfWorkers": 10,
        "Timeout": 120,
    }
    assert "MaxRetries" not in request.payload  # informational only
    assert request.compute["max_retries"].value == 1
    assert request.redacted()["Arguments"]["--api_token"] == "***"
    assert SECRET not in repr(request.redacted())


def test_glue_keys_keep_an_existing_prefix_and_json_values_are_compact(project: Project) -> None:
    request = glue.build_request(_glue(project, "customers_etl"), project.platforms["glue_main"])
    assert request.payload["Arguments"] == {
        "--source_path": "s3://raw/customers/",
        "--full_refresh": "false",
        "--columns": '["id","name","segment"]',
        "--polysync-attempt-id": ATTEMPT_SLOT,
    }


@pytest.mark.parametrize(
    ("run_workers", "job_workers", "platform_workers", "definition_workers", "sent", "tier"),
    [
        (20, 10, 5, 2, 20, Tier.RUN),
        (None, 10, 5, 2, 10, Tier.JOB),
        (None, None, 5, 2, 5, Tier.PLATFORM),
        (None, None, None, 2, None, Tier.DEFINITION),
    ],
)
def test_glue_compute_precedence_run_job_platform_definition(
    project: Project,
    run_workers: int | None,
    job_workers: int | None,
    platform_workers: int | None,
    definition_workers: int | None,
    sent: int | None,
    tier: Tier,
) -> None:
    base = _glue(project, "orders_etl")
    assert base.compute is not None
    job = base.model_copy(
        update={"compute": base.compute.model_copy(update={"number_of_workers": job_workers})}
    )
    glue_main = project.platforms["glue_main"]
    platform = glue_main.model_copy(
        update={
            "defaults": glue_main.defaults.model_copy(
                update={"number_of_workers": platform_workers}
            )
        }
    )
    run = Run(job="orders_etl", compute=RunCompute(number_of_workers=run_workers))
    definition = glue.GlueDefinition(name="orders-etl", number_of_workers=definition_workers)
    request = glue.build_request(job, platform, run, definition)
    assert request.payload.get("NumberOfWorkers") == sent
    assert request.compute["number_of_workers"].tier is tier


def test_glue_definition_values_are_shown_but_not_sent(project: Project) -> None:
    job = _glue(project, "orders_quality")  # no compute of its own
    platform = project.platforms["glue_main"].model_copy(update={"defaults": None})
    definition = glue.GlueDefinition(
        name="orders-quality", worker_type="G.1X", glue_version="3.0", timeout_minutes=30
    )
    request = glue.build_request(job, platform, None, definition)
    assert set(request.payload) == {"JobName", "Arguments"}
    assert "--glue-version" not in request.payload["Arguments"]
    assert {k: (v.value, v.tier) for k, v in request.compute.items()} == {
        "worker_type": ("G.1X", Tier.DEFINITION),
        "glue_version": ("3.0", Tier.DEFINITION),
        "timeout_minutes": (30, Tier.DEFINITION),
    }


def test_glue_run_parameters_override_and_internal_or_output_ones_are_never_sent(
    project: Project,
) -> None:
    run = project.run_plans["nightly"].runs[0]
    request = glue.build_request(_glue(project, "orders_etl"), project.platforms["glue_main"], run)
    arguments = request.payload["Arguments"]
    assert arguments["--source_path"] == "s3://raw/orders/2026-01-01/"
    assert "--_owner" not in arguments and "_owner" not in arguments
    assert request.payload["NumberOfWorkers"] == 10  # ${var.orders_workers} at the run tier
    assert request.compute["number_of_workers"].tier is Tier.RUN


def test_glue_definition_from_the_api_shape() -> None:
    definition = glue.GlueDefinition.from_api(
        {
            "Name": "orders-etl",
            "WorkerType": "G.1X",
            "NumberOfWorkers": 5,
            "GlueVersion": "4.0",
            "Timeout": 60,
            "MaxRetries": 2,
            "ExecutionProperty": {"MaxConcurrentRuns": 3},
            "Command": {"Name": "glueetl"},
            "DefaultArguments": {"--source_path": "s3://x/"},
        }
    )
    assert (
        definition.worker_type,
        definition.number_of_workers,
        definition.max_concurrent_runs,
    ) == ("G.1X", 5, 3)
    assert definition.default_arguments == {"--source_path": "s3://x/"}


# ------------------------------------------------------------------ Batch requests


def test_batch_request_for_the_example_job(project: Project) -> None:
    request = batch.build_request(
        _batch(project, "nightly_export"), project.platforms["batch_main"]
    )
    assert request.api == "SubmitJob"
    assert request.payload == {
        "jobName": f"Polysync-{ATTEMPT_SLOT}",
        "jobQueue": "etl-high",
        "jobDefinition": "nightly-export:3",
        "parameters": {"input_path": "s3://exports/in/", "partners": '["acme","globex"]'},
        "retryStrategy": {"attempts": 3},
        "timeout": {"attemptDurationSeconds": 3600},
        "tags": {"team": "analytics", "cost-center": "4711"},
        "propagateTags": True,
    }
    assert request.compute["job_queue"].tier is Tier.JOB


def test_batch_fair_share_array_job(project: Project) -> None:
    run = project.run_plans["backfill"].runs[2]
    request = batch.build_request(
        _batch(project, "thumbnails"), project.platforms["batch_main"], run
    )
    assert request.payload["shareIdentifier"] == "media"
    assert request.payload["schedulingPriorityOverride"] == 10
    assert request.payload["arrayProperties"] == {"size": 50}  # the run's override
    assert request.payload["retryStrategy"] == {"attempts": 2}
    assert request.compute["array_size"].tier is Tier.RUN


def test_batch_secret_parameters_are_redacted(project: Project) -> None:
    job = _batch(project, "cleanup")
    secret = job.parameters["older_than_days"].model_copy(update={"value": SECRET, "secret": True})
    job = job.model_copy(update={"parameters": {**job.parameters, "older_than_days": secret}})
    request = batch.build_request(job, project.platforms["batch_main"])
    assert request.payload["parameters"]["older_than_days"] == SECRET
    assert request.redacted()["parameters"]["older_than_days"] == "***"
    assert SECRET not in repr(request.redacted())


def test_batch_queue_resolution_job_then_platform_then_error(project: Project) -> None:
    platform = project.platforms["batch_main"]
    cleanup = _batch(project, "cleanup")
    assert batch.build_request(cleanup, platform).payload["jobQueue"] == "etl-standard"
    assert batch.build_request(cleanup, platform).compute["job_queue"].tier is Tier.PLATFORM
    run = Run(job="cleanup", compute=RunCompute(job_queue="etl-spot"))
    assert batch.build_request(cleanup, platform, run).payload["jobQueue"] == "etl-spot"
    with pytest.raises(batch.NoQueueError, match="no queue"):
        batch.build_request(cleanup, platform.model_copy(update={"default_job_queue": None}))


def _revision(name: str, revision: int) -> dict[str, Any]:
    return {
        "jobDefinitionName": name,
        "revision": revision,
        "jobDefinitionArn": f"arn:aws:batch:us-east-1:123456789012:job-definition/{name}:{revision}",
        "type": "container",
        "status": "ACTIVE",
    }


def test_batch_revisions_follow_a_next_token_with_nothing_but_the_list() -> None:
    """The sandbox never pages a list of at most 100 revisions, AWS might: the token is
    followed, and the request still carries no maxResults."""
    client = boto3.client("batch", region_name="us-east-1")
    provider = BatchClient(client, "us-east-1")
    wanted = ["export:1", "export:2"]
    with Stubber(client) as stub:
        stub.add_response(
            "describe_job_definitions",
            {"jobDefinitions": [_revision("export", 1)], "nextToken": "page-2"},
            {"jobDefinitions": wanted},
        )
        stub.add_response(
            "describe_job_definitions",
            {"jobDefinitions": [_revision("export", 2)]},
            {"jobDefinitions": wanted, "nextToken": "page-2"},
        )
        found = provider.revisions(wanted)
        stub.assert_no_pending_responses()
    assert {d.reference for d in found.values()} == set(wanted)


def test_a_secret_in_a_holder_that_is_not_a_mapping_masks_the_whole_holder() -> None:
    """A platform may send its parameters as one JSON string (Step Functions' `input`):
    the secret inside is never shown, whatever the holder's form."""
    request = RunRequest(
        "StartExecution",
        {"name": "run-1", "input": '{"token": "s3cr3t"}'},
        secret_fields=frozenset({("input", "token")}),
    )
    assert request.redacted() == {"name": "run-1", "input": "***"}
    assert "s3cr3t" not in str(request.redacted())
