"""What a Glue run costs: DPU-hours from its workers (or MaxCapacity), priced by its
execution class, over its time bound.

Facts, with their sources:
- DPUs per worker (AWS Glue Developer Guide, "AWS Glue worker types"; read 2026-11-30):
  G.025X 0.25, G.1X 1, G.2X 2, G.4X 4, G.8X 8, G.12X 12, G.16X 16; the memory-optimized
  R.1X/R.2X/R.4X/R.8X 1/2/4/8 M-DPU (billed as DPU-hours here); Z.2X 2 (Ray). A
  `Standard` worker is counted as 1 DPU.
- Billing (aws.amazon.com/glue/pricing): per DPU-hour, per second, with a one-minute
  minimum for Glue 2.0 and later; the Flex execution class has a price of its own.
  GetJobRun's `DPUSeconds` is reported for Flex and auto-scaling runs, whose capacity
  varies; otherwise usage is `ExecutionTime` x the run's capacity.
- Automatic retries (the job's MaxRetries) are new runs, each billed: the upper bound
  counts the timeout once per attempt.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from polysync_spec.providers.cost import (
    DPU_HOURS,
    Bound,
    CostEstimate,
    Prices,
    median_seconds,
    usage_for,
)

DPU_PER_WORKER: Mapping[str, float] = {
    "Standard": 1.0,
    "G.025X": 0.25,
    "G.1X": 1.0,
    "G.2X": 2.0,
    "G.4X": 4.0,
    "G.8X": 8.0,
    "G.12X": 12.0,
    "G.16X": 16.0,
    "R.1X": 1.0,
    "R.2X": 2.0,
    "R.4X": 4.0,
    "R.8X": 8.0,
    "Z.2X": 2.0,
}
STANDARD = "STANDARD"


def capacity(
    worker_type: str | None, number_of_workers: int | None, max_capacity: float | None
) -> float | None:
    """DPUs a run holds: MaxCapacity when set, else workers x DPU per worker; None when
    neither is known (an unknown worker type included)."""
    if max_capacity:
        return float(max_capacity)
    if worker_type and number_of_workers and worker_type in DPU_PER_WORKER:
        return DPU_PER_WORKER[worker_type] * int(number_of_workers)
    return None


def run_usage(job_run: Mapping[str, Any]) -> dict[str, float] | None:
    """A GetJobRun `JobRun`'s DPU-hours: `DPUSeconds` where Glue reports it, else
    `ExecutionTime` (seconds) x its capacity, billed with the one-minute minimum."""
    dpu_seconds = job_run.get("DPUSeconds")
    if dpu_seconds:
        return {DPU_HOURS: float(dpu_seconds) / 3600.0}
    seconds = job_run.get("ExecutionTime")
    dpus = capacity(
        job_run.get("WorkerType"), job_run.get("NumberOfWorkers"), job_run.get("MaxCapacity")
    )
    if seconds is None or dpus is None:
        return None
    return usage_for({DPU_HOURS: dpus}, float(seconds))


def estimate(
    region: str,
    definition: Any,
    compute: Mapping[str, Any],
    request: Mapping[str, Any],
    *,
    limit_seconds: float | None,
    prices: Prices,
) -> CostEstimate | None:
    """The cost of one StartJobRun (see the module's facts). `definition`: the live
    `GlueDefinition` (or None); `compute`: resolved values by key; `limit_seconds`: the
    run's own limit (timeout x attempts)."""
    execution_class = str(
        request.get("ExecutionClass")
        or compute.get("execution_class")
        or getattr(definition, "execution_class", None)
        or STANDARD
    )
    max_capacity = request.get("MaxCapacity") or compute.get("max_capacity")
    dpus = capacity(
        compute.get("worker_type"),
        compute.get("number_of_workers"),
        max_capacity,
    )
    if dpus is None and definition is not None:
        dpus = capacity(definition.worker_type, definition.number_of_workers, None) or (
            float(definition.max_capacity) if definition.max_capacity else None
        )
    if dpus is None:
        return None
    rate = {DPU_HOURS: dpus}
    notes: list[str] = []
    price = prices.find("glue", execution_class, region)
    if price is None:
        notes.append(
            f"no price for Glue {execution_class} in {region} in the price table: usage only"
        )
    upper = None
    if limit_seconds:
        attempts = int(compute.get("automatic_retries") or 0) + 1
        minutes = limit_seconds / 60 / attempts
        basis = f"timeout {minutes:.0f} min" + (f" x {attempts} attempts" if attempts > 1 else "")
        upper = Bound(usage_for(rate, limit_seconds), basis)
    expected = None
    history = getattr(definition, "recent_runs", None)
    if history:
        reported = [dpu for _, dpu in history if dpu]
        if reported:
            middle = median_seconds(reported) or 0.0
            expected = Bound(
                {DPU_HOURS: middle / 3600.0},
                f"median DPUSeconds of {len(reported)} recent runs ({middle:.0f} DPU-s)",
            )
        else:
            middle = median_seconds(seconds for seconds, _ in history) or 0.0
            expected = Bound(
                usage_for(rate, middle),
                f"median of {len(history)} recent runs ({middle:.0f} s)",
            )
    elif history is None and definition is not None:
        notes.append(
            "the job's recent runs were not read (glue:GetJobRuns denied, or more Glue jobs "
            "in the plan than plan reads the history of): no expected figure"
        )
    else:
        notes.append("the job has no succeeded runs to go by: no expected figure")
    return CostEstimate(
        rate=rate,
        prices={DPU_HOURS: price.usd} if price else {},
        expected=expected,
        upper=upper,
        notes=tuple(notes),
        sources=(f"{price.source}, {price.date}",) if price else (),
    )
