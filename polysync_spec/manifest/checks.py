"""Cross-reference and policy checks: one function per rule, listed explicitly in `CHECKS`.

A check reads the `CheckContext` and yields `Finding`s (code, severity, path, message);
`locate` turns the path into a position. Checks never raise for bad input.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from polysync_spec.errors import Severity
from polysync_spec.manifest import codes
from polysync_spec.manifest.models import (
    BATCH_COMPUTE_KEYS,
    GLUE_COMPUTE_KEYS,
    GLUE_NEWER_WORKER_TYPES,
    GLUE_WORKER_TYPES,
    PLATFORM_JOB_TYPES,
    BatchJob,
    BatchPlatform,
    Direction,
    GlueJob,
    Parameter,
    RunPlan,
)
from polysync_spec.manifest.positions import DocPath
from polysync_spec.manifest.suggest import did_you_mean
from polysync_spec.values import fits_type, glue_argument_key, is_internal

# Documented Glue special parameters: set by Glue features, not by a job's own script.
# The argument polysync sends with every StartJobRun to carry the submission attempt's
# identity (providers/glue.py): no parameter may take its place.
ATTEMPT_ARGUMENT = "--polysync-attempt-id"

GLUE_RESERVED_ARGUMENTS = frozenset(
    {
        "--additional-python-modules", "--python-modules-installer-option",
        "--auto-scale-within-microbatch", "--class", "--continuous-log-conversionPattern",
        "--continuous-log-logGroup", "--continuous-log-logStreamPrefix",
        "--customer-driver-env-vars", "--customer-executor-env-vars", "--datalake-formats",
        "--disable-proxy-v2", "--enable-auto-scaling", "--enable-continuous-cloudwatch-log",
        "--enable-continuous-log-filter", "--enable-glue-datacatalog", "--enable-job-insights",
        "--enable-lakeformation-fine-grained-access", "--enable-metrics",
        "--enable-observability-metrics", "--enable-rename-algorithm-v2",
        "--enable-s3-parquet-optimized-committer", "--enable-spark-ui",
        "--spark-event-logs-path", "--executor-cores", "--extra-files", "--extra-jars",
        "--extra-py-files", "--job-bookmark-option", "--job-bookmark-from",
        "--job-bookmark-to", "--job-language", "--scriptLocation", "--TempDir",
        "--use-postgres-driver", "--user-jars-first", "--conf", "--encryption-type",
    }
)  # fmt: skip
# Set by Glue itself; a job must never set them.
GLUE_INTERNAL_ARGUMENTS = frozenset({"--debug", "--mode", "--JOB_NAME", "--endpoint"})

BATCH_DEFINITION_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")
BATCH_DEFINITION_REVISION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}:[1-9]\d*$")
BATCH_DEFINITION_ARN = re.compile(
    r"^arn:aws[a-z-]*:batch:[a-z0-9-]+:\d{12}:job-definition/[A-Za-z0-9][A-Za-z0-9_-]{0,127}(:[1-9]\d*)?$"
)
ENV_ONLY = re.compile(r"^\$\{\s*env\.[A-Za-z_][A-Za-z0-9_-]*\s*\}$")


@dataclass(frozen=True)
class Finding:
    code: str
    severity: Severity
    path: DocPath
    message: str
    at_key: bool = False


@dataclass
class CheckContext:
    """What checks read: raw (before interpolation) and resolved data, and valid models."""

    raw: dict[str, Any]
    resolved: dict[str, Any]
    platforms: dict[str, Any] = field(default_factory=dict)
    jobs: dict[str, GlueJob | BatchJob] = field(default_factory=dict)
    run_plans: dict[str, RunPlan] = field(default_factory=dict)

    def raw_section(self, section: str) -> dict[str, Any]:
        value = self.raw.get(section)
        return value if isinstance(value, dict) else {}


Check = Callable[[CheckContext], Iterator[Finding]]


def check_job_platforms(ctx: CheckContext) -> Iterator[Finding]:
    """A job's platform exists and its type matches the job type."""
    platforms = ctx.raw_section("platforms")
    for name, job in ctx.raw_section("jobs").items():
        if not isinstance(job, dict) or not isinstance(job.get("platform"), str):
            continue
        platform = platforms.get(job["platform"])
        if platform is None:
            yield Finding(
                codes.UNKNOWN_PLATFORM,
                Severity.ERROR,
                ("jobs", name, "platform"),
                f"job '{name}' names platform '{job['platform']}', which is not defined"
                + did_you_mean(job["platform"], list(platforms)),
            )
            continue
        expected = (
            PLATFORM_JOB_TYPES.get(str(platform.get("type")))
            if isinstance(platform, dict)
            else None
        )
        declared = job.get("type")
        if expected and isinstance(declared, str) and declared != expected:
            yield Finding(
                codes.PLATFORM_TYPE_MISMATCH,
                Severity.ERROR,
                ("jobs", name, "type"),
                f"job type '{declared}' cannot run on platform '{job['platform']}' "
                f"(type {platform.get('type')}, which runs {expected})",
            )


