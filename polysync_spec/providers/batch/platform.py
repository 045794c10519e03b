# Over 400 lines: the whole pure Batch platform (pre-flight checks, dependencies, import, events).
"""AWS Batch as a `Platform`: pre-flight checks and fingerprints of a SubmitJob against
the live definition and queue (product document 003), the run's limit, and the
dependencies Batch holds itself (`dependsOn`). Pure: the live objects come from
`BatchClient.snapshot`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from polysync_spec.manifest import codes
from polysync_spec.manifest.models import BatchJob, BatchPlatform, Run
from polysync_spec.manifest.positions import DocPath
from polysync_spec.providers.base import (
    FindingSink,
    ImportedJob,
    PlanContext,
    PlannedRequest,
    Resolved,
    RunEvent,
    RunRequest,
    Tier,
    object_schema,
)
from polysync_spec.providers.batch import cost, events, permissions
from polysync_spec.providers.batch.definitions import BatchDefinition, BatchLive, definition_name
from polysync_spec.providers.batch.spec import SUBMIT_JOB, build_request
from polysync_spec.providers.permissions import Command, Grant
from polysync_spec.values import aws_string

# SubmitJob's dependsOn takes at most 20 jobs.
DEPENDS_ON_LIMIT = 20
# Tags a job's ECS task may carry, the job's and its definition's together (propagateTags).
PROPAGATED_TAGS_LIMIT = 50


class Batch:
    """AWS Batch job definitions, run with SubmitJob."""

    type: ClassVar[str] = "aws_batch"
    job_type: ClassVar[str] = "aws_batch_job"
    service: ClassVar[str] = "batch"
    title: ClassVar[str] = "Batch"
    api: ClassVar[str] = SUBMIT_JOB

    recorded_schema: ClassVar[Mapping[str, Mapping[str, Any]]] = {}

    busy_codes: ClassVar[frozenset[str]] = frozenset()
    held_dependency: ClassVar[str] = "Batch dependsOn"
    # SubmitJob: 50 transactions a second per account (AWS Batch User Guide, "Service
    # quotas"; AWS-FACTS); over it, HTTP 429 TooManyRequestsException.
    submit_rate: ClassVar[tuple[float, float]] = (50.0, 50.0)
    event_pattern: ClassVar[Mapping[str, Any]] = events.EVENT_PATTERN

    def run_event(self, detail_type: str, detail: Mapping[str, Any]) -> RunEvent | None:
        return events.run_event(detail_type, detail)

    def busy_reason(self, compute: Mapping[str, Any]) -> str:
        return "the queue is full"  # SubmitJob queues instead of refusing: never asked

    def request_schema(self, secret_or_string: Mapping[str, Any]) -> dict[str, Any]:
        return object_schema(
            {
                # Each submission attempt names its job after its own identity: a plan holds the
                # slot, never a name (an edited name would be shared by every attempt).
                "jobName": {
                    "const": "Polysync-${attempt_id}",
                    "description": "the attempt slot: apply names each job Polysync-<attempt uuid>",
                },
                "jobQueue": {"type": "string", "minLength": 1},
                "jobDefinition": {"type": "string", "minLength": 1},
                "parameters": {
                    "type": "object",
                    "additionalProperties": secret_or_string,
                },
                "shareIdentifier": {"type": "string"},
                "schedulingPriorityOverride": {"type": "integer", "minimum": 0, "maximum": 9999},
                "arrayProperties": object_schema(
                    {"size": {"type": "integer", "minimum": 2, "maximum": 10000}}
                ),
                "dependsOn": {
                    "type": "array",
                    "maxItems": 20,
                    "items": object_schema(
                        {
                            "jobId": {"type": "string", "minLength": 1},
                            "type": {"enum": ["SEQUENTIAL", "N_TO_N"]},
                        },
                        required=["jobId"],
                    ),
                },
                "retryStrategy": object_schema(
                    {"attempts": {"type": "integer", "minimum": 1, "maximum": 10}}
                ),
                "timeout": object_schema(
                    {"attemptDurationSeconds": {"type": "integer", "minimum": 60}}
                ),
                "tags": {"type": "object", "additionalProperties": {"type": "string"}},
                "propagateTags": {"type": "boolean"},
            },
            required=["jobName", "jobQueue", "jobDefinition"],
            description="Batch SubmitJob, exactly as polysync builds it",
        )

    def plan_run(
        self,
        run: Run,
        job: BatchJob,
        platform: BatchPlatform,
        live: BatchLive | None,
        out: FindingSink,
    ) -> PlannedRequest:
        live = live or BatchLive()
        job_path: DocPath = ("jobs", run.job)
        lookup = live.definitions.get(job.external_id)
        request = build_request(job, platform, run)
        definition = lookup.resolved if lookup else None
        label = None
        if definition is not None:
            label = (
                definition.reference
                if lookup and lookup.pinned
                else f"{job.external_id} -> {definition.reference}"
            )
        planned = PlannedRequest(request, label)
        if definition is None:
            def_name, revision = definition_name(job.external_id)
            if lookup is not None and lookup.pinned and revision is not None:
                state = "is INACTIVE" if lookup.pinned_status == "INACTIVE" else "does not exist"
                message = (
                    f"revision {revision} of job definition '{def_name}' {state}; pin an ACTIVE "
                    "revision or use the bare name"
                )
                out.error(codes.PINNED_REVISION, message, (*job_path, "external_id"))
            else:
                message = (
                    f"job definition '{def_name}' has no ACTIVE revision in {platform.region}; "
                    "confirm the name and that at least one revision has Status=ACTIVE"
                )
                out.error(codes.DEFINITION_NOT_ACTIVE, message, (*job_path, "external_id"))
        _check_queue(run, job, platform, live, request=request, out=out)
        if definition is not None:
            _check_definition(run, job, definition, planned, out)
        return planned

    def plan_findings(
        self, context: PlanContext, live: Mapping[str, Any]
    ) -> Iterable[tuple[DocPath, str, str]]:
        return ()

    def fingerprints(
        self, job: BatchJob, platform: BatchPlatform, live: BatchLive | None
    ) -> dict[str, str]:
        live = live or BatchLive()
        region = platform.region
        lookup = live.definitions.get(job.external_id)
        resolved = lookup.resolved if lookup else None
        prints = {
            f"batch:{region}:job-definition/{job.external_id}": resolved.arn
            if resolved
            else "missing"
        }
        for queue_name, queue in live.queues.items():
            prints[f"batch:{region}:job-queue/{queue_name}"] = (
                "missing"
                if queue is None
                else "undescribed"
                if not queue.described
                else f"{queue.state}/{queue.status}/{'fair-share' if queue.fair_share else 'fifo'}"
            )
        return prints

    def effective_request(
        self, job: BatchJob, live: BatchLive | None, request: Mapping[str, Any]
    ) -> dict[str, Any]:
        """`parameters` as the job gets them: "Parameters specified during SubmitJob
        override parameters defined in the job definition" (SubmitJob, parameters)."""
        lookup = (live or BatchLive()).definitions.get(job.external_id)
        definition = lookup.resolved if lookup else None
        effective = dict(request)
        if definition is not None:
            effective["parameters"] = {
                **definition.parameters,
                **dict(request.get("parameters") or {}),
            }
        return effective

    def parameter_name(self, field: tuple[str, str]) -> str:
        return field[1]

    def aws_name(self, job: BatchJob) -> str:
        return definition_name(job.external_id)[0]

    def imported_job(self, definition: BatchDefinition) -> ImportedJob:
        def replaces(current: str) -> bool:
            # A newer pinned revision of the same definition.
            return (
                current != definition.reference
                and definition_name(current)[1] is not None
                and current.split(":", maxsplit=1)[0] == definition.name
            )

        return ImportedJob(
            definition.reference,  # pinned: reproducible runs
            {name: (value, "string") for name, value in definition.parameters.items()},
            {},
            replaces,
        )

    sample_resources: ClassVar[Mapping[str, set[str]]] = {
        "queue": {"QUEUE"},
        "definition": {"DEFINITION"},
    }
    logs_note: ClassVar[str] = (
        "Batch logs: a definition whose logConfiguration names an awslogs-group logs "
        f"outside {permissions.BATCH_LOG_GROUP}; add that group"
    )

    def resources_used(self, run: Run, job: BatchJob, platform: BatchPlatform) -> Mapping[str, str]:
        """The queue the run is submitted to and its definition (raises NoQueueError)."""
        queue = str(build_request(job, platform, run).payload["jobQueue"])
        return {"queue": queue, "definition": job.external_id}

    def grants(
        self, command: Command, region: str, account: str, used: Mapping[str, set[str]]
    ) -> list[Grant]:
        return permissions.grants(
            command, region, account, used.get("queue", set()), used.get("definition", set())
        )

    # vCPU-hours, GB-hours and (Fargate) price of a run: see `providers/batch/cost.py`.
    estimate = cost.estimate_method

    def run_limit_seconds(self, compute: Mapping[str, Any]) -> float | None:
        """The attempt duration (from the manifest or the definition) times the attempts;
        None when neither sets a timeout."""
        duration = compute.get("attempt_duration_seconds")
        attempts = compute.get("retry_attempts") or 1
        return float(duration) * int(attempts) if duration else None

    def holds_dependency(self, condition: str) -> bool:
        # dependsOn starts a job once its dependencies succeed (and fails it otherwise).
        return condition == "succeeded"

    def with_dependencies(
        self, request: Mapping[str, Any], run_ids: list[str]
    ) -> dict[str, Any] | None:
        existing = list(request.get("dependsOn", []))
        if len(existing) + len(run_ids) > DEPENDS_ON_LIMIT:
            return None
        return {**request, "dependsOn": existing + [{"jobId": i} for i in run_ids]}


