# Over 400 lines: every Batch call the tool makes, with its fallbacks when IAM denies one.
"""AWS Batch, the client part: the only code that calls the Batch API (and its logs)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from polysync_spec.manifest.models import BatchJob, BatchPlatform, Run
from polysync_spec.providers.aws import AwsError
from polysync_spec.providers.base import (
    AwsProvider,
    Inventory,
    LogTail,
    Refusal,
    RunRequest,
    RunStatus,
    StatusReport,
)
from polysync_spec.providers.batch import inventory, usage
from polysync_spec.providers.batch.definitions import (
    BatchDefinition,
    BatchLive,
    BatchQueue,
    DefinitionLookup,
    definition_name,
    highest_revisions,
    revision_arns,
)
from polysync_spec.providers.batch.denied import unfindable, with_call_hint
from polysync_spec.providers.batch.discovery import (
    active_listing,
    describe_definitions,
    describe_queues,
    describe_revisions,
)
from polysync_spec.providers.batch.permissions import (
    DESCRIBE_JOB_QUEUES,
    LIST_JOBS,
    TERMINATE_JOB,
    call_hint,
    submit_hint,
    terminate_hint,
)
from polysync_spec.providers.batch.spec import (
    CANCEL_REASON,
    NoQueueError,
    build_request,
    first_failed_child,
    is_array_parent,
    log_location,
    map_status,
    monitor_url,
    with_remedy,
)
from polysync_spec.providers.denials import DENIED_CODES, Denials, is_denied
from polysync_spec.providers.logs import read_log_tail

if TYPE_CHECKING:  # the stubs are a test dependency; the base class names them by string
    from mypy_boto3_batch.client import BatchClient as Boto3BatchClient  # noqa: F401

log = logging.getLogger(__name__)

DESCRIBE_REVISIONS_CHUNK = 100  # DescribeJobDefinitions takes "a list of up to 100"
DESCRIBE_JOBS_CHUNK = 100  # DescribeJobs takes at most 100 job ids
LIST_JOBS_PAGE = 1000  # ListJobs maxResults with jobStatus ("up to 1000 values")
# TerminateJobs takes "an array of up to 50 Batch job IDs" (botocore 1.44.8 batch
# service-2.json, TerminateJobsRequest.jobs).
TERMINATE_JOBS_CHUNK = 50
TERMINATE_JOBS = "batch:TerminateJobs"  # the call (not an IAM action: see permissions.py)
# What an endpoint answers for an operation it does not offer.
BULK_MISSING_CODES = frozenset(
    {"UnknownOperationException", "UnknownOperation", "InvalidAction", "NotFoundException"}
)
BULK_FALLBACK = "Batch jobs are terminated one TerminateJob call each"


class BatchClient(AwsProvider["Boto3BatchClient"]):
    """AWS Batch through one boto3 client: discover, submit, poll, cancel."""

    service = "batch"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.denials = Denials()  # permissions refused: those calls are not made again

    def snapshot(self, platform: BatchPlatform, runs: Sequence[tuple[Run, BatchJob]]) -> BatchLive:
        """The queues (DescribeJobQueues, 100 a call) and definitions the runs use
        (`resolve_definitions`). Where DescribeJobQueues is denied, the queues are taken
        as they are named, undescribed (plan notes that it could not check them)."""
        live = BatchLive()
        references: set[str] = set()
        queues: set[str] = set()
        for run, job in runs:
            references.add(job.external_id)
            with contextlib.suppress(NoQueueError):  # validate reports it (PS407)
                queues.add(str(build_request(job, platform, run).payload["jobQueue"]))
        found_queues = self._queues_if_allowed(sorted(queues)) if queues else {}
        for queue in queues:
            live.queues[queue] = found_queues.get(queue)
        environments = [e for q in found_queues.values() for e in q.compute_environments]
        live.environments = usage.environment_types(self.client, environments, self.denials)
        live.definitions.update(self.resolve_definitions(sorted(references), found_queues))
        return live

    def resolve_definitions(
        self, references: list[str], queues: Mapping[str, BatchQueue]
    ) -> dict[str, DefinitionLookup]:
        """What each definition reference (`name`, `name:revision`, ARN with or without
        a revision) resolves to, in the fewest DescribeJobDefinitions calls.

        A bare name (or an ARN without a revision) runs its highest ACTIVE revision
        (SubmitJob); only two reads answer that: one call per name (`jobDefinitionName`,
        ACTIVE), or the account's whole ACTIVE listing (100 revisions a page, the
        product document's discovery), whose length is unknown before its last page (the
        API documents no order, so a partial listing resolves no name). Pinned revisions
        (`name:revision`, an ARN with one) are described by ARN, 100 a call, the account
        taken from the queue ARNs already fetched; those a finished listing holds need
        no call.

        The rule (a ski rental), for N distinct names and P pinned revisions: asking
        costs B = N + ceil(P/100) calls. With N >= 1 and B >= 2 the listing is read for
        at most B pages; a listing longer than that is abandoned and the names asked one
        by one. Cost: the listing's ceil(A/100) pages (A: the ACTIVE revisions in the
        account), plus ceil(P'/100) for the P' pinned revisions that are not ACTIVE,
        when ceil(A/100) <= B; else 2B at worst. Never more than about twice the cheaper
        of the two ways, which cannot be known before the listing's last page."""
        # DescribeJobDefinitions' `jobDefinitions` takes only `name:revision` or an ARN
        # with one, so the latest ACTIVE revision is looked up by name.
        latest_of = {r: definition_name(r)[0] for r in references if definition_name(r)[1] is None}
        pinned = [r for r in references if r not in latest_of]
        names = sorted(set(latest_of.values()))
        found: dict[str, DefinitionLookup] = {}
        budget = len(names) + -(-len(pinned) // DESCRIBE_REVISIONS_CHUNK)
        listing = self._active_listing(budget) if names and budget >= 2 else None
        if listing is not None:
            latest = highest_revisions(listing)
        elif names:
            latest = self.discover(names)
        else:
            latest = {}
        for reference, name in latest_of.items():
            found[reference] = DefinitionLookup(reference, latest.get(name))
        if listing is not None:
            active = {d.arn: d for d in listing} | {d.reference: d for d in listing}
            for reference in [r for r in pinned if r in active]:
                found[reference] = DefinitionLookup(
                    reference, active[reference], pinned=True, pinned_status="ACTIVE"
                )
            pinned = [r for r in pinned if r not in active]
        if not pinned:
            return found
        lookups = revision_arns(pinned, queues, self.region)
        revisions = self.revisions(sorted(set(lookups.values())))
        for reference, key in lookups.items():
            revision = revisions.get(key) or revisions.get(reference)
            status = revision.status if revision else None
            found[reference] = DefinitionLookup(
                reference,
                revision if status == "ACTIVE" else None,
                pinned=True,
                pinned_status=status,
            )
        return found

    def _active_listing(self, budget: int) -> list[BatchDefinition] | None:
        """`active_listing` of at most `budget` pages, its errors as discover's."""
        from botocore.exceptions import BotoCoreError, ClientError

        from polysync_spec.providers.aws import describe_client_error

        try:
            return active_listing(self.client, budget)
        except (ClientError, BotoCoreError) as exc:
            raise with_call_hint(
                describe_client_error(exc, f"discovering Batch job definitions in {self.region}"),
                exc,
            ) from None

    def discover(self, names: list[str] | None = None) -> dict[str, BatchDefinition]:
        """The highest ACTIVE revision of each definition (of `names`, or of all)."""
        from botocore.exceptions import BotoCoreError, ClientError

        from polysync_spec.providers.aws import describe_client_error

        revisions: list[BatchDefinition] = []
        try:
            if names is None:
                revisions = describe_definitions(self.client, {"status": "ACTIVE"})
            else:
                for name in dict.fromkeys(names):
                    revisions += describe_definitions(
                        self.client, {"status": "ACTIVE", "jobDefinitionName": name}
                    )
        except (ClientError, BotoCoreError) as exc:
            raise with_call_hint(
                describe_client_error(exc, f"discovering Batch job definitions in {self.region}"),
                exc,
            ) from None
        return highest_revisions(revisions)

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
                for definition in describe_revisions(self.client, chunk):
                    found[definition.arn] = definition
                    found[definition.reference] = definition
        except (ClientError, BotoCoreError) as exc:
            raise with_call_hint(
                describe_client_error(
                    exc, f"describing Batch job definition revisions in {self.region}"
                ),
                exc,
            ) from None
        return found

    def queues(self, names: list[str] | None = None) -> dict[str, BatchQueue]:
        """DescribeJobQueues, 100 names a call (or every queue, paginated); a queue that
        does not exist is absent from the answer."""
        from botocore.exceptions import BotoCoreError, ClientError

        from polysync_spec.providers.aws import describe_client_error

        try:
            found = describe_queues(self.client, names)
        except (ClientError, BotoCoreError) as exc:
            raise with_call_hint(
                describe_client_error(exc, f"describing Batch job queues in {self.region}"), exc
            ) from None
        return found

    def _queues_if_allowed(self, names: list[str]) -> dict[str, BatchQueue]:
        """`queues(names)`, or each queue undescribed where DescribeJobQueues is denied."""

        if DESCRIBE_JOB_QUEUES not in self.denials:
            try:
                return self.queues(names)
            except AwsError as exc:
                if exc.code not in DENIED_CODES:
                    raise
                self.denials.refuse(
                    DESCRIBE_JOB_QUEUES,
                    "Batch job queues are taken as named, their state and fair-share policy "
                    "unchecked before submitting",
                )
        return {name: BatchQueue.undescribed(name) for name in names}

    def importable(self) -> list[BatchDefinition]:
        """The highest ACTIVE revision of every job definition, sorted by name."""
        return sorted(self.discover().values(), key=lambda d: d.name)

    def inventory(self, platform_name: str) -> Inventory:
        """The highest ACTIVE revision of every definition, and every queue, by name (the
        queues left out, with a note, where DescribeJobQueues is denied)."""

        definitions = self.importable()
        queues: list[BatchQueue] | None = None
        try:
            queues = sorted(self.queues().values(), key=lambda q: q.name)
        except AwsError as exc:
            if exc.code not in DENIED_CODES:
                raise
            self.denials.refuse(DESCRIBE_JOB_QUEUES, "Batch job queues are not listed")
        return Inventory(
            inventory.document(definitions, queues),
            inventory.lines(platform_name, self.region, definitions, queues),
        )

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
            if error.code in DENIED_CODES:
                raise error.with_message(f"{error}; {submit_hint(self.region, payload)}") from None
            raise error.with_message(with_remedy(str(error), payload)) from None
        return str(response["jobId"])

    def poll(self, job_ids: list[str]) -> dict[str, StatusReport]:
        """DescribeJobs, 100 ids a call; an id Batch no longer returns is Unknown. A failed
        array parent's children are listed once more (its FAILED ones) to count the
        cancelled apart and name the first failure."""
        reports: dict[str, StatusReport] = {}
        for start in range(0, len(job_ids), DESCRIBE_JOBS_CHUNK):
            chunk = job_ids[start : start + DESCRIBE_JOBS_CHUNK]
            response = self.client.describe_jobs(jobs=chunk)
            for job in response.get("jobs", []):
                failed_children = None
                if job.get("status") == "FAILED" and is_array_parent(job):
                    failed_children = self._failed_children_or_none(job["jobId"])
                report = map_status(job, failed_children)
                reports[job["jobId"]] = replace(report, usage=usage.used(self.client, job))
        for job_id in job_ids:
            reports.setdefault(
                job_id, StatusReport(RunStatus.UNKNOWN, None, f"Batch does not know job {job_id}")
            )
        return reports

    def failed_children(self, parent_id: str) -> list[dict[str, Any]]:
        """The FAILED children of an array job (ListJobs summaries, every page)."""
        paginator = self.client.get_paginator("list_jobs")
        pages = paginator.paginate(
            arrayJobId=parent_id,
            jobStatus="FAILED",
            PaginationConfig={"PageSize": LIST_JOBS_PAGE},
        )
        return [dict(job) for page in pages for job in page.get("jobSummaryList", [])]

    def _failed_children_or_none(self, parent_id: str) -> list[dict[str, Any]] | None:
        from botocore.exceptions import BotoCoreError, ClientError

        if LIST_JOBS in self.denials:
            return None
        try:
            return self.failed_children(parent_id)
        except (ClientError, BotoCoreError) as exc:  # the counts of statusSummary still say much
            log.debug("listing the failed children of %s: %s", parent_id, exc)
            if is_denied(exc):
                self.denials.refuse(
                    LIST_JOBS,
                    "a failed Batch array job is reported from its statusSummary counts, "
                    "without its first failed child",
                )
            return None

    def cancel(self, job_ids: list[str]) -> dict[str, Refusal | None]:
        """TerminateJobs, 50 jobs a call, which (as TerminateJob, unlike CancelJob and
        CancelJobs) also stops STARTING and RUNNING jobs; each job's refusal is its own
        (a lost connection is a retryable one), never an exception, and one failing job
        or chunk never keeps the others from their call. Where TerminateJobs is missing
        (botocore before 1.44, an endpoint that does not know it) or refused as a whole,
        each job gets its own TerminateJob, from then on for the whole process."""
        unique = list(dict.fromkeys(job_ids))
        results: dict[str, Refusal | None] = {}
        for start in range(0, len(unique), TERMINATE_JOBS_CHUNK):
            if TERMINATE_JOBS in self.denials:
                break
            chunk = unique[start : start + TERMINATE_JOBS_CHUNK]
            answered = self._terminate_jobs(chunk)
            if answered is not None:
                results.update(answered)
        rest = [job_id for job_id in unique if job_id not in results]
        results.update(self._terminate_each(rest))
        return results

    def _terminate_jobs(self, chunk: list[str]) -> dict[str, Refusal | None] | None:
        """One TerminateJobs call: each job None (accepted) or its refusal. The answer
        is HTTP 200 "even when some jobs encountered errors, so check the errors list",
        and "jobs that can't be found are treated as successfully processed" (botocore
        1.44.8 batch service-2.json, TerminateJobs; TerminateJobsErrorDetail codes:
        ValidationException, ClientException, ThrottlingException, ServerException,
        AccessDenied). None: the call is missing or refused as a whole (remembered; the
        caller terminates the jobs one by one)."""
        from botocore.exceptions import BotoCoreError, ClientError

        terminate_jobs = getattr(self.cancel_client, "terminate_jobs", None)
        if terminate_jobs is None:
            self.denials.unavailable(
                TERMINATE_JOBS,
                BULK_FALLBACK,
                "the installed botocore predates 1.44; upgrade it to terminate 50 jobs a call",
            )
            return None
        try:
            response = terminate_jobs(jobs=chunk, reason=CANCEL_REASON)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code", "Error"))
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
            if code in BULK_MISSING_CODES or status == 404:
                self.denials.unavailable(
                    TERMINATE_JOBS, BULK_FALLBACK, f"the endpoint answered {code}"
                )
                return None
            if is_denied(exc):
                # AWS authorises TerminateJobs job by job as batch:TerminateJob, so a
                # refusal of the whole call comes from elsewhere (an SCP or VPC endpoint
                # policy naming the call); the single calls may still be allowed.
                self.denials.unavailable(
                    TERMINATE_JOBS,
                    BULK_FALLBACK,
                    f"refused as a whole ({code}); it is authorised as {TERMINATE_JOB} on "
                    "each job: allow it for batch:TerminateJobs requests to make this cheaper",
                )
                return None
            refusal = Refusal.of(code, str(error.get("Message", "")), status=status)
            return dict.fromkeys(chunk, refusal)
        except BotoCoreError as exc:
            return dict.fromkeys(chunk, Refusal(exc.__class__.__name__, str(exc), retryable=True))
        results: dict[str, Refusal | None] = dict.fromkeys(response.get("successful") or [])
        for item in response.get("errors") or []:
            job_id, code = str(item.get("job", "")), str(item.get("code", "Error"))
            message = str(item.get("message", ""))
            if code in DENIED_CODES or code == "AccessDenied":
                message += f"; {terminate_hint(self.region, job_id)}"
            results[job_id] = Refusal.of(code, message)
        # A job the answer does not mention is not known to be stopped: asked again.
        for job_id in chunk:
            results.setdefault(
                job_id, Refusal("NoAnswer", "TerminateJobs did not report this job", True)
            )
        return {job_id: results[job_id] for job_id in chunk}

    def _terminate_each(self, job_ids: list[str]) -> dict[str, Refusal | None]:
        """TerminateJob, one job at a time."""
        from botocore.exceptions import BotoCoreError, ClientError

        results: dict[str, Refusal | None] = {}
        for job_id in job_ids:
            try:
                self.cancel_client.terminate_job(jobId=job_id, reason=CANCEL_REASON)
                results[job_id] = None
            except ClientError as exc:
                error = exc.response.get("Error", {})
                status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
                message = str(error.get("Message", ""))
                if is_denied(exc):
                    message += f"; {terminate_hint(self.region, job_id)}"
                results[job_id] = Refusal.of(
                    str(error.get("Code", "Error")), message, status=status
                )
            except BotoCoreError as exc:
                results[job_id] = Refusal(exc.__class__.__name__, str(exc), retryable=True)
        return results

    def monitor_url(self, job_id: str) -> str:
        return monitor_url(self.region, job_id)

    def log_tail(self, job_id: str, lines: int) -> LogTail:
        """The last lines of the latest attempt's log stream, in the log group the job's
        logConfiguration names (default /aws/batch/job). An array parent starts no
        container: its first failed child's logs stand for it."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            job = self._describe_one(job_id)
            child: Mapping[str, Any] | None = None
            if job is not None and is_array_parent(job):
                if LIST_JOBS in self.denials:
                    return _children_unlisted(job_id)
                child = first_failed_child(self.failed_children(job_id))
                if child is None:
                    size = (job.get("arrayProperties") or {}).get("size", "its")
                    return LogTail(
                        note=f"an array job starts no container; each of its {size} children "
                        f"logs on its own: polysync logs {job_id}:<index>"
                    )
                job = self._describe_one(str(child["jobId"]))
        except (ClientError, BotoCoreError) as exc:
            if isinstance(exc, ClientError) and is_denied(exc):
                if exc.operation_name == "ListJobs":
                    self.denials.note(LIST_JOBS, "a Batch array job's children are not listed")
                    return _children_unlisted(job_id)
                return LogTail(note=f"cannot read the job to find its logs: {call_hint(exc)}")
            return LogTail(note=f"cannot read the job to find its logs ({exc.__class__.__name__})")
        if job is None:
            return LogTail(note=f"Batch does not know job {job_id}")
        where = log_location(job, self.region)
        if where.note or where.group is None:
            return LogTail(note=where.note)
        if not where.stream:
            return LogTail(note="the job has no log stream (it never started a container)")
        tail = read_log_tail(self.logs, where.group, where.stream, lines)
        if tail is None:
            return LogTail(note=f"no log stream {where.stream} in {where.group}")
        if child is not None:
            return replace(tail, source=f"{tail.source} (child {job['jobId']})")
        return tail

    def _describe_one(self, job_id: str) -> dict[str, Any] | None:
        jobs = self.client.describe_jobs(jobs=[job_id]).get("jobs", [])
        return dict(jobs[0]) if jobs else None

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
        try:
            return [
                job["jobId"]
                for page in pages
                for job in page.get("jobSummaryList", [])
                if job.get("jobName") == name
                and ":" not in str(job.get("jobId", ""))
                and (job.get("arrayProperties") or {}).get("index") is None
            ]
        except Exception as exc:
            if not is_denied(exc):
                raise
            self.denials.note(LIST_JOBS, "a lost Batch submission cannot be found by its name")
            raise unfindable(exc, f"the jobs of a submission to {payload['jobQueue']!r}") from None


def _children_unlisted(job_id: str) -> LogTail:
    return LogTail(
        note=f"an array job starts no container, and listing its failed children needs "
        f"{LIST_JOBS}; read one child's logs with polysync logs {job_id}:<index>"
    )