def check_glue_worker_types(ctx: CheckContext) -> Iterator[Finding]:
    """Worker types AWS documents but botocore's model does not list yet: warn."""
    for path, compute in _glue_computes(ctx):
        worker_type = compute.get("worker_type")
        if worker_type in GLUE_NEWER_WORKER_TYPES:
            yield Finding(
                codes.GLUE_WORKER_TYPE_NEWER,
                Severity.WARNING,
                (*path, "worker_type"),
                f"worker type '{worker_type}' is newer than the documented set "
                f"({', '.join(GLUE_WORKER_TYPES)}); check that the job's "
                "region and Glue version support it",
            )


def _glue_computes(ctx: CheckContext) -> Iterator[tuple[DocPath, dict[str, Any]]]:
    for name, platform in ctx.resolved.get("platforms", {}).items():
        if isinstance(platform, dict) and isinstance(platform.get("defaults"), dict):
            yield ("platforms", name, "defaults"), platform["defaults"]
    for name, job in ctx.jobs.items():
        if isinstance(job, GlueJob) and job.compute is not None:
            yield ("jobs", name, "compute"), job.compute.model_dump(exclude_none=True)
    for plan_name, plan in ctx.run_plans.items():
        for index, run in enumerate(plan.runs):
            if run.compute is not None:
                yield (
                    ("run_plans", plan_name, "runs", index, "compute"),
                    run.compute.model_dump(exclude_none=True),
                )


def check_glue_argument_keys(ctx: CheckContext) -> Iterator[Finding]:
    """Glue keys: no '=' or whitespace, no reserved or internal system arguments, and no
    two parameters that normalise to the same `--key`."""
    for path, job, params in _parameter_sets(ctx):
        if not isinstance(job, GlueJob):
            continue
        normalised: dict[str, str] = {}
        for key in params:
            if is_internal(key):
                continue
            where = (*path, key)
            if "=" in key or any(ch.isspace() for ch in key):
                yield Finding(
                    codes.GLUE_ARGUMENT_KEY,
                    Severity.ERROR,
                    where,
                    f"parameter key '{key}' contains '=' or whitespace; Glue will not split "
                    "key=value, so name the parameter and give its value separately",
                    at_key=True,
                )
                continue
            argument = glue_argument_key(key)
            if argument in normalised:
                yield Finding(
                    codes.GLUE_ARGUMENT_KEY,
                    Severity.ERROR,
                    where,
                    f"parameters '{normalised[argument]}' and '{key}' are both sent as "
                    f"Glue argument '{argument}'",
                    at_key=True,
                )
            normalised[argument] = key
            if argument == ATTEMPT_ARGUMENT:
                yield Finding(
                    codes.GLUE_INTERNAL_ARGUMENT,
                    Severity.ERROR,
                    where,
                    f"'{argument}' carries each run's attempt identity and is set by polysync "
                    "itself; name the parameter otherwise",
                    at_key=True,
                )
            elif argument in GLUE_INTERNAL_ARGUMENTS:
                yield Finding(
                    codes.GLUE_INTERNAL_ARGUMENT,
                    Severity.ERROR,
                    where,
                    f"'{argument}' is set by AWS Glue itself and must never be passed",
                    at_key=True,
                )
            elif argument in GLUE_RESERVED_ARGUMENTS:
                yield Finding(
                    codes.GLUE_RESERVED_ARGUMENT,
                    Severity.WARNING,
                    where,
                    f"'{argument}' is a reserved Glue system argument, not a job parameter; "
                    "set it on the Glue job definition",
                    at_key=True,
                )


def _parameter_sets(
    ctx: CheckContext,
) -> Iterator[tuple[DocPath, GlueJob | BatchJob, dict[str, Any]]]:
    """Every parameter map with the job it belongs to: the job's own, then each run's."""
    for name, job in ctx.jobs.items():
        yield ("jobs", name, "parameters"), job, job.parameters
    for plan_name, plan in ctx.run_plans.items():
        for index, run in enumerate(plan.runs):
            run_job = ctx.jobs.get(run.job)
            if run_job is not None:
                yield ("run_plans", plan_name, "runs", index, "parameters"), run_job, run.parameters


