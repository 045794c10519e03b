"""AWS Glue, the pure part: statuses, run ids, console URL and the StartJobRun request.

Status table, composite run id, console URL and StartJobRun request: see
shared/seeds/000_*.txt (the Glue platform) and 001_*.txt (the Glue job type).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from polysync_spec.manifest.models import GlueJob, GluePlatform, Run
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
from polysync_spec.providers.glue.rules import (
    ATTEMPT_ARGUMENT,
)
from polysync_spec.providers.glue.workers import FLEX_COMMAND
from polysync_spec.values import aws_string, glue_argument_key, partition_of

START_JOB_RUN = "StartJobRun"
# Glue has no client token: each StartJobRun carries its submission attempt's identity in
# one argument, ATTEMPT_ARGUMENT (Glue passes arguments it does not know to the script,
# where getResolvedOptions ignores what it was not asked for); recovery finds a run by it.
PYTHON_SHELL = "pythonshell"
WORKER_KEYS = ("worker_type", "number_of_workers")

# Glue JobRunState -> Polysync status (001: the job type's table; EXPIRED is terminal and
# mapped to Failed with its message, DESIGN.md §5). Anything else, or no state: Unknown.
STATUS: Mapping[str, RunStatus] = {
    "STARTING": RunStatus.STARTING,
    "WAITING": RunStatus.STARTING,
    "RUNNING": RunStatus.RUNNING,
    "STOPPING": RunStatus.RUNNING,
    "SUCCEEDED": RunStatus.SUCCESS,
    "STOPPED": RunStatus.CANCELLED,
    "FAILED": RunStatus.FAILED,
    "TIMEOUT": RunStatus.FAILED,
    "ERROR": RunStatus.FAILED,
    "EXPIRED": RunStatus.FAILED,
}


@dataclass(frozen=True)
class GlueDefinition:
    """A Glue job as discovered: the compute it would run with and its defaults."""

    name: str
    worker_type: str | None = None
    number_of_workers: int | None = None
    glue_version: str | None = None
    timeout_minutes: int | None = None
    max_retries: int | None = None
    max_capacity: float | None = None
    max_concurrent_runs: int = 1
    command_name: str | None = None
    default_arguments: Mapping[str, str] = field(default_factory=dict)
    non_overridable_arguments: Mapping[str, str] = field(default_factory=dict)
    last_modified: dt.datetime | None = None
    execution_class: str | None = None
    # The job's recent succeeded runs (plan reads them with GetJobRuns for the expected
    # cost): ExecutionTime in seconds, and DPUSeconds where Glue reported it (Flex and
    # auto scaling); None: the history could not be read.
    recent_runs: tuple[tuple[float, float | None], ...] | None = None

    @classmethod
    def from_api(cls, job: Mapping[str, Any]) -> GlueDefinition:
        """From a `Job` structure of GetJob / GetJobs / BatchGetJobs."""
        execution = job.get("ExecutionProperty") or {}
        command = job.get("Command") or {}
        return cls(
            name=job["Name"],
            worker_type=job.get("WorkerType"),
            number_of_workers=job.get("NumberOfWorkers"),
            glue_version=job.get("GlueVersion"),
            timeout_minutes=job.get("Timeout"),
            max_retries=job.get("MaxRetries"),
            max_capacity=job.get("MaxCapacity"),
            max_concurrent_runs=execution.get("MaxConcurrentRuns") or 1,
            command_name=command.get("Name"),
            default_arguments=dict(job.get("DefaultArguments") or {}),
            non_overridable_arguments=dict(job.get("NonOverridableArguments") or {}),
            last_modified=job.get("LastModifiedOn"),
            execution_class=job.get("ExecutionClass"),
        )


class GlueSnapshot(dict[str, "GlueDefinition | None"]):
    """What `GlueClient.snapshot` finds: each Glue job name the runs use -> the job, or
    None; and `security_configurations`: each SecurityConfiguration name the runs send ->
    True (GetSecurityConfiguration found it), False (EntityNotFoundException) or None
    (not known: the call was denied or failed)."""

    def __init__(
        self,
        jobs: Mapping[str, GlueDefinition | None] | None = None,
        security_configurations: Mapping[str, bool | None] | None = None,
    ) -> None:
        super().__init__(jobs or {})
        self.security_configurations: dict[str, bool | None] = dict(security_configurations or {})


def composite_run_id(job_name: str, job_run_id: str) -> str:
    """`{jobName}/{jobRunId}`: GetJobRun needs both parts."""
    return f"{job_name}/{job_run_id}"


def split_run_id(run_id: str) -> tuple[str, str]:
    """Inverse of `composite_run_id`. Job names may contain '/', run ids do not."""
    job_name, sep, job_run_id = run_id.rpartition("/")
    if not sep or not job_name or not job_run_id:
        raise ValueError(f"not a Glue run id (expected JOB_NAME/JOB_RUN_ID): {run_id!r}")
    return job_name, job_run_id


def monitor_url(region: str, job_name: str, job_run_id: str) -> str:
    """The AWS Glue Studio page of one job run."""
    return (
        f"https://{region}.console.aws.amazon.com/gluestudio/home?region={region}"
        f"#/job/{quote(job_name, safe='')}/run/{quote(job_run_id, safe='')}"
    )


# 001, Troubleshooting: the remedy for a run that reaches TIMEOUT, as written.
TIMEOUT_REMEDY = (
    "Run reaches TIMEOUT — increase Glue Timeout (Minutes) on the Polysync job, or revisit "
    "worker type / DPU allocation in the Glue console."
)
# The states after which Glue may have started an automatic retry (a new run with
# Attempt + 1 and PreviousRunId); of them only FAILED is retried, but a retry found
# after any of them is followed.
RETRIED_STATES = frozenset({"FAILED", "TIMEOUT", "ERROR"})
AWAITS_RETRY_STATES = frozenset({"FAILED"})
# How long after a failure Glue's retry may take to appear: until then the failure is
# not final for a job with retries left.
RETRY_GRACE_SECONDS = 60.0


def map_status(job_run: Mapping[str, Any] | None) -> StatusReport:
    """A `JobRun` (from GetJobRun / GetJobRuns) as a Polysync status. A timeout carries
    the product document's remedy; an automatic retry says which attempt it is."""
    state = (job_run or {}).get("JobRunState")
    status = STATUS.get(state, RunStatus.UNKNOWN) if isinstance(state, str) else RunStatus.UNKNOWN
    message = (job_run or {}).get("ErrorMessage") or None
    if state == "EXPIRED" and not message:
        message = "job run expired before it could start"
    if state == "TIMEOUT":
        message = f"{message}. {TIMEOUT_REMEDY}" if message else TIMEOUT_REMEDY
    attempt = attempt_of(job_run)
    if attempt:
        message = f"{message} (retry attempt {attempt})" if message else f"retry attempt {attempt}"
    known = state if isinstance(state, str) else None
    return StatusReport(status, known, message, waiting=state == "WAITING")


