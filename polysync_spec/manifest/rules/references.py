"""PS5xx: cross-references between platforms, jobs, run plans and runs."""

from __future__ import annotations

from collections.abc import Iterator

from polysync_spec.errors import Diagnostic, DocPath
from polysync_spec.manifest import codes
from polysync_spec.manifest.models import (
    BATCH_COMPUTE_KEYS,
    GLUE_COMPUTE_KEYS,
    PLATFORM_JOB_TYPES,
    GlueJob,
    RunPlan,
)
from polysync_spec.manifest.rules.base import CheckContext, Rule
from polysync_spec.manifest.suggest import closest, did_you_mean


def _unknown_platforms(ctx: CheckContext) -> Iterator[Diagnostic]:
    """A job's `platform` names a platform the manifest set defines. The message
    suggests the closest name."""
    platforms = ctx.raw_section("platforms")
    for name, job in ctx.raw_section("jobs").items():
        if not isinstance(job, dict) or not isinstance(job.get("platform"), str):
            continue
        if platforms.get(job["platform"]) is None:
            yield UNKNOWN_PLATFORM.at(
                ("jobs", name, "platform"),
                f"job '{name}' names platform '{job['platform']}', which is not defined"
                + did_you_mean(job["platform"], platforms),
            )


UNKNOWN_PLATFORM = Rule(
    codes.UNKNOWN_PLATFORM, "job names an unknown platform", check=_unknown_platforms
)


def _platform_types(ctx: CheckContext) -> Iterator[Diagnostic]:
    """A job's `type` may be left out, since its platform implies it; when it is given,
    it must be the type the platform runs: `aws_glue_job` on an `aws_glue` platform,
    `aws_batch_job` on an `aws_batch` one."""
    platforms = ctx.raw_section("platforms")
    for name, job in ctx.raw_section("jobs").items():
        if not isinstance(job, dict) or not isinstance(job.get("platform"), str):
            continue
        platform = platforms.get(job["platform"])
        if not isinstance(platform, dict):
            continue
        expected = PLATFORM_JOB_TYPES.get(str(platform.get("type")))
        declared = job.get("type")
        if expected and isinstance(declared, str) and declared != expected:
            yield PLATFORM_TYPE_MISMATCH.at(
                ("jobs", name, "type"),
                f"job type '{declared}' cannot run on platform '{job['platform']}' "
                f"(type {platform.get('type')}, which runs {expected})",
            )


PLATFORM_TYPE_MISMATCH = Rule(
    codes.PLATFORM_TYPE_MISMATCH, "job type does not match its platform", check=_platform_types
)


def _run_at(plan_name: str, index: int) -> DocPath:
    return ("run_plans", plan_name, "runs", index)


def _unknown_jobs(ctx: CheckContext) -> Iterator[Diagnostic]:
    """Each run of a run plan names a job the manifest set defines. The message
    suggests the closest name."""
    known_jobs = ctx.raw_section("jobs")
    for plan_name, plan in ctx.run_plans.items():
        for index, run in enumerate(plan.runs):
            if run.job not in known_jobs:
                yield UNKNOWN_JOB.at(
                    (*_run_at(plan_name, index), "job"),
                    f"job '{run.job}' is not defined" + did_you_mean(run.job, known_jobs),
                )


UNKNOWN_JOB = Rule(codes.UNKNOWN_JOB, "run names an unknown job", check=_unknown_jobs)


def _unknown_runs(ctx: CheckContext) -> Iterator[Diagnostic]:
    """An `after` entry names a run of the same run plan, by its run key (its `name:`,
    else its job's name). The message suggests the closest key. An `after` entry naming
    the job that a misspelt `job:` (in a run without `name:`) meant is not reported: the
    one error is PS503 at that `job:`, with the right hint."""
    known_jobs = ctx.raw_section("jobs")
    for plan_name, plan in ctx.run_plans.items():
        keys = [run.key for run in plan.runs]
        meant = {
            closest(run.job, known_jobs)
            for run in plan.runs
            if run.name is None and run.job not in known_jobs
        }
        for index, run in enumerate(plan.runs):
            for edge_index, edge in enumerate(run.after):
                if edge.run not in keys and edge.run not in meant:
                    yield UNKNOWN_RUN.at(
                        (*_run_at(plan_name, index), "after", edge_index),
                        f"`after` names run '{edge.run}', which is not a run of plan "
                        f"'{plan_name}'" + did_you_mean(edge.run, dict.fromkeys(keys)),
                    )


UNKNOWN_RUN = Rule(codes.UNKNOWN_RUN, "`after` names an unknown run", check=_unknown_runs)


def _cycles(ctx: CheckContext) -> Iterator[Diagnostic]:
    """The `after` edges of a run plan may not form a cycle, which no run could ever
    start from. Each cycle is named once, with its runs in order, at the `after` entry
    that closes it."""
    for plan_name, plan in ctx.run_plans.items():
        yield from _plan_cycles(plan_name, plan)


