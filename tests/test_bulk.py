"""Bulk calls: cancels in TerminateJobs calls of 50 jobs, with the single calls as the
fallback where the bulk call is missing or refused, and each job's failure its own."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, cast

import boto3
import pytest

from polysync_spec.manifest.models import BatchPlatform
from polysync_spec.providers.aws import Sessions
from polysync_spec.providers.base import RunStatus
from polysync_spec.providers.batch.client import BatchClient
from polysync_spec.providers.clients import client_for
from polysync_spec.sandbox.iam import ACCOUNT_ID
from polysync_spec.sandbox.lifecycle import Outcome
from polysync_spec.sandbox.server import Fault, Sandbox

BATCH = BatchPlatform(type="aws_batch", region="us-east-1", default_job_queue="etl-standard")
STUCK = Outcome(stuck_in="RUNNABLE")
Grant = Callable[[Mapping[str, Any]], tuple[str, str]]


def _batch(sandbox: Sandbox) -> BatchClient:
    del sandbox  # the client reaches it through AWS_ENDPOINT_URL
    provider = client_for("batch", BATCH, Sessions())
    assert isinstance(provider, BatchClient)
    return provider


def _submit_stuck(sandbox: Sandbox, count: int, **credentials: Any) -> list[str]:
    """`count` Batch jobs that stay RUNNABLE, submitted straight to the emulator."""
    sandbox.script("batch", "cleanup", STUCK)
    aws: Any = boto3.client(
        "batch", endpoint_url=sandbox.endpoint_url, region_name="us-east-1", **credentials
    )
    ids = [
        str(
            aws.submit_job(jobName=f"bulk-{i}", jobQueue="etl-standard", jobDefinition="cleanup")[
                "jobId"
            ]
        )
        for i in range(count)
    ]
    sandbox.log.clear()
    return ids


def _until_ended(provider: BatchClient, ids: list[str], timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        reports = provider.poll(ids)
        if all(r.status.terminal for r in reports.values()) or time.monotonic() > deadline:
            return reports
        time.sleep(0.1)


def test_cancelling_1000_batch_runs_takes_20_terminate_jobs_calls(sandbox: Sandbox) -> None:
    ids = _submit_stuck(sandbox, 1000)
    provider = _batch(sandbox)
    assert provider.cancel(ids) == dict.fromkeys(ids)
    calls = sandbox.requests("TerminateJobs")
    assert len(calls) == 20
    assert [job for call in calls for job in call.params["jobs"]] == ids
    assert {call.params["reason"] for call in calls} == {"Cancelled by Polysync"}
    assert sandbox.requests("TerminateJob") == []
    reports = _until_ended(provider, ids)
    assert {r.status for r in reports.values()} == {RunStatus.CANCELLED}


def test_a_bulk_call_of_51_jobs_is_refused_as_batch_refuses_it(sandbox: Sandbox) -> None:
    ids = _submit_stuck(sandbox, 2)
    aws: Any = boto3.client("batch", endpoint_url=sandbox.endpoint_url, region_name="us-east-1")
    with pytest.raises(aws.exceptions.ClientException, match="have length less than or equal"):
        aws.terminate_jobs(jobs=[ids[0]] * 51, reason="r")
    with pytest.raises(aws.exceptions.ClientException):
        aws.cancel_jobs(jobs=[ids[0]] * 51, reason="r")
    answer = aws.cancel_jobs(jobs=[ids[0], "no-such-job"], reason="r")
    # "Jobs that can't be found are treated as successfully processed."
    assert (answer["successful"], answer["errors"]) == ([ids[0], "no-such-job"], [])


def test_a_job_iam_refuses_is_its_own_refusal_and_the_others_are_cancelled(
    sandbox: Sandbox, as_iam_user: Grant
) -> None:
    ids = _submit_stuck(sandbox, 3)
    allowed = f"arn:aws:batch:us-east-1:{ACCOUNT_ID}:job/"
    as_iam_user(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": ["batch:DescribeJobs"], "Resource": "*"},
                {
                    "Effect": "Allow",
                    "Action": ["batch:TerminateJob"],
                    "Resource": [allowed + ids[0], allowed + ids[2]],
                },
            ],
        }
    )
    provider = _batch(sandbox)
    results = provider.cancel(ids)
    assert results[ids[0]] is None and results[ids[2]] is None
    refusal = results[ids[1]]
    assert refusal is not None and refusal.code == "AccessDenied" and not refusal.retryable
    assert f"needs batch:TerminateJob on arn:aws:batch:us-east-1:<account>:job/{ids[1]}" in str(
        refusal
    )
    assert len(sandbox.requests("TerminateJobs")) == 1
    assert sandbox.requests("TerminateJob") == []  # the single call would be refused too
    reports = provider.poll(ids)
    assert reports[ids[1]].state == "RUNNABLE"
    ended = _until_ended(provider, [ids[0], ids[2]])
    assert {r.status for r in ended.values()} == {RunStatus.CANCELLED}


@pytest.mark.parametrize(
    "fault",
    [
        Fault("UnknownOperationException", "Unknown operation", 404),
        Fault("AccessDeniedException", "explicit deny in a service control policy", 403),
    ],
    ids=["missing", "refused-as-a-whole"],
)
def test_without_the_bulk_call_each_job_gets_its_own_terminate_once_per_process(
    sandbox: Sandbox, fault: Fault, caplog: pytest.LogCaptureFixture
) -> None:
    ids = _submit_stuck(sandbox, 60)
    sandbox.fail("TerminateJobs", fault)
    provider = _batch(sandbox)
    with caplog.at_level(logging.WARNING):
        assert provider.cancel(ids[:30]) == dict.fromkeys(ids[:30])
        assert provider.cancel(ids[30:]) == dict.fromkeys(ids[30:])
    assert len(sandbox.requests("TerminateJobs")) == 1  # tried once, then never again
    assert [r.params["jobId"] for r in sandbox.requests("TerminateJob")] == ids
    warnings = [r.getMessage() for r in caplog.records if "TerminateJobs" in r.getMessage()]
    assert len(warnings) == 1
    assert "one TerminateJob call each" in warnings[0]
    reports = _until_ended(provider, ids)
    assert {r.status for r in reports.values()} == {RunStatus.CANCELLED}


def test_a_throttled_bulk_call_is_a_retryable_refusal_of_each_of_its_jobs(
    sandbox: Sandbox,
) -> None:
    ids = _submit_stuck(sandbox, 70)
    sandbox.fail("TerminateJobs", Fault("TooManyRequestsException", "Too Many Requests", 429))
    provider = _batch(sandbox)
    results = provider.cancel(ids)
    assert all(r is not None and r.retryable for r in results.values())
    assert sandbox.requests("TerminateJob") == []  # throttling is no reason to fall back
    sandbox.fail("TerminateJobs", None)
    sandbox.log.clear()
    assert provider.cancel(ids) == dict.fromkeys(ids)
    assert len(sandbox.requests("TerminateJobs")) == 2


# ------------------------------------------------------------------ discovery at the floor


def _register(sandbox: Sandbox, names: list[str]) -> None:
    aws: Any = boto3.client("batch", endpoint_url=sandbox.endpoint_url, region_name="us-east-1")
    for name in names:
        aws.register_job_definition(
            jobDefinitionName=name,
            type="container",
            containerProperties={"image": "x", "vcpus": 1, "memory": 128},
        )


def _resolve(sandbox: Sandbox, references: list[str]) -> tuple[dict[str, Any], int]:
    provider = _batch(sandbox)
    queues = provider.queues(["etl-standard"])
    sandbox.log.clear()
    found = provider.resolve_definitions(references, queues)
    return found, len(sandbox.requests("DescribeJobDefinitions"))


def test_five_mixed_references_are_answered_by_one_listing_page(sandbox: Sandbox) -> None:
    arn = f"arn:aws:batch:us-east-1:{ACCOUNT_ID}:job-definition/cleanup:1"
    references = ["nightly-export", "thumbnails", "nightly-export:1", "thumbnails:2", arn]
    found, calls = _resolve(sandbox, references)
    assert calls == 1  # the seed account's 6 ACTIVE revisions: one page
    assert {r: (f.resolved.reference if f.resolved else None) for r, f in found.items()} == {
        "nightly-export": "nightly-export:3",
        "thumbnails": "thumbnails:2",
        "nightly-export:1": "nightly-export:1",
        "thumbnails:2": "thumbnails:2",
        arn: "cleanup:1",
    }
    assert found["thumbnails:2"].pinned_status == "ACTIVE"


def test_a_pinned_revision_absent_from_the_listing_is_described_to_tell_why(
    sandbox: Sandbox,
) -> None:
    aws: Any = boto3.client("batch", endpoint_url=sandbox.endpoint_url, region_name="us-east-1")
    aws.deregister_job_definition(jobDefinition="nightly-export:1")
    references = ["nightly-export", "thumbnails", "nightly-export:1", "thumbnails:9"]
    found, calls = _resolve(sandbox, references)
    assert calls == 2  # the listing, then the two pinned revisions it lacks
    assert found["nightly-export:1"].pinned_status == "INACTIVE"
    assert found["thumbnails:9"].pinned_status is None
    assert found["nightly-export"].resolved is not None
    assert found["nightly-export"].resolved.revision == 3


def test_250_mixed_references_cost_the_listing_s_pages(sandbox: Sandbox) -> None:
    names = [f"def-{i:03}" for i in range(250)]
    _register(sandbox, names)
    prefix = f"arn:aws:batch:us-east-1:{ACCOUNT_ID}:job-definition/"
    references = [
        *names[:100],
        *(f"{n}:1" for n in names[100:200]),
        *(f"{prefix}{n}:1" for n in names[200:]),
    ]
    found, calls = _resolve(sandbox, references)
    assert calls == 3  # 256 ACTIVE revisions: ceil(256/100) pages, nothing more
    assert calls <= -(-len(references) // 100) + 1
    assert all(f.resolved is not None and f.resolved.revision == 1 for f in found.values())
    assert len(found) == 250


def test_a_long_listing_is_abandoned_after_as_many_pages_as_asking_costs(
    sandbox: Sandbox,
) -> None:
    _register(sandbox, [f"other-{i:03}" for i in range(400)])
    found, calls = _resolve(sandbox, ["nightly-export", "thumbnails"])
    assert calls == 4  # 2 pages of a 5-page listing, then one call per name: 2 x 2
    assert {r: f.resolved.reference for r, f in found.items() if f.resolved} == {
        "nightly-export": "nightly-export:3",
        "thumbnails": "thumbnails:2",
    }
    _, calls = _resolve(sandbox, ["thumbnails"])
    assert calls == 1  # one name: asked by name, never listed


class _Botocore143:
    """A Batch client as botocore before 1.44 builds it: no terminate_jobs method."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        if name in ("terminate_jobs", "cancel_jobs"):
            raise AttributeError(name)
        return getattr(self._client, name)


def test_an_sdk_without_terminate_jobs_terminates_one_by_one(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    ids = _submit_stuck(sandbox, 3)
    provider = _batch(sandbox)
    provider.cancel_client = cast(Any, _Botocore143(provider.cancel_client))
    with caplog.at_level(logging.WARNING):
        assert provider.cancel(ids) == dict.fromkeys(ids)
    assert sandbox.requests("TerminateJobs") == []
    assert [r.params["jobId"] for r in sandbox.requests("TerminateJob")] == ids
    assert any("predates 1.44" in r.getMessage() for r in caplog.records)
