"""Seed a sandbox from YAML: Glue jobs, Batch compute environments, queues, scheduling
policies and job definitions (with several revisions), and scripted run outcomes.

Entries use the AWS API's own shapes (CreateJob, RegisterJobDefinition, ... arguments),
so a seed reads like the calls it makes; they go over the wire with boto3 like any client.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import yaml

from polysync_spec.errors import PolysyncError
from polysync_spec.sandbox.server import ACCOUNT_ID, SANDBOX_KEY, Sandbox, apply_outcomes

DEFAULT_SEED = Path(__file__).with_name("seed.yaml")
_TRUST = json.dumps({"Version": "2012-10-17", "Statement": []})


def load_seed(path: str | Path | None = None) -> dict[str, Any]:
    source = Path(path) if path else DEFAULT_SEED
    try:
        data = yaml.safe_load(source.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise PolysyncError(f"cannot read sandbox seed {source}: {exc}") from None
    if not isinstance(data, dict):
        raise PolysyncError(f"sandbox seed {source} must be a mapping")
    return data


def _client(service: str, sandbox: Sandbox, region: str) -> Any:
    return boto3.client(
        service,  # type: ignore[call-overload]
        endpoint_url=sandbox.endpoint_url,
        region_name=region,
        aws_access_key_id=SANDBOX_KEY,
        aws_secret_access_key=SANDBOX_KEY,
    )


def apply_seed(sandbox: Sandbox, seed: dict[str, Any]) -> dict[str, int]:
    """Create everything the seed describes; return counts of what was created."""
    region = str(seed.get("region", "us-east-1"))
    created = {"glue_jobs": 0, "job_queues": 0, "job_definitions": 0}
    glue = _client("glue", sandbox, region)
    for job in (seed.get("glue") or {}).get("jobs") or []:
        spec = {"Role": f"arn:aws:iam::{ACCOUNT_ID}:role/glue-job", **job}
        glue.create_job(**spec)
        created["glue_jobs"] += 1
    batch_seed = seed.get("batch") or {}
    if batch_seed:
        iam = _client("iam", sandbox, region)
        role = iam.create_role(RoleName="polysync-sandbox-batch", AssumeRolePolicyDocument=_TRUST)
        batch = _client("batch", sandbox, region)
        environments: dict[str, str] = {}
        for env in batch_seed.get("compute_environments") or []:
            spec = {
                "type": "UNMANAGED",
                "state": "ENABLED",
                "serviceRole": role["Role"]["Arn"],
                **env,
            }
            environments[spec["computeEnvironmentName"]] = batch.create_compute_environment(**spec)[
                "computeEnvironmentArn"
            ]
        policies: dict[str, str] = {}
        for policy in batch_seed.get("scheduling_policies") or []:
            policies[policy["name"]] = batch.create_scheduling_policy(**policy)["arn"]
        for queue in batch_seed.get("job_queues") or []:
            spec = dict(queue)
            env_name = spec.pop("computeEnvironment", next(iter(environments), None))
            spec.setdefault(
                "computeEnvironmentOrder",
                [{"order": 1, "computeEnvironment": environments[env_name]}],
            )
            policy = spec.pop("schedulingPolicy", None)
            if policy:
                spec["schedulingPolicyArn"] = policies[policy]
            spec.setdefault("priority", 1)
            spec.setdefault("state", "ENABLED")
            batch.create_job_queue(**spec)
            created["job_queues"] += 1
        for definition in batch_seed.get("job_definitions") or []:
            spec = dict(definition)
            revisions = int(spec.pop("revisions", 1))
            spec.setdefault("type", "container")
            for _ in range(revisions):
                batch.register_job_definition(**spec)
                created["job_definitions"] += 1
    apply_outcomes(seed.get("outcomes") or {})
    return created
