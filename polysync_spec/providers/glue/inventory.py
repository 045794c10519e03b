"""What `polysync discover` shows of a Glue account: every job, with its compute and the
parameters importing it would write."""

from __future__ import annotations

from typing import Any

from polysync_spec.providers.glue.importing import imported_parameters
from polysync_spec.providers.glue.spec import GlueDefinition
from polysync_spec.values import aws_string


def document(jobs: list[GlueDefinition]) -> dict[str, Any]:
    """The JSON members of the listing (`jobs`)."""
    document: dict[str, Any] = {}
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
        for job in jobs
    ]
    return document


def lines(platform: str, region: str, jobs: list[GlueDefinition]) -> list[str]:
    """The listing as text lines."""
    lines: list[str] = []
    lines.append(f"Glue jobs on {platform} ({region}): {len(jobs)}")
    for job in jobs:
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
    return lines
