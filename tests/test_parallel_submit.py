"""Submissions in parallel: within max_concurrency, in dependency order, each exactly
once, and slower when AWS throttles them (the sandbox's rate limit answers as Batch)."""

from __future__ import annotations

import time
from pathlib import Path

from polysync_spec.engine.rate import AdaptiveRate
from polysync_spec.sandbox.lifecycle import LIFECYCLES, Outcome
from polysync_spec.sandbox.server import Pacing, Sandbox
from tests.applying import HEADER, applier_for, plan_for
from tests.helpers import write

SHORT = Outcome(starting_seconds=0.2, running_seconds=0.3)


def _runs(count: int, extra: str = "") -> str:
    lines = [f"      - {{name: c{i}, job: clean{extra}}}" for i in range(count)]
    return "\n".join(lines) + "\n"


def _ends() -> dict[str, float]:
    """When each Batch job in the emulator really ended (wall clock), by job id."""
    offset = time.time() - time.monotonic()
    return {
        job_id: clock.created + offset + clock.outcome.starting_seconds
        + clock.outcome.running_seconds
        for job_id, clock in LIFECYCLES.clocks.items()
    }  # fmt: skip


def test_parallel_submissions_stay_within_max_concurrency_and_go_once(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    sandbox.script("batch", "cleanup", SHORT)
    text = HEADER + "run_plans:\n  p:\n    max_concurrency: 4\n    runs:\n" + _runs(16)
    plan = plan_for(sandbox, write(tmp_path, text))
    applier, ledger, lines = applier_for(sandbox, plan, tmp_path)
    try:
        result = applier.run()
    finally:
        ledger.close()
    assert {s.status for s in result.runs.values()} == {"Success"}, lines
    submits = sandbox.requests("SubmitJob")
    names = [r.params["jobName"] for r in submits]
    assert len(names) == 16 and len(set(names)) == 16  # each run exactly once
    ids = {state.run_id for state in result.runs.values()}
    ends = {job_id: at for job_id, at in _ends().items() if job_id in ids}
    for request in submits:
        # Runs in AWS at the moment of this submission (it included): never more than 4.
        # (The tool learns of an end later than it happens, so its own count is higher.)
        earlier = [r for r in submits if r.at <= request.at]
        ended = [at for at in ends.values() if at <= request.at]
        assert len(earlier) - len(ended) <= 4


def test_a_dependent_is_submitted_only_once_its_upstream_has_a_job_id(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    sandbox.script("batch", "cleanup", SHORT)
    runs = _runs(10) + "".join(
        f"      - {{name: d{i}, job: clean, after: [c{i}]}}\n" for i in range(10)
    )
    text = HEADER + "run_plans:\n  p:\n    max_concurrency: 20\n    runs:\n" + runs
    plan = plan_for(sandbox, write(tmp_path, text))
    applier, ledger, lines = applier_for(sandbox, plan, tmp_path)
    try:
        result = applier.run()
    finally:
        ledger.close()
    assert {s.status for s in result.runs.values()} == {"Success"}, lines
    submits = sandbox.requests("SubmitJob")
    assert len(submits) == 20
    by_job = {_job_id(r.params["jobName"]): r for r in submits}
    for i in range(10):
        upstream, dependent = result.runs[f"c{i}"], result.runs[f"d{i}"]
        request = by_job[str(dependent.run_id)]
        assert request.params["dependsOn"] == [{"jobId": upstream.run_id}]
        assert by_job[str(upstream.run_id)].at < request.at


def _job_id(job_name: str) -> str:
    """The id of the Batch job the emulator holds under `job_name` (unique per attempt)."""
    from moto.batch.models import batch_backends

    backend = batch_backends["123456789012"]["us-east-1"]
    [job_id] = [
        i
        for i in LIFECYCLES.clocks
        if getattr(backend.get_job_by_id(i), "job_name", "") == job_name
    ]
    return job_id


def test_throttled_submissions_slow_down_and_each_run_goes_once(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    sandbox.script("batch", "cleanup", SHORT)
    text = HEADER + "run_plans:\n  p:\n    max_concurrency: 60\n    runs:\n" + _runs(60)
    plan = plan_for(sandbox, write(tmp_path, text))
    pacing = Pacing(tps=10, burst=5)
    sandbox.pace(pacing)
    applier, ledger, lines = applier_for(sandbox, plan, tmp_path)
    try:
        result = applier.run()
    finally:
        ledger.close()
        sandbox.pace(None)
    assert {s.status for s in result.runs.values()} == {"Success"}, lines
    assert pacing.throttled["batch"] > 0  # the quota was met...
    rate = applier.submitter.rates["batch"]
    assert rate.throttled_count > 0 and rate.rate < rate.ceiling  # ...and answered
    # Backing off keeps the refusals well under one per run.
    assert pacing.throttled["batch"] < 60
    names = {r.params["jobName"] for r in sandbox.requests("SubmitJob")}
    jobs = list(LIFECYCLES.clocks)
    assert len(names) == 60 and len(jobs) == 60  # refused calls never made a second job


def test_the_adaptive_rate_halves_on_throttling_and_climbs_back() -> None:
    now = [0.0]
    rate = AdaptiveRate(50, 50, clock=lambda: now[0], sleep=lambda s: None)
    assert [rate.reserve() for _ in range(3)] == [0.0, 0.02, 0.04]
    rate.throttled()
    assert rate.rate == 25
    rate.throttled()
    rate.throttled()
    assert rate.rate == 6.25
    for _ in range(100):
        rate.accepted()
    assert rate.rate == 50  # never above the ceiling
    for _ in range(10):
        rate.throttled()
    assert rate.rate == 1.0  # never below the floor


def test_on_failure_cancel_also_cancels_what_was_being_submitted_at_the_failure(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    from polysync_spec.sandbox.server import Fault

    sandbox.script("batch", "cleanup", Outcome(stuck_in="RUNNING", starting_seconds=0.05))
    runs = "      - {name: g, job: load}\n" + _runs(12)
    text = HEADER + "run_plans:\n  p:\n    on_failure: cancel\n    runs:\n" + runs
    plan = plan_for(sandbox, write(tmp_path, text))
    sandbox.fail("StartJobRun", Fault("InvalidInputException", "refused", 400))
    sandbox.pace(Pacing(latency=0.2))  # the Batch submissions are on their way meanwhile
    applier, ledger, lines = applier_for(sandbox, plan, tmp_path, timeout=30.0)
    try:
        result = applier.run()
    finally:
        ledger.close()
        sandbox.pace(None)
    assert result.runs["g"].status == "Failed", lines
    others = {key: s.status for key, s in result.runs.items() if key != "g"}
    # Each either never went (Skipped) or was cancelled; none left running.
    assert set(others.values()) <= {"Cancelled", "Skipped"}, lines
    cancelled = [job for r in sandbox.requests("TerminateJobs") for job in r.params["jobs"]]
    assert len(cancelled) == len(set(cancelled))  # each asked once
