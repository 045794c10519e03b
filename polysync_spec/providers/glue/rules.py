"""AWS Glue rules: PS3xx (validate) and the Glue findings of plan (PS7xx).

Self-contained on purpose: it imports only the manifest layer, `errors` and `values`,
so that it can move into the Glue provider package as it is.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from polysync_spec.errors import Diagnostic, DocPath, Severity
from polysync_spec.manifest import codes
from polysync_spec.manifest.models import (
    GLUE_NEWER_WORKER_TYPES,
    GLUE_WORKER_TYPES,
    GlueCompute,
    GlueJob,
    GluePlatform,
    RunCompute,
)
from polysync_spec.manifest.rules.base import CheckContext, Rule, parameter_sets
from polysync_spec.providers.glue.versions import retired
from polysync_spec.providers.glue.workers import version_too_old
from polysync_spec.values import glue_argument_key, is_internal

# The argument polysync sends with every StartJobRun to carry the submission attempt's
# identity (providers/glue.py): no parameter may take its place.
ATTEMPT_ARGUMENT = "--polysync-attempt-id"

# Documented Glue special parameters: set by Glue features, not by a job's own script.
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

# ---------------------------------------------------------------- validate

WORKER_TYPE = Rule(
    codes.GLUE_WORKER_TYPE,
    "unknown Glue worker type",
    doc=f"""`worker_type` (Glue WorkerType) is one of {", ".join(GLUE_WORKER_TYPES)}, or one
    of the newer types AWS documents ({", ".join(GLUE_NEWER_WORKER_TYPES)}, PS302). It is
    checked in a Glue job's `compute`, a Glue platform's `defaults` and a run's
    `compute`.""",
)


def _newer_worker_types(ctx: CheckContext) -> Iterator[Diagnostic]:
    """A worker type AWS documents but that is newer than the set botocore's model lists
    is accepted with a warning: check that the job's region and Glue version support
    it."""
    for path, compute in glue_computes(ctx):
        worker_type = compute.get("worker_type")
        if worker_type in GLUE_NEWER_WORKER_TYPES:
            yield WORKER_TYPE_NEWER.at(
                (*path, "worker_type"),
                f"worker type '{worker_type}' is newer than the documented set "
                f"({', '.join(GLUE_WORKER_TYPES)}); check that the job's "
                "region and Glue version support it",
            )


def glue_computes(ctx: CheckContext) -> Iterator[tuple[DocPath, dict[str, Any]]]:
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


WORKER_TYPE_NEWER = Rule(
    codes.GLUE_WORKER_TYPE_NEWER,
    "Glue worker type newer than the documented set",
    Severity.WARNING,
    check=_newer_worker_types,
)
NUMBER_OF_WORKERS = Rule(
    codes.GLUE_NUMBER_OF_WORKERS,
    "Glue number_of_workers must be a positive integer",
    doc="`number_of_workers` (Glue NumberOfWorkers) is an integer of at least 1.",
)
TIMEOUT = Rule(
    codes.GLUE_TIMEOUT,
    "Glue timeout_minutes must be a positive integer below 10080",
    doc="`timeout_minutes` (Glue Timeout) is an integer from 1 to 10079 minutes.",
)


def _keyed_parameters(ctx: CheckContext) -> Iterator[tuple[DocPath, str]]:
    """(where, key) of every parameter a Glue run sends, job and run alike."""
    for path, job, params in parameter_sets(ctx):
        if isinstance(job, GlueJob):
            yield from (((*path, key), key) for key in params if not is_internal(key))


def _malformed(key: str) -> bool:
    return "=" in key or any(ch.isspace() for ch in key)


def _argument_keys(ctx: CheckContext) -> Iterator[Diagnostic]:
    """A Glue parameter becomes the argument `--key` (a leading `--` is kept; a key
    starting with `_` is internal and never sent). A key containing `=` or whitespace is
    an error, since Glue does not split `key=value`; so are two parameters of one job or
    run that are sent as the same argument (`path` and `--path`)."""
    for path, job, params in parameter_sets(ctx):
        if not isinstance(job, GlueJob):
            continue
        normalised: dict[str, str] = {}
        for key in params:
            if is_internal(key):
                continue
            if _malformed(key):
                yield ARGUMENT_KEY.at(
                    (*path, key),
                    f"parameter key '{key}' contains '=' or whitespace; Glue will not split "
                    "key=value, so name the parameter and give its value separately",
                    at_key=True,
                )
                continue
            argument = glue_argument_key(key)
            if argument in normalised:
                yield ARGUMENT_KEY.at(
                    (*path, key),
                    f"parameters '{normalised[argument]}' and '{key}' are both sent as "
                    f"Glue argument '{argument}'",
                    at_key=True,
                )
            normalised[argument] = key


ARGUMENT_KEY = Rule(
    codes.GLUE_ARGUMENT_KEY,
    "Glue argument key contains '=' or whitespace",
    check=_argument_keys,
)


def _reserved_arguments(ctx: CheckContext) -> Iterator[Diagnostic]:
    """A parameter sent as one of Glue's special parameters (`--TempDir`,
    `--extra-py-files`, `--enable-metrics`, ...) configures a Glue feature, not the job's
    script: set it on the Glue job definition instead."""
    for where, key in _keyed_parameters(ctx):
        argument = glue_argument_key(key)
        if not _malformed(key) and argument in GLUE_RESERVED_ARGUMENTS:
            yield RESERVED_ARGUMENT.at(
                where,
                f"'{argument}' is a reserved Glue system argument, not a job parameter; "
                "set it on the Glue job definition",
                at_key=True,
            )


RESERVED_ARGUMENT = Rule(
    codes.GLUE_RESERVED_ARGUMENT,
    "reserved Glue system argument used as a parameter",
    Severity.WARNING,
    check=_reserved_arguments,
)


def _internal_arguments(ctx: CheckContext) -> Iterator[Diagnostic]:
    """Glue sets `--JOB_NAME`, `--debug`, `--mode` and `--endpoint` itself, and polysync
    sets `--polysync-attempt-id` to carry each run's attempt identity: no parameter may
    be sent as one of them."""
    for where, key in _keyed_parameters(ctx):
        argument = glue_argument_key(key)
        if _malformed(key):
            continue
        if argument == ATTEMPT_ARGUMENT:
            yield INTERNAL_ARGUMENT.at(
                where,
                f"'{argument}' carries each run's attempt identity and is set by polysync "
                "itself; name the parameter otherwise",
                at_key=True,
            )
        elif argument in GLUE_INTERNAL_ARGUMENTS:
            yield INTERNAL_ARGUMENT.at(
                where,
                f"'{argument}' is set by AWS Glue itself and must never be passed",
                at_key=True,
            )


INTERNAL_ARGUMENT = Rule(
    codes.GLUE_INTERNAL_ARGUMENT,
    "internal Glue argument that must never be set",
    check=_internal_arguments,
)
MAX_RETRIES = Rule(
    codes.GLUE_MAX_RETRIES,
    "Glue max_retries must be a non-negative integer",
    doc="""`max_retries` is an integer of at least 0. It is informational: Glue honours
    retries on the job definition only.""",
)
VERSION = Rule(
    codes.GLUE_VERSION_NOT_STRING,
    "invalid glue_version",
    doc="""`glue_version` is a string such as `"4.0"`, or `auto` (Glue's automatic
    version upgrades), at most 255 characters, sent as the `--glue-version` argument.
    Quote it: unquoted, YAML reads 4.0 as a number.""",
)

Tier = tuple[DocPath, GlueCompute | RunCompute | None]


def _worker_and_version(tiers: list[Tier]) -> Iterator[tuple[DocPath, str]]:
    """The (where, message) of a worker type its Glue version cannot run, `tiers` being
    the compute blocks from the most specific on. Only a pair the first tier sets a part
    of is reported (the others report their own), at that tier's value."""
    found: dict[str, tuple[int, DocPath, str]] = {}
    for rank, (path, compute) in enumerate(tiers):
        for key in ("worker_type", "glue_version"):
            value = getattr(compute, key, None) if compute is not None else None
            if key not in found and value is not None:
                found[key] = (rank, (*path, key), str(value))
    if set(found) != {"worker_type", "glue_version"}:
        return
    (w_rank, w_path, worker), (v_rank, v_path, version) = (
        found["worker_type"],
        found["glue_version"],
    )
    if min(w_rank, v_rank) != 0 or retired(version) is not None:
        return  # a retired version is PS321's: no worker type runs on it
    source = f" at {_where(v_path)}" if v_rank else ""
    problem = version_too_old(worker, version, source)
    if problem is None:
        return
    if w_rank == 0:
        yield w_path, f"{problem}; raise glue_version or pick another worker type"
    else:
        yield v_path, f"{problem}; worker_type is set at {_where(w_path)}: raise glue_version"


