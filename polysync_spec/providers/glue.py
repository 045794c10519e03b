"""Everything AWS Glue-specific, exactly as the product documents specify it.

Status table, composite run id, console URL and StartJobRun request: see
shared/seeds/000_*.txt (the Glue platform) and 001_*.txt (the Glue job type).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from polysync_spec.manifest.checks import (
    ATTEMPT_ARGUMENT,
    GLUE_INTERNAL_ARGUMENTS,
    GLUE_RESERVED_ARGUMENTS,
)
from polysync_spec.manifest.models import GlueJob, GluePlatform, Run
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
from polysync_spec.values import aws_string, glue_argument_key

START_JOB_RUN = "StartJobRun"
# Glue has no client token: each StartJobRun carries its submission attempt's identity in
# one argument, ATTEMPT_ARGUMENT (Glue passes arguments it does not know to the script,
# where getResolvedOptions ignores what it was not asked for); recovery finds a run by it.
PYTHON_SHELL = "pythonshell"
WORKER_KEYS = ("worker_type", "number_of_workers")
log = logging.getLogger(__name__)

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
        )


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


def map_status(job_run: Mapping[str, Any] | None) -> StatusReport:
    """A `JobRun` (from GetJobRun / GetJobRuns) as a Polysync status."""
    state = (job_run or {}).get("JobRunState")
    status = STATUS.get(state, RunStatus.UNKNOWN) if isinstance(state, str) else RunStatus.UNKNOWN
    message = (job_run or {}).get("ErrorMessage") or None
    if state == "EXPIRED" and not message:
        message = "job run expired before it could start"
    return StatusReport(status, state if isinstance(state, str) else None, message)


def build_request(
    job: GlueJob,
    platform: GluePlatform,
    run: Run | None = None,
    definition: GlueDefinition | None = None,
) -> RunRequest:
    """The StartJobRun call for one run.

    Compute precedence is run > job > platform > definition. Values from the definition
    tier are not sent: Glue already applies them. Glue version is forwarded as the
    `--glue-version` argument (AWS binds the version on the job definition); max retries
    is informational only, since StartJobRun has no such member.
    """
    job_compute = job.compute
    defaults = platform.defaults
    run_compute = run.compute if run is not None else None
    compute: dict[str, Resolved] = {}
    for key, attribute in (
        ("worker_type", "worker_type"),
        ("number_of_workers", "number_of_workers"),
        ("glue_version", "glue_version"),
        ("timeout_minutes", "timeout_minutes"),
        ("max_retries", "max_retries"),
    ):
        resolved = first_set(
            (getattr(run_compute, attribute, None), Tier.RUN),
            (getattr(job_compute, attribute, None), Tier.JOB),
            (getattr(defaults, attribute, None), Tier.PLATFORM),
            (getattr(definition, attribute, None), Tier.DEFINITION),
        )
        if resolved is not None:
            compute[key] = resolved
    if definition is not None and definition.command_name == PYTHON_SHELL:
        # Python shell jobs size by MaxCapacity; worker settings from the platform's
        # defaults cannot apply to them (job- or run-level ones are a plan error).
        for key in WORKER_KEYS:
            if key in compute and compute[key].tier is Tier.PLATFORM:
                del compute[key]

    arguments, secrets = _arguments(job, run)
    arguments[ATTEMPT_ARGUMENT] = ATTEMPT_SLOT
    version = compute.get("glue_version")
    if version is not None and version.tier is not Tier.DEFINITION:
        arguments.setdefault("--glue-version", str(version.value))
    payload: dict[str, Any] = {"JobName": job.external_id, "Arguments": arguments}
    for key, member in (
        ("worker_type", "WorkerType"),
        ("number_of_workers", "NumberOfWorkers"),
        ("timeout_minutes", "Timeout"),
    ):
        chosen = compute.get(key)
        if chosen is not None and chosen.tier is not Tier.DEFINITION:
            payload[member] = chosen.value
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


# ---------------------------------------------------------------- talking to Glue

GET_JOBS_PAGE = 100  # the product document's MaxResults for discovery
GLUE_LOG_BASE = "/aws-glue/jobs"  # the default; a run's LogGroupName overrides it
# How far before a submission's intent (on AWS's clock) recovery still looks: the Date
# header's one-second resolution, the network, and two hosts' clocks read at different
# moments, with room to spare. Runs are matched by identity; the window only bounds paging.
RECOVERY_MARGIN = 300.0
BATCH_GET_JOBS_CHUNK = 100
BATCH_STOP_CHUNK = 25  # BatchStopJobRun takes at most 25 run ids
GET_JOB_RUNS_PAGE = 200  # GetJobRuns MaxResults (1-200)
# From this many runs of one job in flight, one GetJobRuns page (newest first, 200 runs)
# answers for all of them in one call instead of a GetJobRun each.
LIST_POLL_THRESHOLD = 3


def imported_parameters(definition: GlueDefinition) -> dict[str, tuple[Any, str]]:
    """DefaultArguments as manifest parameters: `--` dropped, system arguments filtered,
    types inferred from the string values (Glue arguments are always strings)."""
    result: dict[str, tuple[Any, str]] = {}
    for key, value in definition.default_arguments.items():
        if key in GLUE_RESERVED_ARGUMENTS or key in GLUE_INTERNAL_ARGUMENTS:
            continue
        name = key[2:] if key.startswith("--") else key
        result[name] = infer_value(value)
    return result


def infer_value(text: str) -> tuple[Any, str]:
    """A Glue argument string as (value, type): booleans, integers, numbers, JSON."""
    if text in ("true", "false"):
        return text == "true", "boolean"
    try:
        if text.strip() == text and text.lstrip("-").isdigit():
            return int(text), "integer"
        if text.strip() == text and any(c.isdigit() for c in text):
            number = float(text)
            if text.lower() not in ("nan", "inf", "-inf", "infinity"):
                return number, "number"
    except ValueError:
        pass
    if text[:1] in ("[", "{"):
        try:
            parsed = json.loads(text)
        except ValueError:
            return text, "string"
        return parsed, "json"
    return text, "string"


class GlueProvider(AwsProvider):
    """AWS Glue through one boto3 client: discover, submit, poll, cancel."""

    service = "glue"

    def discover(
        self, names: list[str] | None = None
    ) -> tuple[dict[str, GlueDefinition], list[str]]:
        """(found, missing): named jobs by BatchGetJobs in chunks of 100, else every job
        by GetJobs pages of 100."""
        from botocore.exceptions import BotoCoreError, ClientError

        from polysync_spec.providers.aws import describe_client_error

        found: dict[str, GlueDefinition] = {}
        missing: list[str] = []
        try:
            if names is None:
                paginator = self.client.get_paginator("get_jobs")
                for page in paginator.paginate(PaginationConfig={"PageSize": GET_JOBS_PAGE}):
                    for job in page.get("Jobs", []):
                        found[job["Name"]] = GlueDefinition.from_api(job)
                return found, missing
            unique = list(dict.fromkeys(names))
            for start in range(0, len(unique), BATCH_GET_JOBS_CHUNK):
                chunk = unique[start : start + BATCH_GET_JOBS_CHUNK]
                response = self.client.batch_get_jobs(JobNames=chunk)
                for job in response.get("Jobs", []):
                    found[job["Name"]] = GlueDefinition.from_api(job)
            # JobsNotFound comes in no particular order: answer in the caller's.
            missing = [name for name in unique if name not in found]
        except (ClientError, BotoCoreError) as exc:
            raise describe_client_error(exc, f"discovering Glue jobs in {self.region}") from None
        return found, missing

    def submit(self, request: RunRequest) -> str:
        """StartJobRun; returns the composite run id `{jobName}/{jobRunId}`."""
        from botocore.exceptions import BotoCoreError, ClientError

        from polysync_spec.providers.aws import describe_client_error

        job_name = str(request.payload["JobName"])
        log.debug(
            "StartJobRun %s (%d arguments)", job_name, len(request.payload.get("Arguments", {}))
        )
        try:
            response = self.submit_client.start_job_run(**request.payload)
        except (ClientError, BotoCoreError) as exc:
            error = describe_client_error(exc, f"starting Glue job {job_name!r}")
            raise error.with_message(
                _with_remedy(str(error), error.code, job_name, self.region)
            ) from None
        return composite_run_id(job_name, response["JobRunId"])

    def poll(self, run_ids: list[str]) -> dict[str, StatusReport]:
        """Glue has no batch read of runs. A job with several runs in flight is read with
        GetJobRuns pages (newest first, so one page usually holds them all); what those
        pages miss, and a job with few runs, is read with GetJobRun each. A run Glue no
        longer knows is Unknown, not an error."""
        from botocore.exceptions import ClientError

        reports: dict[str, StatusReport] = {}
        by_job: dict[str, list[str]] = {}
        for run_id in run_ids:
            by_job.setdefault(split_run_id(run_id)[0], []).append(run_id)
        remaining: list[str] = []
        for job_name, ids in by_job.items():
            if len(ids) >= LIST_POLL_THRESHOLD:
                reports.update(self._poll_listed(job_name, ids))
            remaining += [run_id for run_id in ids if run_id not in reports]
        for run_id in remaining:
            job_name, job_run_id = split_run_id(run_id)
            try:
                response = self.client.get_job_run(JobName=job_name, RunId=job_run_id)
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code")
                if code in ("EntityNotFoundException",):
                    reports[run_id] = StatusReport(
                        RunStatus.UNKNOWN, None, f"Glue does not know run {job_run_id}"
                    )
                    continue
                raise
            reports[run_id] = map_status(response.get("JobRun"))
        return reports

    def _poll_listed(self, job_name: str, run_ids: list[str]) -> dict[str, StatusReport]:
        """GetJobRuns pages until every run is seen, at most one page more than the runs
        need: runs started since by others push ours down, and GetJobRun reads the rest."""
        from botocore.exceptions import ClientError

        wanted = {split_run_id(run_id)[1]: run_id for run_id in run_ids}
        reports: dict[str, StatusReport] = {}
        token: str | None = None
        for _ in range(-(-len(run_ids) // GET_JOB_RUNS_PAGE) + 1):
            kwargs: dict[str, Any] = {"JobName": job_name, "MaxResults": GET_JOB_RUNS_PAGE}
            if token:
                kwargs["NextToken"] = token
            try:
                response = self.client.get_job_runs(**kwargs)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") == "EntityNotFoundException":
                    return reports  # the job is gone: GetJobRun says so run by run
                raise
            for job_run in response.get("JobRuns", []):
                run_id = wanted.get(job_run.get("Id", ""))
                if run_id is not None:
                    reports[run_id] = map_status(job_run)
            token = response.get("NextToken")
            if len(reports) == len(wanted) or not token:
                break
        return reports

    def cancel(self, run_ids: list[str]) -> dict[str, Refusal | None]:
        """BatchStopJobRun per job, 25 runs a call. Failures come back in `Errors`, not as
        exceptions: each run maps to None (stop accepted) or its refusal. A call that
        fails as a whole is a refusal of each of its runs (retryable when it says so), and
        never keeps the other jobs' runs from their call."""
        from botocore.exceptions import BotoCoreError, ClientError

        results: dict[str, Refusal | None] = {}
        by_job: dict[str, list[str]] = {}
        for run_id in run_ids:
            job_name, job_run_id = split_run_id(run_id)
            by_job.setdefault(job_name, []).append(job_run_id)
        for job_name, ids in by_job.items():
            for start in range(0, len(ids), BATCH_STOP_CHUNK):
                chunk = ids[start : start + BATCH_STOP_CHUNK]
                try:
                    response = self.cancel_client.batch_stop_job_run(
                        JobName=job_name, JobRunIds=chunk
                    )
                except ClientError as exc:
                    error = exc.response.get("Error", {})
                    meta = exc.response.get("ResponseMetadata", {})
                    refusal = Refusal.of(
                        str(error.get("Code", "Error")),
                        str(error.get("Message", "")),
                        status=int(meta.get("HTTPStatusCode") or 0),
                    )
                    results.update((composite_run_id(job_name, i), refusal) for i in chunk)
                    continue
                except BotoCoreError as exc:
                    refusal = Refusal(exc.__class__.__name__, str(exc), retryable=True)
                    results.update((composite_run_id(job_name, i), refusal) for i in chunk)
                    continue
                for ok in response.get("SuccessfulSubmissions", []):
                    results[composite_run_id(job_name, ok["JobRunId"])] = None
                for error in response.get("Errors", []):
                    detail = error.get("ErrorDetail", {})
                    results[composite_run_id(job_name, error.get("JobRunId", ""))] = Refusal.of(
                        str(detail.get("ErrorCode", "Error")), str(detail.get("ErrorMessage", ""))
                    )
        return results

    def monitor_url(self, run_id: str) -> str:
        job_name, job_run_id = split_run_id(run_id)
        return monitor_url(self.region, job_name, job_run_id)

    def log_tail(self, run_id: str, lines: int) -> LogTail:
        """The last lines of a run's logs: the error log group first, then the output one
        (stream = the run id; base group = the run's LogGroupName, else /aws-glue/jobs)."""
        from botocore.exceptions import BotoCoreError, ClientError

        job_name, job_run_id = split_run_id(run_id)
        try:
            job_run = self.client.get_job_run(JobName=job_name, RunId=job_run_id)["JobRun"]
        except (ClientError, BotoCoreError) as exc:
            return LogTail(note=f"cannot read the run to find its logs ({exc.__class__.__name__})")
        base = job_run.get("LogGroupName") or GLUE_LOG_BASE
        for group in (f"{base}/error", f"{base}/output"):
            found = read_log_tail(self.logs, group, job_run_id, lines)
            if found is not None:
                return found
        return LogTail(note=f"no log stream {job_run_id} in {base}/error or {base}/output")

    def find_submitted(self, request: RunRequest, since: float) -> list[str]:
        """The runs of this submission attempt: GetJobRuns (newest first) back to `since`
        (epoch seconds on AWS's clock) less a margin, keeping the runs whose marker
        argument carries the attempt's identity. A run started by anyone else, or by
        another attempt with equal arguments, never matches; Glue's automatic retries of
        our run (`PreviousRunId` set) are its continuation, not another submission."""
        job_name = str(request.payload["JobName"])
        marker = (request.payload.get("Arguments") or {}).get(ATTEMPT_ARGUMENT)
        if not marker:
            raise ValueError(f"the request for {job_name!r} carries no {ATTEMPT_ARGUMENT}")
        earliest = since - RECOVERY_MARGIN
        found: list[str] = []
        paginator = self.client.get_paginator("get_job_runs")
        pages = paginator.paginate(
            JobName=job_name, PaginationConfig={"PageSize": GET_JOB_RUNS_PAGE}
        )
        for page in pages:
            older = False
            for job_run in page.get("JobRuns", []):
                started = job_run.get("StartedOn")
                if started is not None and started.timestamp() < earliest:
                    older = True
                    continue
                if job_run.get("PreviousRunId"):
                    continue
                if (job_run.get("Arguments") or {}).get(ATTEMPT_ARGUMENT) == marker:
                    found.append(composite_run_id(job_name, job_run["Id"]))
            if older:  # newest first: every later page is older still
                break
        return found


def _with_remedy(message: str, code: str | None, job_name: str, region: str) -> str:
    """The troubleshooting line of the product documents that matches the error."""
    if code in ("AccessDeniedException", "AccessDenied"):
        return (
            f"{message}. The caller's IAM principal is missing glue:StartJobRun on "
            f"arn:aws:glue:{region}:<account>:job/{job_name}"
        )
    if code == "InvalidInputException" and "argument" in message.lower():
        return (
            f"{message}. Confirm parameter keys are valid Glue argument names (polysync "
            "prepends --, but a literal key=value is not split)"
        )
    if code == "EntityNotFoundException":
        return f"{message}. No Glue job named {job_name!r} exists in {region}"
    return message
