"""AWS Glue, the client part: the only code that calls the Glue API (and its logs)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from polysync_spec.manifest.models import GlueJob, GluePlatform, Run
from polysync_spec.providers.base import (
    AwsProvider,
    Inventory,
    LogTail,
    Refusal,
    RunRequest,
    StatusReport,
)
from polysync_spec.providers.denials import Denials, grant_hint, is_denied
from polysync_spec.providers.glue import discovery, inventory
from polysync_spec.providers.glue.rules import ATTEMPT_ARGUMENT
from polysync_spec.providers.glue.runs import GET_JOB_RUNS, RunReader
from polysync_spec.providers.glue.spec import (
    GlueDefinition,
    GlueSnapshot,
    composite_run_id,
    job_arn,
    monitor_url,
    resolve_compute,
    split_run_id,
    with_remedy,
)
from polysync_spec.providers.logs import read_log_tail

if TYPE_CHECKING:  # the stubs are a test dependency; the base class names them by string
    from mypy_boto3_glue.client import GlueClient as Boto3GlueClient  # noqa: F401

log = logging.getLogger(__name__)

GLUE_LOG_BASE = "/aws-glue/jobs"  # the default; a run's LogGroupName overrides it
# How far before a submission's intent (on AWS's clock) recovery still looks: the Date
# header's one-second resolution, the network, and two hosts' clocks read at different
# moments, with room to spare. Runs are matched by identity; the window only bounds paging.
RECOVERY_MARGIN = 300.0
BATCH_STOP_CHUNK = 25  # BatchStopJobRun takes at most 25 run ids
GET_SECURITY_CONFIGURATION = "glue:GetSecurityConfiguration"
HISTORY_JOBS = 50  # Glue jobs whose recent runs one plan reads (for the expected cost)


class GlueClient(AwsProvider["Boto3GlueClient"]):
    """AWS Glue through one boto3 client: discover, submit, poll, cancel.

    Glue's automatic retries (the job's MaxRetries) are new runs, each naming the one
    before as its PreviousRunId. A run id stays the run that was started; polling,
    cancelling and log tails follow it to its latest attempt."""

    service = "glue"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.denials = Denials()  # permissions refused: those calls are not made again
        self.runs = RunReader(self.client, self.denials)

    def snapshot(self, platform: GluePlatform, runs: Sequence[tuple[Run, GlueJob]]) -> GlueSnapshot:
        """Every Glue job the runs use, by name: BatchGetJobs, 100 names a call (where it
        is denied: GetJob each, or GetJobs pages for many), each with its recent runs
        (one GetJobRuns page a job, for the expected cost); and whether each security
        configuration the runs send exists (GetSecurityConfiguration each)."""
        names = sorted({job.external_id for _, job in runs})
        found, _ = self.discover(names)
        # Glue has no batch read of runs: one GetJobRuns call per job, for at most
        # HISTORY_JOBS of them (the rest are bounded by their timeout alone), so that
        # a plan over thousands of jobs stays a handful of calls per operation.
        for name in sorted(found)[:HISTORY_JOBS]:
            found[name] = replace(found[name], recent_runs=self.runs.history(name))
        configurations = sorted(
            {
                str(chosen.value)
                for run, job in runs
                if (chosen := resolve_compute(job, platform, run).get("security_configuration"))
            }
        )
        return GlueSnapshot(
            {name: found.get(name) for name in names},
            {name: self._security_configuration_exists(name) for name in configurations},
        )

    def _security_configuration_exists(self, name: str) -> bool | None:
        """Whether Glue has the security configuration `name`; None where
        glue:GetSecurityConfiguration is denied (said once) or the call fails."""
        from botocore.exceptions import BotoCoreError, ClientError

        if GET_SECURITY_CONFIGURATION in self.denials:
            return None
        try:
            self.client.get_security_configuration(Name=name)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "EntityNotFoundException":
                return False
            if is_denied(exc):
                self.denials.note(
                    GET_SECURITY_CONFIGURATION,
                    "plan cannot check that the runs' security configurations exist; "
                    + grant_hint(GET_SECURITY_CONFIGURATION, "*"),
                )
            else:
                log.warning("cannot read Glue security configuration %r: %s", name, exc)
            return None
        except BotoCoreError as exc:
            log.warning("cannot read Glue security configuration %r: %s", name, exc)
            return None
        return True

    def discover(
        self, names: list[str] | None = None
    ) -> tuple[dict[str, GlueDefinition], list[str]]:
        """(found, missing): named jobs by BatchGetJobs in chunks of 100 (see
        `discovery.named_jobs` for the fallbacks), else every job by GetJobs pages."""
        from botocore.exceptions import BotoCoreError, ClientError

        from polysync_spec.providers.aws import describe_client_error

        try:
            if names is None:
                return discovery.every_job(self.client), []
            unique = list(dict.fromkeys(names))
            found = discovery.named_jobs(self.client, unique, self.denials)
        except (ClientError, BotoCoreError) as exc:
            error = describe_client_error(exc, f"discovering Glue jobs in {self.region}")
            if isinstance(exc, ClientError) and is_denied(exc):
                if exc.operation_name == "GetJobs":  # lists: no resource-level permission
                    scope = "*"
                elif names and len(names) == 1:
                    scope = job_arn(self.region, names[0])
                else:
                    scope = f"each job's ARN ({job_arn(self.region, 'NAME')})"
                permission = f"glue:{exc.operation_name}"
                if (
                    permission != discovery.BATCH_GET_JOBS
                    and discovery.BATCH_GET_JOBS in self.denials
                ):
                    permission = f"{discovery.BATCH_GET_JOBS} (or, without it, {permission})"
                hint = grant_hint(permission, scope)
                error = error.with_message(f"{error}; {hint}")
            raise error from None
        # JobsNotFound comes in no particular order: answer in the caller's.
        return found, [name for name in unique if name not in found]

    def importable(self) -> list[GlueDefinition]:
        """Every Glue job (GetJobs pages), sorted by name."""
        jobs, _ = self.discover()
        return sorted(jobs.values(), key=lambda j: j.name)

    def inventory(self, platform_name: str) -> Inventory:
        """Every Glue job (GetJobs pages), sorted by name."""
        listed = self.importable()
        return Inventory(
            inventory.document(listed), inventory.lines(platform_name, self.region, listed)
        )

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
                with_remedy(str(error), error.code, job_name, self.region)
            ) from None
        return composite_run_id(job_name, response["JobRunId"])

    def poll(self, run_ids: list[str]) -> dict[str, StatusReport]:
        """See `RunReader.poll`."""
        return self.runs.poll(run_ids)

    def max_retries(self, job_name: str) -> int | None:
        """See `RunReader.max_retries`."""
        return self.runs.max_retries(job_name)

    def cancel(self, run_ids: list[str]) -> dict[str, Refusal | None]:
        """Stop each run's latest attempt (as last polled, else the run itself). A stop
        refused for good may mean the run has moved on to a retry since: its latest
        attempt is read and, if it is another run, stopped instead."""
        self.runs.hasten(run_ids)
        targets = {run_id: self.runs.latest.get(run_id, run_id) for run_id in run_ids}
        stopped = self._stop(list(dict.fromkeys(targets.values())))
        results = {run_id: stopped.get(target) for run_id, target in targets.items()}
        for run_id, refusal in list(results.items()):
            if refusal is None or refusal.retryable:
                continue
            latest = self._resolve_latest(run_id)
            if latest is not None and latest != targets[run_id]:
                self.runs.latest[run_id] = latest
                results[run_id] = self._stop([latest]).get(latest)
        return results

    def _resolve_latest(self, run_id: str) -> str | None:
        """The run id of `run_id`'s latest attempt, read now; None when it cannot be."""
        from botocore.exceptions import BotoCoreError, ClientError

        job_name, job_run_id = split_run_id(run_id)
        try:
            job_run = self.client.get_job_run(JobName=job_name, RunId=job_run_id)["JobRun"]
            latest, _ = self.runs.latest_attempt(job_name, job_run)
        except (ClientError, BotoCoreError):
            return None
        return composite_run_id(job_name, str(latest.get("Id") or job_run_id))

    def _stop(self, run_ids: list[str]) -> dict[str, Refusal | None]:
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
                    message = str(error.get("Message", ""))
                    if is_denied(exc):
                        arn = job_arn(self.region, job_name)
                        message += f"; {grant_hint('glue:BatchStopJobRun', arn)}"
                    refusal = Refusal.of(
                        str(error.get("Code", "Error")),
                        message,
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
                for failure in response.get("Errors", []):
                    detail = failure.get("ErrorDetail", {})
                    results[composite_run_id(job_name, failure.get("JobRunId", ""))] = Refusal.of(
                        str(detail.get("ErrorCode", "Error")), str(detail.get("ErrorMessage", ""))
                    )
        return results

    def monitor_url(self, run_id: str) -> str:
        job_name, job_run_id = split_run_id(run_id)
        return monitor_url(self.region, job_name, job_run_id)

    def log_tail(self, run_id: str, lines: int) -> LogTail:
        """The last lines of the logs of the run's latest attempt: the error log group
        first, then the output one (stream = the attempt's run id; base group = the run's
        LogGroupName, else /aws-glue/jobs)."""
        from botocore.exceptions import BotoCoreError, ClientError

        job_name, job_run_id = split_run_id(run_id)
        try:
            first = self.client.get_job_run(JobName=job_name, RunId=job_run_id)["JobRun"]
            job_run, _ = self.runs.latest_attempt(job_name, first)
        except (ClientError, BotoCoreError) as exc:
            if is_denied(exc):
                hint = grant_hint("glue:GetJobRun", job_arn(self.region, job_name))
                return LogTail(note=f"cannot read the run to find its logs: {hint}")
            return LogTail(note=f"cannot read the run to find its logs ({exc.__class__.__name__})")
        stream = str(job_run.get("Id") or job_run_id)
        base = str(job_run.get("LogGroupName") or GLUE_LOG_BASE).rstrip("/") or GLUE_LOG_BASE
        for group in (f"{base}/error", f"{base}/output"):
            found = read_log_tail(self.logs, group, stream, lines)
            if found is not None:
                return found
        return LogTail(note=f"no log stream {stream} in {base}/error or {base}/output")

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
        try:
            return self.runs.find_marked(job_name, marker, since - RECOVERY_MARGIN)
        except Exception as exc:
            if not is_denied(exc):
                raise
            from polysync_spec.providers.aws import AwsError

            self.denials.note(
                GET_JOB_RUNS,
                "a Glue submission whose answer was lost cannot be found by its identity",
            )
            raise AwsError(
                f"looking for the runs of a submission of Glue job {job_name!r}: "
                f"{grant_hint(GET_JOB_RUNS, job_arn(self.region, job_name))} (only "
                "GetJobRuns lists a job's runs)",
                "AccessDeniedException",
            ) from None
