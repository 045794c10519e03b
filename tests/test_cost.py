"""Cost: the arithmetic from tables, the estimate from a Glue job's run history on the
sandbox, the --max-cost gate, and what a Glue run, a Batch job and an array job used."""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path
from typing import Any

import boto3
import pytest

from polysync_spec.cli import run as cli_run
from polysync_spec.engine.ledger import SqliteLedger
from polysync_spec.errors import PolysyncError
from polysync_spec.providers.batch import cost as batch_cost
from polysync_spec.providers.batch.definitions import BatchDefinition, BatchLive, BatchQueue
from polysync_spec.providers.cost import (
    DPU_HOURS,
    GB_HOURS,
    VCPU_HOURS,
    billed_hours,
    load_prices,
    packaged_prices,
)
from polysync_spec.providers.glue import cost as glue_cost
from polysync_spec.providers.glue.spec import GlueDefinition
from polysync_spec.sandbox.lifecycle import Outcome
from polysync_spec.sandbox.server import Sandbox
from tests.helpers import SANDBOX_PLATFORMS, write

PRICES = packaged_prices()
GLUE_STANDARD = 0.44  # USD per DPU-hour, us-east-1 (providers/data/prices.json)
GLUE_FLEX = 0.29
FARGATE_VCPU = 0.04048  # USD per vCPU-hour, us-east-1
FARGATE_GB = 0.004445  # USD per GB-hour


def _client(sandbox: Sandbox, service: str) -> Any:
    # (credentials: the conftest's fake ones, from the environment)
    return boto3.client(service, endpoint_url=sandbox.endpoint_url, region_name="us-east-1")  # type: ignore[call-overload]


# ------------------------------------------------------------------ the arithmetic


@pytest.mark.parametrize(
    ("worker_type", "workers", "max_capacity", "dpus"),
    [
        ("G.025X", 4, None, 1.0),
        ("G.1X", 10, None, 10.0),
        ("G.2X", 5, None, 10.0),
        ("G.4X", 3, None, 12.0),
        ("G.8X", 2, None, 16.0),
        ("G.12X", 2, None, 24.0),
        ("G.16X", 1, None, 16.0),
        ("Z.2X", 3, None, 6.0),
        ("R.2X", 2, None, 4.0),
        (None, None, 0.0625, 0.0625),  # a Python shell job's MaxCapacity
        ("G.1X", 10, 3.0, 3.0),  # MaxCapacity, where set, is what runs
        ("X.9Z", 2, None, None),  # an unknown worker type cannot be sized
    ],
)
def test_glue_capacity_is_workers_times_dpu_per_worker(
    worker_type: str | None, workers: int | None, max_capacity: float | None, dpus: float | None
) -> None:
    assert glue_cost.capacity(worker_type, workers, max_capacity) == dpus


