"""Everything AWS Batch-specific, exactly as the product document specifies it.

Status table with cancellation detection, TerminateJob reason, console URL and SubmitJob
request: see shared/seeds/003_*.txt (the Batch job type).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from polysync_spec.errors import PolysyncError
from polysync_spec.manifest.models import BatchJob, BatchPlatform, Run
from polysync_spec.providers.base import (
    ATTEMPT_SLOT,
    AwsProvider,
    LogTail,
    Refusal,
    Resolved,
    RunRequest,
    RunStatus,
    StatusReport,
    Tier,
    first_set,
    read_log_tail,
    sent_parameters,
)
from polysync_spec.values import aws_string

SUBMIT_JOB = "SubmitJob"
BATCH_LOG_GROUP = "/aws/batch/job"
log = logging.getLogger(__name__)
CANCEL_REASON = "Cancelled by Polysync"
JOB_NAME_PREFIX = "Polysync-"
# A StatusReason holding any of these means the job was cancelled, not failed.
CANCELLATION_MARKERS = ("Cancelled", "Canceled", "Terminated", "Job terminated", CANCEL_REASON)
IN_FLIGHT = frozenset({"SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING"})


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
    summary = (job.get("arrayProperties") or {}).get("statusSummary") or None
    return StatusReport(status, state, _message(job), dict(summary) if summary else None)


def _message(job: Mapping[str, Any]) -> str | None:
    reason = job.get("statusReason")
    if reason:
        return str(reason)
    if job.get("status") != "FAILED":
        return None  # an exit code explains a failure; on success it is noise
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


# ---------------------------------------------------------------- talking to Batch

DESCRIBE_PAGE = 100  # DescribeJobDefinitions maxResults, per the product document
DESCRIBE_REVISIONS_CHUNK = 100  # DescribeJobDefinitions takes "a list of up to 100"
DESCRIBE_JOBS_CHUNK = 100  # DescribeJobs takes at most 100 job ids
DESCRIBE_QUEUES_CHUNK = 100
_REF = re.compile(r"Ref::([A-Za-z0-9_-]+)")


@dataclass(frozen=True)
class BatchDefinition:
    """One job-definition revision as discovered."""

    name: str
    revision: int
    arn: str
    status: str
    parameters: Mapping[str, str] = field(default_factory=dict)
    # The Ref::name placeholders its command and environment use.
    placeholders: frozenset[str] = frozenset()
    attempt_duration_seconds: int | None = None
    retry_attempts: int | None = None

    @property
    def reference(self) -> str:
        return f"{self.name}:{self.revision}"

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> BatchDefinition:
        container = data.get("containerProperties") or {}
        texts = [*map(str, container.get("command") or [])]
        texts += [str(e.get("value", "")) for e in container.get("environment") or []]
        return cls(
            name=data["jobDefinitionName"],
            revision=int(data["revision"]),
            arn=data["jobDefinitionArn"],
            status=data.get("status", "ACTIVE"),
            parameters=dict(data.get("parameters") or {}),
            placeholders=frozenset(m for text in texts for m in _REF.findall(text)),
            attempt_duration_seconds=(data.get("timeout") or {}).get("attemptDurationSeconds"),
            retry_attempts=(data.get("retryStrategy") or {}).get("attempts"),
        )


@dataclass(frozen=True)
class BatchQueue:
    name: str
    arn: str
    state: str
    status: str
    scheduling_policy_arn: str | None = None

    @property
    def fair_share(self) -> bool:
        return self.scheduling_policy_arn is not None

    @property
    def usable(self) -> bool:
        return self.state == "ENABLED" and self.status == "VALID"


def highest_revisions(definitions: list[BatchDefinition]) -> dict[str, BatchDefinition]:
    """DescribeJobDefinitions returns every ACTIVE revision; keep the highest per name."""
    best: dict[str, BatchDefinition] = {}
    for definition in definitions:
        current = best.get(definition.name)
        if current is None or definition.revision > current.revision:
            best[definition.name] = definition
    return best


class BatchProvider(AwsProvider):
    """AWS Batch through one boto3 client: discover, submit, poll, cancel."""

    service = "batch"

    def discover(self, names: list[str] | None = None) -> dict[str, BatchDefinition]:
        """The highest ACTIVE revision of each definition (of `names`, or of all)."""
        from botocore.exceptions import BotoCoreError, ClientError

        from polysync_spec.providers.aws import describe_client_error

        revisions: list[BatchDefinition] = []
        try:
            if names is None:
                revisions = self._describe_definitions({"status": "ACTIVE"})
            else:
                for name in dict.fromkeys(names):
                    revisions += self._describe_definitions(
                        {"status": "ACTIVE", "jobDefinitionName": name}
                    )
        except (ClientError, BotoCoreError) as exc:
            raise describe_client_error(
                exc, f"discovering Batch job definitions in {self.region}"
            ) from None
        return highest_revisions(revisions)

    def _describe_definitions(self, query: dict[str, Any]) -> list[BatchDefinition]:
        paginator = self.client.get_paginator("describe_job_definitions")
        pages = paginator.paginate(**query, PaginationConfig={"PageSize": DESCRIBE_PAGE})
        return [
            BatchDefinition.from_api(d) for page in pages for d in page.get("jobDefinitions", [])
        ]

    def _describe_revisions(self, chunk: list[str]) -> list[BatchDefinition]:
        """DescribeJobDefinitions(jobDefinitions=chunk) and nothing else: the API reference
        says the parameter "can't be used with other parameters", and the paginator always
        adds maxResults. Without maxResults one page holds up to 100 results, as many as
        the chunk names; a nextToken is followed all the same, should one come back."""
        definitions: list[BatchDefinition] = []
        request: dict[str, Any] = {"jobDefinitions": chunk}
        seen: set[str] = set()
        while True:
            response = self.client.describe_job_definitions(**request)
            definitions += [BatchDefinition.from_api(d) for d in response.get("jobDefinitions", [])]
            token = response.get("nextToken")
            if not token or token in seen:  # a repeated token would loop for ever
                return definitions
            seen.add(token)
            request = {"jobDefinitions": chunk, "nextToken": token}

    def revisions(self, references: list[str]) -> dict[str, BatchDefinition]:
        """Specific revisions (ARNs or name:revision), 100 a call, whatever their status;
        a revision that does not exist is absent."""
        from botocore.exceptions import BotoCoreError, ClientError

        from polysync_spec.providers.aws import describe_client_error

        found: dict[str, BatchDefinition] = {}
        unique = list(dict.fromkeys(references))
        try:
            for start in range(0, len(unique), DESCRIBE_REVISIONS_CHUNK):
                chunk = unique[start : start + DESCRIBE_REVISIONS_CHUNK]
                for definition in self._describe_revisions(chunk):
                    found[definition.arn] = definition
                    found[definition.reference] = definition
        except (ClientError, BotoCoreError) as exc:
            raise describe_client_error(
                exc, f"describing Batch job definition revisions in {self.region}"
            ) from None
        return found

    def queues(self, names: list[str] | None = None) -> dict[str, BatchQueue]:
        """DescribeJobQueues, 100 names a call (or every queue, paginated); a queue that
        does not exist is absent from the answer."""
        from botocore.exceptions import BotoCoreError, ClientError

        from polysync_spec.providers.aws import describe_client_error

        found: dict[str, BatchQueue] = {}
        try:
            if names is None:
                paginator = self.client.get_paginator("describe_job_queues")
                pages = list(
                    paginator.paginate(PaginationConfig={"PageSize": DESCRIBE_QUEUES_CHUNK})
                )
            else:
                unique = list(dict.fromkeys(names))
                pages = [
                    self.client.describe_job_queues(
                        jobQueues=unique[start : start + DESCRIBE_QUEUES_CHUNK]
                    )
                    for start in range(0, len(unique), DESCRIBE_QUEUES_CHUNK)
                ]
            for response in pages:
                for queue in response.get("jobQueues", []):
                    found[queue["jobQueueName"]] = BatchQueue(
                        name=queue["jobQueueName"],
                        arn=queue["jobQueueArn"],
                        state=queue.get("state", ""),
                        status=queue.get("status", ""),
                        scheduling_policy_arn=queue.get("schedulingPolicyArn"),
                    )
        except (ClientError, BotoCoreError) as exc:
            raise describe_client_error(
                exc, f"describing Batch job queues in {self.region}"
            ) from None
        return found

    def submit(self, request: RunRequest) -> str:
        """SubmitJob; the run id is the job id."""
        from botocore.exceptions import BotoCoreError, ClientError

        from polysync_spec.providers.aws import describe_client_error

        payload = request.payload
        log.debug("SubmitJob %s to queue %s", payload["jobDefinition"], payload["jobQueue"])
        try:
            response = self.submit_client.submit_job(**payload)
        except (ClientError, BotoCoreError) as exc:
            error = describe_client_error(
                exc, f"submitting Batch job definition {payload['jobDefinition']!r}"
            )
            raise error.with_message(_with_remedy(str(error), payload)) from None
        return str(response["jobId"])

    def poll(self, job_ids: list[str]) -> dict[str, StatusReport]:
        """DescribeJobs, 100 ids a call; an id Batch no longer returns is Unknown."""
        reports: dict[str, StatusReport] = {}
        for start in range(0, len(job_ids), DESCRIBE_JOBS_CHUNK):
            chunk = job_ids[start : start + DESCRIBE_JOBS_CHUNK]
            response = self.client.describe_jobs(jobs=chunk)
            for job in response.get("jobs", []):
                reports[job["jobId"]] = map_status(job)
        for job_id in job_ids:
            reports.setdefault(
                job_id, StatusReport(RunStatus.UNKNOWN, None, f"Batch does not know job {job_id}")
            )
        return reports

    def cancel(self, job_ids: list[str]) -> dict[str, Refusal | None]:
        """TerminateJob, which (unlike CancelJob) also stops STARTING and RUNNING jobs,
        one job at a time; each job's refusal is its own (a lost connection is a
        retryable one), never an exception."""
        from botocore.exceptions import BotoCoreError, ClientError

        results: dict[str, Refusal | None] = {}
        for job_id in job_ids:
            try:
                self.cancel_client.terminate_job(jobId=job_id, reason=CANCEL_REASON)
                results[job_id] = None
            except ClientError as exc:
                error = exc.response.get("Error", {})
                status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
                results[job_id] = Refusal.of(
                    str(error.get("Code", "Error")), str(error.get("Message", "")), status=status
                )
            except BotoCoreError as exc:
                results[job_id] = Refusal(exc.__class__.__name__, str(exc), retryable=True)
        return results

    def monitor_url(self, job_id: str) -> str:
        return monitor_url(self.region, job_id)

    def log_tail(self, job_id: str, lines: int) -> LogTail:
        """The last lines of the latest attempt's log stream in /aws/batch/job."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            jobs = self.client.describe_jobs(jobs=[job_id]).get("jobs", [])
        except (ClientError, BotoCoreError) as exc:
            return LogTail(note=f"cannot read the job to find its logs ({exc.__class__.__name__})")
        if not jobs:
            return LogTail(note=f"Batch does not know job {job_id}")
        job = jobs[0]
        attempts = job.get("attempts") or []
        stream = (
            (attempts[-1].get("container") or {}).get("logStreamName") if attempts else None
        ) or (job.get("container") or {}).get("logStreamName")
        if not stream:
            return LogTail(note="the job has no log stream (it never started a container)")
        return read_log_tail(self.logs, BATCH_LOG_GROUP, stream, lines) or LogTail(
            note=f"no log stream {stream} in {BATCH_LOG_GROUP}"
        )

    def find_submitted(self, request: RunRequest, since: float) -> list[str]:
        """The jobs of this submission attempt: ListJobs in its queue filtered by its job
        name, which carries the attempt's identity, so nothing else can match it (the
        filter is case-insensitive; the comparison here is not). No time window is needed:
        `since` (epoch seconds on AWS's clock) is unused. The JOB_NAME filter lists jobs
        in every status, and is never combined with jobStatus (ListJobs ignores it)."""
        del since
        payload = request.payload
        name = str(payload["jobName"])
        paginator = self.client.get_paginator("list_jobs")
        pages = paginator.paginate(
            jobQueue=payload["jobQueue"], filters=[{"name": "JOB_NAME", "values": [name]}]
        )
        # An array job's children carry its name; AWS's filter leaves them out (it
        # "doesn't apply to child jobs"), but a listing that includes them must not make
        # one submission look like several.
        return [
            job["jobId"]
            for page in pages
            for job in page.get("jobSummaryList", [])
            if job.get("jobName") == name
            and ":" not in str(job.get("jobId", ""))
            and (job.get("arrayProperties") or {}).get("index") is None
        ]


def _with_remedy(message: str, payload: Mapping[str, Any]) -> str:
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