def _where(path: DocPath) -> str:
    return ".".join(str(segment) for segment in path)


def _worker_versions(ctx: CheckContext) -> Iterator[Diagnostic]:
    """A worker type runs only on the Glue versions AWS documents for it: `G.025X`,
    `G.4X` and `G.8X` from Glue 3.0, `G.12X`, `G.16X` and `R.1X` to `R.8X` from 4.0, and
    Ray's `Z.2X` from 4.0 (StartJobRun's WorkerType, the job's GlueVersion). The worker
    type and `glue_version` are resolved as a run resolves them (run, job, platform
    defaults); a pair that takes the version from the live Glue job is plan's (PS716)."""
    platforms: dict[str, Tier] = {
        name: (("platforms", name, "defaults"), platform.defaults)
        for name, platform in ctx.platforms.items()
        if isinstance(platform, GluePlatform)
    }
    for tier in platforms.values():
        for where, message in _worker_and_version([tier]):
            yield WORKER_VERSION.at(where, message)
    # Each job's runs, indexed once: checking every run plan per job would be quadratic.
    runs_of: dict[str, list[tuple[DocPath, Any]]] = {}
    for plan_name, plan in ctx.run_plans.items():
        for index, run in enumerate(plan.runs):
            run_path: DocPath = ("run_plans", plan_name, "runs", index, "compute")
            runs_of.setdefault(run.job, []).append((run_path, run.compute))
    for name, job in ctx.jobs.items():
        if not isinstance(job, GlueJob):
            continue
        below = [platforms.get(job.platform, ((), None))]
        tiers: list[Tier] = [(("jobs", name, "compute"), job.compute), *below]
        for where, message in _worker_and_version(tiers):
            yield WORKER_VERSION.at(where, message)
        for run_tier in runs_of.get(name, []):
            for where, message in _worker_and_version([run_tier, *tiers]):
                yield WORKER_VERSION.at(where, message)