@pytest.mark.parametrize(
    ("compute", "request_", "seconds", "dpu_hours", "usd_per_dpu_hour"),
    [
        (
            {"worker_type": "G.1X", "number_of_workers": 10, "timeout_minutes": 60},
            {},
            3600,
            10,
            GLUE_STANDARD,
        ),
        (
            {"worker_type": "G.2X", "number_of_workers": 5, "timeout_minutes": 30},
            {},
            1800,
            5,
            GLUE_STANDARD,
        ),
        (
            {"worker_type": "G.8X", "number_of_workers": 2, "timeout_minutes": 90},
            {},
            5400,
            24,
            GLUE_STANDARD,
        ),
        (
            {"worker_type": "G.1X", "number_of_workers": 10, "timeout_minutes": 60},
            {"ExecutionClass": "FLEX"},
            3600,
            10,
            GLUE_FLEX,
        ),
        (
            {
                "worker_type": "G.1X",
                "number_of_workers": 10,
                "timeout_minutes": 60,
                "execution_class": "FLEX",
            },
            {},
            3600,
            10,
            GLUE_FLEX,
        ),
        # a timeout of one second is billed as the one-minute minimum
        (
            {"worker_type": "G.1X", "number_of_workers": 6, "timeout_minutes": 1},
            {},
            60,
            0.1,
            GLUE_STANDARD,
        ),
        # each automatic retry is a run of its own, bounded by the same timeout
        (
            {
                "worker_type": "G.1X",
                "number_of_workers": 2,
                "timeout_minutes": 60,
                "automatic_retries": 2,
            },
            {},
            3 * 3600,
            6,
            GLUE_STANDARD,
        ),
    ],
)
def test_glue_upper_bound_is_dpus_times_the_timeout_times_the_price(
    compute: dict[str, Any],
    request_: dict[str, Any],
    seconds: float,
    dpu_hours: float,
    usd_per_dpu_hour: float,
) -> None:
    from polysync_spec.providers.glue.platform import Glue

    limit = Glue().run_limit_seconds(compute)
    assert limit == seconds
    estimate = glue_cost.estimate(
        "us-east-1", None, compute, request_, limit_seconds=limit, prices=PRICES
    )
    assert estimate is not None and estimate.upper is not None
    assert estimate.upper.usage[DPU_HOURS] == pytest.approx(dpu_hours)
    assert estimate.upper_usd() == pytest.approx(dpu_hours * usd_per_dpu_hour)
    assert estimate.expected is None


def test_glue_expected_is_the_median_of_recent_runs_and_dpu_seconds_win_where_reported() -> None:
    compute = {"worker_type": "G.2X", "number_of_workers": 10}
    by_time = GlueDefinition("j", recent_runs=((600, None), (1200, None), (3000, None)))
    estimate = glue_cost.estimate(
        "us-east-1", by_time, compute, {}, limit_seconds=None, prices=PRICES
    )
    assert estimate is not None and estimate.expected is not None
    assert estimate.expected.usage[DPU_HOURS] == pytest.approx(20 * 1200 / 3600)
    assert "median of 3 recent runs (1200 s)" in estimate.expected.basis
    scaled = GlueDefinition("j", recent_runs=((600, 7200.0), (900, 3600.0)))
    estimate = glue_cost.estimate(
        "us-east-1", scaled, compute, {}, limit_seconds=None, prices=PRICES
    )
    assert estimate is not None and estimate.expected is not None
    assert estimate.expected.usage[DPU_HOURS] == pytest.approx(5400 / 3600)


def test_an_unknown_region_gives_usage_without_a_price_and_says_so() -> None:
    estimate = glue_cost.estimate(
        "ap-southeast-7",
        None,
        {"worker_type": "G.1X", "number_of_workers": 2, "timeout_minutes": 60},
        {},
        limit_seconds=3600,
        prices=PRICES,
    )
    assert estimate is not None and estimate.upper is not None
    assert estimate.upper.usage == {DPU_HOURS: 2.0}
    assert estimate.upper_usd() is None and estimate.prices == {}
    assert any("no price for Glue STANDARD in ap-southeast-7" in n for n in estimate.notes)


def _batch_live(kind: str) -> BatchLive:
    return BatchLive(
        queues={"q": BatchQueue("q", "arn:q", "ENABLED", "VALID", compute_environments=("ce",))},
        environments={"ce": kind},
    )


