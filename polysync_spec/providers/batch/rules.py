"""AWS Batch rules: PS4xx (validate) and the Batch findings of plan (PS7xx).

Self-contained on purpose: it imports only the manifest layer, `errors` and `values`,
so that it can move into the Batch provider package as it is.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from polysync_spec.errors import Diagnostic, Severity
from polysync_spec.manifest import codes
from polysync_spec.manifest.models import BatchJob, BatchPlatform
from polysync_spec.manifest.rules.base import CheckContext, Rule, lookup

BATCH_DEFINITION_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")
BATCH_DEFINITION_REVISION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}:[1-9]\d*$")
BATCH_DEFINITION_ARN = re.compile(
    r"^arn:aws[a-z-]*:batch:[a-z0-9-]+:\d{12}:job-definition/[A-Za-z0-9][A-Za-z0-9_-]{0,127}(:[1-9]\d*)?$"
)

# ---------------------------------------------------------------- validate

ATTEMPT_DURATION = Rule(
    codes.BATCH_ATTEMPT_DURATION,
    "Batch attempt_duration_seconds must be at least 60",
    doc="""`attempt_duration_seconds` (Batch timeout.attemptDurationSeconds, after which
    an attempt is stopped) is an integer of at least 60.""",
)
RETRY_ATTEMPTS = Rule(
    codes.BATCH_RETRY_ATTEMPTS,
    "Batch retry_attempts must be 1..10",
    doc="`retry_attempts` (Batch retryStrategy.attempts) is an integer from 1 to 10.",
)
ARRAY_SIZE = Rule(
    codes.BATCH_ARRAY_SIZE,
    "Batch array_size must be 2..10000",
    doc="`array_size` (Batch arrayProperties.size) is an integer from 2 to 10000.",
)
PRIORITY = Rule(
    codes.BATCH_PRIORITY,
    "Batch scheduling_priority_override must be 0..9999",
    doc="""`scheduling_priority_override` (Batch schedulingPriorityOverride; higher runs
    sooner) is an integer from 0 to 9999.""",
)


def _tags(ctx: CheckContext) -> Iterator[Diagnostic]:
    """`tags` is a map of strings: 1 to 50 entries, keys up to 128 and values up to 256
    characters (quote a value YAML would read as a number or a boolean). A key may not
    start with `aws:`, a prefix AWS reserves."""
    for name, job in ctx.jobs.items():
        if isinstance(job, BatchJob) and job.tags:
            for key in job.tags:
                if key.lower().startswith("aws:"):
                    yield TAG.at(
                        ("jobs", name, "tags", key),
                        f"tag key '{key}' uses the reserved prefix 'aws:'",
                        at_key=True,
                    )


TAG = Rule(codes.BATCH_TAG, "invalid Batch tags", check=_tags)
DEPENDS_ON = Rule(
    codes.BATCH_DEPENDS_ON,
    "invalid Batch depends_on",
    doc="""`depends_on` (Batch dependsOn) is a list of at most 20 items
    `{job_id, type}`, `type` being `SEQUENTIAL` or `N_TO_N`.""",
)


def _typed_dependencies(ctx: CheckContext) -> Iterator[Diagnostic]:
    """A `depends_on` item with a `type` (`SEQUENTIAL` or `N_TO_N`) is an array job's
    dependency (SubmitJob's dependsOn: "You can specify a SEQUENTIAL type dependency
    without specifying a job ID for array jobs [...] You can also specify an N_TO_N type
    dependency with a job ID for array jobs"): the job needs an `array_size`, its own or
    one set by every run of it."""
    runs_of: dict[str, list[tuple[str, Any]]] = {}  # indexed once: never quadratic
    for plan_name, plan in ctx.run_plans.items():
        for run in plan.runs:
            runs_of.setdefault(run.job, []).append((plan_name, run))
    for name, job in ctx.jobs.items():
        if not isinstance(job, BatchJob) or not job.depends_on or job.array_size is not None:
            continue
        runs = runs_of.get(name, [])
        plain = [
            (plan_name, run.key)
            for plan_name, run in runs
            if run.compute is None or run.compute.array_size is None
        ]
        if runs and not plain:
            continue  # every run makes it an array job
        which = (
            f"run '{plain[0][1]}' of run plan '{plain[0][0]}' submits it without one"
            if plain
            else "no run gives it one"
        )
        for index, dependency in enumerate(job.depends_on):
            if dependency.type is not None:
                yield TYPED_DEPENDENCY.at(
                    ("jobs", name, "depends_on", index, "type"),
                    f"dependency type {dependency.type} is for array jobs (SubmitJob dependsOn), "
                    f"but job '{name}' has no array_size and {which}; set array_size (2..10000) "
                    "or leave the dependency untyped",
                )


TYPED_DEPENDENCY = Rule(
    codes.BATCH_TYPED_DEPENDENCY,
    "typed Batch dependency on a job that is not an array job",
    check=_typed_dependencies,
)


def _queue(ctx: CheckContext) -> Iterator[Diagnostic]:
    """A Batch job needs a queue: its own `job_queue`, else its platform's
    `default_job_queue`."""
    for name, job in ctx.jobs.items():
        if not isinstance(job, BatchJob) or job.job_queue:
            continue
        platform = ctx.platforms.get(job.platform)
        if lookup(ctx.resolved.get("platforms"), job.platform, "default_job_queue") is not None:
            continue  # set, but invalid: PS410 says so
        if isinstance(platform, BatchPlatform) and not platform.default_job_queue:
            yield NO_QUEUE.at(
                ("jobs", name),
                f"Batch job '{name}' has no queue: set `job_queue` on the job or "
                f"`default_job_queue` on platform '{job.platform}'",
                at_key=True,
            )


NO_QUEUE = Rule(codes.BATCH_NO_QUEUE, "Batch job has no queue", check=_queue)


def _external_id(ctx: CheckContext) -> Iterator[Diagnostic]:
    """A Batch job's `external_id` names its job definition: a name (letters, digits,
    `-` and `_`, up to 128), `name:revision` (revision 1 or more), or a job-definition
    ARN. A bare name runs the highest ACTIVE revision."""
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
        written = lookup(ctx.raw_section("jobs"), name, "external_id")
        if written == ref:
            shown = f"'{ref[:80]}' is not"
        elif isinstance(written, str):
            shown = f"'{written[:80]}' does not resolve to"
        else:
            shown = "external_id is not"
        yield EXTERNAL_ID.at(
            ("jobs", name, "external_id"),
            f"{shown} a job definition reference: use a name (letters, digits, "
            "- and _, up to 128), name:revision (revision >= 1), or "
            "arn:aws:batch:<region>:<account>:job-definition/<name>[:<revision>]",
        )


EXTERNAL_ID = Rule(
    codes.BATCH_EXTERNAL_ID, "invalid Batch job definition reference", check=_external_id
)
SHARE_IDENTIFIER = Rule(
    codes.BATCH_SHARE_IDENTIFIER,
    "invalid Batch share_identifier",
    doc="""`share_identifier` (Batch shareIdentifier) is up to 255 letters and digits,
    optionally ending in `*`.""",
)

JOB_QUEUE = Rule(
    codes.BATCH_JOB_QUEUE,
    "invalid Batch job queue reference",
    doc="""A job's `job_queue`, a run's `compute.job_queue` and a platform's
    `default_job_queue` are sent as SubmitJob's `jobQueue`: a queue name (up to 128
    letters, digits, `-` and `_`, as CreateJobQueue names queues) or a job-queue ARN,
    `arn:aws:batch:<region>:<account>:job-queue/<name>`.""",
)

# ---------------------------------------------------------------- plan

DEFINITION_NOT_ACTIVE = Rule(
    codes.DEFINITION_NOT_ACTIVE,
    "the Batch job definition has no ACTIVE revision",
    doc="""The job's `external_id` names a job definition without a revision (a bare name,
    or an ARN without one), and no revision of it has Status=ACTIVE in the platform's
    region: check the name. Blocks apply.""",
)
PINNED_REVISION = Rule(
    codes.PINNED_REVISION,
    "the pinned revision is INACTIVE or does not exist",
    doc="""The job's `external_id` pins a revision (`name:revision` or an ARN) that is
    INACTIVE or does not exist: pin an ACTIVE revision, or use the bare name to run the
    highest ACTIVE one. Blocks apply.""",
)
QUEUE_MISSING = Rule(
    codes.QUEUE_MISSING,
    "the job queue does not exist",
    doc="""The queue the run resolves to (the run's `compute.job_queue`, the job's
    `job_queue`, or the platform's `default_job_queue`) does not exist in the platform's
    region. Blocks apply.""",
)
QUEUE_UNUSABLE = Rule(
    codes.QUEUE_UNUSABLE,
    "the job queue is not ENABLED and VALID",
    doc="""Batch accepts jobs only on a queue whose state is ENABLED and whose status is
    VALID. Blocks apply.""",
)
QUEUE_UNCHECKED = Rule(
    codes.QUEUE_UNCHECKED,
    "the job queue could not be described (batch:DescribeJobQueues is denied)",
    Severity.NOTE,
    doc="""The caller may not call DescribeJobQueues, a permission the product document
    does not list: plan takes the queue as named, without checking that it exists, that
    it is ENABLED and VALID, or whether it has a fair-share scheduling policy. SubmitJob
    reports those problems instead. Granting batch:DescribeJobQueues (on "*") restores
    the checks.""",
)
FAIR_SHARE_WITHOUT_SHARE = Rule(
    codes.FAIR_SHARE_WITHOUT_SHARE,
    "fair-share queue without `share_identifier`",
    doc="""The queue has a fair-share scheduling policy, so every job submitted to it needs
    a `share_identifier` (and may set `scheduling_priority_override`). Blocks apply.""",
)
SHARE_WITHOUT_FAIR_SHARE = Rule(
    codes.SHARE_WITHOUT_FAIR_SHARE,
    "`share_identifier` on a queue without a fair-share policy",
    doc="""The run sets `share_identifier`, but its queue has no fair-share scheduling
    policy, and Batch refuses the job: leave `share_identifier` and
    `scheduling_priority_override` out. Blocks apply.""",
)
PROPAGATED_TAGS = Rule(
    codes.PROPAGATED_TAGS,
    "the job's and the definition's tags together exceed 50, and tags propagate",
    doc="""Tags propagate to the job's ECS task (the job's `propagate_tags`, else the
    definition's propagateTags), and the job's tags and the definition's, counted once per
    key, are more than 50: SubmitJob's propagateTags says "If the total number of combined
    tags from the job and job definition is over 50, the job is moved to the FAILED
    state". Blocks apply.""",
)
PRIORITY_WITHOUT_FAIR_SHARE = Rule(
    codes.PRIORITY_WITHOUT_FAIR_SHARE,
    "`scheduling_priority_override` on a queue without a fair-share policy",
    Severity.DRIFT,
    doc="""The run sets `scheduling_priority_override`, but its queue has no fair-share
    scheduling policy: SubmitJob's schedulingPriorityOverride "only affects jobs in job
    queues with a fair-share policy", so Batch accepts it and it changes nothing.""",
)
NO_PLACEHOLDER = Rule(
    codes.NO_PLACEHOLDER,
    "a Batch parameter with no `Ref::` placeholder in the definition",
    Severity.DRIFT,
    doc="""A parameter the run sends has no `Ref::NAME` placeholder in the job
    definition's command or environment: Batch accepts it and does nothing with it.""",
)
PLACEHOLDER_UNSET = Rule(
    codes.PLACEHOLDER_UNSET,
    "a `Ref::` placeholder that neither the manifest nor the definition fills",
    Severity.DRIFT,
    doc="""The job definition has a `Ref::NAME` placeholder that neither the manifest
    nor the definition's default parameters fill: the container gets the literal text, a
    common cause of "Essential container in task exited".""",
)

RULES = (
    ATTEMPT_DURATION,
    RETRY_ATTEMPTS,
    ARRAY_SIZE,
    PRIORITY,
    TAG,
    DEPENDS_ON,
    NO_QUEUE,
    EXTERNAL_ID,
    SHARE_IDENTIFIER,
    JOB_QUEUE,
    TYPED_DEPENDENCY,
    DEFINITION_NOT_ACTIVE,
    PINNED_REVISION,
    QUEUE_MISSING,
    QUEUE_UNUSABLE,
    QUEUE_UNCHECKED,
    FAIR_SHARE_WITHOUT_SHARE,
    SHARE_WITHOUT_FAIR_SHARE,
    PROPAGATED_TAGS,
    PRIORITY_WITHOUT_FAIR_SHARE,
    NO_PLACEHOLDER,
    PLACEHOLDER_UNSET,
)
