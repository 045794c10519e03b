"""The IAM side of AWS Batch: which permission each call needs, on which resources.

Facts, with their sources:
- SubmitJob and TerminateJob (and CancelJob) support resource-level permissions; every
  other call polysync makes (DescribeJobs, DescribeJobQueues, DescribeJobDefinitions,
  ListJobs) does not and needs `"Resource": "*"`. (AWS Batch User Guide, "Supported
  resource-level permissions for AWS Batch API actions": "If an AWS Batch API action
  isn't listed in this list, then it doesn't support resource-level permissions ... you
  must include a wildcard (*)"; the list names SubmitJob and TerminateJob.)
- SubmitJob is authorised against both the job queue and the job definition: "When
  scoping resource-level access for job submission, you must provide both job queue and
  job definition resource types." (AWS Batch User Guide, "Resource: Restrict to a job
  queue".)
- The job definition SubmitJob is authorised against carries its revision, so a policy
  naming `job-definition/NAME` alone does not match: use `NAME:*` (all revisions) or
  `NAME:REV`. (AWS Batch User Guide, "Accounting for job definition revisions".)
- TerminateJob takes the job's ARN, `arn:aws:batch:REGION:ACCOUNT:job/JOB_ID` (same
  list); job ids are only known after submitting, so policies use `job/*`.
- TerminateJobs (the bulk TerminateJob, up to 50 jobs a call, botocore 1.44 and later)
  has no IAM action of its own: "This operation requires batch:TerminateJob permission
  for each job in the request. There is no separate batch:TerminateJobs IAM action."
  (botocore 1.44.8 batch service-2.json, TerminateJobs; AWS Batch API Reference,
  TerminateJobs.) A job the caller may not terminate is an `AccessDenied` item of the
  answer's `errors`; the grant below covers both calls.
- The product document (003) names SubmitJob, DescribeJobs, TerminateJob and
  DescribeJobDefinitions (discovery); DescribeJobQueues and ListJobs are separate
  permissions, which polysync does without where they are denied.
- DescribeComputeEnvironments (plan: whether a queue's compute environments are Fargate
  or EC2, for the run's cost) supports no resource-level permission either (same list);
  where it is denied, plan gives Batch usage without a price.
- A job's container logs to the CloudWatch Logs group its definition's
  `logConfiguration` names (`awslogs-group`), by default `/aws/batch/job`; the
  manifests do not say which (AWS-FACTS, "Batch logs").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from polysync_spec.providers.batch.definitions import definition_name
from polysync_spec.providers.denials import grant_hint
from polysync_spec.providers.permissions import Command, Grant, log_group_arns
from polysync_spec.values import partition_of

SUBMIT_JOB = "batch:SubmitJob"
TERMINATE_JOB = "batch:TerminateJob"
DESCRIBE_JOBS = "batch:DescribeJobs"
DESCRIBE_JOB_QUEUES = "batch:DescribeJobQueues"
DESCRIBE_JOB_DEFINITIONS = "batch:DescribeJobDefinitions"
LIST_JOBS = "batch:ListJobs"
DESCRIBE_COMPUTE_ENVIRONMENTS = "batch:DescribeComputeEnvironments"

ACCOUNT_PLACEHOLDER = "<account>"


def _arn(region: str, account: str, resource: str) -> str:
    return f"arn:{partition_of(region)}:batch:{region}:{account}:{resource}"


def queue_arn(region: str, queue: str, account: str = ACCOUNT_PLACEHOLDER) -> str:
    """A job queue's ARN (a queue given as an ARN is kept)."""
    return queue if queue.startswith("arn:") else _arn(region, account, f"job-queue/{queue}")