@pytest.mark.parametrize(
    ("vcpus", "memory_mib", "array_size", "seconds", "attempts"),
    [
        (1, 2048, None, 3600, 1),
        (0.25, 512, None, 600, 1),
        (4, 8192, None, 1800, 3),
        (2, 4096, 10, 900, 2),
        (1, 2048, None, 30, 1),  # below the one-minute minimum
    ],
)
def test_fargate_cost_is_vcpus_and_gb_times_hours_times_their_prices(
    vcpus: float, memory_mib: float, array_size: int | None, seconds: int, attempts: int
) -> None:
    definition = BatchDefinition("d", 1, "arn:d", "ACTIVE", vcpus=vcpus, memory_mib=memory_mib)
    compute = {
        "job_queue": "q",
        "attempt_duration_seconds": seconds,
        "retry_attempts": attempts,
        "array_size": array_size,
    }
    estimate = batch_cost.estimate(
        "us-east-1",
        definition,
        _batch_live("FARGATE"),
        compute,
        limit_seconds=seconds * attempts,
        prices=PRICES,
    )
    assert estimate is not None and estimate.upper is not None
    hours = max(seconds * attempts, 60) / 3600
    children = array_size or 1
    assert estimate.upper.usage[VCPU_HOURS] == pytest.approx(vcpus * children * hours)
    assert estimate.upper.usage[GB_HOURS] == pytest.approx(memory_mib / 1024 * children * hours)
    expected_usd = children * hours * (vcpus * FARGATE_VCPU + memory_mib / 1024 * FARGATE_GB)
    assert estimate.upper_usd() == pytest.approx(expected_usd)


@pytest.mark.parametrize(
    ("kind", "units", "says"),
    [
        ("EC2", {VCPU_HOURS}, "instances are billed, not the job"),
        ("SPOT", {VCPU_HOURS}, "instances are billed, not the job"),
        ("FARGATE_SPOT", {VCPU_HOURS, GB_HOURS}, "no fixed price"),
    ],
)
def test_batch_off_fargate_gives_usage_without_a_price(
    kind: str, units: set[str], says: str
) -> None:
    definition = BatchDefinition("d", 1, "arn:d", "ACTIVE", vcpus=2, memory_mib=4096)
    estimate = batch_cost.estimate(
        "us-east-1",
        definition,
        _batch_live(kind),
        {"job_queue": "q", "attempt_duration_seconds": 3600},
        limit_seconds=3600,
        prices=PRICES,
    )
    assert estimate is not None and estimate.upper is not None
    assert set(estimate.upper.usage) == units
    assert estimate.upper_usd() is None
    assert any(says in note for note in estimate.notes)


def test_usage_of_finished_runs_from_what_aws_reports() -> None:
    # Glue: DPUSeconds where reported, else ExecutionTime x capacity (one-minute minimum)
    assert glue_cost.run_usage({"DPUSeconds": 7200.0, "ExecutionTime": 100}) == {DPU_HOURS: 2.0}
    assert glue_cost.run_usage(
        {"ExecutionTime": 1800, "WorkerType": "G.2X", "NumberOfWorkers": 5}
    ) == pytest.approx({DPU_HOURS: 5.0})
    assert glue_cost.run_usage({"ExecutionTime": 5, "MaxCapacity": 0.0625}) == pytest.approx(
        {DPU_HOURS: 0.0625 * billed_hours(5)}
    )
    # Batch: each attempt's run time x the container's resources
    job = {
        "container": {
            "resourceRequirements": [
                {"type": "VCPU", "value": "2"},
                {"type": "MEMORY", "value": "4096"},
            ]
        },
        "attempts": [
            {"startedAt": 1_000_000, "stoppedAt": 1_000_000 + 1_800_000},
            {"startedAt": 3_000_000, "stoppedAt": 3_000_000 + 3_600_000},
        ],
    }
    assert batch_cost.job_usage(job) == pytest.approx({VCPU_HOURS: 2 * 1.5, GB_HOURS: 4 * 1.5})
    assert batch_cost.summed([{VCPU_HOURS: 1.0}, None, {VCPU_HOURS: 0.5}]) == {VCPU_HOURS: 1.5}


def test_a_price_file_adds_regions_and_a_bad_one_is_named(tmp_path: Path) -> None:
    extra = tmp_path / "prices.json"
    entry = {
        "service": "glue",
        "item": "STANDARD",
        "unit": "DPU-hours",
        "region": "eu-central-2",
        "usd": 0.55,
        "source": "our contract",
        "date": "2026-11-01",
    }
    extra.write_text(json.dumps({"prices": [entry]}))
    prices = load_prices(extra)
    found = prices.find("glue", "STANDARD", "eu-central-2")
    assert found is not None and found.usd == 0.55
    assert prices.find("glue", "STANDARD", "us-east-1") is not None  # the packaged ones stay
    extra.write_text(json.dumps({"prices": [{**entry, "usd": "cheap"}]}))
    with pytest.raises(PolysyncError, match=r"prices\.json: prices\[0\] needs .*usd"):
        load_prices(extra)
    extra.write_text("{not json")
    with pytest.raises(PolysyncError, match=r"prices\.json:1:2: the price file is not JSON"):
        load_prices(extra)