def _plan_cycles(plan_name: str, plan: RunPlan) -> Iterator[Diagnostic]:
    edges: dict[str, list[tuple[str, int, int]]] = {}
    for index, run in enumerate(plan.runs):
        edges.setdefault(run.key, [])
        for edge_index, edge in enumerate(run.after):
            edges[run.key].append((edge.run, index, edge_index))
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    stack: list[str] = []
    reported: set[frozenset[str]] = set()

    def visit(node: str) -> Iterator[Diagnostic]:
        state[node] = 1
        stack.append(node)
        for target, index, edge_index in edges.get(node, []):
            if target not in edges:
                continue
            if state.get(target) == 1:
                cycle = [*stack[stack.index(target) :], target]
                members = frozenset(cycle)
                if members not in reported:
                    reported.add(members)
                    yield DEPENDENCY_CYCLE.at(
                        (*_run_at(plan_name, index), "after", edge_index),
                        f"dependency cycle in run plan '{plan_name}': "
                        + " -> ".join(reversed(cycle)),
                    )
            elif state.get(target) is None:
                yield from visit(target)
        stack.pop()
        state[node] = 2

    for node in edges:
        if node not in state:
            yield from visit(node)


DEPENDENCY_CYCLE = Rule(codes.DEPENDENCY_CYCLE, "dependency cycle between runs", check=_cycles)


def _duplicate_run_keys(ctx: CheckContext) -> Iterator[Diagnostic]:
    """A run's key is its `name:`, else its job's name, and is unique within its run
    plan: `after` edges, the ledger and the output name runs by it. Running one job
    twice in a plan takes a distinct `name:` for each run."""
    for plan_name, plan in ctx.run_plans.items():
        keys: dict[str, int] = {}
        for index, run in enumerate(plan.runs):
            if run.key not in keys:
                keys[run.key] = index
                continue
            at = _run_at(plan_name, index)
            yield DUPLICATE_RUN_KEY.at(
                (*at, "name") if run.name else (*at, "job"),
                f"run key '{run.key}' is used twice in run plan '{plan_name}' (first at "
                f"run {keys[run.key] + 1}); give one of them a distinct `name:`",
            )


DUPLICATE_RUN_KEY = Rule(
    codes.DUPLICATE_RUN_KEY, "run key used twice in a run plan", check=_duplicate_run_keys
)


def _compute_fits(ctx: CheckContext) -> Iterator[Diagnostic]:
    """A run's `compute` holds only settings of its job's platform: Glue keys for a Glue
    job, Batch keys for a Batch job."""
    for plan_name, plan in ctx.run_plans.items():
        for index, run in enumerate(plan.runs):
            job = ctx.jobs.get(run.job)
            if job is None or run.compute is None:
                continue
            allowed = GLUE_COMPUTE_KEYS if isinstance(job, GlueJob) else BATCH_COMPUTE_KEYS
            kind = "Glue" if isinstance(job, GlueJob) else "Batch"
            for key in run.compute.model_dump(exclude_none=True):
                if key not in allowed:
                    yield COMPUTE_NOT_FOR_PLATFORM.at(
                        (*_run_at(plan_name, index), "compute", key),
                        f"'{key}' does not apply to {kind} job '{job.external_id}'; {kind} "
                        f"runs accept: {', '.join(sorted(allowed))}",
                        at_key=True,
                    )


COMPUTE_NOT_FOR_PLATFORM = Rule(
    codes.COMPUTE_NOT_FOR_PLATFORM,
    "compute setting does not apply to the job's platform",
    check=_compute_fits,
)


def _undeclared_parameters(ctx: CheckContext) -> Iterator[Diagnostic]:
    """A run may set only the parameters its job declares. An undeclared one would be
    sent to AWS as a new argument, and is most often a misspelling of a declared one
    (the message suggests it), so it is an error, not a warning. A job whose runs pass
    free-form arguments opts out with `allow_undeclared_parameters: true`."""
    for plan_name, plan in ctx.run_plans.items():
        for index, run in enumerate(plan.runs):
            job = ctx.jobs.get(run.job)
            if job is None or job.allow_undeclared_parameters:
                continue
            for key in run.parameters:
                if key in job.parameters:
                    continue
                yield UNDECLARED_PARAMETER.at(
                    (*_run_at(plan_name, index), "parameters", key),
                    f"job '{run.job}' does not declare parameter '{key}'"
                    + did_you_mean(key, job.parameters)
                    + "; declare it on the job, or set `allow_undeclared_parameters: true` "
                    "on the job to send it as given",
                    at_key=True,
                )


UNDECLARED_PARAMETER = Rule(
    codes.UNDECLARED_PARAMETER,
    "run sets a parameter its job does not declare (and does not allow)",
    check=_undeclared_parameters,
)

RULES = (
    UNKNOWN_PLATFORM,
    PLATFORM_TYPE_MISMATCH,
    UNKNOWN_JOB,
    UNKNOWN_RUN,
    DEPENDENCY_CYCLE,
    DUPLICATE_RUN_KEY,
    COMPUTE_NOT_FOR_PLATFORM,
    UNDECLARED_PARAMETER,
)
