"""The benchmark harness measures what it claims: generated projects are valid, a
child's peak RSS is its own, poll rounds are read correctly off the wire, and the AWS CLI
baseline really drives runs to their end."""

from __future__ import annotations

import ast
import importlib.util
import sys
import time
from pathlib import Path

import boto3

from benchmarks.airflow_env import CONTENDER
from benchmarks.harness import describe_rounds, env_for, measure
from benchmarks.scenarios import (
    Settings,
    Workload,
    _floor,
    build_workload,
    generate_project,
    run_baseline,
)
from polysync_spec import validate
from polysync_spec.sandbox.server import Recorded, Sandbox


def test_the_generated_project_is_valid_and_as_large_as_asked(tmp_path: Path) -> None:
    generate_project(tmp_path, jobs=400, run_plans=80, files=20)
    assert validate(tmp_path, env={}) == []
    text = "".join(p.read_text() for p in tmp_path.glob("part-*.yaml"))
    assert text.count("platform: ") == 400 and text.count("max_concurrency") == 80


def test_a_child_reports_its_own_peak_rss_and_cpu_not_the_parents(tmp_path: Path) -> None:
    ballast = bytearray(300 * 1024 * 1024)  # this process is now far larger than the child
    code = "import time; x = bytearray(40 * 1024 * 1024); t = time.process_time()\nwhile time.process_time() - t < 0.3: pass"
    result = measure([sys.executable, "-c", code], {"PATH": "/usr/bin:/bin"})
    assert result.returncode == 0
    assert 40 <= result.peak_rss_mib < 200, result.peak_rss_mib
    assert result.cpu >= 0.3
    del ballast


def test_poll_rounds_are_read_off_the_describe_jobs_calls(sandbox: Sandbox) -> None:
    def describe(*ids: str) -> None:
        sandbox.log.add(Recorded("batch", "DescribeJobs", {"jobs": list(ids)}, time.time()))

    ids = [f"j{i}" for i in range(150)]
    describe(*ids[:100])
    describe(*ids[100:])  # round 1: two calls for 150 jobs
    describe(*ids[:100])  # round 2: j0 asked again
    describe(*ids[100:120])
    describe(*ids[120:130])  # one call too many for 130 jobs
    assert describe_rounds(sandbox) == [(2, 150), (3, 130)]


def test_the_aws_cli_baseline_submits_each_run_and_sees_each_end(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    settings = Settings(quick=True, scale=0.005)  # runs of 0.3-1.5 s
    workload = build_workload(sandbox, settings, tmp_path, batch_runs=2, glue_runs=1)
    sandbox.log.clear()
    row = run_baseline(sandbox, settings, workload)
    assert row["calls_by_operation"]["SubmitJob"] == 2
    assert row["calls_by_operation"]["StartJobRun"] == 1
    assert row["calls_by_operation"]["DescribeJobs"] >= 2
    # each end was seen, and not before it happened
    assert row["report_lag_max_s"] is not None and row["report_lag_p95_s"] > -0.5
    assert "AWS_PROFILE" not in env_for(sandbox)


def test_a_workload_with_history_gives_each_glue_job_runs_that_ended_before_it(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    settings = Settings(quick=True)
    workload = build_workload(
        sandbox, settings, tmp_path, batch_runs=1, glue_runs=20, seconds=60.0, history=3
    )
    assert (workload.glue_jobs, workload.history) == (2, 6)
    glue = boto3.client("glue", endpoint_url=sandbox.endpoint_url, region_name="us-east-1")
    for job in ("bench-g0", "bench-g1"):
        runs = glue.get_job_runs(JobName=job)["JobRuns"]
        assert [r["JobRunState"] for r in runs] == ["SUCCEEDED"] * 3
        lengths = {round((r["CompletedOn"] - r["StartedOn"]).total_seconds()) for r in runs}
        assert lengths == {60}  # as long as the job's runs in the workload


def test_the_floor_is_the_submissions_discovery_and_one_describe_per_100_per_round(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    def describe(*ids: str) -> None:
        sandbox.log.add(Recorded("batch", "DescribeJobs", {"jobs": list(ids)}, time.time()))

    ids = [f"j{i}" for i in range(150)]
    describe(*ids[:100])
    describe(*ids[100:])  # round 1: 2 calls, the floor
    describe(*ids[:100])
    describe(*ids[100:120])
    describe(*ids[120:130])  # round 2: 3 calls for 130 jobs, one over the floor
    workload = Workload(tmp_path, 150, tmp_path / "runs", glue_jobs=0, definitions=3)
    row = {"calls": 5 + 150 + 3, "calls_by_operation": {"SubmitJob": 150, "DescribeJobs": 5}}
    floor = _floor(sandbox, workload, row)
    assert floor["floor_describe_jobs"] == 4 and floor["floor_glue_polls"] == 0
    # submissions; one page each of DescribeJobDefinitions and DescribeJobQueues (no Glue
    # job: no BatchGetJobs); the rounds
    assert floor["floor_calls"] == 150 + 2 + 4


def test_the_airflow_contender_stays_out_of_the_test_environment() -> None:
    """Airflow is installed by the benchmark in an environment of its own, and the
    contender imports nothing of polysync: it is measured on its own."""
    assert importlib.util.find_spec("airflow") is None
    tree = ast.parse(CONTENDER.read_text(encoding="utf-8"))
    imported = {
        alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        (node.module or "").split(".")[0] for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
    }  # fmt: skip
    assert "polysync_spec" not in imported and "benchmarks" not in imported
    assert "airflow" in imported


def test_the_fleet_project_is_valid_and_as_large_as_asked(sandbox: Sandbox, tmp_path: Path) -> None:
    from benchmarks.fleet import build_fleet

    root = build_fleet(sandbox, tmp_path / "fleet", 7)
    assert validate(root, env={}) == []
    assert (root / "polysync.yaml").read_text().count("job: f,") == 7