def attempt_of(job_run: Mapping[str, Any] | None) -> int:
    """The run's `Attempt`: 0 for a run that was started, n for Glue's n-th retry."""
    attempt = (job_run or {}).get("Attempt")
    return int(attempt) if isinstance(attempt, int) else 0


def awaits_retry(job_run: Mapping[str, Any], max_retries: int, now: float) -> bool:
    """A run that failed with retries left (`max_retries`: the job's MaxRetries) within
    the last RETRY_GRACE_SECONDS (epoch `now`): Glue is about to start its retry."""
    if job_run.get("JobRunState") not in AWAITS_RETRY_STATES:
        return False
    if attempt_of(job_run) >= max_retries:
        return False
    completed = job_run.get("CompletedOn")
    if not isinstance(completed, dt.datetime):
        return False
    return now - completed.timestamp() < RETRY_GRACE_SECONDS


def retry_pending(job_run: Mapping[str, Any], max_retries: int) -> StatusReport:
    """A failed run whose automatic retry Glue has yet to start: not final."""
    failed = map_status(job_run)
    attempt = attempt_of(job_run) + 1
    return StatusReport(
        RunStatus.STARTING,
        failed.state,
        f"{failed.message or failed.state}; Glue retries it (retry attempt {attempt} of "
        f"{max_retries})",
    )


# The manifest's compute keys in the order plan shows them, and those read from the live
# job too (tier "definition": Glue applies them itself, so they are shown, never sent).
COMPUTE_KEYS = (
    "worker_type",
    "number_of_workers",
    "glue_version",
    "timeout_minutes",
    "max_retries",
    "execution_class",
    "job_run_queuing",
    "notify_delay_after",
    "security_configuration",
    "max_capacity",
)
DEFINITION_KEYS = frozenset(
    {"worker_type", "number_of_workers", "glue_version", "timeout_minutes", "max_retries"}
)
# Compute key -> StartJobRun member, sent when the manifest sets the key (botocore's
# StartJobRunRequest; NotifyDelayAfter is nested in NotificationProperty).
MEMBERS = (
    ("worker_type", "WorkerType"),
    ("number_of_workers", "NumberOfWorkers"),
    ("timeout_minutes", "Timeout"),
    ("execution_class", "ExecutionClass"),
    ("job_run_queuing", "JobRunQueuingEnabled"),
    ("security_configuration", "SecurityConfiguration"),
    ("max_capacity", "MaxCapacity"),
)
AUTO_VERSION = "auto"
# The manifest's tiers, most specific first.
_MANIFEST_TIERS = (Tier.RUN, Tier.JOB, Tier.PLATFORM)