def _check_definition(
    run: Run, job: BatchJob, definition: BatchDefinition, planned: PlannedRequest, out: FindingSink
) -> None:
    """Parameters against the definition's placeholders and defaults; what it supplies."""
    job_path: DocPath = ("jobs", run.job)
    request = planned.request
    sent = request.payload.get("parameters", {})
    for key in sent:
        where = (
            (*out.at, "parameters", key)
            if key in run.parameters
            else (*job_path, "parameters", key)
        )
        if key not in definition.placeholders:
            out.drift(
                codes.NO_PLACEHOLDER,
                f"parameter '{key}' has no Ref::{key} placeholder in {definition.reference}'s "
                "command or environment: Batch will not use it",
                where,
                key=True,
            )
        live_default = definition.parameters.get(key)
        param = job.parameters.get(key)
        if (
            param
            and not param.secret
            and param.value is not None
            and live_default is not None
            and aws_string(param.value) != live_default
        ):
            out.drift(
                codes.DEFAULT_DRIFT,
                f"parameter '{key}' defaults to {aws_string(param.value)!r} in the manifest but "
                f"{live_default!r} in {definition.reference}",
                (*job_path, "parameters", key),
            )
    unset = sorted(
        p for p in definition.placeholders if p not in sent and p not in definition.parameters
    )
    if unset:
        out.drift(
            codes.PLACEHOLDER_UNSET,
            f"{', '.join('Ref::' + p for p in unset)} of {definition.reference} has no value: "
            "neither the manifest nor the definition sets it, so the container gets the literal "
            "text (a common cause of 'Essential container in task exited')",
            job_path,
        )
    _check_propagated_tags(job_path, job, definition, out)
    filled = sorted(p for p in definition.parameters if p not in sent)
    if filled:
        out.note(
            codes.INHERITED_PARAMETERS,
            f"filled from {definition.reference}'s defaults: {', '.join(filled)}",
            job_path,
        )
    inherited = []
    # What the definition supplies bounds the run too (apply waits on it no longer than
    # the attempt duration times the attempts): recorded with its tier, never sent.
    for key, value in (
        ("retry_attempts", definition.retry_attempts),
        ("attempt_duration_seconds", definition.attempt_duration_seconds),
    ):
        if key not in request.compute and value:
            inherited.append(f"{key} {value}")
            planned.recorded[key] = Resolved(value, Tier.DEFINITION)
    if inherited:
        out.note(
            codes.INHERITED_COMPUTE,
            f"from {definition.reference}: {', '.join(inherited)}",
            job_path,
        )


