"""The sandbox's IAM mode: calls authorised against the caller's policies, with the
actions and resources AWS uses; and the facts about moto's own authorisation that made
the sandbox authorise Glue, Batch and CloudWatch Logs itself."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from polysync_spec.sandbox.server import Sandbox
from tests.iam_policies import allowing

Grant = Callable[[Mapping[str, Any]], tuple[str, str]]
ACCOUNT = "123456789012"


def _client(sandbox: Sandbox, service: str, key: tuple[str, str] = ("sandbox", "sandbox")) -> Any:
    return boto3.client(
        service,  # type: ignore[call-overload]
        endpoint_url=sandbox.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id=key[0],
        aws_secret_access_key=key[1],
    )


def _denied(call: Callable[[], Any]) -> str:
    """The message of the AccessDeniedException `call` raises."""
    with pytest.raises(ClientError) as raised:
        call()
    error = raised.value.response["Error"]
    assert error["Code"] == "AccessDeniedException", error
    return str(error["Message"])


def test_glue_actions_are_named_as_iam_names_them(sandbox: Sandbox, as_iam_user: Grant) -> None:
    glue = _client(sandbox, "glue", as_iam_user(allowing("glue:GetJob")))
    assert glue.get_job(JobName="orders-etl")["Job"]["Name"] == "orders-etl"
    # glue:GetJob allows neither BatchGetJobs nor GetJobs: each is a permission of its own.
    message = _denied(lambda: glue.batch_get_jobs(JobNames=["orders-etl"]))
    assert message == (
        f"User: arn:aws:iam::{ACCOUNT}:user/polysync-0 is not authorized to perform: "
        f"glue:BatchGetJobs on resource: arn:aws:glue:us-east-1:{ACCOUNT}:job/orders-etl "
        "because no identity-based policy allows the glue:BatchGetJobs action"
    )
    assert "glue:GetJobs because" in _denied(glue.get_jobs)
    assert "glue:GetJobRuns on resource" in _denied(lambda: glue.get_job_runs(JobName="x"))


def test_glue_job_actions_are_authorised_against_the_job_arn(
    sandbox: Sandbox, as_iam_user: Grant
) -> None:
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["glue:BatchGetJobs", "glue:StartJobRun"],
                "Resource": f"arn:aws:glue:us-east-1:{ACCOUNT}:job/orders-etl",
            }
        ],
    }
    glue = _client(sandbox, "glue", as_iam_user(policy))
    assert glue.batch_get_jobs(JobNames=["orders-etl"])["Jobs"]
    assert glue.start_job_run(JobName="orders-etl")["JobRunId"]
    assert "job/customers-etl" in _denied(lambda: glue.start_job_run(JobName="customers-etl"))
    # BatchGetJobs is authorised against every job it names.
    assert "job/customers-etl" in _denied(
        lambda: glue.batch_get_jobs(JobNames=["orders-etl", "customers-etl"])
    )


def test_submit_job_needs_the_queue_and_the_definition_revision(
    sandbox: Sandbox, as_iam_user: Grant
) -> None:
    def submit_on(*resources: str) -> Callable[[], Any]:
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "batch:SubmitJob", "Resource": list(resources)}
            ],
        }
        batch = _client(sandbox, "batch", as_iam_user(policy))
        return lambda: batch.submit_job(
            jobName="j", jobQueue="etl-standard", jobDefinition="cleanup"
        )

    prefix = f"arn:aws:batch:us-east-1:{ACCOUNT}"
    queue = f"{prefix}:job-queue/etl-standard"
    # The definition is authorised with its revision: the bare name does not match it.
    message = _denied(submit_on(queue, f"{prefix}:job-definition/cleanup"))
    assert f"batch:SubmitJob on resource: {prefix}:job-definition/cleanup:1" in message
    assert "job-queue/etl-standard" in _denied(submit_on(f"{prefix}:job-definition/cleanup:*"))
    assert submit_on(queue, f"{prefix}:job-definition/cleanup:*")()["jobId"]


def test_batch_actions_without_resource_level_permissions_need_any_resource(
    sandbox: Sandbox, as_iam_user: Grant
) -> None:
    scoped = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["batch:DescribeJobs", "batch:DescribeJobQueues"],
                "Resource": f"arn:aws:batch:us-east-1:{ACCOUNT}:job/*",
            },
            {"Effect": "Allow", "Action": "batch:DescribeJobDefinitions", "Resource": "*"},
        ],
    }
    batch = _client(sandbox, "batch", as_iam_user(scoped))
    assert "batch:DescribeJobQueues because" in _denied(batch.describe_job_queues)
    assert batch.describe_job_definitions()["jobDefinitions"]


def test_get_log_events_is_authorised_against_the_log_stream(
    sandbox: Sandbox, as_iam_user: Grant
) -> None:
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "logs:GetLogEvents",
                "Resource": f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/batch/job:*",
            }
        ],
    }
    logs = _client(sandbox, "logs", as_iam_user(policy))
    with pytest.raises(ClientError, match="ResourceNotFoundException"):  # allowed, then absent
        logs.get_log_events(logGroupName="/aws/batch/job", logStreamName="s")
    message = _denied(
        lambda: logs.get_log_events(logGroupName="/aws-glue/jobs/error", logStreamName="jr_1")
    )
    assert "log-group:/aws-glue/jobs/error:log-stream:jr_1" in message


def test_keys_of_no_iam_user_and_bad_signatures_are_refused(
    sandbox: Sandbox, as_iam_user: Grant
) -> None:
    key = as_iam_user(allowing("glue:GetJobs"))
    with pytest.raises(ClientError, match="UnrecognizedClientException"):
        _client(sandbox, "glue").get_jobs()
    with pytest.raises(ClientError, match="InvalidSignatureException"):
        _client(sandbox, "glue", (key[0], "not-the-secret")).get_jobs()
    assert _client(sandbox, "glue", key).get_jobs()["Jobs"]


def test_moto_enforces_the_other_services_itself(sandbox: Sandbox, as_iam_user: Grant) -> None:
    key = as_iam_user(allowing("glue:GetJobs"))
    with pytest.raises(ClientError, match="AccessDenied"):
        _client(sandbox, "s3", key).list_buckets()
    # sts:GetCallerIdentity needs no permission, on AWS as in moto.
    identity = _client(sandbox, "sts", key).get_caller_identity()
    assert identity["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/polysync-0"


def test_reset_turns_enforcement_off(sandbox: Sandbox, as_iam_user: Grant) -> None:
    as_iam_user(allowing("glue:GetJobs"))
    sandbox.reset()
    assert _client(sandbox, "batch").describe_job_queues()["jobQueues"] == []


# ---------------------------------------------------------------- moto's own authorisation


def test_moto_names_batch_actions_after_their_path_in_lower_case() -> None:
    """Why the sandbox authorises Batch itself: with moto's action, no policy naming
    batch:SubmitJob would ever allow a submission (IAM matches the name as written)."""
    from moto.batch.responses import BatchResponse

    response = BatchResponse()
    response.uri = "http://localhost/v1/submitjob"
    assert response._get_action() == "submitjob"


def test_moto_authorises_every_call_against_any_resource_only() -> None:
    """Why the sandbox authorises Glue, Batch and CloudWatch Logs itself: moto checks a
    statement's Resource against "*", so a statement scoped to ARNs allows nothing."""
    import json

    from moto.iam.access_control import IAMPolicy, PermissionResult

    scoped = IAMPolicy(
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "glue:StartJobRun",
                        "Resource": f"arn:aws:glue:us-east-1:{ACCOUNT}:job/*",
                    }
                ],
            }
        )
    )
    assert scoped.is_action_permitted("glue:StartJobRun", "*") is PermissionResult.NEUTRAL
    job = f"arn:aws:glue:us-east-1:{ACCOUNT}:job/orders-etl"
    assert scoped.is_action_permitted("glue:StartJobRun", job) is PermissionResult.PERMITTED