def check_output_parameters(ctx: CheckContext) -> Iterator[Finding]:
    """Glue and Batch have no structured output channel: outputs are never filled."""
    for name, job in ctx.jobs.items():
        for key, param in job.parameters.items():
            if param.direction is Direction.INPUT:
                continue
            sent = (
                " (its value is still sent as an input)"
                if param.direction is Direction.INPUT_OUTPUT
                else ""
            )
            service = "AWS Glue" if isinstance(job, GlueJob) else "AWS Batch"
            yield Finding(
                codes.OUTPUT_PARAMETER,
                Severity.WARNING,
                ("jobs", name, "parameters", key, "direction"),
                f"{service} cannot return output parameters; '{key}' will never be "
                f"filled{sent}. Persist results to S3 or CloudWatch Logs",
            )


def check_parameter_types(ctx: CheckContext) -> Iterator[Finding]:
    """A declared parameter `type` matches its value (job default and every run value)."""
    for path, job, params in _parameter_sets(ctx):
        for key, param in params.items():
            declared = job.parameters.get(key)
            kind = declared.type if isinstance(declared, Parameter) else None
            if kind is None or param.value is None or fits_type(param.value, kind.value):
                continue
            yield Finding(
                codes.PARAMETER_TYPE_MISMATCH,
                Severity.ERROR,
                (*path, key, "value") if _is_long_form(ctx, (*path, key)) else (*path, key),
                f"parameter '{key}' is declared {kind.value} but its value is not",
            )


def _is_long_form(ctx: CheckContext, path: DocPath) -> bool:
    node: Any = ctx.resolved
    for segment in path:
        try:
            node = node[segment]
        except (KeyError, IndexError, TypeError):
            return False
    return isinstance(node, dict)


def check_batch_queue(ctx: CheckContext) -> Iterator[Finding]:
    """A Batch job resolves a queue: job `job_queue`, else the platform's default."""
    for name, job in ctx.jobs.items():
        if not isinstance(job, BatchJob) or job.job_queue:
            continue
        platform = ctx.platforms.get(job.platform)
        if isinstance(platform, BatchPlatform) and not platform.default_job_queue:
            yield Finding(
                codes.BATCH_NO_QUEUE,
                Severity.ERROR,
                ("jobs", name),
                f"Batch job '{name}' has no queue: set `job_queue` on the job or "
                f"`default_job_queue` on platform '{job.platform}'",
                at_key=True,
            )


def check_batch_external_id(ctx: CheckContext) -> Iterator[Finding]:
    """A Batch job definition is named by name, name:revision or job-definition ARN."""
    for name, job in ctx.jobs.items():
        if not isinstance(job, BatchJob):
            continue
        ref = job.external_id
        if BATCH_DEFINITION_NAME.match(ref) or BATCH_DEFINITION_REVISION.match(ref):
            continue
        if BATCH_DEFINITION_ARN.match(ref):
            continue
        # A value from ${env...} (or a variable) is not repeated: the environment may hold
        # anything, a secret included. What the manifest says is shown instead.
        written = _get(ctx.raw_section("jobs"), name, "external_id")
        if written == ref:
            shown = f"'{ref[:80]}' is not"
        elif isinstance(written, str):
            shown = f"'{written[:80]}' does not resolve to"
        else:
            shown = "external_id is not"
        yield Finding(
            codes.BATCH_EXTERNAL_ID,
            Severity.ERROR,
            ("jobs", name, "external_id"),
            f"{shown} a job definition reference: use a name (letters, digits, "
            "- and _, up to 128), name:revision (revision >= 1), or "
            "arn:aws:batch:<region>:<account>:job-definition/<name>[:<revision>]",
        )


def check_batch_tags(ctx: CheckContext) -> Iterator[Finding]:
    """Tag keys may not use the `aws:` prefix, which AWS reserves."""
    for name, job in ctx.jobs.items():
        if isinstance(job, BatchJob) and job.tags:
            for key in job.tags:
                if key.lower().startswith("aws:"):
                    yield Finding(
                        codes.BATCH_TAG,
                        Severity.ERROR,
                        ("jobs", name, "tags", key),
                        f"tag key '{key}' uses the reserved prefix 'aws:'",
                        at_key=True,
                    )