def _check_propagated_tags(
    job_path: DocPath, job: BatchJob, definition: BatchDefinition, out: FindingSink
) -> None:
    """Propagated tags: the job's and the definition's, one per key (the job's win),
    must be at most 50, or Batch moves the job to FAILED."""
    propagate = job.propagate_tags if job.propagate_tags is not None else definition.propagate_tags
    if not propagate or not job.tags:
        return
    combined = set(job.tags) | set(definition.tags)
    if len(combined) <= PROPAGATED_TAGS_LIMIT:
        return
    whose = "the job" if job.propagate_tags else definition.reference
    out.error(
        codes.PROPAGATED_TAGS,
        f"tags propagate ({whose} sets propagateTags), and the job's {len(job.tags)} tags and "
        f"{definition.reference}'s {len(definition.tags)} make {len(combined)} distinct keys; "
        f"SubmitJob propagateTags: over {PROPAGATED_TAGS_LIMIT} combined tags and the job is "
        "moved to the FAILED state",
        (*job_path, "tags"),
        key=True,
    )


def _check_queue(
    run: Run,
    job: BatchJob,
    platform: BatchPlatform,
    live: BatchLive,
    *,
    request: RunRequest,
    out: FindingSink,
) -> None:
    queue_name = str(request.payload["jobQueue"])
    tier = request.compute["job_queue"].tier
    where: DocPath = {
        Tier.RUN: (*out.at, "compute", "job_queue"),
        Tier.JOB: ("jobs", run.job, "job_queue"),
    }.get(tier, ("platforms", job.platform, "default_job_queue"))
    queue = live.queues.get(queue_name)
    if queue is None:
        out.error(
            codes.QUEUE_MISSING,
            f"job queue '{queue_name}' does not exist in {platform.region}: the queue name on "
            "the job attribute / platform default must name an existing queue",
            where,
        )
        return
    if not queue.described:
        out.note(
            codes.QUEUE_UNCHECKED,
            f"job queue '{queue_name}' could not be described (batch:DescribeJobQueues is "
            "denied): that it exists, is ENABLED and VALID, and whether it is fair-share are "
            "not checked",
            where,
        )
        return
    if not queue.usable:
        out.error(
            codes.QUEUE_UNUSABLE,
            f"job queue '{queue_name}' is {queue.state}/{queue.status}; jobs are only accepted "
            "by an ENABLED, VALID queue",
            where,
        )
    share = "shareIdentifier" in request.payload
    if queue.fair_share and not share:
        out.error(
            codes.FAIR_SHARE_WITHOUT_SHARE,
            f"job queue '{queue_name}' has a fair-share scheduling policy: set share_identifier "
            "(and optionally scheduling_priority_override)",
            where,
        )
    elif share and not queue.fair_share:
        out.error(
            codes.SHARE_WITHOUT_FAIR_SHARE,
            f"share_identifier is set but job queue '{queue_name}' has no fair-share scheduling "
            "policy: leave share_identifier and scheduling_priority_override blank",
            where,
        )
    elif "schedulingPriorityOverride" in request.payload and not queue.fair_share:
        priority = request.compute["scheduling_priority_override"]
        out.drift(
            codes.PRIORITY_WITHOUT_FAIR_SHARE,
            f"scheduling_priority_override {priority.value} has no effect: job queue "
            f"'{queue_name}' has no fair-share scheduling policy (SubmitJob "
            "schedulingPriorityOverride only affects jobs in fair-share queues)",
            (*out.at, "compute", "scheduling_priority_override")
            if priority.tier is Tier.RUN
            else ("jobs", run.job, "scheduling_priority_override"),
        )