def resolve_compute(
    job: GlueJob,
    platform: GluePlatform,
    run: Run | None = None,
    definition: GlueDefinition | None = None,
) -> dict[str, Resolved]:
    """Each compute key's value and tier: run > job > platform > definition.

    `glue_version: auto` means the live job's own GlueVersion: it resolves to the
    definition's (tier "definition"), or to nothing without one. MaxCapacity and
    WorkerType/NumberOfWorkers exclude each other ("Do not set MaxCapacity if using
    WorkerType and NumberOfWorkers", StartJobRun): the platform's defaults of one kind
    give way to the other set at the job or the run; where the platform's defaults hold
    both, the live job's command decides (Python shell jobs take MaxCapacity only).
    """
    tiers = (
        (run.compute if run is not None else None, Tier.RUN),
        (job.compute, Tier.JOB),
        (platform.defaults, Tier.PLATFORM),
    )
    compute: dict[str, Resolved] = {}
    for key in COMPUTE_KEYS:
        candidates = [(getattr(block, key, None), tier) for block, tier in tiers]
        if key in DEFINITION_KEYS:
            candidates.append((getattr(definition, key, None), Tier.DEFINITION))
        resolved = first_set(*candidates)
        manifest_auto = (
            resolved is not None
            and resolved.value == AUTO_VERSION
            and resolved.tier is not Tier.DEFINITION
        )
        if key == "glue_version" and manifest_auto:
            live = getattr(definition, "glue_version", None)
            resolved = Resolved(live, Tier.DEFINITION) if live is not None else None
        if resolved is not None:
            compute[key] = resolved
    shell = definition is not None and definition.command_name == PYTHON_SHELL
    flex = compute.get("execution_class")
    command = definition.command_name if definition is not None else None
    if flex is not None and flex.tier is Tier.PLATFORM and command not in (None, FLEX_COMMAND):
        del compute["execution_class"]  # a platform's FLEX default is for its Spark ETL jobs
    capacity = compute.get("max_capacity")
    sent_workers = [
        k for k in WORKER_KEYS if k in compute and compute[k].tier is not Tier.DEFINITION
    ]
    if shell or (capacity is not None and capacity.tier is not Tier.PLATFORM):
        # Python shell jobs size by MaxCapacity; worker settings from the platform's
        # defaults cannot apply to them (job- or run-level ones are an error).
        for key in WORKER_KEYS:
            if key in compute and compute[key].tier is Tier.PLATFORM:
                del compute[key]
    elif capacity is not None and (definition is not None or sent_workers):
        # A platform's MaxCapacity is a Python shell default: not for other jobs.
        del compute["max_capacity"]
    return compute


def build_request(
    job: GlueJob,
    platform: GluePlatform,
    run: Run | None = None,
    definition: GlueDefinition | None = None,
) -> RunRequest:
    """The StartJobRun call for one run.

    Compute precedence is run > job > platform > definition (`resolve_compute`). Values
    from the definition tier are not sent: Glue already applies them. Glue version is
    forwarded as the `--glue-version` argument (AWS binds the version on the job
    definition); max retries is informational only, since StartJobRun has no such member.
    """
    compute = resolve_compute(job, platform, run, definition)
    arguments, secrets = _arguments(job, run)
    arguments[ATTEMPT_ARGUMENT] = ATTEMPT_SLOT
    version = compute.get("glue_version")
    if version is not None and version.tier is not Tier.DEFINITION:
        arguments.setdefault("--glue-version", str(version.value))
    payload: dict[str, Any] = {"JobName": job.external_id, "Arguments": arguments}
    for key, member in MEMBERS:
        chosen = compute.get(key)
        if chosen is not None and chosen.tier is not Tier.DEFINITION:
            payload[member] = chosen.value
    delay = compute.get("notify_delay_after")
    if delay is not None and delay.tier is not Tier.DEFINITION:
        payload["NotificationProperty"] = {"NotifyDelayAfter": delay.value}
    return RunRequest(
        START_JOB_RUN,
        payload,
        compute,
        frozenset(("Arguments", key) for key in secrets),
    )


def _arguments(job: GlueJob, run: Run | None) -> tuple[dict[str, str], set[str]]:
    """Parameters as `--key: "value"`, and the argument keys that hold secrets."""
    values, secret = sent_parameters(job, run)
    arguments = {glue_argument_key(name): aws_string(value) for name, value in values.items()}
    return arguments, {glue_argument_key(name) for name in secret}


def job_arn(region: str, job_name: str, account: str = "<account>") -> str:
    """A Glue job's ARN, the resource of the job-level IAM actions (GetJob, StartJobRun,
    GetJobRun(s), BatchStopJobRun, BatchGetJobs): arn:PARTITION:glue:REGION:ACCOUNT:job/NAME."""
    return f"arn:{partition_of(region)}:glue:{region}:{account}:job/{job_name}"


def with_remedy(message: str, code: str | None, job_name: str, region: str) -> str:
    """The troubleshooting line of the product documents that matches the error."""
    if code in ("AccessDeniedException", "AccessDenied"):
        return (
            f"{message}. The caller's IAM principal is missing glue:StartJobRun on "
            f"{job_arn(region, job_name)}"
        )
    if code == "InvalidInputException" and "argument" in message.lower():
        return (
            f"{message}. Confirm parameter keys are valid Glue argument names (polysync "
            "prepends --, but a literal key=value is not split)"
        )
    if code == "EntityNotFoundException":
        return f"{message}. No Glue job named {job_name!r} exists in {region}"
    return message
