"""AWS Batch, the pure part: statuses, console URL, the SubmitJob request, where a job's
logs are, and what discovery finds (definitions, queues).

Status table with cancellation detection, TerminateJob reason, console URL, SubmitJob
request and troubleshooting: see shared/seeds/003_*.txt (the Batch job type).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from polysync_spec.errors import PolysyncError
from polysync_spec.manifest.models import BatchJob, BatchPlatform, Run
from polysync_spec.providers.base import (
    ATTEMPT_SLOT,
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
# The awslogs driver's log group when the definition's logConfiguration names none.
BATCH_LOG_GROUP = "/aws/batch/job"
AWSLOGS = "awslogs"
CANCEL_REASON = "Cancelled by Polysync"
JOB_NAME_PREFIX = "Polysync-"
# A StatusReason holding any of these means the job was cancelled, not failed.
CANCELLATION_MARKERS = ("Cancelled", "Canceled", "Terminated", "Job terminated", CANCEL_REASON)
IN_FLIGHT = frozenset({"SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING"})
# Accepted and waiting to start: what the stall limit bounds.
QUEUED = frozenset({"SUBMITTED", "PENDING", "RUNNABLE"})
# The StatusReason of a job Batch failed because a dependsOn job did not succeed.
DEPENDENCY_FAILED = "Dependent Job failed"
# What AWS says of a container that ended non-zero; the exit code is elsewhere.
ESSENTIAL_CONTAINER_EXITED = "Essential container in task exited"
# 003, Troubleshooting: a job that stays RUNNABLE (AWS says why in its statusReason).
RUNNABLE_REMEDY = (
    "the compute environment can't satisfy resource requirements. Check vCPU quotas "
    "(EC2 / Fargate) and the environment's instance types."
)


class NoQueueError(PolysyncError):
    """Neither the run, the job nor the platform names a job queue."""


def job_name(attempt_id: str = ATTEMPT_SLOT) -> str:
    """`Polysync-<guid>` (the product document's unique job name): 45 characters, within
    Batch's 128 and its character rules, for a submission attempt's id (a uuid4).

    The name carries the attempt's identity, which the ledger records before SubmitJob:
    a crash or a lost answer between submit and record finds the job again by this name,
    and no other attempt, apply or project ever has it. Plans hold the `ATTEMPT_SLOT`.
    """
    return f"{JOB_NAME_PREFIX}{attempt_id}"


def monitor_url(region: str, job_id: str) -> str:
    """The AWS Batch console page of one job."""
    return (
        f"https://{region}.console.aws.amazon.com/batch/home?region={region}"
        f"#jobs/detail/{quote(job_id, safe='')}"
    )


def is_cancellation(job: Mapping[str, Any]) -> bool:
    """A FAILED job that was cancelled or terminated rather than failing on its own.

    DescribeJobs' `isCancelled` / `isTerminated` decide when present. Otherwise the
    product document's markers, matched as written: "Cancelled", "Canceled",
    "Terminated", "Job terminated" or the tool's own reason. Matched as written, a host
    failure ("Host EC2 (instance i-…) terminated.") or "… context canceled" stays a
    failure, so on_failure and `after: {on: failed}` fire."""
    flags = [job[key] for key in ("isCancelled", "isTerminated") if key in job]
    if flags:
        return any(bool(flag) for flag in flags)
    reason = str(job.get("statusReason") or "")
    return any(marker in reason for marker in CANCELLATION_MARKERS)


def map_status(
    job: Mapping[str, Any] | None, failed_children: Sequence[Mapping[str, Any]] | None = None
) -> StatusReport:
    """A job from DescribeJobs as a Polysync status; the message is the StatusReason or,
    without one, the container's exit code. A failed array parent's message counts its
    children; `failed_children` (its FAILED children, ListJobs summaries) tells the
    cancelled ones apart and names the first failure."""
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
    summary = (job.get("arrayProperties") or {}).get("statusSummary") or None
    message = _message(job)
    if status is RunStatus.FAILED and summary:
        counts = array_message(summary, failed_children)
        message = f"{message}: {counts}" if message else counts
    return StatusReport(
        status,
        state,
        message,
        dict(summary) if summary else None,
        waiting=state in QUEUED,
        # 003: a job with dependsOn stays PENDING until its dependencies end.
        held=state == "PENDING" and bool(job.get("dependsOn")),
        dependency_failed=state == "FAILED" and job.get("statusReason") == DEPENDENCY_FAILED,
    )


def is_array_parent(job: Mapping[str, Any]) -> bool:
    """An array job's parent (it has a size or a status summary; a child has an index)."""
    properties = job.get("arrayProperties") or {}
    return properties.get("index") is None and bool(
        properties.get("size") or properties.get("statusSummary")
    )


def exit_code(job: Mapping[str, Any]) -> int | None:
    """The container's exit code, else the last attempt's."""
    code = (job.get("container") or {}).get("exitCode")
    if code is None:
        attempts = job.get("attempts") or []
        if attempts:
            code = (attempts[-1].get("container") or {}).get("exitCode")
    return int(code) if code is not None else None


def _message(job: Mapping[str, Any]) -> str | None:
    reason = str(job.get("statusReason") or "") or None
    state = job.get("status")
    if state == "RUNNABLE" and reason:
        # AWS only says why a job waits when it cannot place it: the product
        # document's remedy for a job stuck in RUNNABLE.
        return f"{reason}. Stuck in RUNNABLE: {RUNNABLE_REMEDY}"
    if state != "FAILED":
        return reason  # an exit code explains a failure; on success it is noise
    code = exit_code(job)
    if reason and reason.startswith(ESSENTIAL_CONTAINER_EXITED) and code is not None:
        return f"{reason} (exit code {code})"  # AWS's reason hides the exit code
    if reason:
        return reason
    return f"Container exit code: {code}" if code is not None else None


def _child_index(child: Mapping[str, Any]) -> int:
    index = (child.get("arrayProperties") or {}).get("index")
    if index is None:
        tail = str(child.get("jobId", "")).rpartition(":")[2]
        index = int(tail) if tail.isdigit() else 0
    return int(index)


def first_failed_child(children: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The failed child with the lowest index that failed on its own (a cancelled one
    only when every failed child was cancelled)."""
    ranked = sorted(children, key=lambda c: (is_cancellation(c), _child_index(c)))
    return ranked[0] if ranked else None


def array_message(
    summary: Mapping[str, int], failed_children: Sequence[Mapping[str, Any]] | None = None
) -> str:
    """`2 of 5 child jobs failed, 2 succeeded, 1 cancelled; first failed: child 3: …`.
    Without `failed_children` the cancelled ones cannot be told apart: they count as
    failed, and no first failure is named."""
    total = sum(int(n) for n in summary.values())
    failed = int(summary.get("FAILED", 0))
    succeeded = int(summary.get("SUCCEEDED", 0))
    if failed_children is None:
        return f"{failed} of {total} child jobs failed, {succeeded} succeeded"
    cancelled = sum(1 for child in failed_children if is_cancellation(child))
    text = (
        f"{failed - cancelled} of {total} child jobs failed, {succeeded} succeeded, "
        f"{cancelled} cancelled"
    )
    first = first_failed_child(failed_children)
    if first is not None and not is_cancellation(first):
        why = _message({**first, "status": "FAILED"})
        text += f"; first failed: child {_child_index(first)}" + (f" ({why})" if why else "")
    return text


@dataclass(frozen=True)
class LogLocation:
    """Where a job's container logs are: a CloudWatch group and the latest attempt's
    stream (None before one is named), or a note saying why polysync cannot read them."""

    group: str | None = None
    stream: str | None = None
    note: str | None = None


def log_location(job: Mapping[str, Any], region: str) -> LogLocation:
    """Where the job's `container.logConfiguration` (the definition's, as DescribeJobs
    returns it) sends its logs: with the awslogs driver (the default), `awslogs-group`
    or /aws/batch/job, in `awslogs-region` or the job's region; another driver sends
    them elsewhere than CloudWatch."""
    container = job.get("container") or {}
    config = container.get("logConfiguration") or {}
    driver = str(config.get("logDriver") or AWSLOGS)
    if driver != AWSLOGS:
        return LogLocation(note=f"logs go to {driver}, not CloudWatch")
    options = config.get("options") or {}
    group = str(options.get("awslogs-group") or BATCH_LOG_GROUP)
    logs_region = options.get("awslogs-region")
    if logs_region and logs_region != region:
        return LogLocation(
            group, note=f"logs go to {group} in {logs_region}; polysync reads {region}"
        )
    attempts = job.get("attempts") or []
    stream = (
        (attempts[-1].get("container") or {}).get("logStreamName") if attempts else None
    ) or container.get("logStreamName")
    return LogLocation(group, str(stream) if stream else None)


def build_request(
    job: BatchJob,
    platform: BatchPlatform,
    run: Run | None = None,
) -> RunRequest:
    """The SubmitJob call for one run. Run-level compute overrides the job's attributes;
    the queue falls back to the platform's default_job_queue. The job name holds the
    attempt slot, filled with a new identity by each submission attempt."""
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
        "jobName": job_name(),
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


def with_remedy(message: str, payload: Mapping[str, Any]) -> str:
    """The troubleshooting line of the product document that matches the error."""
    lowered = message.lower()
    if "queue" in lowered and "does not exist" in lowered:
        return (
            f"{message}. The queue {payload['jobQueue']!r} on the job attribute / platform "
            "default does not exist in this region"
        )
    if "definition" in lowered and "does not exist" in lowered:
        return (
            f"{message}. Confirm the name {payload['jobDefinition']!r} and that at least one "
            "revision has status ACTIVE"
        )
    return message
