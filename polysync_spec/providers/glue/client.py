"""AWS Glue, the client part: the only code that calls the Glue API (and its logs)."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

from polysync_spec.manifest.models import GlueJob, GluePlatform, Run
from polysync_spec.providers.base import (
    AwsProvider,
    Inventory,
    LogTail,
    Refusal,
    RunRequest,
    RunStatus,
    StatusReport,
)
from polysync_spec.providers.glue import inventory
from polysync_spec.providers.glue.rules import ATTEMPT_ARGUMENT
from polysync_spec.providers.glue.spec import (
    RETRIED_STATES,
    GlueDefinition,
    attempt_of,
    awaits_retry,
    composite_run_id,
    map_status,
    monitor_url,
    retry_pending,
    split_run_id,
    with_remedy,
)
from polysync_spec.providers.logs import read_log_tail

log = logging.getLogger(__name__)

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
MAX_RETRIES = 10  # Glue's most automatic retries of a run: a chain is never longer
RETRY_SEARCH_PAGES = 5  # GetJobRuns pages searched for one run's retry

JobRun = Mapping[str, Any]


class GlueClient(AwsProvider):
    """AWS Glue through one boto3 client: discover, submit, poll, cancel.

    Glue's automatic retries (the job's MaxRetries) are new runs, each naming the one
    before as its PreviousRunId. A run id stays the run that was started; polling,
    cancelling and log tails follow it to its latest attempt."""

    service = "glue"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._max_retries: dict[str, int] = {}  # job name -> MaxRetries
        self._latest: dict[str, str] = {}  # run id -> its latest attempt's run id

    def snapshot(
        self, platform: GluePlatform, runs: Sequence[tuple[Run, GlueJob]]
    ) -> dict[str, GlueDefinition | None]:
        """Every Glue job the runs use, by name: BatchGetJobs, 100 names a call."""
        del platform
        names = sorted({job.external_id for _, job in runs})
        found, _ = self.discover(names)
        return {name: found.get(name) for name in names}

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
        """Glue has no batch read of runs. A job with several runs in flight is read with
        GetJobRuns pages (newest first, so one page usually holds them all); what those
        pages miss, and a job with few runs, is read with GetJobRun each. A run Glue no
        longer knows is Unknown, not an error. A run that failed, of a job with retries
        left, reports its latest attempt: Glue's retry once it has started, and not final
        while it is about to."""
        from botocore.exceptions import ClientError

        reports: dict[str, StatusReport] = {}
        read: dict[str, JobRun] = {}
        listed: dict[str, list[JobRun]] = {}
        by_job: dict[str, list[str]] = {}
        for run_id in run_ids:
            by_job.setdefault(split_run_id(run_id)[0], []).append(run_id)
        remaining: list[str] = []
        for job_name, ids in by_job.items():
            if len(ids) >= LIST_POLL_THRESHOLD:
                found, listed[job_name] = self._poll_listed(job_name, ids)
                read.update(found)
            remaining += [run_id for run_id in ids if run_id not in read]
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
            read[run_id] = response.get("JobRun") or {}
        for run_id, job_run in read.items():
            job_name = split_run_id(run_id)[0]
            latest, awaited = self._latest_attempt(job_name, job_run, listed.get(job_name))
            if latest.get("Id"):
                self._latest[run_id] = composite_run_id(job_name, str(latest["Id"]))
            reports[run_id] = (
                retry_pending(latest, awaited) if awaited is not None else map_status(latest)
            )
        return reports

    def _poll_listed(
        self, job_name: str, run_ids: list[str]
    ) -> tuple[dict[str, JobRun], list[JobRun]]:
        """GetJobRuns pages until every run is seen, at most one page more than the runs
        need: runs started since by others push ours down, and GetJobRun reads the rest.
        Returns the runs found by run id, and every run the pages held."""
        from botocore.exceptions import ClientError

        wanted = {split_run_id(run_id)[1]: run_id for run_id in run_ids}
        found: dict[str, JobRun] = {}
        listed: list[JobRun] = []
        token: str | None = None
        for _ in range(-(-len(run_ids) // GET_JOB_RUNS_PAGE) + 1):
            kwargs: dict[str, Any] = {"JobName": job_name, "MaxResults": GET_JOB_RUNS_PAGE}
            if token:
                kwargs["NextToken"] = token
            try:
                response = self.client.get_job_runs(**kwargs)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") == "EntityNotFoundException":
                    return found, listed  # the job is gone: GetJobRun says so run by run
                raise
            for job_run in response.get("JobRuns", []):
                listed.append(job_run)
                run_id = wanted.get(job_run.get("Id", ""))
                if run_id is not None:
                    found[run_id] = job_run
            token = response.get("NextToken")
            if len(found) == len(wanted) or not token:
                break
        return found, listed

    def _latest_attempt(
        self, job_name: str, job_run: JobRun, listed: list[JobRun] | None = None
    ) -> tuple[JobRun, int | None]:
        """(the latest attempt of `job_run`, the job's MaxRetries when Glue is about to
        start another, else None). `listed`: runs of the job already read."""
        current = job_run
        for _ in range(MAX_RETRIES):
            if current.get("JobRunState") not in RETRIED_STATES:
                break
            max_retries = self.max_retries(job_name)
            if max_retries is not None and attempt_of(current) >= max_retries:
                break
            retry = self._retry_of(job_name, current, listed)
            if retry is None:
                due = max_retries is not None and awaits_retry(current, max_retries, time.time())
                return current, max_retries if due else None
            current = retry
        return current, None

    def max_retries(self, job_name: str) -> int | None:
        """The job's MaxRetries (GetJob, once per job); None while it cannot be read
        (then a retry that exists is followed, and none is waited for)."""
        from botocore.exceptions import BotoCoreError, ClientError

        if job_name not in self._max_retries:
            try:
                job = self.client.get_job(JobName=job_name).get("Job") or {}
            except (ClientError, BotoCoreError) as exc:
                log.debug("reading MaxRetries of Glue job %s: %s", job_name, exc)
                return None
            self._max_retries[job_name] = int(job.get("MaxRetries") or 0)
        return self._max_retries[job_name]

    def _retry_of(
        self, job_name: str, job_run: JobRun, listed: list[JobRun] | None
    ) -> JobRun | None:
        """The run whose PreviousRunId is `job_run`'s id: from `listed` when it holds the
        failed run (a retry, newer, would be there too), else from GetJobRuns pages
        (newest first) down to the failed run's start."""
        run_id = job_run.get("Id")
        if listed is not None and any(r.get("Id") == run_id for r in listed):
            return next((r for r in listed if r.get("PreviousRunId") == run_id), None)
        started = job_run.get("StartedOn")
        token: str | None = None
        for _ in range(RETRY_SEARCH_PAGES):
            kwargs: dict[str, Any] = {"JobName": job_name, "MaxResults": GET_JOB_RUNS_PAGE}
            if token:
                kwargs["NextToken"] = token
            response = self.client.get_job_runs(**kwargs)
            runs: list[JobRun] = response.get("JobRuns", [])
            found = next((r for r in runs if r.get("PreviousRunId") == run_id), None)
            if found is not None:
                return found
            token = response.get("NextToken")
            older = [r for r in runs if r.get("StartedOn") and started and r["StartedOn"] < started]
            if not token or older:  # newest first: the rest started before the failure
                return None
        return None

    def cancel(self, run_ids: list[str]) -> dict[str, Refusal | None]:
        """Stop each run's latest attempt (as last polled, else the run itself). A stop
        refused for good may mean the run has moved on to a retry since: its latest
        attempt is read and, if it is another run, stopped instead."""
        targets = {run_id: self._latest.get(run_id, run_id) for run_id in run_ids}
        stopped = self._stop(list(dict.fromkeys(targets.values())))
        results = {run_id: stopped.get(target) for run_id, target in targets.items()}
        for run_id, refusal in list(results.items()):
            if refusal is None or refusal.retryable:
                continue
            latest = self._resolve_latest(run_id)
            if latest is not None and latest != targets[run_id]:
                self._latest[run_id] = latest
                results[run_id] = self._stop([latest]).get(latest)
        return results

    def _resolve_latest(self, run_id: str) -> str | None:
        """The run id of `run_id`'s latest attempt, read now; None when it cannot be."""
        from botocore.exceptions import BotoCoreError, ClientError

        job_name, job_run_id = split_run_id(run_id)
        try:
            job_run = self.client.get_job_run(JobName=job_name, RunId=job_run_id)["JobRun"]
            latest, _ = self._latest_attempt(job_name, job_run)
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
        """The last lines of the logs of the run's latest attempt: the error log group
        first, then the output one (stream = the attempt's run id; base group = the run's
        LogGroupName, else /aws-glue/jobs)."""
        from botocore.exceptions import BotoCoreError, ClientError

        job_name, job_run_id = split_run_id(run_id)
        try:
            job_run = self.client.get_job_run(JobName=job_name, RunId=job_run_id)["JobRun"]
            job_run, _ = self._latest_attempt(job_name, job_run)
        except (ClientError, BotoCoreError) as exc:
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
