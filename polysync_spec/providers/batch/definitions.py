"""What plan discovers of Batch: job-definition revisions, queues, and how a manifest's
definition reference (`name`, `name:revision`, ARN) resolves (product document 003)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

_REF = re.compile(r"Ref::([A-Za-z0-9_-]+)")


@dataclass(frozen=True)
class BatchDefinition:
    """One job-definition revision as discovered."""

    name: str
    revision: int
    arn: str
    status: str
    parameters: Mapping[str, str] = field(default_factory=dict)
    # The Ref::name placeholders its command and environment use.
    placeholders: frozenset[str] = frozenset()
    attempt_duration_seconds: int | None = None
    retry_attempts: int | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    propagate_tags: bool | None = None
    # What one container of the job holds (containerProperties.resourceRequirements,
    # else the older vcpus / memory members): vCPUs and memory in MiB.
    vcpus: float | None = None
    memory_mib: float | None = None
    platform_capabilities: tuple[str, ...] = ()

    @property
    def reference(self) -> str:
        return f"{self.name}:{self.revision}"

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> BatchDefinition:
        container = data.get("containerProperties") or {}
        texts = [*map(str, container.get("command") or [])]
        texts += [str(e.get("value", "")) for e in container.get("environment") or []]
        return cls(
            name=data["jobDefinitionName"],
            revision=int(data["revision"]),
            arn=data["jobDefinitionArn"],
            status=data.get("status", "ACTIVE"),
            parameters=dict(data.get("parameters") or {}),
            placeholders=frozenset(m for text in texts for m in _REF.findall(text)),
            attempt_duration_seconds=(data.get("timeout") or {}).get("attemptDurationSeconds"),
            retry_attempts=(data.get("retryStrategy") or {}).get("attempts"),
            tags=dict(data.get("tags") or {}),
            propagate_tags=data.get("propagateTags"),
            vcpus=container_resource(container, "VCPU", "vcpus"),
            memory_mib=container_resource(container, "MEMORY", "memory"),
            platform_capabilities=tuple(data.get("platformCapabilities") or ()),
        )


def container_resource(container: Mapping[str, Any], kind: str, legacy: str) -> float | None:
    """A container's VCPU or MEMORY (MiB) from `resourceRequirements` (values are
    strings, AWS Batch API reference: ResourceRequirement), else from the older
    `vcpus` / `memory` members; None when neither says."""
    for requirement in container.get("resourceRequirements") or []:
        if requirement.get("type") == kind:
            try:
                return float(requirement.get("value"))
            except (TypeError, ValueError):
                return None
    value = container.get(legacy)
    return float(value) if isinstance(value, (int, float)) and value > 0 else None


@dataclass(frozen=True)
class BatchQueue:
    name: str
    arn: str
    state: str
    status: str
    scheduling_policy_arn: str | None = None
    # The compute environments the queue places jobs on (computeEnvironmentOrder), by ARN.
    compute_environments: tuple[str, ...] = ()
    # False: the queue could not be described (batch:DescribeJobQueues is denied), so its
    # state and scheduling policy are unknown; it is assumed to exist.
    described: bool = True

    @classmethod
    def undescribed(cls, name: str) -> BatchQueue:
        return cls(name=name, arn="", state="", status="", described=False)

    @property
    def fair_share(self) -> bool:
        return self.scheduling_policy_arn is not None

    @property
    def usable(self) -> bool:
        return not self.described or (self.state == "ENABLED" and self.status == "VALID")


def highest_revisions(definitions: list[BatchDefinition]) -> dict[str, BatchDefinition]:
    """DescribeJobDefinitions returns every ACTIVE revision; keep the highest per name."""
    best: dict[str, BatchDefinition] = {}
    for definition in definitions:
        current = best.get(definition.name)
        if current is None or definition.revision > current.revision:
            best[definition.name] = definition
    return best


def definition_name(reference: str) -> tuple[str, int | None]:
    """`name`, `name:3` or `arn:...:job-definition/name:3` -> (name, revision or None)."""
    tail = reference.rsplit("/", 1)[-1] if reference.startswith("arn:") else reference
    name, sep, revision = tail.partition(":")
    return name, int(revision) if sep and revision.isdigit() else None


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
class BatchLive:
    """What `BatchClient.snapshot` finds: each definition reference as the manifests
    write it (`name`, `name:revision`, ARN) and each queue name the runs use."""

    definitions: dict[str, DefinitionLookup] = field(default_factory=dict)
    queues: dict[str, BatchQueue | None] = field(default_factory=dict)
    # Each compute environment the queues use (ARN) -> its computeResources.type (EC2,
    # SPOT, FARGATE, FARGATE_SPOT); absent when it could not be described.
    environments: dict[str, str] = field(default_factory=dict)


def revision_arns(
    pinned: list[str], queues: Mapping[str, BatchQueue], region: str
) -> dict[str, str]:
    """Each pinned reference (`name:revision` or an ARN with a revision) -> the ARN that
    DescribeJobDefinitions looks it up by: the account and partition come from the queue
    ARNs already described; without one, the reference as written."""
    described = [q.arn for q in queues.values() if q.arn.count(":") >= 5]
    account = next((arn.split(":")[4] for arn in described), None)
    partition = next((arn.split(":")[1] for arn in described), "aws")
    return {
        reference: reference
        if reference.startswith("arn:") or account is None
        else f"arn:{partition}:batch:{region}:{account}:job-definition/{reference}"
        for reference in pinned
    }
