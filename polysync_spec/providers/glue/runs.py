"""Reading Glue runs: polling, following automatic retries to a run's latest attempt,
and finding a submission's runs by their marker. GetJobRuns, which lists a job's runs,
is not in the product documents' permission list: where it is denied, each run is read
with GetJobRun, and what only a listing can show (a failed run's retries, a submission
whose answer was lost) is said to be out of reach rather than guessed."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from polysync_spec.providers.base import RunStatus, StatusReport
from polysync_spec.providers.denials import Denials, is_denied
from polysync_spec.providers.glue import cadence
from polysync_spec.providers.glue.cost import run_usage
from polysync_spec.providers.glue.rules import ATTEMPT_ARGUMENT
from polysync_spec.providers.glue.spec import (
    RETRIED_STATES,
    attempt_of,
    awaits_retry,
    composite_run_id,
    map_status,
    retry_pending,
    split_run_id,
)

log = logging.getLogger(__name__)

GET_JOB_RUNS_PAGE = 200  # GetJobRuns MaxResults (1-200)
# From this many runs of one job in flight, one GetJobRuns page (newest first, 200 runs)
# answers for all of them in one call instead of a GetJobRun each.
LIST_POLL_THRESHOLD = 3
MAX_RETRIES = 10  # Glue's most automatic retries of a run: a chain is never longer
RETRY_SEARCH_PAGES = 5  # GetJobRuns pages searched for one run's retry
GET_JOB_RUNS = "glue:GetJobRuns"  # not in the product documents' permission list
# Plan's expected cost: the median of up to this many recent succeeded runs of the job,
# from one GetJobRuns page (newest first).
HISTORY_PAGE = 50

JobRun = Mapping[str, Any]


class RunReader:
    """The runs of one Glue client: `latest` maps a run id to its latest attempt's (as
    last read), MaxRetries is read once per job. `seen` and `recent` feed the cadence
    (`cadence.py`): what the last read of each run in flight said, and each job's
    recent successful run durations from the GetJobRuns pages read."""

    def __init__(self, client: Any, denials: Denials) -> None:
        self.client = client
        self.denials = denials
        self._max_retries: dict[str, int] = {}  # job name -> MaxRetries
        self.latest: dict[str, str] = {}  # run id -> its latest attempt's run id
        self.seen: dict[str, cadence.Seen] = {}  # run id -> its last read, while in flight
        self.recent: dict[str, list[float]] = {}  # job name -> recent durations (s)

    def hasten(self, run_ids: list[str]) -> None:
        """Read these runs at every round from now on (e.g. once a stop was asked for:
        they end when stopped, not when their job's runs usually do)."""
        for run_id in run_ids:
            self.seen.pop(run_id, None)

    def due(self, run_ids: list[str], now: float) -> list[str]:
        """The runs of `run_ids` to read this round: all the runs of each job that
        `cadence.due` says is due (one GetJobRuns page reads them together)."""
        by_job: dict[str, list[str]] = {}
        for run_id in run_ids:
            by_job.setdefault(split_run_id(run_id)[0], []).append(run_id)
        chosen: list[str] = []
        for job_name, ids in by_job.items():
            recent = self.recent.get(job_name, [])
            if cadence.due((self.seen.get(run_id) for run_id in ids), recent, now):
                chosen += ids
        return chosen

    def poll(self, run_ids: list[str]) -> dict[str, StatusReport]:
        """Glue has no batch read of runs. A job with several runs in flight is read with
        GetJobRuns pages (newest first, so one page usually holds them all); what those
        pages miss, a job with few runs, and every run once glue:GetJobRuns is denied, is
        read with GetJobRun each. A run Glue no longer knows is Unknown, not an error. A
        run that failed, of a job with retries left, reports its latest attempt: Glue's
        retry once it has started, and not final while it is about to.

        Runs that the cadence (`cadence.py`) says need no read this round are left out
        of the answer: they keep the state they had."""
        from botocore.exceptions import ClientError

        now = time.time()
        run_ids = self.due(run_ids, now)
        reports: dict[str, StatusReport] = {}
        read: dict[str, JobRun] = {}
        listed: dict[str, list[JobRun]] = {}
        by_job: dict[str, list[str]] = {}
        for run_id in run_ids:
            by_job.setdefault(split_run_id(run_id)[0], []).append(run_id)
        remaining: list[str] = []
        for job_name, ids in by_job.items():
            if len(ids) >= LIST_POLL_THRESHOLD and GET_JOB_RUNS not in self.denials:
                found, pages = self._poll_listed(job_name, ids)
                read.update(found)
                if pages is not None:
                    listed[job_name] = pages
                    self.recent[job_name] = cadence.recent_durations(pages)
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
            latest, awaited = self.latest_attempt(job_name, job_run, listed.get(job_name))
            if latest.get("Id"):
                self.latest[run_id] = composite_run_id(job_name, str(latest["Id"]))
            seen = cadence.seen_of(latest, now) if awaited is None else None
            if seen is None:
                self.seen.pop(run_id, None)
            else:
                self.seen[run_id] = seen
            reports[run_id] = (
                retry_pending(latest, awaited) if awaited is not None else map_status(latest)
            )
            if reports[run_id].status.terminal:
                reports[run_id] = replace(reports[run_id], usage=run_usage(latest))
            if self._retry_unseen(job_name, latest):
                report = reports[run_id]
                reports[run_id] = replace(
                    report,
                    message=f"{report.message or report.state}; Glue may retry it, but "
                    f"{GET_JOB_RUNS} is denied, so a retry is not followed",
                )
        return reports

    def _retry_unseen(self, job_name: str, job_run: JobRun) -> bool:
        """Whether `job_run` failed with retries (possibly) left while its retries cannot
        be seen: only GetJobRuns lists them."""
        if GET_JOB_RUNS not in self.denials or job_run.get("JobRunState") not in RETRIED_STATES:
            return False
        max_retries = self.max_retries(job_name)
        return max_retries is None or attempt_of(job_run) < max_retries

    def _poll_listed(
        self, job_name: str, run_ids: list[str]
    ) -> tuple[dict[str, JobRun], list[JobRun] | None]:
        """GetJobRuns pages until every run is seen, at most one page more than the runs
        need: runs started since by others push ours down, and GetJobRun reads the rest.
        Returns the runs found by run id, and every run the pages held (None when
        GetJobRuns is denied: then GetJobRun reads each run, and this is not tried again)."""
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
                if is_denied(exc):
                    self.denials.refuse(
                        GET_JOB_RUNS,
                        "polling each Glue run with glue:GetJobRun (Glue's automatic retries "
                        "of a failed run are not followed)",
                    )
                    return found, None
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

    def latest_attempt(
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
            if retry is None and GET_JOB_RUNS in self.denials:
                return current, None  # a retry could never be seen: none is waited for
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
                if is_denied(exc):
                    self.denials.note(
                        "glue:GetJob",
                        "a Glue job's MaxRetries cannot be read: a failed run's retry is "
                        "followed once it has started, and none is waited for",
                    )
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
        if GET_JOB_RUNS in self.denials:
            return None
        started = job_run.get("StartedOn")
        token: str | None = None
        for _ in range(RETRY_SEARCH_PAGES):
            kwargs: dict[str, Any] = {"JobName": job_name, "MaxResults": GET_JOB_RUNS_PAGE}
            if token:
                kwargs["NextToken"] = token
            try:
                response = self.client.get_job_runs(**kwargs)
            except Exception as exc:
                if not is_denied(exc):
                    raise
                self.denials.note(
                    GET_JOB_RUNS, "Glue's automatic retries of a failed run are not followed"
                )
                return None
            runs: list[JobRun] = response.get("JobRuns", [])
            found = next((r for r in runs if r.get("PreviousRunId") == run_id), None)
            if found is not None:
                return found
            token = response.get("NextToken")
            older = [r for r in runs if r.get("StartedOn") and started and r["StartedOn"] < started]
            if not token or older:  # newest first: the rest started before the failure
                return None
        return None

    def history(self, job_name: str) -> tuple[tuple[float, float | None], ...] | None:
        """The job's recent succeeded runs, newest first, from one GetJobRuns page of
        HISTORY_PAGE: (ExecutionTime seconds, DPUSeconds or None) each. None when the
        listing is denied (said once) or fails: plan then has no expected figure."""
        from botocore.exceptions import BotoCoreError, ClientError

        if GET_JOB_RUNS in self.denials:
            return None
        try:
            response = self.client.get_job_runs(JobName=job_name, MaxResults=HISTORY_PAGE)
        except (ClientError, BotoCoreError) as exc:
            if is_denied(exc):
                self.denials.note(
                    GET_JOB_RUNS,
                    "plan cannot read Glue jobs' recent runs: their cost is bounded by the "
                    "timeout only",
                )
            else:
                log.debug("reading the runs of Glue job %s: %s", job_name, exc)
            return None
        found: list[tuple[float, float | None]] = []
        for job_run in response.get("JobRuns", []):
            seconds = job_run.get("ExecutionTime")
            if job_run.get("JobRunState") != "SUCCEEDED" or not seconds:
                continue
            dpu = job_run.get("DPUSeconds")
            found.append((float(seconds), float(dpu) if dpu else None))
        return tuple(found)

    def find_marked(self, job_name: str, marker: str, earliest: float) -> list[str]:
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
