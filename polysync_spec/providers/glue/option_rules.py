"""AWS Glue rules of StartJobRun's options beyond workers and timeout: ExecutionClass,
JobRunQueuingEnabled, NotificationProperty, SecurityConfiguration, MaxCapacity, and the
Glue versions AWS no longer runs. PS314-PS321 (validate) and PS724-PS728 (plan; their
checks are `preflight.py`'s)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from polysync_spec.errors import Diagnostic, DocPath, Severity
from polysync_spec.manifest import codes
from polysync_spec.manifest.models import GlueJob, GluePlatform
from polysync_spec.manifest.rules.base import CheckContext, Rule
from polysync_spec.providers.glue.rules import Tier, glue_computes
from polysync_spec.providers.glue.versions import SOURCE as VERSIONS_SOURCE
from polysync_spec.providers.glue.versions import retired
from polysync_spec.providers.glue.workers import flex_refuses

# ---------------------------------------------------------------- validate


def _run_tiers(ctx: CheckContext) -> Iterator[list[Tier]]:
    """The compute blocks each run resolves through, most specific first: each platform's
    defaults alone, each job over its platform, and each run over its job."""
    platforms: dict[str, Tier] = {
        name: (("platforms", name, "defaults"), platform.defaults)
        for name, platform in ctx.platforms.items()
        if isinstance(platform, GluePlatform)
    }
    yield from ([tier] for tier in platforms.values())
    runs_of: dict[str, list[Tier]] = {}
    for plan_name, plan in ctx.run_plans.items():
        for index, run in enumerate(plan.runs):
            run_path: DocPath = ("run_plans", plan_name, "runs", index, "compute")
            runs_of.setdefault(run.job, []).append((run_path, run.compute))
    for name, job in ctx.jobs.items():
        if not isinstance(job, GlueJob):
            continue
        tiers: list[Tier] = [
            (("jobs", name, "compute"), job.compute),
            platforms.get(job.platform, ((), None)),
        ]
        yield tiers
        yield from ([run_tier, *tiers] for run_tier in runs_of.get(name, []))


def _first(tiers: list[Tier], key: str) -> tuple[int, DocPath, Any] | None:
    """(rank, where, value) of the first tier that sets `key`."""
    for rank, (path, compute) in enumerate(tiers):
        value = getattr(compute, key, None) if compute is not None else None
        if value is not None:
            return rank, (*path, key), value
    return None


def _flex(ctx: CheckContext) -> Iterator[Diagnostic]:
    """`execution_class: FLEX` runs only on G.1X or G.2X workers and Glue 3.0 or later
    (StartJobRun ExecutionClass; the AWS Glue developer guide's job properties), with
    the worker type and `glue_version` resolved as a run resolves them; that the job is a
    Spark ETL job (glueetl), and a worker type or version left to the live job, are
    plan's (PS724)."""
    for tiers in _run_tiers(ctx):
        flex = _first(tiers, "execution_class")
        if flex is None or flex[2] != "FLEX":
            continue
        worker = _first(tiers, "worker_type")
        version = _first(tiers, "glue_version")
        found = [part for part in (flex, worker, version) if part is not None]
        if all(rank != 0 for rank, _, _ in found):
            continue  # a less specific tier's own pass reports it
        problem = flex_refuses(
            None,
            str(version[2]) if version is not None else None,
            str(worker[2]) if worker is not None else None,
        )
        if problem is None:
            continue
        # At the value that breaks it where this tier sets it, else at execution_class.
        causes = [
            part
            for part in (version, worker)
            if part is not None
            and part[0] == 0
            and flex_refuses(
                None, *((str(part[2]), None) if part is version else (None, str(part[2])))
            )
        ]
        where = causes[0][1] if causes else flex[1] if flex[0] == 0 else found[-1][1]
        yield FLEX.at(where, problem)


FLEX = Rule(
    codes.GLUE_FLEX,
    "ExecutionClass FLEX on a worker type or Glue version that has no Flex",
    check=_flex,
)
EXECUTION_CLASS = Rule(
    codes.GLUE_EXECUTION_CLASS,
    "invalid Glue execution_class",
    doc="""`execution_class` (StartJobRun ExecutionClass) is `STANDARD` or `FLEX`, on a
    job, a run or a platform's `defaults`.""",
)
JOB_RUN_QUEUING = Rule(
    codes.GLUE_JOB_RUN_QUEUING,
    "Glue job_run_queuing must be true or false",
    doc="""`job_run_queuing` (StartJobRun JobRunQueuingEnabled) is `true` or `false`.
    With `true` Glue queues a run that would exceed the job's MaxConcurrentRuns instead
    of refusing it, so plan's PS708 does not count such runs.""",
)
NOTIFY_DELAY = Rule(
    codes.GLUE_NOTIFY_DELAY,
    "Glue notify_delay_after must be at least 1 minute",
    doc="""`notify_delay_after` (StartJobRun NotificationProperty.NotifyDelayAfter) is
    an integer number of minutes, at least 1 (NotifyDelayAfter `"min": 1`).""",
)
SECURITY_CONFIGURATION = Rule(
    codes.GLUE_SECURITY_CONFIGURATION,
    "invalid Glue security_configuration",
    doc="""`security_configuration` (StartJobRun SecurityConfiguration) names a Glue
    security configuration: 1 to 255 characters on one line (NameString). plan checks
    that it exists (PS728).""",
)
MAX_CAPACITY = Rule(
    codes.GLUE_MAX_CAPACITY,
    "Glue max_capacity must be 0.0625 or 1",
    doc="""`max_capacity` (StartJobRun MaxCapacity) sizes a Python shell job's run:
    0.0625 or 1 DPU ("When you specify a Python shell job … you can allocate either
    0.0625 or 1 DPU"). Spark jobs of Glue 2.0 and later cannot set it; plan refuses it
    for a live job that is not a Python shell job (PS725).""",
)


def _capacity_and_workers(ctx: CheckContext) -> Iterator[Diagnostic]:
    """`max_capacity` and `worker_type` / `number_of_workers` resolved together for one
    run from a job or a run ("Do not set MaxCapacity if using WorkerType and
    NumberOfWorkers", StartJobRun). A platform's defaults may hold both (MaxCapacity for
    its Python shell jobs, workers for the others): the job's or the run's choice wins."""
    for tiers in _run_tiers(ctx):
        own = [tier for tier in tiers if tier[0][:1] != ("platforms",)]
        capacity = _first(own, "max_capacity")
        workers = [w for w in (_first(own, k) for k in ("worker_type", "number_of_workers")) if w]
        if capacity is None or not workers:
            continue
        if capacity[0] != 0 and all(rank != 0 for rank, _, _ in workers):
            continue
        keys = ", ".join(str(path[-1]) for _, path, _ in workers)
        yield MAX_CAPACITY_WITH_WORKERS.at(
            capacity[1] if capacity[0] == 0 else workers[0][1],
            f"max_capacity is sent together with {keys}: StartJobRun takes MaxCapacity "
            "(Python shell jobs) or WorkerType and NumberOfWorkers, not both",
        )


MAX_CAPACITY_WITH_WORKERS = Rule(
    codes.GLUE_MAX_CAPACITY_WITH_WORKERS,
    "Glue max_capacity together with worker_type or number_of_workers",
    check=_capacity_and_workers,
)


def _retired_versions(ctx: CheckContext) -> Iterator[Diagnostic]:
    for path, compute in glue_computes(ctx):
        gone = retired(compute.get("glue_version"))
        if gone is not None:
            yield VERSION_RETIRED.at((*path, "glue_version"), gone.message("glue_version"))


VERSION_RETIRED = Rule(
    codes.GLUE_VERSION_RETIRED,
    "a Glue version AWS no longer runs",
    check=_retired_versions,
    doc=f"""A `glue_version` AWS has retired (end of life: "you can no longer start job
    runs on these AWS Glue versions"): 0.9, 1.0 and 2.0 since 2026-04-01. The message
    names the version to move to. The list is `providers/glue/versions.json`, from
    {VERSIONS_SOURCE}; plan refuses a live job on one too (PS726).""",
)

# ---------------------------------------------------------------- plan

FLEX_FOR_JOB = Rule(
    codes.GLUE_FLEX_FOR_JOB,
    "ExecutionClass FLEX on a Glue job that cannot run Flex",
    doc="""`execution_class: FLEX` is sent for a live Glue job that is not a Spark ETL job
    (`glueetl`), or whose own GlueVersion is before 3.0, or whose own worker type (the
    manifest sets none) is not G.1X or G.2X (StartJobRun ExecutionClass). A platform's
    FLEX default is not sent to jobs that are not `glueetl`. Blocks apply.""",
)
MAX_CAPACITY_FOR_JOB = Rule(
    codes.GLUE_MAX_CAPACITY_FOR_JOB,
    "max_capacity on a Glue job that is not a Python shell job",
    doc="""`max_capacity` is sent for a live Glue job whose command is not `pythonshell`:
    Spark and Ray jobs of Glue 2.0 and later cannot specify a Maximum capacity
    (StartJobRun MaxCapacity). Blocks apply.""",
)
JOB_VERSION_RETIRED = Rule(
    codes.GLUE_JOB_VERSION_RETIRED,
    "the Glue job runs on a Glue version AWS no longer runs",
    doc="""The live Glue job's GlueVersion is past its end of life (0.9, 1.0 and 2.0 since
    2026-04-01): AWS starts no run of it, whatever polysync sends. The message names the
    version to move to for the job's kind (Spark or Python shell); update the job
    definition. Blocks apply.""",
)
SECURITY_CONFIGURATION_MISSING = Rule(
    codes.GLUE_SECURITY_CONFIGURATION_MISSING,
    "the Glue security configuration does not exist",
    doc="""plan asked Glue for the security configuration a run sends
    (glue:GetSecurityConfiguration) and Glue has none of that name in the platform's
    region. Where the call is denied, plan says so once and does not check. Blocks
    apply.""",
)
MAX_CAPACITY_DEFAULT_SKIPPED = Rule(
    codes.MAX_CAPACITY_DEFAULT_SKIPPED,
    "the platform's max_capacity default skipped for a job that is not a Python shell job",
    Severity.NOTE,
    doc="""The platform's `defaults` set `max_capacity`, which only Python shell jobs
    take: it is not sent for this job.""",
)

RULES = (
    EXECUTION_CLASS,
    FLEX,
    JOB_RUN_QUEUING,
    NOTIFY_DELAY,
    SECURITY_CONFIGURATION,
    MAX_CAPACITY,
    MAX_CAPACITY_WITH_WORKERS,
    VERSION_RETIRED,
    FLEX_FOR_JOB,
    MAX_CAPACITY_FOR_JOB,
    JOB_VERSION_RETIRED,
    MAX_CAPACITY_DEFAULT_SKIPPED,
    SECURITY_CONFIGURATION_MISSING,
)
