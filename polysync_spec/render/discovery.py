"""What `polysync discover` prints: Glue jobs, or Batch definitions and queues."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from polysync_spec.providers.batch import BatchDefinition, BatchQueue
from polysync_spec.providers.glue import GlueDefinition, imported_parameters
from polysync_spec.values import aws_string


@dataclass
class Discovery:
    platform: str
    type: str
    region: str
    glue_jobs: list[GlueDefinition] = field(default_factory=list)
    batch_definitions: list[BatchDefinition] = field(default_factory=list)
    batch_queues: list[BatchQueue] = field(default_factory=list)


def as_json(found: Discovery) -> str:
    document: dict[str, Any] = {
        "version": 1,
        "platform": found.platform,
        "type": found.type,
        "region": found.region,
    }
    if found.type == "aws_glue":
        document["jobs"] = [
            {
                "name": job.name,
                "worker_type": job.worker_type,
                "number_of_workers": job.number_of_workers,
                "glue_version": job.glue_version,
                "timeout_minutes": job.timeout_minutes,
                "max_retries": job.max_retries,
                "max_capacity": job.max_capacity,
                "max_concurrent_runs": job.max_concurrent_runs,
                "command": job.command_name,
                "parameters": {
                    name: {"value": value, "type": kind}
                    for name, (value, kind) in imported_parameters(job).items()
                },
                "last_modified": job.last_modified.isoformat() if job.last_modified else None,
            }
            for job in found.glue_jobs
        ]
    else:
        document["job_definitions"] = [
            {
                "name": d.name,
                "revision": d.revision,
                "arn": d.arn,
                "parameters": dict(d.parameters),
                "placeholders": sorted(d.placeholders),
                "attempt_duration_seconds": d.attempt_duration_seconds,
                "retry_attempts": d.retry_attempts,
            }
            for d in found.batch_definitions
        ]
        document["job_queues"] = [
            {
                "name": q.name,
                "state": q.state,
                "status": q.status,
                "fair_share": q.fair_share,
            }
            for q in found.batch_queues
        ]
    return json.dumps(document, indent=2) + "\n"


def as_text(found: Discovery) -> str:
    lines: list[str] = []
    if found.type == "aws_glue":
        lines.append(f"Glue jobs on {found.platform} ({found.region}): {len(found.glue_jobs)}")
        for job in found.glue_jobs:
            compute = (
                f"{job.worker_type} x{job.number_of_workers}"
                if job.worker_type
                else f"{job.max_capacity} DPU"
                if job.max_capacity
                else "default capacity"
            )
            details = [compute]
            if job.glue_version:
                details.append(f"glue {job.glue_version}")
            if job.timeout_minutes:
                details.append(f"timeout {job.timeout_minutes}m")
            details.append(f"max concurrent {job.max_concurrent_runs}")
            lines.append(f"  {job.name}  [{', '.join(details)}]")
            for name, (value, kind) in imported_parameters(job).items():
                lines.append(f"    {name} = {aws_string(value)!r} ({kind})")
    else:
        lines.append(
            f"Batch job definitions on {found.platform} ({found.region}): "
            f"{len(found.batch_definitions)} (highest ACTIVE revision each)"
        )
        for d in found.batch_definitions:
            lines.append(f"  {d.reference}")
            for name in sorted(d.placeholders | set(d.parameters)):
                default = d.parameters.get(name)
                shown = f" = {default!r}" if default is not None else " (no default)"
                used = "" if name in d.placeholders else "  [no Ref:: placeholder]"
                lines.append(f"    Ref::{name}{shown}{used}")
        lines.append(f"Batch job queues: {len(found.batch_queues)}")
        for q in found.batch_queues:
            share = ", fair-share" if q.fair_share else ""
            lines.append(f"  {q.name}  [{q.state}, {q.status}{share}]")
    return "\n".join(lines) + "\n"
