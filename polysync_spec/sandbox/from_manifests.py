"""Seed a sandbox from a user's own manifests (`polysync sandbox --from PATH`): the Glue
jobs, Batch job definitions, job queues and a compute environment that the manifests
name, so that `plan` and `apply --sandbox` on that project find what they run.

What is created, per platform region, over the wire like any client:
- a Glue job per `aws_glue_job` (CreateJob): its `external_id` as name, `glueetl` (or
  `glueray` for Z.2X workers), the manifest's glue_version or 4.0, its max_retries, its
  parameters' values as DefaultArguments (not secrets, not `_internal` ones), and a
  MaxConcurrentRuns that admits the most runs of it any run plan starts;
- a Batch job definition per `aws_batch_job` (RegisterJobDefinition), as many revisions
  as the highest one pinned (`name:3`), with a `Ref::name` placeholder in its command for
  every parameter the job or its runs set, and the job's values as its defaults;
- every job queue a job, a run or a platform names, on one UNMANAGED compute environment;
  a queue used with a share_identifier gets a fair-share scheduling policy.
An object that already exists (from `--seed`) is kept as it is.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3

from polysync_spec.manifest.models import BatchJob, BatchPlatform, GlueJob, GluePlatform
from polysync_spec.sandbox.lifecycle import Outcome
from polysync_spec.sandbox.server import ACCOUNT_ID, SANDBOX_KEY
from polysync_spec.values import aws_string, glue_argument_key, is_internal

COMPUTE_ENVIRONMENT = "polysync-sandbox"
SERVICE_ROLE = "polysync-sandbox-batch"
_TRUST = json.dumps({"Version": "2012-10-17", "Statement": []})
_RAY_WORKERS = ("Z.2X",)

# The words `--outcome JOB=WORD` takes: the results the sandbox's lifecycles script
# (`lifecycle.Outcome`), per platform. Batch jobs end SUCCEEDED or FAILED only.
OUTCOME_WORDS: dict[str, dict[str, Any]] = {
    "succeeded": {"result": "SUCCEEDED"},
    "failed": {"result": "FAILED"},
    "timeout": {"result": "TIMEOUT"},
    "error": {"result": "ERROR"},
    "expired": {"result": "EXPIRED"},
    "stuck": {"stuck_in": "RUNNING"},
}
BATCH_WORDS = ("succeeded", "failed", "stuck")
OUTCOME_FIELDS = (
    "result",
    "message",
    "exit_code",
    "starting_seconds",
    "running_seconds",
    "stuck_in",
    "logs",
)


@dataclass
class _Region:
    glue_jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    definitions: dict[str, dict[str, Any]] = field(default_factory=dict)
    revisions: dict[str, int] = field(default_factory=dict)
    queues: dict[str, set[str]] = field(default_factory=dict)  # queue -> share identifiers


def batch_definition_name(reference: str) -> tuple[str, int | None]:
    """`name`, `name:3` or `arn:...:job-definition/name:3` -> (name, revision or None)."""
    tail = reference.rsplit("/", 1)[-1] if reference.startswith("arn:") else reference
    name, sep, revision = tail.partition(":")
    return name, int(revision) if sep and revision.isdigit() else None


def aws_name(project: Any, job_name: str) -> tuple[str, str]:
    """What the sandbox scripts outcomes by for manifest job `job_name`: ("glue", the
    Glue job's name) or ("batch", the definition's name). Raises KeyError if unknown."""
    job = project.jobs[job_name]
    if isinstance(job, GlueJob):
        return "glue", job.external_id
    return "batch", batch_definition_name(job.external_id)[0]


def outcome_of(project: Any, job_name: str, spec: str | Mapping[str, Any]) -> Outcome:
    """The scripted outcome for one job, from a word (`failed`) or a mapping of
    `Outcome` fields. Raises ValueError with a message fit for the user."""
    if job_name not in project.jobs:
        known = ", ".join(sorted(project.jobs)) or "none"
        raise ValueError(f"no job {job_name!r} in the manifests (jobs: {known})")
    service, _ = aws_name(project, job_name)
    if isinstance(spec, str):
        word = spec.strip().lower()
        allowed = BATCH_WORDS if service == "batch" else tuple(OUTCOME_WORDS)
        if word not in allowed:
            raise ValueError(
                f"outcome {spec!r} for {service.title()} job {job_name!r}: expected one of "
                f"{', '.join(allowed)}"
            )
        return Outcome.from_dict(OUTCOME_WORDS[word])
    if not isinstance(spec, Mapping):
        raise ValueError(f"outcome for {job_name!r}: expected a word or a mapping")
    unknown = sorted(set(spec) - set(OUTCOME_FIELDS))
    if unknown:
        raise ValueError(
            f"outcome for {job_name!r}: unknown field {unknown[0]!r} "
            f"(fields: {', '.join(OUTCOME_FIELDS)})"
        )
    for key, value in spec.items():
        problem = _field_problem(key, value, service)
        if problem:
            raise ValueError(f"outcome for {job_name!r}: {key} {problem}")
    # `result: failed` as the one-word form `JOB: failed` takes it (AWS's states are upper
    # case; a user writes either).
    result = spec.get("result", "SUCCEEDED")
    spec = {**spec, "result": result.upper() if isinstance(result, str) else result}
    outcome = Outcome.from_dict(spec)
    results = (
        ("SUCCEEDED", "FAILED")
        if service == "batch"
        else tuple({"SUCCEEDED", "FAILED", "TIMEOUT", "ERROR", "EXPIRED"})
    )
    if outcome.result not in results:
        raise ValueError(
            f"outcome for {job_name!r}: result {outcome.result!r} is not one of "
            f"{', '.join(sorted(results))}"
        )
    return outcome


def _field_problem(key: str, value: Any, service: str) -> str | None:
    """What is wrong with one field of a scripted outcome (None: nothing)."""
    if key in ("starting_seconds", "running_seconds"):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0
        return None if ok and value <= 3600 else "must be a number of seconds from 0 to 3600"
    if key == "exit_code":
        ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 255
        return None if ok else "must be an integer from 0 to 255"
    if key == "stuck_in":
        states = ("RUNNABLE", "RUNNING") if service == "batch" else ("WAITING", "RUNNING")
        return None if value in states else f"must be one of {', '.join(states)}"
    if key == "logs":
        ok = isinstance(value, list) and all(isinstance(line, str) for line in value)
        return None if ok else "must be a list of lines"
    return None if isinstance(value, str) else "must be a string"


def _collect(project: Any) -> dict[str, _Region]:
    regions: dict[str, _Region] = {}
    runs_of: dict[str, list[Any]] = {}
    most_at_once: dict[str, int] = {}
    for run_plan in project.run_plans.values():
        counted: dict[str, int] = {}
        for run in run_plan.runs:
            runs_of.setdefault(run.job, []).append(run)
            counted[run.job] = counted.get(run.job, 0) + 1
        for name, count in counted.items():
            most_at_once[name] = max(most_at_once.get(name, 0), count)
    for name, job in project.jobs.items():
        platform = project.platforms.get(job.platform)
        if platform is None:
            continue
        region = regions.setdefault(platform.region, _Region())
        runs = runs_of.get(name, [])
        if isinstance(job, GlueJob) and isinstance(platform, GluePlatform):
            region.glue_jobs.setdefault(
                job.external_id, _glue_job(job, platform, runs, most_at_once.get(name, 1))
            )
        elif isinstance(job, BatchJob) and isinstance(platform, BatchPlatform):
            definition, revision = batch_definition_name(job.external_id)
            region.revisions[definition] = max(region.revisions.get(definition, 1), revision or 1)
            _batch_definition(region.definitions.setdefault(definition, {}), definition, job, runs)
            for queue, share in _queues(job, platform, runs):
                shares = region.queues.setdefault(queue, set())
                if share:
                    shares.add(share)
    for platform in project.platforms.values():
        if isinstance(platform, BatchPlatform) and platform.default_job_queue:
            regions.setdefault(platform.region, _Region()).queues.setdefault(
                platform.default_job_queue, set()
            )
    return regions


def _glue_job(
    job: GlueJob, platform: GluePlatform, runs: list[Any], at_once: int
) -> dict[str, Any]:
    computes = [c for c in (job.compute, platform.defaults, *(r.compute for r in runs)) if c]
    workers = {str(c.worker_type) for c in computes if c.worker_type}
    version = next((str(c.glue_version) for c in computes if c.glue_version), "4.0")
    ray = bool(workers) and workers <= set(_RAY_WORKERS)
    arguments = {
        glue_argument_key(key): aws_string(parameter.value)
        for key, parameter in job.parameters.items()
        if not is_internal(key)
        and not parameter.secret
        and parameter.value is not None
        and str(parameter.direction) == "input"
    }
    spec: dict[str, Any] = {
        "Name": job.external_id,
        "Role": f"arn:aws:iam::{ACCOUNT_ID}:role/polysync-sandbox-glue",
        "Command": {
            "Name": "glueray" if ray else "glueetl",
            "ScriptLocation": f"s3://polysync-sandbox/scripts/{_slug(job.external_id)}.py",
            "PythonVersion": "3.9" if ray else "3",
        },
        "GlueVersion": version,
        "WorkerType": "Z.2X" if ray else "G.1X",
        "NumberOfWorkers": 2,
        "ExecutionProperty": {"MaxConcurrentRuns": max(1, at_once)},
        "Description": f"seeded by polysync sandbox --from (manifest job {job.external_id})",
    }
    if arguments:
        spec["DefaultArguments"] = arguments
    if job.compute and job.compute.max_retries is not None:
        spec["MaxRetries"] = int(job.compute.max_retries)
    return spec


def _batch_definition(spec: dict[str, Any], name: str, job: BatchJob, runs: list[Any]) -> None:
    """Fill (or extend, for a second job on the same definition) a RegisterJobDefinition
    request: a placeholder for every parameter used, the job's values as defaults."""
    placeholders: list[str] = spec.setdefault("_placeholders", [])
    defaults: dict[str, str] = spec.setdefault("_defaults", {})
    for key, parameter in job.parameters.items():
        if is_internal(key) or str(parameter.direction) != "input":
            continue
        if key not in placeholders:
            placeholders.append(key)
        if parameter.value is not None and not parameter.secret:
            defaults.setdefault(key, aws_string(parameter.value))
    for run in runs:
        for key in run.parameters:
            if not is_internal(key) and key not in placeholders:
                placeholders.append(key)
    spec["jobDefinitionName"] = name


