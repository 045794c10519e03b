"""What `polysync discover` shows of a Batch account: the highest ACTIVE revision of each
job definition, with its parameters and placeholders, and every job queue."""

from __future__ import annotations

from typing import Any

from polysync_spec.providers.batch.definitions import BatchDefinition, BatchQueue


def document(definitions: list[BatchDefinition], queues: list[BatchQueue] | None) -> dict[str, Any]:
    """The JSON members of the listing (`job_definitions`, `job_queues`; the queues are
    null when they could not be listed)."""
    document: dict[str, Any] = {}
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
        for d in definitions
    ]
    document["job_queues"] = (
        [
            {
                "name": q.name,
                "state": q.state,
                "status": q.status,
                "fair_share": q.fair_share,
            }
            for q in queues
        ]
        if queues is not None
        else None
    )
    return document


def lines(
    platform: str,
    region: str,
    definitions: list[BatchDefinition],
    queues: list[BatchQueue] | None,
) -> list[str]:
    """The listing as text lines."""
    lines: list[str] = []
    lines.append(
        f"Batch job definitions on {platform} ({region}): "
        f"{len(definitions)} (highest ACTIVE revision each)"
    )
    for d in definitions:
        lines.append(f"  {d.reference}")
        for name in sorted(d.placeholders | set(d.parameters)):
            default = d.parameters.get(name)
            shown = f" = {default!r}" if default is not None else " (no default)"
            used = "" if name in d.placeholders else "  [no Ref:: placeholder]"
            lines.append(f"    Ref::{name}{shown}{used}")
    if queues is None:
        lines.append("Batch job queues: not listed (batch:DescribeJobQueues is denied)")
        return lines
    lines.append(f"Batch job queues: {len(queues)}")
    for q in queues:
        share = ", fair-share" if q.fair_share else ""
        lines.append(f"  {q.name}  [{q.state}, {q.status}{share}]")
    return lines