WORKER_VERSION = Rule(
    codes.GLUE_WORKER_VERSION,
    "Glue worker type needs a newer Glue version",
    check=_worker_versions,
)


JOB_NAME = Rule(
    codes.GLUE_JOB_NAME,
    "invalid Glue job name",
    doc="""A Glue job's `external_id` is the Glue job's name, sent as StartJobRun's
    `JobName`: 1 to 255 characters on one line (botocore's NameString: no control
    character but tab).""",
)

# ---------------------------------------------------------------- plan

JOB_MISSING = Rule(
    codes.GLUE_JOB_MISSING,
    "the Glue job does not exist (external_id is the Glue job name)",
    doc="""plan found no Glue job named by the job's `external_id` in the platform's
    region. `external_id` is the Glue job's name. plan reads the jobs with
    glue:BatchGetJobs (where that is denied, glue:GetJob each), so the caller needs one of
    them on the job's ARN (`arn:aws:glue:REGION:ACCOUNT:job/NAME`). Blocks apply.""",
)
CONCURRENCY = Rule(
    codes.GLUE_CONCURRENCY,
    "the plan may start more runs of one Glue job at once than its MaxConcurrentRuns "
    "(runs ordered by `after` do not count)",
    doc="""The run plan may start more runs of one Glue job at once (runs that no `after`
    edge orders, up to `max_concurrency`) than the job's MaxConcurrentRuns: Glue would
    refuse the extra runs with ConcurrentRunsExceededException. Add an `after` edge, or
    raise MaxConcurrentRuns on the job. Blocks apply.""",
)
ARGUMENTS_TOO_LARGE = Rule(
    codes.GLUE_ARGUMENTS_TOO_LARGE,
    "a run's arguments total more than Glue's 260 KB",
    doc="""All of a run's arguments together (the job's DefaultArguments, the arguments
    polysync sends, NonOverridableArguments and the attempt marker) exceed the 260 KB
    Glue allows. Blocks apply.""",
)
PYTHON_SHELL_WORKERS = Rule(
    codes.PYTHON_SHELL_WORKERS,
    "worker settings on a Python shell job",
    doc="""The Glue job is a Python shell job, which Glue sizes by the definition's
    MaxCapacity: `worker_type` and `number_of_workers` cannot be set for it, on the job
    or on a run. Blocks apply.""",
)
WORKER_FOR_JOB = Rule(
    codes.GLUE_WORKER_FOR_JOB,
    "a worker type the Glue job's command or Glue version does not take",
    doc="""The worker type polysync sends does not fit the live Glue job: `Z.2X` is for
    Ray jobs (`glueray`) and a Ray job takes only `Z.2X`; `G.025X` is for streaming jobs
    (`gluestreaming`); and a worker type needs the Glue version AWS documents for it
    (PS313), here the job's own GlueVersion since the manifest sets none
    (StartJobRun's WorkerType). Blocks apply.""",
)
NON_OVERRIDABLE = Rule(
    codes.NON_OVERRIDABLE,
    "a Glue parameter the job lists in NonOverridableArguments",
    Severity.DRIFT,
    doc="""A parameter polysync sends is one of the Glue job's NonOverridableArguments:
    Glue ignores the value sent and uses the definition's.""",
)
PYTHON_SHELL_DEFAULTS_SKIPPED = Rule(
    codes.PYTHON_SHELL_DEFAULTS_SKIPPED,
    "the platform's worker defaults skipped for a Python shell job",
    Severity.NOTE,
    doc="""The platform's `defaults` set a worker type or a number of workers, which do
    not apply to a Python shell job: they are not sent for it.""",
)

RULES = (
    WORKER_TYPE,
    WORKER_TYPE_NEWER,
    NUMBER_OF_WORKERS,
    TIMEOUT,
    ARGUMENT_KEY,
    RESERVED_ARGUMENT,
    INTERNAL_ARGUMENT,
    MAX_RETRIES,
    VERSION,
    JOB_NAME,
    WORKER_VERSION,
    JOB_MISSING,
    CONCURRENCY,
    ARGUMENTS_TOO_LARGE,
    PYTHON_SHELL_WORKERS,
    WORKER_FOR_JOB,
    NON_OVERRIDABLE,
    PYTHON_SHELL_DEFAULTS_SKIPPED,
)
