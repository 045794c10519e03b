"""AWS Batch, the client part: the only code that calls the Batch API (and its logs)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from polysync_spec.manifest.models import BatchJob, BatchPlatform, Run
from polysync_spec.providers.base import (
    AwsProvider,
    Inventory,
    LogTail,
    Refusal,
    RunRequest,
    RunStatus,
    StatusReport,
)
from polysync_spec.providers.batch import inventory
from polysync_spec.providers.batch.spec import (
    CANCEL_REASON,
    BatchDefinition,
    BatchLive,
    BatchQueue,
    DefinitionLookup,
    NoQueueError,
    build_request,
    definition_name,
    first_failed_child,
    highest_revisions,
    is_array_parent,
    log_location,
    map_status,
    monitor_url,
)
from polysync_spec.providers.logs import read_log_tail

log = logging.getLogger(__name__)

DESCRIBE_PAGE = 100  # DescribeJobDefinitions maxResults, per the product document
DESCRIBE_REVISIONS_CHUNK = 100  # DescribeJobDefinitions takes "a list of up to 100"
DESCRIBE_JOBS_CHUNK = 100  # DescribeJobs takes at most 100 job ids
DESCRIBE_QUEUES_CHUNK = 100
LIST_JOBS_PAGE = 1000  # ListJobs maxResults with jobStatus ("up to 1000 values")


class BatchClient(AwsProvider):
    """AWS Batch through one boto3 client: discover, submit, poll, cancel."""

    service = "batch"

    def snapshot(self, platform: BatchPlatform, runs: Sequence[tuple[Run, BatchJob]]) -> BatchLive:
        """The queues (DescribeJobQueues, 100 a call) and definitions the runs use. Pinned
        definitions (name:revision or an ARN with a revision): DescribeJobDefinitions by
        ARN alone, 100 a call, the account taken from the queue ARNs already fetched. Bare
        names and ARNs without a revision: one DescribeJobDefinitions(jobDefinitionName,
        ACTIVE) per name, since only that answers "the highest ACTIVE revision" without
        listing the whole account."""
        live = BatchLive()
        references: set[str] = set()
        queues: set[str] = set()
        for run, job in runs:
            references.add(job.external_id)
            with contextlib.suppress(NoQueueError):  # validate reports it (PS407)
                queues.add(str(build_request(job, platform, run).payload["jobQueue"]))
        found_queues = self.queues(sorted(queues)) if queues else {}
        for queue in queues:
            live.queues[queue] = found_queues.get(queue)
        self._lookup_definitions(live, sorted(references), found_queues)
        return live

    def _lookup_definitions(
        self, live: BatchLive, references: list[str], queues: dict[str, BatchQueue]
    ) -> None:
        # A bare name, or an ARN without a revision, runs the latest ACTIVE revision
        # (SubmitJob); DescribeJobDefinitions' `jobDefinitions` takes only `name:revision`
        # or an ARN with one, so both are looked up by name.
        latest_of = {r: definition_name(r)[0] for r in references if definition_name(r)[1] is None}
        pinned = [r for r in references if r not in latest_of]
        if latest_of:
            latest = self.discover(sorted(set(latest_of.values())))
            for reference, name in latest_of.items():
                live.definitions[reference] = DefinitionLookup(reference, latest.get(name))
        if not pinned:
            return
        account = next(
            (q.arn.split(":")[4] for q in queues.values() if q.arn.count(":") >= 5), None
        )
        partition = next((q.arn.split(":")[1] for q in queues.values()), "aws")
        lookups = {
            reference: reference
            if reference.startswith("arn:") or account is None
            else f"arn:{partition}:batch:{self.region}:{account}:job-definition/{reference}"
            for reference in pinned
        }
        found = self.revisions(sorted(set(lookups.values())))
        for reference, key in lookups.items():
            revision = found.get(key) or found.get(reference)
            status = revision.status if revision else None
            live.definitions[reference] = DefinitionLookup(
                reference,
                revision if status == "ACTIVE" else None,
                pinned=True,
                pinned_status=status,
            )

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

    def importable(self) -> list[BatchDefinition]:
        """The highest ACTIVE revision of every job definition, sorted by name."""
        return sorted(self.discover().values(), key=lambda d: d.name)

    def inventory(self, platform_name: str) -> Inventory:
        """The highest ACTIVE revision of every definition, and every queue, by name."""
        definitions = self.importable()
        queues = sorted(self.queues().values(), key=lambda q: q.name)
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
            raise error.with_message(_with_remedy(str(error), payload)) from None
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
                reports[job["jobId"]] = map_status(job, failed_children)
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
        return [job for page in pages for job in page.get("jobSummaryList", [])]

    def _failed_children_or_none(self, parent_id: str) -> list[dict[str, Any]] | None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return self.failed_children(parent_id)
        except (ClientError, BotoCoreError) as exc:  # the counts of statusSummary still say much
            log.debug("listing the failed children of %s: %s", parent_id, exc)
            return None

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
        """The last lines of the latest attempt's log stream, in the log group the job's
        logConfiguration names (default /aws/batch/job). An array parent starts no
        container: its first failed child's logs stand for it."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            job = self._describe_one(job_id)
            child: Mapping[str, Any] | None = None
            if job is not None and is_array_parent(job):
                child = first_failed_child(self.failed_children(job_id))
                if child is None:
                    size = (job.get("arrayProperties") or {}).get("size", "its")
                    return LogTail(
                        note=f"an array job starts no container; each of its {size} children "
                        f"logs on its own: polysync logs {job_id}:<index>"
                    )
                job = self._describe_one(str(child["jobId"]))
        except (ClientError, BotoCoreError) as exc:
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
