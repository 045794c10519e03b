"""The planner: validated manifests x a live snapshot -> Plan. Pure: no I/O, no AWS calls.

For each run it builds the exact request apply will send (through the provider's own
builder), records each compute value's tier, and checks the run against the live objects:
errors that would make AWS refuse or fail the run, drift between manifest and definition,
notes on what the definition supplies.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from typing import Any

from polysync_spec.engine.live import LiveState, definition_name
from polysync_spec.engine.model import FindingKind, Plan, PlanFinding, PlannedRun
from polysync_spec.manifest import codes
from polysync_spec.manifest.checks import GLUE_INTERNAL_ARGUMENTS, GLUE_RESERVED_ARGUMENTS
from polysync_spec.manifest.models import BatchJob, GlueJob, Run
from polysync_spec.manifest.positions import DocPath
from polysync_spec.manifest.project import Project
from polysync_spec.providers import batch, glue
from polysync_spec.providers.base import ATTEMPT_SLOT, RunRequest, Tier
from polysync_spec.values import aws_string, glue_argument_key, is_internal

GLUE_ARGUMENTS_LIMIT = 260 * 1024  # all of a job run's arguments together
_ENV_REF = re.compile(r"^\$\{\s*env\.([A-Za-z_][A-Za-z0-9_-]*)\s*\}$")
# An attempt id as apply fills the slot: a uuid4's text.
_ATTEMPT_ID_LENGTH = 36


class _Run:
    """Collects one run's findings, located in the manifests."""

    def __init__(self, project: Project, at: DocPath) -> None:
        self.project = project
        self.at = at
        self.findings: list[PlanFinding] = []

    def add(
        self,
        kind: FindingKind,
        code: str,
        message: str,
        path: DocPath | None = None,
        *,
        key: bool = False,
    ) -> None:
        """`key`: the finding is about the entry at `path` as a whole (a parameter, a block),
        so it points at the key; otherwise at the value. A whole job points at its name."""
        target = path or self.at
        position = self.project.source.locate(target, key=key or len(target) == 2)
        self.findings.append(PlanFinding(kind, code, message, position))


def make_plan(project: Project, run_plan: str, live: LiveState, *, manifest_path: str) -> Plan:
    """Plan every run of `run_plan` against `live`. The project must be free of errors."""
    plan_model = project.run_plans[run_plan]
    variables = {
        name: ("***" if any(p[:2] == ("variables", name) for p in project.env_paths) else value)
        for name, value in sorted(project.variables.items())
    }
    plan = Plan(
        run_plan=run_plan,
        target=project.target,
        manifest_path=manifest_path,
        variables=variables,
        runs=[],
        max_concurrency=plan_model.max_concurrency,
        on_failure=plan_model.on_failure.value,
    )
    for index, run in enumerate(plan_model.runs):
        at: DocPath = ("run_plans", run_plan, "runs", index)
        job = project.jobs[run.job]
        platform = project.platforms[job.platform]
        collector = _Run(project, at)
        if isinstance(job, GlueJob):
            planned, secrets = _plan_glue(run, job, platform, live, collector)
        else:
            planned, secrets = _plan_batch(run, job, platform, live, collector)
        planned.findings = collector.findings
        planned.request = _redact(
            project, (run_plan, index), run, job, payload=planned.request, secrets=secrets
        )
        plan.runs.append(planned)
    plan.findings.extend(_concurrency(project, run_plan, live))
    plan.fingerprints = _fingerprints(project, plan_model.runs, live)
    return plan


Secrets = frozenset[tuple[str, str]]


def _planned(
    job: Any, run: Run, platform: Any, request: RunRequest, live_label: str | None
) -> PlannedRun:
    return PlannedRun(
        key=run.key,
        job=run.job,
        platform=job.platform,
        service="glue" if isinstance(job, GlueJob) else "batch",
        region=platform.region,
        api=request.api,
        request={k: (dict(v) if isinstance(v, dict) else v) for k, v in request.payload.items()},
        live=live_label,
        compute={k: {"value": v.value, "tier": v.tier.value} for k, v in request.compute.items()},
        after=[{"run": edge.run, "on": edge.on.value} for edge in run.after],
    )


# ---------------------------------------------------------------- Glue