def definition_arns(region: str, reference: str, account: str = ACCOUNT_PLACEHOLDER) -> list[str]:
    """The job-definition ARNs SubmitJob may be authorised against for `reference` (a
    name, `name:revision` or an ARN): a pinned revision is itself; a bare name runs the
    latest ACTIVE revision, whichever it is, so `NAME:*` (and `NAME`, for requests that
    name no revision)."""
    if reference.startswith("arn:"):
        _, revision = definition_name(reference)
        return [reference] if revision is not None else [reference, f"{reference}:*"]
    name, revision = definition_name(reference)
    base = _arn(region, account, f"job-definition/{name}")
    return [f"{base}:{revision}"] if revision is not None else [base, f"{base}:*"]


def jobs_arn(region: str, account: str = ACCOUNT_PLACEHOLDER) -> str:
    """Every Batch job of the account and region: TerminateJob's resource (job ids exist
    only once submitted)."""
    return _arn(region, account, "job/*")


def submit_hint(region: str, payload: Mapping[str, Any]) -> str:
    """The remedy of a denied SubmitJob: both resources it is authorised against."""
    queue = queue_arn(region, str(payload["jobQueue"]))
    definitions = " or ".join(definition_arns(region, str(payload["jobDefinition"]))[-1:])
    return grant_hint(SUBMIT_JOB, f"both {queue} and {definitions}")


def terminate_hint(region: str, job_id: str) -> str:
    """The remedy of a denied TerminateJob, or of a job TerminateJobs reports
    `AccessDenied` for (both are authorised as batch:TerminateJob on the job)."""
    return grant_hint(TERMINATE_JOB, _arn(region, ACCOUNT_PLACEHOLDER, f"job/{job_id}"))


def call_hint(exc: BaseException) -> str:
    """The remedy of a denied call without resource-level permissions: its permission,
    on "*"."""
    operation = str(getattr(exc, "operation_name", "") or "")
    return grant_hint(f"batch:{operation}") if operation else "a permission it lacks"


BATCH_LOG_GROUP = "/aws/batch/job"  # the default of a definition's logConfiguration

# What each command calls, by the resources it is authorised against: snapshot (plan),
# submit, poll (DescribeJobs; ListJobs for a failed array job's children),
# find_submitted (ListJobs), cancel (TerminateJobs, else TerminateJob, then polls), log_tail (DescribeJobs,
# ListJobs for an array job's failed child).
_READ = (DESCRIBE_JOBS, LIST_JOBS)
UNSCOPED: dict[Command, tuple[str, ...]] = {
    Command.PLAN: (DESCRIBE_JOB_QUEUES, DESCRIBE_JOB_DEFINITIONS, DESCRIBE_COMPUTE_ENVIRONMENTS),
    Command.APPLY: (
        DESCRIBE_JOB_QUEUES,
        DESCRIBE_JOB_DEFINITIONS,
        DESCRIBE_COMPUTE_ENVIRONMENTS,
        *_READ,
    ),
    Command.STATUS: _READ,
    Command.CANCEL: _READ,
    Command.LOGS: _READ,
    Command.DISCOVER: (DESCRIBE_JOB_DEFINITIONS, DESCRIBE_JOB_QUEUES),
}


def grants(
    command: Command,
    region: str,
    account: str,
    queues: Iterable[str],
    definitions: Iterable[str],
) -> list[Grant]:
    """What `command` needs on one Batch platform whose runs submit to `queues` with the
    job `definitions` (names, `name:revision` or ARNs)."""
    found = [Grant("Unscoped", UNSCOPED[command], ("*",))]
    if command is Command.DISCOVER:
        return found
    if command is Command.APPLY:
        submit = {queue_arn(region, q, account) for q in queues}
        for definition in definitions:
            submit.update(definition_arns(region, definition, account))
        found.append(Grant("BatchSubmit", (SUBMIT_JOB,), tuple(sorted(submit))))
    if command in (Command.APPLY, Command.CANCEL):
        found.append(Grant("BatchTerminate", (TERMINATE_JOB,), (jobs_arn(region, account),)))
    if command in (Command.APPLY, Command.LOGS):
        found.append(
            Grant(
                "LogGroups",
                ("logs:GetLogEvents",),
                log_group_arns(region, account, [BATCH_LOG_GROUP]),
            )
        )
    return found
