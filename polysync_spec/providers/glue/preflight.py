"""Plan's checks of StartJobRun's options against the live Glue job and the
security configurations Glue has (PS724-PS728): pure, reported to a `FindingSink`."""

from __future__ import annotations

from collections.abc import Mapping

from polysync_spec.manifest import codes
from polysync_spec.manifest.models import GlueJob, GluePlatform, Run
from polysync_spec.manifest.positions import DocPath
from polysync_spec.providers.base import FindingSink, Resolved, Tier
from polysync_spec.providers.glue.spec import PYTHON_SHELL, GlueDefinition, resolve_compute
from polysync_spec.providers.glue.versions import retired
from polysync_spec.providers.glue.workers import flex_refuses


def check_live_version(
    job_path: DocPath, job: GlueJob, definition: GlueDefinition, out: FindingSink
) -> None:
    """A job on a Glue version past its end of life: AWS starts no run of it, whatever
    the manifest sends (the version is the job definition's)."""
    gone = retired(definition.glue_version)
    if gone is not None:
        out.error(
            codes.GLUE_JOB_VERSION_RETIRED,
            f"Glue job '{job.external_id}': "
            + gone.message("the job's GlueVersion", definition.command_name)
            + "; update the job definition",
            (*job_path, "external_id"),
        )


def check_flex(
    run: Run,
    job: GlueJob,
    definition: GlueDefinition,
    compute: Mapping[str, Resolved],
    out: FindingSink,
) -> None:
    """FLEX against what the live job decides: its command, its GlueVersion and its
    worker type when the manifest sets none (the manifest's own are validate's, PS315)."""
    chosen = compute.get("execution_class")
    if chosen is None or chosen.value != "FLEX" or chosen.tier is Tier.DEFINITION:
        return
    version = compute.get("glue_version")
    worker = compute.get("worker_type")
    problem = flex_refuses(
        definition.command_name,
        str(version.value) if version is not None and version.tier is Tier.DEFINITION else None,
        str(worker.value) if worker is not None and worker.tier is Tier.DEFINITION else None,
    )
    if problem is not None:
        out.error(
            codes.GLUE_FLEX_FOR_JOB,
            f"Glue job '{job.external_id}': {problem}",
            compute_at(chosen.tier, "execution_class", run, job, out),
        )


def check_max_capacity(
    run: Run,
    job: GlueJob,
    platform: GluePlatform,
    definition: GlueDefinition,
    *,
    compute: Mapping[str, Resolved],
    out: FindingSink,
) -> None:
    """MaxCapacity is a Python shell job's (0.0625 or 1 DPU): for Spark jobs of Glue
    2.0 and later "you cannot specify a Maximum capacity" (StartJobRun MaxCapacity)."""
    if definition.command_name == PYTHON_SHELL:
        return
    chosen = compute.get("max_capacity")
    if chosen is not None and chosen.tier is not Tier.DEFINITION:
        out.error(
            codes.GLUE_MAX_CAPACITY_FOR_JOB,
            f"Glue job '{job.external_id}' is a '{definition.command_name}' job: "
            "max_capacity is for Python shell jobs only (StartJobRun MaxCapacity: Glue "
            "2.0+ jobs cannot specify a Maximum capacity; use worker_type and "
            "number_of_workers)",
            compute_at(chosen.tier, "max_capacity", run, job, out),
        )
    elif platform.defaults is not None and platform.defaults.max_capacity is not None:
        out.note(
            codes.MAX_CAPACITY_DEFAULT_SKIPPED,
            f"'{job.external_id}' is not a Python shell job: the platform's max_capacity "
            "default does not apply to it and is not sent",
            ("jobs", run.job),
        )


def queued(run: Run, job: GlueJob, platform: GluePlatform) -> bool:
    """Whether the run is sent with JobRunQueuingEnabled true: Glue then queues it when
    MaxConcurrentRuns is reached, rather than refuse it."""
    chosen = resolve_compute(job, platform, run).get("job_run_queuing")
    return chosen is not None and chosen.value is True


def compute_at(tier: Tier, key: str, run: Run, job: GlueJob, out: FindingSink) -> DocPath:
    """Where a compute value of `tier` is written: the run, the job or the platform."""
    if tier is Tier.RUN:
        return (*out.at, "compute", key)
    if tier is Tier.JOB:
        return ("jobs", run.job, "compute", key)
    return ("platforms", job.platform, "defaults", key)


def check_security_configuration(
    run: Run,
    job: GlueJob,
    live: object,
    compute: Mapping[str, Resolved],
    out: FindingSink,
) -> None:
    """The security configuration a run sends exists (GetSecurityConfiguration, read
    into the snapshot's `security_configurations`; not known where it was denied)."""
    chosen = compute.get("security_configuration")
    if chosen is None or chosen.tier is Tier.DEFINITION:
        return
    known: Mapping[str, bool | None] = getattr(live, "security_configurations", {})
    if known.get(str(chosen.value)) is False:
        out.error(
            codes.GLUE_SECURITY_CONFIGURATION_MISSING,
            f"no Glue security configuration named '{chosen.value}' exists "
            "(glue:GetSecurityConfiguration answered EntityNotFoundException)",
            compute_at(chosen.tier, "security_configuration", run, job, out),
        )
