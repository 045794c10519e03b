"""What a Batch run costs: vCPU-hours and memory GB-hours from its job definition, and
a price where its queue's compute environments are Fargate.

Facts, with their sources:
- A container's resources are its definition's `resourceRequirements` (VCPU, MEMORY in
  MiB), else the older `vcpus` / `memory` members (AWS Batch API reference,
  ContainerProperties); an array job's children each hold them (one container each).
- Fargate bills vCPU and memory per second, one-minute minimum, from the task's start
  to its stop (aws.amazon.com/fargate/pricing); an attempt's startedAt / stoppedAt
  (DescribeJobs) is the closest the Batch API comes. Fargate Spot's price varies, and
  on EC2 or Spot compute environments the instances are billed, not the jobs: those
  give usage without a price.
- Memory is priced per GB: MiB / 1024.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from polysync_spec.providers.batch.definitions import BatchLive, container_resource
from polysync_spec.providers.cost import (
    GB_HOURS,
    VCPU_HOURS,
    Bound,
    CostEstimate,
    Prices,
    usage_for,
)

FARGATE = "FARGATE"


def _resources(container: Mapping[str, Any]) -> dict[str, float] | None:
    vcpus = container_resource(container, "VCPU", "vcpus")
    memory = container_resource(container, "MEMORY", "memory")
    if vcpus is None and memory is None:
        return None
    rate: dict[str, float] = {}
    if vcpus is not None:
        rate[VCPU_HOURS] = vcpus
    if memory is not None:
        rate[GB_HOURS] = memory / 1024.0
    return rate


def job_usage(job: Mapping[str, Any]) -> dict[str, float] | None:
    """A DescribeJobs `jobs` entry's usage: each attempt's stoppedAt - startedAt
    (milliseconds) x its container's vCPUs and GB, billed with the one-minute minimum
    each; None when the job has no finished attempt or no resources."""
    rate = _resources(job.get("container") or {})
    if rate is None:
        return None
    total: dict[str, float] = {}
    finished = 0
    for attempt in job.get("attempts") or []:
        started, stopped = attempt.get("startedAt"), attempt.get("stoppedAt")
        if not started or not stopped:
            continue
        finished += 1
        for unit, amount in usage_for(rate, max(stopped - started, 0) / 1000.0).items():
            total[unit] = total.get(unit, 0.0) + amount
    return total if finished else None


def summed(usages: Sequence[Mapping[str, float] | None]) -> dict[str, float] | None:
    """Array children's usages added up; None when none of them reported any."""
    total: dict[str, float] = {}
    for usage in usages:
        for unit, amount in (usage or {}).items():
            total[unit] = total.get(unit, 0.0) + amount
    return total or None


def estimate_method(
    self: Any,
    job: Any,
    platform: Any,
    live: BatchLive | None,
    *,
    compute: Mapping[str, Any],
    request: Mapping[str, Any],
    prices: Prices,
) -> CostEstimate | None:
    """`Platform.estimate` of Batch (`self`): `estimate` for one run of manifest `job` on
    `platform`, from the snapshot `live`, bounded by the run's own limit."""
    del request  # SubmitJob overrides no resources polysync sends
    live = live or BatchLive()
    lookup = live.definitions.get(job.external_id)
    definition = lookup.resolved if lookup else None
    limit = self.run_limit_seconds(compute)
    return estimate(platform.region, definition, live, compute, limit_seconds=limit, prices=prices)


def estimate(
    region: str,
    definition: Any,
    live: BatchLive,
    compute: Mapping[str, Any],
    *,
    limit_seconds: float | None,
    prices: Prices,
) -> CostEstimate | None:
    """The cost of one SubmitJob: the definition's resources x the array size, priced
    when every compute environment of the queue is Fargate (on-demand)."""
    if definition is None or (definition.vcpus is None and definition.memory_mib is None):
        return None
    children = int(compute.get("array_size") or 1)
    rate: dict[str, float] = {}
    if definition.vcpus is not None:
        rate[VCPU_HOURS] = definition.vcpus * children
    if definition.memory_mib is not None:
        rate[GB_HOURS] = definition.memory_mib / 1024.0 * children
    notes: list[str] = []
    queue = live.queues.get(str(compute.get("job_queue") or ""))
    kinds = {live.environments.get(arn) for arn in (queue.compute_environments if queue else ())}
    prices_found: dict[str, float] = {}
    sources: list[str] = []
    if kinds == {FARGATE}:
        for unit, item in ((VCPU_HOURS, "vCPU"), (GB_HOURS, "memory")):
            price = prices.find("fargate", item, region)
            if price is not None:
                prices_found[unit] = price.usd
                sources.append(f"{price.source}, {price.date}")
        if len(prices_found) < 2:
            notes.append(f"no Fargate price for {region} in the price table: usage only")
            prices_found = {}
    elif not kinds or None in kinds:
        notes.append("the queue's compute environments could not be read: usage only")
    elif kinds <= {"EC2", "SPOT", "UNMANAGED"}:
        # EC2 instances are billed, not jobs: vCPU-hours tell how much of them it holds.
        rate = {VCPU_HOURS: rate[VCPU_HOURS]} if VCPU_HOURS in rate else rate
        notes.append(
            f"the queue runs on {'/'.join(sorted(k for k in kinds if k))} compute: its "
            "instances are billed, not the job, so vCPU-hours are given without a price"
        )
    else:
        notes.append(
            f"the queue runs on {'/'.join(sorted(k for k in kinds if k))}: Fargate Spot and "
            "mixed environments have no fixed price, so usage is given without one"
        )
    upper = None
    if limit_seconds:
        attempts = int(compute.get("retry_attempts") or 1)
        basis = f"attempt duration {limit_seconds / attempts:.0f} s" + (
            f" x {attempts} attempts" if attempts > 1 else ""
        )
        if children > 1:
            basis += f", {children} children"
        upper = Bound(usage_for(rate, limit_seconds), basis)
    else:
        notes.append("no attempt_duration_seconds: the run has no upper bound")
    notes.append("Batch keeps no run history polysync reads: no expected figure")
    return CostEstimate(
        rate=rate,
        prices=prices_found,
        expected=None,
        upper=upper,
        notes=tuple(notes),
        sources=tuple(sources),
    )