def test_every_packaged_price_names_its_source_and_date() -> None:
    for price in PRICES.entries.values():
        assert price.source.startswith("https://aws.amazon.com/")
        assert price.date[:4].isdigit() and price.usd > 0


# ------------------------------------------------------------------ plan on the sandbox

HISTORY_PROJECT = (
    SANDBOX_PLATFORMS
    + """\
jobs:
  hist: {platform: glue, external_id: hist, compute: {timeout_minutes: 30}}
run_plans:
  p:
    runs:
      - {job: hist}
"""
)


def _history(sandbox: Sandbox, runs: list[Outcome]) -> list[dict[str, Any]]:
    """Runs of job `hist` (G.1X x 4) that have ended, as GetJobRuns reports them."""
    glue = _client(sandbox, "glue")
    glue.create_job(
        Name="hist",
        Role="arn:aws:iam::123456789012:role/glue",
        Command={"Name": "glueetl", "ScriptLocation": "s3://scripts/hist.py"},
        WorkerType="G.1X",
        NumberOfWorkers=4,
        GlueVersion="4.0",
        ExecutionProperty={"MaxConcurrentRuns": len(runs)},
    )
    for outcome in runs:
        sandbox.script("glue", "hist", outcome)
        glue.start_job_run(JobName="hist")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        listed = glue.get_job_runs(JobName="hist")["JobRuns"]
        if all(r["JobRunState"] in ("SUCCEEDED", "FAILED") for r in listed):
            return list(listed)
        time.sleep(0.2)
    raise AssertionError("the sandbox's runs did not end")