def _plan_glue(
    run: Run, job: GlueJob, platform: Any, live: LiveState, out: _Run
) -> tuple[PlannedRun, Secrets]:
    job_path: DocPath = ("jobs", run.job)
    definition = live.glue_jobs.get((job.platform, job.external_id))
    request = glue.build_request(job, platform, run, definition)
    planned = _planned(job, run, platform, request, job.external_id if definition else None)
    if definition is None:
        out.add(
            FindingKind.ERROR,
            codes.GLUE_JOB_MISSING,
            f"no Glue job named '{job.external_id}' exists in {platform.region}; external_id "
            "must be the Glue job's name (and the caller needs glue:GetJob on it)",
            (*job_path, "external_id"),
        )
        return planned, request.secret_fields
    # How many runs of the job Glue lets go at once: what apply says while a run waits
    # for a free slot (ConcurrentRunsExceededException).
    planned.compute["max_concurrent_runs"] = {
        "value": definition.max_concurrent_runs,
        "tier": Tier.DEFINITION.value,
    }
    arguments: dict[str, str] = request.payload["Arguments"]
    if definition.command_name == glue.PYTHON_SHELL:
        explicit = [k for k in glue.WORKER_KEYS if k in request.compute]
        if explicit:
            tier = request.compute[explicit[0]].tier
            compute_at = (*out.at, "compute") if tier is Tier.RUN else (*job_path, "compute")
            out.add(
                FindingKind.ERROR,
                codes.PYTHON_SHELL_WORKERS,
                f"'{job.external_id}' is a Python shell job: {', '.join(explicit)} cannot be set "
                "for it (Glue sizes it by the definition's MaxCapacity)",
                compute_at,
                key=True,
            )
        elif platform.defaults and any(getattr(platform.defaults, k) for k in glue.WORKER_KEYS):
            out.add(
                FindingKind.NOTE,
                codes.PYTHON_SHELL_DEFAULTS_SKIPPED,
                f"'{job.external_id}' is a Python shell job: the platform's worker defaults do "
                "not apply to it and are not sent",
                job_path,
            )
    inherited = [f"{k} {v.value}" for k, v in request.compute.items() if v.tier is Tier.DEFINITION]
    if inherited:
        out.add(
            FindingKind.NOTE,
            codes.INHERITED_COMPUTE,
            f"from the Glue job definition: {', '.join(inherited)}",
            job_path,
        )
    defaults = {
        k: v
        for k, v in definition.default_arguments.items()
        if k not in arguments
        and k not in GLUE_RESERVED_ARGUMENTS
        and k not in GLUE_INTERNAL_ARGUMENTS
    }
    if defaults:
        out.add(
            FindingKind.NOTE,
            codes.INHERITED_PARAMETERS,
            f"filled from the job's DefaultArguments: {', '.join(sorted(defaults))}",
            job_path,
        )
    for name, parameter in job.parameters.items():
        key = glue_argument_key(name)
        if is_internal(name) or parameter.secret or key not in arguments:
            continue
        where: DocPath = (*job_path, "parameters", name)
        if key in definition.non_overridable_arguments:
            out.add(
                FindingKind.DRIFT,
                codes.NON_OVERRIDABLE,
                f"'{key}' is one of the Glue job's NonOverridableArguments: Glue ignores the value "
                "polysync sends",
                where,
                key=True,
            )
        live_default = definition.default_arguments.get(key)
        if (
            parameter.value is not None
            and live_default is not None
            and aws_string(parameter.value) != live_default
        ):
            out.add(
                FindingKind.DRIFT,
                codes.DEFAULT_DRIFT,
                f"parameter '{name}' is {aws_string(parameter.value)!r} in the manifest but "
                f"{live_default!r} in the Glue job's DefaultArguments",
                where,
            )
    merged = {**definition.default_arguments, **arguments, **definition.non_overridable_arguments}
    size = sum(len(k.encode()) + len(v.encode()) for k, v in merged.items())
    size += _ATTEMPT_ID_LENGTH - len(ATTEMPT_SLOT)  # the marker as it will be sent
    if size > GLUE_ARGUMENTS_LIMIT:
        out.add(
            FindingKind.ERROR,
            codes.GLUE_ARGUMENTS_TOO_LARGE,
            f"the run's arguments total {size} bytes; Glue allows {GLUE_ARGUMENTS_LIMIT} for all "
            "of a job's arguments together",
        )
    return planned, request.secret_fields


# ---------------------------------------------------------------- Batch


