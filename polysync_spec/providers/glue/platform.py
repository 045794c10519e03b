# Over 400 lines: the whole pure Glue platform (pre-flight checks, options, cost, import, events).
"""AWS Glue as a `Platform`: pre-flight checks, plan-wide checks and fingerprints of a
StartJobRun against the live job (product documents 000 and 001), and the run's limit.
Pure: the live job comes from `GlueClient.snapshot`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from polysync_spec.manifest import codes
from polysync_spec.manifest.models import PYTHON_SHELL_CAPACITIES, GlueJob, GluePlatform, Run
from polysync_spec.manifest.positions import DocPath
from polysync_spec.providers.base import (
    ATTEMPT_SLOT,
    FindingSink,
    ImportedJob,
    PlanContext,
    PlannedRequest,
    Resolved,
    RunEvent,
    Tier,
    object_schema,
)
from polysync_spec.providers.cost import CostEstimate, Prices
from polysync_spec.providers.glue import cost, events, permissions, preflight
from polysync_spec.providers.glue.importing import imported_parameters
from polysync_spec.providers.glue.rules import GLUE_INTERNAL_ARGUMENTS, GLUE_RESERVED_ARGUMENTS
from polysync_spec.providers.glue.spec import (
    PYTHON_SHELL,
    START_JOB_RUN,
    WORKER_KEYS,
    GlueDefinition,
    build_request,
    job_arn,
    resolve_compute,
)
from polysync_spec.providers.glue.versions import retired
from polysync_spec.providers.glue.workers import (
    command_refuses,
    version_too_old,
)
from polysync_spec.providers.permissions import Command, Grant
from polysync_spec.values import aws_string, glue_argument_key, is_internal

GLUE_ARGUMENTS_LIMIT = 260 * 1024  # all of a job run's arguments together
# An attempt id as apply fills the slot: a uuid4's text.
_ATTEMPT_ID_LENGTH = 36
# Glue's own default timeout when the job sets none: 2,880 minutes up to Glue 4.0, 480
# from 5.0 (StartJobRun's Timeout documentation).
GLUE_DEFAULT_TIMEOUT_MINUTES = 2880
GLUE_5_DEFAULT_TIMEOUT_MINUTES = 480

#: What `GlueClient.snapshot` finds: each Glue job name the runs use -> the job, or None
#: (a `GlueSnapshot`, which also says which security configurations exist).
GlueLive = Mapping[str, GlueDefinition | None]


class Glue:
    """AWS Glue jobs, run with StartJobRun."""

    type: ClassVar[str] = "aws_glue"
    job_type: ClassVar[str] = "aws_glue_job"
    service: ClassVar[str] = "glue"
    title: ClassVar[str] = "Glue"
    api: ClassVar[str] = START_JOB_RUN

    # Read from the live job for the free-slot wait (ConcurrentRunsExceededException).
    recorded_schema: ClassVar[Mapping[str, Mapping[str, Any]]] = {
        "max_concurrent_runs": {"type": "integer", "minimum": 1},
        "automatic_retries": {"type": "integer", "minimum": 1},
    }

    busy_codes: ClassVar[frozenset[str]] = frozenset({"ConcurrentRunsExceededException"})
    held_dependency: ClassVar[str] = ""
    # StartJobRun: AWS publishes no rate for it ("AWS Glue API requests are throttled for
    # AWS accounts on a per-Region basis", AWS Knowledge Center, glue-throttling-rate-
    # exceeded; ThrottlingException, HTTP 400). Start at 10 a second and let the
    # adaptive rate find the account's, up to Batch's documented 50.
    submit_rate: ClassVar[tuple[float, float]] = (10.0, 50.0)
    event_pattern: ClassVar[Mapping[str, Any]] = events.EVENT_PATTERN

    def run_event(self, detail_type: str, detail: Mapping[str, Any]) -> RunEvent | None:
        return events.run_event(detail_type, detail)

    def busy_reason(self, compute: Mapping[str, Any]) -> str:
        limit = compute.get("max_concurrent_runs")
        return f"MaxConcurrentRuns {limit}" if limit else "MaxConcurrentRuns reached"

    def request_schema(self, secret_or_string: Mapping[str, Any]) -> dict[str, Any]:
        return object_schema(
            {
                "JobName": {"type": "string", "minLength": 1, "maxLength": 255},
                "Arguments": {
                    "type": "object",
                    "additionalProperties": secret_or_string,
                },
                "WorkerType": {"type": "string"},
                "NumberOfWorkers": {"type": "integer", "minimum": 1},
                "Timeout": {"type": "integer", "minimum": 1},
                "ExecutionClass": {"enum": ["STANDARD", "FLEX"]},
                "JobRunQueuingEnabled": {"type": "boolean"},
                "NotificationProperty": object_schema(
                    {"NotifyDelayAfter": {"type": "integer", "minimum": 1}}
                ),
                "SecurityConfiguration": {"type": "string", "minLength": 1, "maxLength": 255},
                "MaxCapacity": {"enum": list(PYTHON_SHELL_CAPACITIES)},
            },
            required=["JobName", "Arguments"],
            description="Glue StartJobRun, exactly as polysync builds it",
        )

    def plan_run(
        self,
        run: Run,
        job: GlueJob,
        platform: GluePlatform,
        live: GlueLive | None,
        out: FindingSink,
    ) -> PlannedRequest:
        job_path: DocPath = ("jobs", run.job)
        definition = (live or {}).get(job.external_id)
        request = build_request(job, platform, run, definition)
        planned = PlannedRequest(request, job.external_id if definition else None)
        if definition is None:
            out.error(
                codes.GLUE_JOB_MISSING,
                f"no Glue job named '{job.external_id}' exists in {platform.region}; external_id "
                "must be the Glue job's name, and plan reads it with glue:BatchGetJobs (where "
                "that is denied, glue:GetJob), which the caller needs on "
                f"{job_arn(platform.region, job.external_id)}",
                (*job_path, "external_id"),
            )
            return planned
        # How many runs of the job Glue lets go at once: what apply says while a run waits
        # for a free slot (ConcurrentRunsExceededException).
        planned.recorded["max_concurrent_runs"] = Resolved(
            definition.max_concurrent_runs, Tier.DEFINITION
        )
        # Glue retries a failed run by the job's own MaxRetries (StartJobRun has no such
        # member: the manifest's max_retries is informational), each retry a new run with
        # the same timeout: the run's limit counts them.
        if definition.max_retries:
            planned.recorded["automatic_retries"] = Resolved(
                definition.max_retries, Tier.DEFINITION
            )
        arguments: dict[str, str] = request.payload["Arguments"]
        if definition.command_name == PYTHON_SHELL:
            explicit = [k for k in WORKER_KEYS if k in request.compute]
            if explicit:
                tier = request.compute[explicit[0]].tier
                compute_at = (*out.at, "compute") if tier is Tier.RUN else (*job_path, "compute")
                out.error(
                    codes.PYTHON_SHELL_WORKERS,
                    f"'{job.external_id}' is a Python shell job: {', '.join(explicit)} cannot be "
                    "set for it (Glue sizes it by the definition's MaxCapacity)",
                    compute_at,
                    key=True,
                )
            elif platform.defaults and any(getattr(platform.defaults, k) for k in WORKER_KEYS):
                out.note(
                    codes.PYTHON_SHELL_DEFAULTS_SKIPPED,
                    f"'{job.external_id}' is a Python shell job: the platform's worker defaults "
                    "do not apply to it and are not sent",
                    job_path,
                )
        self._check_worker_type(run, job, definition, request.compute, out)
        preflight.check_live_version(job_path, job, definition, out)
        preflight.check_flex(run, job, definition, request.compute, out)
        preflight.check_security_configuration(run, job, live, request.compute, out)
        preflight.check_max_capacity(
            run, job, platform, definition, compute=request.compute, out=out
        )
        inherited = [
            f"{k} {v.value}" for k, v in request.compute.items() if v.tier is Tier.DEFINITION
        ]
        if inherited:
            out.note(
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
            out.note(
                codes.INHERITED_PARAMETERS,
                f"filled from the job's DefaultArguments: {', '.join(sorted(defaults))}",
                job_path,
            )
        self._check_parameters(job_path, job, definition, arguments, out)
        merged = {
            **definition.default_arguments,
            **arguments,
            **definition.non_overridable_arguments,
        }
        size = sum(len(k.encode()) + len(v.encode()) for k, v in merged.items())
        size += _ATTEMPT_ID_LENGTH - len(ATTEMPT_SLOT)  # the marker as it will be sent
        if size > GLUE_ARGUMENTS_LIMIT:
            out.error(
                codes.GLUE_ARGUMENTS_TOO_LARGE,
                f"the run's arguments total {size} bytes; Glue allows {GLUE_ARGUMENTS_LIMIT} for "
                "all of a job's arguments together",
            )
        return planned

    @staticmethod
    def _check_worker_type(
        run: Run,
        job: GlueJob,
        definition: GlueDefinition,
        compute: Mapping[str, Resolved],
        out: FindingSink,
    ) -> None:
        """The worker type sent against the live job's command and, when the manifest sets
        no glue_version, its GlueVersion (a manifest's own pair is validate's, PS313)."""
        worker = compute.get("worker_type")
        if worker is None or worker.tier is Tier.DEFINITION:
            return  # not sent: the job's own setting
        problem = command_refuses(str(worker.value), definition.command_name)
        version = compute.get("glue_version")
        live_version = (
            str(version.value) if version is not None and version.tier is Tier.DEFINITION else None
        )
        if problem is None and live_version is not None and retired(live_version) is None:
            # A retired version is PS726's: no worker type runs on it.
            problem = version_too_old(str(worker.value), live_version, " on the Glue job")
        if problem is None:
            return
        where: DocPath = {
            Tier.RUN: (*out.at, "compute", "worker_type"),
            Tier.JOB: ("jobs", run.job, "compute", "worker_type"),
        }.get(worker.tier, ("platforms", job.platform, "defaults", "worker_type"))
        out.error(codes.GLUE_WORKER_FOR_JOB, f"Glue job '{job.external_id}': {problem}", where)

    @staticmethod
    def _check_parameters(
        job_path: DocPath,
        job: GlueJob,
        definition: GlueDefinition,
        arguments: Mapping[str, str],
        out: FindingSink,
    ) -> None:
        """Drift between the manifest's parameters and the job's arguments."""
        for name, parameter in job.parameters.items():
            key = glue_argument_key(name)
            if is_internal(name) or key not in arguments:
                continue
            where: DocPath = (*job_path, "parameters", name)
            if key in definition.non_overridable_arguments:
                out.drift(
                    codes.NON_OVERRIDABLE,
                    f"'{key}' is one of the Glue job's NonOverridableArguments: Glue ignores the "
                    "value polysync sends",
                    where,
                    key=True,
                )
            live_default = definition.default_arguments.get(key)
            # A secret's value is never compared (the message would show it); that Glue
            # ignores it (NonOverridableArguments, above) is said without its value.
            if (
                not parameter.secret
                and parameter.value is not None
                and live_default is not None
                and aws_string(parameter.value) != live_default
            ):
                out.drift(
                    codes.DEFAULT_DRIFT,
                    f"parameter '{name}' is {aws_string(parameter.value)!r} in the manifest but "
                    f"{live_default!r} in the Glue job's DefaultArguments",
                    where,
                )

    def plan_findings(
        self, context: PlanContext, live: Mapping[str, GlueLive | None]
    ) -> Iterable[tuple[DocPath, str, str]]:
        """Runs of one Glue job that the plan may start at once, beyond its
        MaxConcurrentRuns: Glue would refuse the extra ones."""
        by_job: dict[tuple[str, str], list[tuple[int, str]]] = {}
        for index, run, job, platform in context.runs:
            if preflight.queued(run, job, platform):
                continue  # Glue queues the run rather than refuse it (JobRunQueuingEnabled)
            by_job.setdefault((job.platform, job.external_id), []).append((index, run.key))
        for (platform, name), runs in by_job.items():
            definition = (live.get(platform) or {}).get(name)
            if definition is None or len(runs) < 2:
                continue
            keys = [key for _, key in runs]
            parallel = context.largest_unordered(keys)
            at_once = min(len(parallel), context.max_concurrency)
            if at_once > definition.max_concurrent_runs:
                index = runs[keys.index(parallel[-1])][0]
                yield (
                    ("run_plans", context.run_plan, "runs", index),
                    codes.GLUE_CONCURRENCY,
                    f"run plan '{context.run_plan}' may start {at_once} runs of Glue job '{name}' "
                    f"at once ({', '.join(parallel)}), but its MaxConcurrentRuns is "
                    f"{definition.max_concurrent_runs}: Glue would refuse the extra runs with "
                    "ConcurrentRunsExceededException; add an `after` edge or raise "
                    "MaxConcurrentRuns",
                )

    def fingerprints(
        self, job: GlueJob, platform: GluePlatform, live: GlueLive | None
    ) -> dict[str, str]:
        definition = (live or {}).get(job.external_id)
        stamp = (
            definition.last_modified.isoformat()
            if definition and definition.last_modified
            else ("present" if definition else "missing")
        )
        return {f"glue:{platform.region}:job/{job.external_id}": stamp}

    def effective_request(
        self, job: GlueJob, live: GlueLive | None, request: Mapping[str, Any]
    ) -> dict[str, Any]:
        """`Arguments` as the run gets them: "job arguments specified here override the
        default arguments" and NonOverridableArguments override both (StartJobRun,
        Arguments; CreateJob, NonOverridableArguments)."""
        definition = (live or {}).get(job.external_id)
        effective = dict(request)
        if definition is not None:
            effective["Arguments"] = {
                **definition.default_arguments,
                **dict(request.get("Arguments") or {}),
                **definition.non_overridable_arguments,
            }
        return effective

    def parameter_name(self, field: tuple[str, str]) -> str:
        inner = field[1]
        return inner[2:] if inner.startswith("--") else inner

    def aws_name(self, job: GlueJob) -> str:
        return job.external_id

    def imported_job(self, definition: GlueDefinition) -> ImportedJob:
        """The job with its DefaultArguments as parameters, verbatim. Its compute is not
        written: Glue runs with the job's own settings when StartJobRun sends none (plan
        shows them, tier "definition"), and a job-level value would outrank the
        platform's defaults and a target's, changing what runs."""
        return ImportedJob(definition.name, imported_parameters(definition), {})

    sample_resources: ClassVar[Mapping[str, set[str]]] = {
        "job": {"JOB"},
        "security_configuration": {"NAME"},
    }
    logs_note: ClassVar[str] = (
        "Glue logs: a job with a security configuration or --continuous-log-logGroup "
        f"logs outside {', '.join(permissions.GLUE_LOG_GROUPS)}; add those groups"
    )

    def resources_used(self, run: Run, job: GlueJob, platform: GluePlatform) -> Mapping[str, str]:
        used = {"job": job.external_id}
        chosen = resolve_compute(job, platform, run).get("security_configuration")
        if chosen is not None:
            used["security_configuration"] = str(chosen.value)
        return used

    def grants(
        self, command: Command, region: str, account: str, used: Mapping[str, set[str]]
    ) -> list[Grant]:
        return permissions.grants(
            command,
            region,
            account,
            used.get("job", set()),
            security_configurations=bool(used.get("security_configuration")),
        )

    def estimate(
        self,
        job: GlueJob,
        platform: GluePlatform,
        live: GlueLive | None,
        *,
        compute: Mapping[str, Any],
        request: Mapping[str, Any],
        prices: Prices,
    ) -> CostEstimate | None:
        """DPU-hours and price of the run: see `providers/glue/cost.py`."""
        definition = (live or {}).get(job.external_id)
        limit = self.run_limit_seconds(compute)
        return cost.estimate(
            platform.region, definition, compute, request, limit_seconds=limit, prices=prices
        )

    def run_limit_seconds(self, compute: Mapping[str, Any]) -> float | None:
        """The job run's timeout (or Glue's default when the job sets none), once for the
        run and once for each automatic retry the job's MaxRetries allows."""
        minutes = compute.get("timeout_minutes")
        if not minutes:
            # A major that is not a number (the manifest allows "5x.0") gets the longer
            # default rather than an error while runs are followed.
            major = str(compute.get("glue_version") or "").split(".", maxsplit=1)[0]
            five = major.isdecimal() and int(major) >= 5
            minutes = GLUE_5_DEFAULT_TIMEOUT_MINUTES if five else GLUE_DEFAULT_TIMEOUT_MINUTES
        retries = int(compute.get("automatic_retries") or 0)
        return float(minutes) * 60 * (1 + retries)

    def holds_dependency(self, condition: str) -> bool:
        return False  # StartJobRun has no dependencies: every `after` waits client-side

    def with_dependencies(
        self, request: Mapping[str, Any], run_ids: list[str]
    ) -> dict[str, Any] | None:
        return None