def check_run_plans(ctx: CheckContext) -> Iterator[Finding]:
    """Runs name existing jobs; run keys are unique; `after` names runs of the same plan;
    compute keys fit the job's platform; run parameters are declared on the job (unless
    it sets `allow_undeclared_parameters`)."""
    known_jobs = ctx.raw_section("jobs")
    for plan_name, plan in ctx.run_plans.items():
        keys: dict[str, int] = {}
        for index, run in enumerate(plan.runs):
            at: DocPath = ("run_plans", plan_name, "runs", index)
            if run.key in keys:
                yield Finding(
                    codes.DUPLICATE_RUN_KEY,
                    Severity.ERROR,
                    (*at, "name") if run.name else (*at, "job"),
                    f"run key '{run.key}' is used twice in run plan '{plan_name}' (first at "
                    f"run {keys[run.key] + 1}); give one of them a distinct `name:`",
                )
            else:
                keys[run.key] = index
            if run.job not in known_jobs:
                yield Finding(
                    codes.UNKNOWN_JOB,
                    Severity.ERROR,
                    (*at, "job"),
                    f"job '{run.job}' is not defined" + did_you_mean(run.job, list(known_jobs)),
                )
            job = ctx.jobs.get(run.job)
            if job is None:
                continue
            yield from _run_compute_fits(run.compute, job, at)
            yield from _undeclared_parameters(run, job, at)
        for index, run in enumerate(plan.runs):
            for edge_index, edge in enumerate(run.after):
                if edge.run not in keys:
                    yield Finding(
                        codes.UNKNOWN_RUN,
                        Severity.ERROR,
                        ("run_plans", plan_name, "runs", index, "after", edge_index),
                        f"`after` names run '{edge.run}', which is not a run of plan "
                        f"'{plan_name}'" + did_you_mean(edge.run, list(keys)),
                    )
        yield from _cycles(plan_name, plan)


def _undeclared_parameters(run: Any, job: GlueJob | BatchJob, at: DocPath) -> Iterator[Finding]:
    """An error, not a warning: an undeclared parameter is sent to AWS as a new argument,
    and it is most often a misspelling of a declared one. A job whose runs pass free-form
    arguments opts out with `allow_undeclared_parameters: true`."""
    if job.allow_undeclared_parameters:
        return
    for key in run.parameters:
        if key not in job.parameters:
            yield Finding(
                codes.UNDECLARED_PARAMETER,
                Severity.ERROR,
                (*at, "parameters", key),
                f"job '{run.job}' does not declare parameter '{key}'"
                + did_you_mean(key, list(job.parameters))
                + "; declare it on the job, or set `allow_undeclared_parameters: true` on "
                "the job to send it as given",
                at_key=True,
            )


def _run_compute_fits(compute: Any, job: GlueJob | BatchJob, at: DocPath) -> Iterator[Finding]:
    if compute is None:
        return
    allowed = GLUE_COMPUTE_KEYS if isinstance(job, GlueJob) else BATCH_COMPUTE_KEYS
    kind = "Glue" if isinstance(job, GlueJob) else "Batch"
    for key in compute.model_dump(exclude_none=True):
        if key not in allowed:
            yield Finding(
                codes.COMPUTE_NOT_FOR_PLATFORM,
                Severity.ERROR,
                (*at, "compute", key),
                f"'{key}' does not apply to {kind} job '{job.external_id}'; {kind} runs "
                f"accept: {', '.join(sorted(allowed))}",
                at_key=True,
            )