def _plan_batch(
    run: Run, job: BatchJob, platform: Any, live: LiveState, out: _Run
) -> tuple[PlannedRun, Secrets]:
    job_path: DocPath = ("jobs", run.job)
    lookup = live.batch_definitions.get((job.platform, job.external_id))
    request = batch.build_request(job, platform, run)
    definition = lookup.resolved if lookup else None
    label = None
    if definition is not None:
        label = (
            definition.reference
            if lookup and lookup.pinned
            else f"{job.external_id} -> {definition.reference}"
        )
    planned = _planned(job, run, platform, request, label)
    if definition is None:
        def_name, revision = definition_name(job.external_id)
        if lookup is not None and lookup.pinned and revision is not None:
            state = "is INACTIVE" if lookup.pinned_status == "INACTIVE" else "does not exist"
            message = f"revision {revision} of job definition '{def_name}' {state}; pin an ACTIVE revision or use the bare name"
            out.add(FindingKind.ERROR, codes.PINNED_REVISION, message, (*job_path, "external_id"))
        else:
            message = (
                f"job definition '{def_name}' has no ACTIVE revision in {platform.region}; confirm "
                "the name and that at least one revision has Status=ACTIVE"
            )
            out.add(
                FindingKind.ERROR, codes.DEFINITION_NOT_ACTIVE, message, (*job_path, "external_id")
            )
    _check_queue(run, job, platform, live, request=request, out=out)
    if definition is None:
        return planned, request.secret_fields
    sent = request.payload.get("parameters", {})
    for key in sent:
        where = _parameter_path(run, key, out.at, job_path)
        if key not in definition.placeholders:
            out.add(
                FindingKind.DRIFT,
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
            out.add(
                FindingKind.DRIFT,
                codes.DEFAULT_DRIFT,
                f"parameter '{key}' defaults to {aws_string(param.value)!r} in the manifest but "
                f"{live_default!r} in {definition.reference}",
                (*job_path, "parameters", key),
            )
    unset = sorted(
        p for p in definition.placeholders if p not in sent and p not in definition.parameters
    )
    if unset:
        out.add(
            FindingKind.DRIFT,
            codes.PLACEHOLDER_UNSET,
            f"{', '.join('Ref::' + p for p in unset)} of {definition.reference} has no value: "
            "neither the manifest nor the definition sets it, so the container gets the literal "
            "text (a common cause of 'Essential container in task exited')",
            job_path,
        )
    filled = sorted(p for p in definition.parameters if p not in sent)
    if filled:
        out.add(
            FindingKind.NOTE,
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
            planned.compute[key] = {"value": value, "tier": Tier.DEFINITION.value}
    if inherited:
        out.add(
            FindingKind.NOTE,
            codes.INHERITED_COMPUTE,
            f"from {definition.reference}: {', '.join(inherited)}",
            job_path,
        )
    return planned, request.secret_fields


def _check_queue(
    run: Run, job: BatchJob, platform: Any, live: LiveState, *, request: RunRequest, out: _Run
) -> None:
    queue_name = str(request.payload["jobQueue"])
    tier = request.compute["job_queue"].tier
    where: DocPath = {
        Tier.RUN: (*out.at, "compute", "job_queue"),
        Tier.JOB: ("jobs", run.job, "job_queue"),
    }.get(tier, ("platforms", job.platform, "default_job_queue"))
    queue = live.batch_queues.get((job.platform, queue_name))
    if queue is None:
        out.add(
            FindingKind.ERROR,
            codes.QUEUE_MISSING,
            f"job queue '{queue_name}' does not exist in {platform.region}: the queue name on the "
            "job attribute / platform default must name an existing queue",
            where,
        )
        return
    if not queue.usable:
        out.add(
            FindingKind.ERROR,
            codes.QUEUE_UNUSABLE,
            f"job queue '{queue_name}' is {queue.state}/{queue.status}; jobs are only accepted "
            "by an ENABLED, VALID queue",
            where,
        )
    share = "shareIdentifier" in request.payload
    if queue.fair_share and not share:
        out.add(
            FindingKind.ERROR,
            codes.FAIR_SHARE_WITHOUT_SHARE,
            f"job queue '{queue_name}' has a fair-share scheduling policy: set share_identifier "
            "(and optionally scheduling_priority_override)",
            where,
        )
    elif share and not queue.fair_share:
        out.add(
            FindingKind.ERROR,
            codes.SHARE_WITHOUT_FAIR_SHARE,
            f"share_identifier is set but job queue '{queue_name}' has no fair-share scheduling "
            "policy: leave share_identifier and scheduling_priority_override blank",
            where,
        )


def _parameter_path(run: Run, key: str, at: DocPath, job_path: DocPath) -> DocPath:
    if key in run.parameters:
        return (*at, "parameters", key)
    return (*job_path, "parameters", key)


# ---------------------------------------------------------------- plan-wide checks


def _concurrency(project: Project, run_plan: str, live: LiveState) -> Iterable[PlanFinding]:
    """Runs of one Glue job that the plan may start at once, beyond its MaxConcurrentRuns."""
    plan_model = project.run_plans[run_plan]
    ancestors = _ancestors(plan_model.runs)
    by_job: dict[tuple[str, str], list[int]] = {}
    for index, run in enumerate(plan_model.runs):
        job = project.jobs[run.job]
        if isinstance(job, GlueJob):
            by_job.setdefault((job.platform, job.external_id), []).append(index)
    for (platform, name), indexes in by_job.items():
        definition = live.glue_jobs.get((platform, name))
        if definition is None or len(indexes) < 2:
            continue
        keys = [plan_model.runs[i].key for i in indexes]
        parallel = _largest_unordered(keys, ancestors)
        at_once = min(len(parallel), plan_model.max_concurrency)
        if at_once > definition.max_concurrent_runs:
            where = ("run_plans", run_plan, "runs", indexes[keys.index(parallel[-1])])
            yield PlanFinding(
                FindingKind.ERROR,
                codes.GLUE_CONCURRENCY,
                f"run plan '{run_plan}' may start {at_once} runs of Glue job '{name}' at once "
                f"({', '.join(parallel)}), but its MaxConcurrentRuns is "
                f"{definition.max_concurrent_runs}: Glue would refuse the extra runs with "
                "ConcurrentRunsExceededException; add an `after` edge or raise MaxConcurrentRuns",
                project.source.locate(where),
            )


def _ancestors(runs: list[Run]) -> dict[str, set[str]]:
    direct = {run.key: {edge.run for edge in run.after} for run in runs}
    result: dict[str, set[str]] = {}

    def visit(key: str, trail: frozenset[str] = frozenset()) -> set[str]:
        if key in result:
            return result[key]
        found: set[str] = set()
        for parent in direct.get(key, set()):
            if parent not in trail:
                found |= {parent, *visit(parent, trail | {key})}
        result[key] = found
        return found

    for key in direct:
        visit(key)
    return result


def _largest_unordered(keys: list[str], ancestors: dict[str, set[str]]) -> list[str]:
    """The largest set of runs no two of which are ordered by `after` (small n: exact)."""

    def unordered(a: str, b: str) -> bool:
        return a not in ancestors.get(b, set()) and b not in ancestors.get(a, set())

    if len(keys) > 12:  # greedy beyond what exhaustive search handles quickly
        chosen: list[str] = []
        for key in keys:
            if all(unordered(key, other) for other in chosen):
                chosen.append(key)
        return chosen
    for size in range(len(keys), 0, -1):
        for group in itertools.combinations(keys, size):
            if all(unordered(a, b) for a, b in itertools.combinations(group, 2)):
                return list(group)
    return keys[:1]


# ---------------------------------------------------------------- secrets and fingerprints


def _redact(
    project: Project,
    where: tuple[str, int],
    run: Run,
    job: Any,
    *,
    payload: dict[str, Any],
    secrets: frozenset[tuple[str, str]],
) -> dict[str, Any]:
    """Replace each secret value by {"$env": NAME}: the variable apply reads it from."""
    run_plan, index = where
    raw_jobs = project.raw.get("jobs", {})
    raw_runs = project.raw.get("run_plans", {}).get(run_plan, {}).get("runs", [])
    redacted = {k: (dict(v) if isinstance(v, dict) else v) for k, v in payload.items()}
    for outer, inner in secrets:
        name = (
            inner[2:]
            if outer == "Arguments" and inner.startswith("--") and inner[2:] in job.parameters
            else inner
        )
        raw_run = raw_runs[index].get("parameters", {}).get(name) if index < len(raw_runs) else None
        raw_job = raw_jobs.get(run.job, {}).get("parameters", {}).get(name)
        source = raw_run if name in run.parameters else raw_job
        value = source.get("value") if isinstance(source, dict) else source
        match = _ENV_REF.match(value) if isinstance(value, str) else None
        redacted[outer][inner] = {"$env": match.group(1)} if match else "***"
    return redacted


def _fingerprints(project: Project, runs: list[Run], live: LiveState) -> dict[str, str]:
    prints: dict[str, str] = {}
    for run in runs:
        job = project.jobs[run.job]
        region = project.platforms[job.platform].region
        if isinstance(job, GlueJob):
            definition = live.glue_jobs.get((job.platform, job.external_id))
            stamp = (
                definition.last_modified.isoformat()
                if definition and definition.last_modified
                else ("present" if definition else "missing")
            )
            prints[f"glue:{region}:job/{job.external_id}"] = stamp
            continue
        lookup = live.batch_definitions.get((job.platform, job.external_id))
        resolved = lookup.resolved if lookup else None
        prints[f"batch:{region}:job-definition/{job.external_id}"] = (
            resolved.arn if resolved else "missing"
        )
        for (platform, queue_name), queue in live.batch_queues.items():
            if platform == job.platform:
                state = (
                    f"{queue.state}/{queue.status}/{'fair-share' if queue.fair_share else 'fifo'}"
                    if queue
                    else "missing"
                )
                prints[f"batch:{region}:job-queue/{queue_name}"] = state
    return prints
