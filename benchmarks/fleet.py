"""A fleet of Batch runs: how fast polysync submits them under the account's quota, and
how few calls cancelling them takes.

`polysync apply --detach` submits N runs of one definition (each held RUNNING) against
the paced sandbox (30 ms a call, 50 calls a second per service, as Batch's SubmitJob
quota); the submissions' span is read off the emulator's log (first to last SubmitJob)
and compared with the quota's floor, N / 50 s. Then `polysync cancel --apply` stops
them all; the calls are counted by operation (TerminateJobs takes 50 jobs a call).
"""

from __future__ import annotations

import math
from pathlib import Path

from benchmarks.harness import POLYSYNC, env_for, measure
from benchmarks.scenarios import PLATFORMS, Row, Settings, _client, _row, fresh
from polysync_spec.sandbox.lifecycle import Outcome
from polysync_spec.sandbox.server import Sandbox

DEFINITION = "fleet"
QUOTA = 50.0  # SubmitJob, calls a second per account (AWS Batch service quotas)


def fleet_size(settings: Settings) -> int:
    return 300 if settings.quick else 1200


def build_fleet(sandbox: Sandbox, root: Path, runs: int) -> Path:
    """A project of `runs` Batch runs of one definition whose jobs stay RUNNING."""
    _client(sandbox, "batch").register_job_definition(
        jobDefinitionName=DEFINITION, type="container", parameters={"i": "0"},
        containerProperties={"image": "busybox", "vcpus": 1, "memory": 128},
    )  # fmt: skip
    sandbox.script("batch", DEFINITION, Outcome(stuck_in="RUNNING", starting_seconds=0.5))
    lines = [
        PLATFORMS,
        "jobs:",
        f"  f: {{platform: batch, external_id: {DEFINITION}, parameters: {{i: 0}}}}",
        "run_plans:",
        "  fleet:",
        f"    max_concurrency: {runs}",
        "    on_failure: continue",
        "    runs:",
        *(f"      - {{name: f{k}, job: f, parameters: {{i: {k}}}}}" for k in range(runs)),
    ]
    root.mkdir(parents=True, exist_ok=True)
    (root / "polysync.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def fleet_scenario(sandbox: Sandbox, settings: Settings, workdir: Path) -> list[Row]:
    runs = fleet_size(settings)
    fresh(sandbox, settings)
    root = build_fleet(sandbox, workdir / f"fleet-{runs}", runs)
    state = workdir / f"fleet-{runs}.db"
    sandbox.log.clear()
    applied = measure(
        [*POLYSYNC, "apply", str(root), "-r", "fleet", "--auto-approve", "--detach",
         "--state", str(state), "--log-lines", "0"],
        env_for(sandbox), sandbox,
    )  # fmt: skip
    if applied.returncode != 0:
        raise RuntimeError(f"apply failed ({applied.returncode}): {applied.stderr[-800:]}")
    submits = sandbox.log.items("SubmitJob")
    span = submits[-1].at - submits[0].at if submits else 0.0
    floor = runs / min(QUOTA, settings.tps)
    row = _row(f"submit {runs} Batch runs (apply --detach)", applied)
    row["submit_span_s"] = span
    row["quota_floor_s"] = floor
    row["submit_calls"] = len(submits)
    row["submits_per_s"] = runs / span if span else None
    # The tool's CPU per submission (plan included): on a loaded machine this, not the
    # quota, bounds the rate.
    row["cpu_ms_per_run"] = 1000 * applied.cpu / runs
    pacing = getattr(getattr(sandbox, "_app", None), "pacing", None)
    row["throttled"] = pacing.throttled.get("batch", 0) if pacing is not None else None
    row["bar"] = f"submissions within 20% of the quota's floor ({1.2 * floor:.1f} s)"
    row["met"] = span <= 1.2 * floor and len(submits) >= runs
    rows = [row]

    sandbox.log.clear()
    cancelled = measure(
        [*POLYSYNC, "cancel", "--apply", _apply_id(state), "--state", str(state),
         "--wait", "120"],
        env_for(sandbox), sandbox,
    )  # fmt: skip
    terminate_jobs = cancelled.calls.get("TerminateJobs", 0)
    limit = math.ceil(runs / 50)
    row = _row(f"cancel {runs} Batch runs (cancel --apply)", cancelled)
    row["exit_code"] = cancelled.returncode
    row["terminate_jobs_calls"] = terminate_jobs
    row["terminate_job_calls"] = cancelled.calls.get("TerminateJob", 0)
    row["bar"] = f"<= {limit} TerminateJobs calls (50 jobs a call; 1,000 runs: 20)"
    row["met"] = terminate_jobs <= limit and row["terminate_job_calls"] == 0
    rows.append(row)
    return rows


def _apply_id(state: Path) -> str:
    from polysync_spec.engine.ledger import SqliteLedger

    ledger = SqliteLedger(state)
    try:
        (apply_id, _, _), *_ = ledger.applies()
    finally:
        ledger.close()
    return str(apply_id)