def _cycles(plan_name: str, plan: RunPlan) -> Iterator[Finding]:
    """Name each dependency cycle once, at the `after` entry that closes it."""
    edges: dict[str, list[tuple[str, int, int]]] = {}
    for index, run in enumerate(plan.runs):
        edges.setdefault(run.key, [])
        for edge_index, edge in enumerate(run.after):
            edges[run.key].append((edge.run, index, edge_index))
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    stack: list[str] = []
    reported: set[frozenset[str]] = set()

    def visit(node: str) -> Iterator[Finding]:
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
                    yield Finding(
                        codes.DEPENDENCY_CYCLE,
                        Severity.ERROR,
                        ("run_plans", plan_name, "runs", index, "after", edge_index),
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


def check_literal_secrets(ctx: CheckContext) -> Iterator[Finding]:
    """Secret keys, session tokens and `secret: true` parameters come from ${env.NAME}."""
    for name, platform in ctx.raw_section("platforms").items():
        auth = platform.get("auth") if isinstance(platform, dict) else None
        if not isinstance(auth, dict):
            continue
        for key in ("secret_access_key", "session_token"):
            if key in auth and auth[key] is not None and not _from_env(auth[key]):
                yield Finding(
                    codes.LITERAL_SECRET,
                    Severity.ERROR,
                    ("platforms", name, "auth", key),
                    f"'{key}' must be given as ${{env.NAME}}, never as a literal in a manifest",
                )
    raw_jobs = ctx.raw_section("jobs")
    for name, job in ctx.jobs.items():
        raw_params = _get(raw_jobs, name, "parameters")
        for key, param in job.parameters.items():
            if param.secret and param.value is not None:
                raw_value = _raw_value(raw_params, key)
                if not _from_env(raw_value):
                    yield Finding(
                        codes.LITERAL_SECRET,
                        Severity.ERROR,
                        _value_path(raw_params, ("jobs", name, "parameters", key)),
                        f"secret parameter '{key}' must take its value from ${{env.NAME}}",
                    )
    raw_plans = ctx.raw_section("run_plans")
    for plan_name, plan in ctx.run_plans.items():
        for index, run in enumerate(plan.runs):
            run_job = ctx.jobs.get(run.job)
            if run_job is None:
                continue
            raw_params = _get(raw_plans, plan_name, "runs", index, "parameters")
            for key, value in run.parameters.items():
                declared = run_job.parameters.get(key)
                if declared is None or not declared.secret or value.value is None:
                    continue
                if not _from_env(_raw_value(raw_params, key)):
                    yield Finding(
                        codes.LITERAL_SECRET,
                        Severity.ERROR,
                        _value_path(
                            raw_params, ("run_plans", plan_name, "runs", index, "parameters", key)
                        ),
                        f"parameter '{key}' of job '{run.job}' is secret; its value must "
                        "come from ${env.NAME}",
                    )


def _value_path(raw_params: Any, path: DocPath) -> DocPath:
    """Point at `value:` of a long-form parameter, at the value itself for shorthand."""
    spec = raw_params.get(path[-1]) if isinstance(raw_params, dict) else None
    return (*path, "value") if isinstance(spec, dict) else path


def _raw_value(raw_params: Any, key: str) -> Any:
    value = raw_params.get(key) if isinstance(raw_params, dict) else None
    return value.get("value") if isinstance(value, dict) else value


def _get(node: Any, *path: str | int) -> Any:
    for segment in path:
        try:
            node = node[segment]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def _from_env(value: Any) -> bool:
    return isinstance(value, str) and bool(ENV_ONLY.match(value))


def check_token_audience(ctx: CheckContext) -> Iterator[Finding]:
    """An azure token source asks for exactly one of `audience` or `scope`."""
    for name, platform in ctx.platforms.items():
        auth = platform.auth
        token = getattr(auth, "token", None)
        if token is None or getattr(token, "source", None) != "azure":
            continue
        if (token.audience is None) == (token.scope is None):
            yield Finding(
                codes.AUTH_TOKEN_AUDIENCE,
                Severity.ERROR,
                ("platforms", name, "auth", "token"),
                "azure token source needs exactly one of `audience` (the app ID URI, "
                "e.g. api://polysync-aws) or `scope` (e.g. api://polysync-aws/.default)",
                at_key=True,
            )


def check_web_identity_external_id(ctx: CheckContext) -> Iterator[Finding]:
    """AssumeRoleWithWebIdentity takes no ExternalId: say so rather than drop it silently."""
    for name, platform in ctx.platforms.items():
        auth = platform.auth
        if getattr(auth, "method", None) == "web_identity" and auth.external_id:
            yield Finding(
                codes.WEB_IDENTITY_EXTERNAL_ID,
                Severity.WARNING,
                ("platforms", name, "auth", "external_id"),
                "sts:AssumeRoleWithWebIdentity has no ExternalId, so this value is not sent; "
                "restrict the role's trust policy on the token's sub and aud claims instead",
                at_key=True,
            )


CHECKS: tuple[Check, ...] = (
    check_job_platforms,
    check_glue_worker_types,
    check_glue_argument_keys,
    check_output_parameters,
    check_parameter_types,
    check_batch_queue,
    check_batch_external_id,
    check_batch_tags,
    check_run_plans,
    check_literal_secrets,
    check_token_audience,
    check_web_identity_external_id,
)


def run_checks(ctx: CheckContext) -> Iterator[Finding]:
    for check in CHECKS:
        yield from check(ctx)