def _queues(
    job: BatchJob, platform: BatchPlatform, runs: list[Any]
) -> list[tuple[str, str | None]]:
    found: list[tuple[str, str | None]] = []
    for run in runs or [None]:
        compute = run.compute if run is not None else None
        queue = (compute and compute.job_queue) or job.job_queue or platform.default_job_queue
        share = (compute and compute.share_identifier) or job.share_identifier
        if queue:
            found.append((str(queue), str(share) if share else None))
    return found


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name) or "job"


def _client(service: str, endpoint_url: str, region: str) -> Any:
    return boto3.client(
        service,  # type: ignore[call-overload]
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id=SANDBOX_KEY,
        aws_secret_access_key=SANDBOX_KEY,
    )


def seed_from_project(endpoint_url: str, project: Any) -> dict[str, int]:
    """Create in the sandbox at `endpoint_url` what `project` (a loaded, valid manifest
    set) runs against; return counts of what was created. Objects that exist are kept."""
    created = {"glue_jobs": 0, "job_queues": 0, "job_definitions": 0}
    for region, wanted in _collect(project).items():
        glue = _client("glue", endpoint_url, region)
        for name, spec in wanted.glue_jobs.items():
            if _glue_exists(glue, name):
                continue
            glue.create_job(**spec)
            created["glue_jobs"] += 1
        if not (wanted.definitions or wanted.queues):
            continue
        batch = _client("batch", endpoint_url, region)
        for name, spec in wanted.definitions.items():
            have = batch.describe_job_definitions(jobDefinitionName=name).get("jobDefinitions", [])
            placeholders = spec["_placeholders"]
            command = ["polysync-sandbox-job", *(f"Ref::{key}" for key in placeholders)]
            request: dict[str, Any] = {
                "jobDefinitionName": name,
                "type": "container",
                "containerProperties": {
                    "image": "public.ecr.aws/docker/library/busybox:latest",
                    "command": command,
                    "resourceRequirements": [
                        {"type": "VCPU", "value": "1"},
                        {"type": "MEMORY", "value": "512"},
                    ],
                },
            }
            if spec["_defaults"]:
                request["parameters"] = spec["_defaults"]
            for _ in range(wanted.revisions.get(name, 1) - len(have)):
                batch.register_job_definition(**request)
                created["job_definitions"] += 1
        if not wanted.queues:
            continue
        known = {q["jobQueueName"] for q in batch.describe_job_queues().get("jobQueues", [])}
        missing = {q: s for q, s in wanted.queues.items() if q not in known}
        if not missing:
            continue
        environment = _compute_environment(batch, endpoint_url, region)
        for queue, shares in sorted(missing.items()):
            request = {
                "jobQueueName": queue,
                "state": "ENABLED",
                "priority": 1,
                "computeEnvironmentOrder": [{"order": 1, "computeEnvironment": environment}],
            }
            if shares:
                request["schedulingPolicyArn"] = batch.create_scheduling_policy(
                    name=f"{queue}-fair-share",
                    fairsharePolicy={
                        "shareDecaySeconds": 3600,
                        "shareDistribution": [
                            {"shareIdentifier": s, "weightFactor": 1.0} for s in sorted(shares)
                        ],
                    },
                )["arn"]
            batch.create_job_queue(**request)
            created["job_queues"] += 1
    return created


def _glue_exists(glue: Any, name: str) -> bool:
    try:
        glue.get_job(JobName=name)
    except glue.exceptions.EntityNotFoundException:
        return False
    return True


def _compute_environment(batch: Any, endpoint_url: str, region: str) -> str:
    """The ARN of the sandbox's compute environment in `region`, created if missing."""
    found = batch.describe_compute_environments(computeEnvironments=[COMPUTE_ENVIRONMENT])
    for environment in found.get("computeEnvironments", []):
        return str(environment["computeEnvironmentArn"])
    iam = _client("iam", endpoint_url, region)
    try:
        role = iam.get_role(RoleName=SERVICE_ROLE)["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        role = iam.create_role(RoleName=SERVICE_ROLE, AssumeRolePolicyDocument=_TRUST)["Role"][
            "Arn"
        ]
    return str(
        batch.create_compute_environment(
            computeEnvironmentName=COMPUTE_ENVIRONMENT,
            type="UNMANAGED",
            state="ENABLED",
            serviceRole=role,
        )["computeEnvironmentArn"]
    )
