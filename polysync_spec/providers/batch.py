"""Everything AWS Batch-specific, exactly as the product document specifies it.

Status table with cancellation detection, TerminateJob reason, console URL and SubmitJob
request: see shared/seeds/003_*.txt (the Batch job type).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from polysync_spec.errors import PolysyncError
from polysync_spec.manifest.models import BatchJob, BatchPlatform, Run
from polysync_spec.providers.base import (
    Resolved,
    RunRequest,
    RunStatus,
    StatusReport,
    Tier,
    first_set,
    sent_parameters,
)
from polysync_spec.values import aws_string

SUBMIT_JOB = "SubmitJob"
CANCEL_REASON = "Cancelled by Polysync"
JOB_NAME_PREFIX = "Polysync-"
# A StatusReason holding any of these means the job was cancelled, not failed.
CANCELLATION_MARKERS = ("Cancelled", "Canceled", "Terminated", "Job terminated", CANCEL_REASON)
IN_FLIGHT = frozenset({"SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING"})


class NoQueueError(PolysyncError):
    """Neither the run, the job nor the platform names a job queue."""


def job_name(token: uuid.UUID | None = None) -> str:
    """`Polysync-<guid>`: 45 characters, within Batch's 128 and its character rules.

    The engine passes a token derived from the apply and the run, so that a crash between
    submit and record can find the job again by name.
    """
    return f"{JOB_NAME_PREFIX}{token or uuid.uuid4()}"


def monitor_url(region: str, job_id: str) -> str:
    """The AWS Batch console page of one job."""
    return (
        f"https://{region}.console.aws.amazon.com/batch/home?region={region}"
        f"#jobs/detail/{quote(job_id, safe='')}"
    )


def is_cancellation(job: Mapping[str, Any]) -> bool:
    """A FAILED job that was cancelled or terminated rather than failing on its own."""
    if job.get("isCancelled") or job.get("isTerminated"):
        return True
    reason = job.get("statusReason") or ""
    lowered = reason.lower()
    return any(marker.lower() in lowered for marker in CANCELLATION_MARKERS)


def map_status(job: Mapping[str, Any] | None) -> StatusReport:
    """A job from DescribeJobs as a Polysync status; the message is the StatusReason or,
    without one, the container's exit code."""
    job = job or {}
    state = job.get("status")
    if not isinstance(state, str):
        return StatusReport(RunStatus.UNKNOWN, None, None)
    if state in IN_FLIGHT:
        status = RunStatus.RUNNING
    elif state == "SUCCEEDED":
        status = RunStatus.SUCCESS
    elif state == "FAILED":
        status = RunStatus.CANCELLED if is_cancellation(job) else RunStatus.FAILED
    else:
        status = RunStatus.UNKNOWN
    return StatusReport(status, state, _message(job))


def _message(job: Mapping[str, Any]) -> str | None:
    reason = job.get("statusReason")
    if reason:
        return str(reason)
    exit_code = (job.get("container") or {}).get("exitCode")
    if exit_code is None:
        attempts = job.get("attempts") or []
        if attempts:
            exit_code = (attempts[-1].get("container") or {}).get("exitCode")
    return f"Container exit code: {exit_code}" if exit_code is not None else None


def build_request(
    job: BatchJob,
    platform: BatchPlatform,
    run: Run | None = None,
    *,
    name: str | None = None,
) -> RunRequest:
    """The SubmitJob call for one run. Run-level compute overrides the job's attributes;
    the queue falls back to the platform's default_job_queue."""
    rc = run.compute if run is not None else None
    queue = first_set(
        (getattr(rc, "job_queue", None), Tier.RUN),
        (job.job_queue, Tier.JOB),
        (platform.default_job_queue, Tier.PLATFORM),
    )
    if queue is None:
        raise NoQueueError(
            f"Batch job {job.external_id!r} has no queue: set job_queue on the job or "
            "default_job_queue on its platform"
        )
    compute: dict[str, Resolved] = {"job_queue": queue}
    for key in (
        "share_identifier",
        "scheduling_priority_override",
        "attempt_duration_seconds",
        "retry_attempts",
        "array_size",
    ):
        resolved = first_set((getattr(rc, key, None), Tier.RUN), (getattr(job, key), Tier.JOB))
        if resolved is not None:
            compute[key] = resolved

    payload: dict[str, Any] = {
        "jobName": name or job_name(),
        "jobQueue": queue.value,
        "jobDefinition": job.external_id,
    }
    values, secret = sent_parameters(job, run)
    parameters = {name: aws_string(value) for name, value in values.items()}
    if parameters:
        payload["parameters"] = parameters
    if "share_identifier" in compute:
        payload["shareIdentifier"] = compute["share_identifier"].value
    if "scheduling_priority_override" in compute:
        payload["schedulingPriorityOverride"] = compute["scheduling_priority_override"].value
    if "array_size" in compute:
        payload["arrayProperties"] = {"size": compute["array_size"].value}
    if job.depends_on:
        payload["dependsOn"] = [
            {"jobId": d.job_id, **({"type": d.type} if d.type else {})} for d in job.depends_on
        ]
    if "retry_attempts" in compute:
        payload["retryStrategy"] = {"attempts": compute["retry_attempts"].value}
    if "attempt_duration_seconds" in compute:
        payload["timeout"] = {"attemptDurationSeconds": compute["attempt_duration_seconds"].value}
    if job.tags:
        payload["tags"] = dict(job.tags)
    if job.propagate_tags is not None:
        payload["propagateTags"] = job.propagate_tags
    secrets = frozenset(("parameters", key) for key in secret)
    return RunRequest(SUBMIT_JOB, payload, compute, secrets)