def test_plan_expects_the_median_of_the_jobs_recent_runs(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    listed = _history(
        sandbox,
        [
            Outcome(starting_seconds=0.1, running_seconds=1.2),
            Outcome(starting_seconds=0.1, running_seconds=2.2),
            Outcome(starting_seconds=0.1, running_seconds=4.2),
            Outcome(result="FAILED", starting_seconds=0.1, running_seconds=3.2),
        ],
    )
    succeeded = [r["ExecutionTime"] for r in listed if r["JobRunState"] == "SUCCEEDED"]
    assert len(succeeded) == 3 and all(seconds > 0 for seconds in succeeded)
    median = statistics.median(succeeded)
    path = write(tmp_path, HISTORY_PROJECT)
    assert cli_run(["plan", str(path), "--output", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    cost = document["runs"][0]["cost"]
    # the failed run does not count; 4 DPUs, billed at least a minute
    assert cost["expected"]["basis"] == f"median of 3 recent runs ({median:.0f} s)"
    assert cost["expected"]["usage"][DPU_HOURS] == pytest.approx(4 * billed_hours(median), 1e-4)
    assert cost["expected"]["usd"] == pytest.approx(
        4 * billed_hours(median) * GLUE_STANDARD, abs=1e-4
    )
    assert cost["upper"]["usage"] == {DPU_HOURS: 2.0}  # 4 DPUs x the 30-minute timeout
    assert cost["upper"]["usd"] == pytest.approx(2.0 * GLUE_STANDARD)
    assert cost["prices"] == {DPU_HOURS: GLUE_STANDARD}
    assert document["cost"]["expected_usd"] == pytest.approx(cost["expected"]["usd"])
    assert document["cost"]["upper_usd"] == pytest.approx(cost["upper"]["usd"])


GATE_PROJECT = (
    SANDBOX_PLATFORMS
    + """\
jobs:
  big: {platform: glue, external_id: orders-etl, compute: {worker_type: G.2X, number_of_workers: 10, timeout_minutes: 120}}
  small: {platform: glue, external_id: customers-etl}
  clean: {platform: batch, external_id: cleanup}
run_plans:
  p:
    runs:
      - {job: big}
      - {job: small}
      - {job: clean}
"""
)


def test_max_cost_fails_the_plan_naming_the_total_the_limit_and_the_costliest_runs(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, GATE_PROJECT)
    # no history: each Glue run counts at its upper bound; big 20 DPU x 2 h, small 2 DPU
    # (the seeded job's G.1X x 2) x 30 min; the EC2-backed Batch run has no price
    big, small = 20 * 2 * GLUE_STANDARD, 2 * 0.5 * GLUE_STANDARD
    assert cli_run(["plan", str(path), "--max-cost", "10"]) == 1
    out = capsys.readouterr().out
    assert (
        f"error PS729: the plan's expected cost ${big + small:,.2f} exceeds the limit of "
        f"$10.00; costing most: big ${big:,.2f} (its upper bound: no run history), "
        f"small ${small:,.2f} (its upper bound: no run history)"
    ) in out
    assert "Cost: expected $18.04, at most $18.04 (limit $10.00); not priced: clean" in out
    assert cli_run(["plan", str(path), "--max-cost", "20"]) == 0
    capsys.readouterr()
    assert cli_run(["plan", str(path), "--max-cost", "0"]) == 64  # a usage error


def test_a_run_plans_max_cost_is_the_gate_and_points_at_itself(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = GATE_PROJECT.replace("  p:\n", "  p:\n    max_cost: 5\n")
    path = write(tmp_path, text)
    assert cli_run(["plan", str(path)]) == 1
    out = capsys.readouterr().out
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "max_cost" in row)
    assert f"error PS729 {path}:{line}:15: the plan's expected cost $18.04" in out
    # the command line overrides the manifest
    assert cli_run(["plan", str(path), "--max-cost", "100"]) == 0
    # and apply, whose plan has the error, submits nothing
    sandbox.log.clear()
    assert cli_run(["apply", str(path), "--auto-approve", "--state", str(tmp_path / "s.db")]) == 1
    assert "PS729" in capsys.readouterr().out
    assert not sandbox.requests("StartJobRun") and not sandbox.requests("SubmitJob")


def test_a_non_positive_max_cost_is_a_validate_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, GATE_PROJECT.replace("  p:\n", "  p:\n    max_cost: 0\n"))
    assert cli_run(["validate", str(path)]) == 1
    assert "PS112" in capsys.readouterr().out


# ------------------------------------------------------------------ after apply

APPLY_PROJECT = (
    SANDBOX_PLATFORMS
    + """\
jobs:
  load: {platform: glue, external_id: customers-etl}
  job: {platform: batch, external_id: cleanup}
  fan: {platform: batch, external_id: thumbnails, array_size: 3}
run_plans:
  p:
    runs:
      - {job: load}
      - {job: job}
      - {job: fan}
"""
)


def test_apply_reports_what_a_glue_run_a_batch_job_and_an_array_job_used(
    sandbox: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sandbox.script("glue", "customers-etl", Outcome(starting_seconds=0.2, running_seconds=1.6))
    sandbox.script("batch", "cleanup", Outcome(starting_seconds=0.3, running_seconds=0.8))
    sandbox.script("batch", "thumbnails", Outcome(starting_seconds=0.3, running_seconds=0.5))
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, APPLY_PROJECT)
    args = ["apply", str(path), "--auto-approve", "--poll-interval", "0.05"]
    assert cli_run([*args, "--output", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    runs = {r["key"]: r for r in document["runs"]}

    # What the sandbox reports, read as a user would, is what polysync counted.
    glue = _client(sandbox, "glue")
    job_name, run_id = runs["load"]["run_id"].split("/")
    job_run = glue.get_job_run(JobName=job_name, RunId=run_id)["JobRun"]
    dpus = job_run["NumberOfWorkers"]  # G.1X: 1 DPU each
    assert runs["load"]["usage"] == {
        DPU_HOURS: pytest.approx(dpus * billed_hours(job_run["ExecutionTime"]))
    }
    assert runs["load"]["cost_usd"] == pytest.approx(
        dpus * billed_hours(job_run["ExecutionTime"]) * GLUE_STANDARD, abs=1e-4
    )

    batch = _client(sandbox, "batch")

    def used(job_ids: list[str]) -> dict[str, float]:
        total = {VCPU_HOURS: 0.0, GB_HOURS: 0.0}
        for job in batch.describe_jobs(jobs=job_ids)["jobs"]:
            container = job["container"]
            for attempt in job["attempts"]:
                hours = billed_hours((attempt["stoppedAt"] - attempt["startedAt"]) / 1000)
                total[VCPU_HOURS] += container["vcpus"] * hours
                total[GB_HOURS] += container["memory"] / 1024 * hours
        return total

    single = used([runs["job"]["run_id"]])
    assert single[VCPU_HOURS] > 0
    assert runs["job"]["usage"] == {unit: pytest.approx(v) for unit, v in single.items()}
    children = used([f"{runs['fan']['run_id']}:{index}" for index in range(3)])
    # thumbnails: 2 vCPUs, 2 GB per child, three children
    assert children[VCPU_HOURS] >= 3 * 2 * billed_hours(0)
    assert runs["fan"]["usage"] == {unit: pytest.approx(v) for unit, v in children.items()}
    # the seeded compute environment is unmanaged (EC2 instances): no price
    assert runs["job"]["cost_usd"] is None and runs["fan"]["cost_usd"] is None

    # the ledger keeps it, and status and the Markdown timeline show it
    ledger = SqliteLedger(tmp_path / ".polysync" / "state.db")
    try:
        records = ledger.runs(document["apply_id"])
    finally:
        ledger.close()
    assert records["load"].usage == pytest.approx(runs["load"]["usage"])
    assert records["fan"].usage == pytest.approx(runs["fan"]["usage"])
    assert cli_run(["status", document["apply_id"]]) == 0
    status = capsys.readouterr().out
    assert f"load  Success  {runs['load']['run_id']}  used $" in status
    assert "DPU-hours" in status and "vCPU-hours" in status
    assert cli_run(["status", document["apply_id"], "--output", "markdown"]) == 0
    timeline = capsys.readouterr().out
    assert "| run | status | run id | used | message |" in timeline
    assert "| `fan` | Success |" in timeline and " vCPU-hours, " in timeline


def test_a_ledger_written_before_usage_was_kept_opens_and_records_it(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "state.db"
    old = sqlite3.connect(path)
    old.executescript(
        """
        CREATE TABLE runs (apply_id TEXT NOT NULL, key TEXT NOT NULL, platform TEXT NOT NULL,
            service TEXT NOT NULL, region TEXT NOT NULL, run_id TEXT, status TEXT NOT NULL,
            message TEXT, intent_at REAL, submitted_at REAL, finished_at REAL,
            started_at REAL, attempt_id TEXT, answer_by REAL, PRIMARY KEY (apply_id, key));
        INSERT INTO runs VALUES ('a1', 'load', 'glue', 'glue', 'us-east-1', 'j/jr_1',
            'Success', NULL, 1.0, 2.0, 3.0, 2.5, 'x', NULL);
        """
    )
    old.commit()
    old.close()
    ledger = SqliteLedger(path)
    try:
        assert ledger.runs("a1")["load"].usage is None
        ledger.usage("a1", "load", {DPU_HOURS: 0.25})
        assert ledger.runs("a1")["load"].usage == {DPU_HOURS: 0.25}
        found = ledger.find_run("j/jr_1")
        assert found is not None and found[1].usage == {DPU_HOURS: 0.25}
    finally:
        ledger.close()


def test_an_auto_scaling_glue_run_is_counted_by_the_dpu_seconds_glue_reports(
    sandbox: Sandbox,
) -> None:
    from typing import cast

    from polysync_spec.manifest.models import GluePlatform
    from polysync_spec.providers.aws import Sessions
    from polysync_spec.providers.base import RunRequest
    from polysync_spec.providers.clients import client_for
    from polysync_spec.providers.glue.client import GlueClient

    glue = _client(sandbox, "glue")
    glue.create_job(
        Name="scaled",
        Role="arn:aws:iam::123456789012:role/glue",
        Command={"Name": "glueetl", "ScriptLocation": "s3://scripts/scaled.py"},
        DefaultArguments={"--enable-auto-scaling": "true"},
        WorkerType="G.2X",
        NumberOfWorkers=3,
    )
    sandbox.script("glue", "scaled", Outcome(starting_seconds=0.1, running_seconds=1.6))
    platform = GluePlatform(type="aws_glue", region="us-east-1")
    provider = cast(GlueClient, client_for("glue", platform, Sessions()))
    run_id = provider.submit(RunRequest("StartJobRun", {"JobName": "scaled", "Arguments": {}}))
    deadline = time.monotonic() + 20
    report = provider.poll([run_id])[run_id]
    while not report.status.terminal and time.monotonic() < deadline:
        time.sleep(0.1)
        report = provider.poll([run_id])[run_id]
    job_run = glue.get_job_run(JobName="scaled", RunId=run_id.split("/")[1])["JobRun"]
    assert job_run["DPUSeconds"] == job_run["ExecutionTime"] * 6  # the sandbox cannot scale
    assert report.usage == pytest.approx({DPU_HOURS: job_run["DPUSeconds"] / 3600})


FARGATE_PROJECT = (
    SANDBOX_PLATFORMS
    + """\
jobs:
  render: {platform: batch, external_id: render-fargate, job_queue: fargate-q, attempt_duration_seconds: 1800, array_size: 4}
run_plans:
  p:
    runs:
      - {job: render}
"""
)


def test_plan_prices_a_batch_run_on_a_fargate_queue(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    batch = _client(sandbox, "batch")
    role = _client(sandbox, "iam").get_role(RoleName="polysync-sandbox-batch")["Role"]["Arn"]
    ec2 = _client(sandbox, "ec2")
    subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    group = ec2.describe_security_groups()["SecurityGroups"][0]["GroupId"]
    environment = batch.create_compute_environment(
        computeEnvironmentName="fargate-ce",
        type="MANAGED",
        state="ENABLED",
        serviceRole=role,
        computeResources={
            "type": "FARGATE",
            "maxvCpus": 16,
            "subnets": [subnet],
            "securityGroupIds": [group],
        },
    )["computeEnvironmentArn"]
    batch.create_job_queue(
        jobQueueName="fargate-q",
        state="ENABLED",
        priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": environment}],
    )
    batch.register_job_definition(
        jobDefinitionName="render-fargate",
        type="container",
        platformCapabilities=["FARGATE"],
        containerProperties={
            "image": "busybox",
            "command": ["render"],
            "resourceRequirements": [
                {"type": "VCPU", "value": "0.5"},
                {"type": "MEMORY", "value": "1024"},
            ],
        },
    )
    path = write(tmp_path, FARGATE_PROJECT)
    assert cli_run(["plan", str(path), "--output", "json"]) == 0
    cost = json.loads(capsys.readouterr().out)["runs"][0]["cost"]
    # four children of 0.5 vCPU and 1 GB each, for at most 30 minutes
    assert cost["rate"] == {VCPU_HOURS: 2.0, GB_HOURS: 4.0}
    assert cost["upper"]["usage"] == {VCPU_HOURS: 1.0, GB_HOURS: 2.0}
    assert cost["upper"]["usd"] == pytest.approx(1.0 * FARGATE_VCPU + 2.0 * FARGATE_GB, abs=1e-4)
    assert cost["prices"] == {VCPU_HOURS: FARGATE_VCPU, GB_HOURS: FARGATE_GB}
    assert any("fargate/pricing" in source for source in cost["sources"])
