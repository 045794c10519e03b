"""A snapshot of the live AWS objects a run plan touches: the planner's only input from AWS.

Discovery (`engine/discovery.py`) fills it; the planner reads it and never calls AWS.
Keys are (platform name, the manifest's reference): a Glue job name, a Batch external id
as written (`name`, `name:revision` or ARN), a queue name.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from polysync_spec.providers.batch import BatchDefinition, BatchQueue
from polysync_spec.providers.glue import GlueDefinition


@dataclass(frozen=True)
class DefinitionLookup:
    """What a Batch job definition reference resolves to.

    `resolved` is the revision SubmitJob would use: the pinned one when it is ACTIVE, the
    highest ACTIVE revision for a bare name. `pinned_status` is the pinned revision's
    status (ACTIVE, INACTIVE) or None when that revision does not exist.
    """

    reference: str
    resolved: BatchDefinition | None
    pinned: bool = False
    pinned_status: str | None = None


@dataclass
class LiveState:
    glue_jobs: dict[tuple[str, str], GlueDefinition | None] = field(default_factory=dict)
    batch_definitions: dict[tuple[str, str], DefinitionLookup] = field(default_factory=dict)
    batch_queues: dict[tuple[str, str], BatchQueue | None] = field(default_factory=dict)


def definition_name(reference: str) -> tuple[str, int | None]:
    """`name`, `name:3` or `arn:...:job-definition/name:3` -> (name, revision or None)."""
    tail = reference.rsplit("/", 1)[-1] if reference.startswith("arn:") else reference
    name, sep, revision = tail.partition(":")
    return name, int(revision) if sep and revision.isdigit() else None
