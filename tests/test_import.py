"""`polysync import` against the sandbox: pagination, round-trip safety, idempotence,
filters, and an imported project that validates and plans clean."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest

from polysync_spec import load_project, validate
from polysync_spec.cli import run
from polysync_spec.sandbox.server import Sandbox
from tests.helpers import plan_against, write

PLATFORMS = """\
version: 1
platforms:
  glue_main: {type: aws_glue, region: us-east-1}
  batch_main: {type: aws_batch, region: us-east-1, default_job_queue: etl-standard}
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write(tmp_path, PLATFORMS)
    return tmp_path


def _import(project: Path, *args: str) -> int:
    return run(["import", str(project), *args])


def test_import_pages_through_hundreds_of_jobs(sandbox: Sandbox, project: Path) -> None:
    glue = boto3.client("glue", endpoint_url=sandbox.endpoint_url, region_name="us-east-1")
    for i in range(250):
        glue.create_job(
            Name=f"bulk-{i:03}",
            Role="r",
            Command={"Name": "glueetl", "ScriptLocation": "s3://s/x.py"},
        )
    sandbox.log.clear()
    assert _import(project, "-p", "glue_main") == 0
    assert len(sandbox.requests("GetJobs")) == 3
    loaded = load_project(project, env={})
    assert loaded.ok and len(loaded.jobs) == 253


def test_a_second_import_changes_nothing(
    sandbox: Sandbox, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _import(project, "-p", "glue_main") == 0
    assert _import(project, "-p", "batch_main") == 0
    before = {p: p.read_bytes() for p in project.rglob("*.yaml")}
    capsys.readouterr()
    assert _import(project, "-p", "glue_main") == 0
    assert _import(project, "-p", "batch_main") == 0
    assert {p: p.read_bytes() for p in project.rglob("*.yaml")} == before
    assert "0 new job(s), 0 updated, 0 file(s) changed" in capsys.readouterr().err


def test_hand_edits_and_comments_survive(sandbox: Sandbox, project: Path) -> None:
    hand = """\
# Our orders load: owned by the data platform team.
jobs:
  orders_etl:
    platform: glue_main
    external_id: orders-etl   # the Glue job
    description: Orders, hand-tuned
    parameters:
      row_limit: 1000          # more than the job's default of 500, on purpose
    compute: {worker_type: G.2X}
"""
    write(project, hand, "jobs/orders.yaml")
    assert _import(project, "-p", "glue_main", "--filter", "orders-etl") == 0
    text = (project / "jobs" / "orders.yaml").read_text()
    assert text.startswith("# Our orders load: owned by the data platform team.\n")
    assert "external_id: orders-etl   # the Glue job" in text
    assert "row_limit: 1000          # more than the job's default of 500, on purpose" in text
    assert "worker_type: G.2X" in text and "number_of_workers: 5" in text  # added, not replaced
    assert "target_table: lake.orders" in text  # a parameter the manifest lacked
    assert not (project / "jobs" / "glue_main.yaml").exists()  # nothing new to add


def test_filter_and_dry_run(
    sandbox: Sandbox, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _import(project, "-p", "glue_main", "--filter", "orders-*", "--dry-run") == 0
    out = capsys.readouterr().out
    assert "+  orders-etl:" in out and "+  orders-quality:" in out and "customers-etl" not in out
    assert not (project / "jobs").exists()


def test_batch_import_pins_the_highest_active_revision_and_follows_new_ones(
    sandbox: Sandbox, project: Path
) -> None:
    assert _import(project, "-p", "batch_main", "--filter", "nightly-*") == 0
    path = project / "jobs" / "batch_main.yaml"
    assert "external_id: nightly-export:3" in path.read_text()
    batch = boto3.client("batch", endpoint_url=sandbox.endpoint_url, region_name="us-east-1")
    batch.register_job_definition(
        jobDefinitionName="nightly-export",
        type="container",
        containerProperties={"image": "x", "vcpus": 1, "memory": 64},
    )
    assert _import(project, "-p", "batch_main", "--filter", "nightly-*") == 0
    assert "external_id: nightly-export:4" in path.read_text()


def test_jobs_gone_from_aws_are_reported_and_kept(
    sandbox: Sandbox, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(
        project,
        "jobs:\n  retired: {platform: glue_main, external_id: retired-job}\n",
        "jobs/old.yaml",
    )
    assert _import(project, "-p", "glue_main") == 0
    assert "gone from AWS (kept): retired" in capsys.readouterr().err
    assert "retired-job" in (project / "jobs" / "old.yaml").read_text()


def test_an_imported_project_validates_and_plans_clean(sandbox: Sandbox, project: Path) -> None:
    assert _import(project, "-p", "glue_main") == 0
    assert _import(project, "-p", "batch_main") == 0
    write(
        project,
        "run_plans:\n  all:\n    runs:\n      - job: customers-etl\n      - job: cleanup\n",
        "run_plans.yaml",
    )
    assert [d for d in validate(project, env={}) if d.is_error] == []
    plan = plan_against(sandbox.endpoint_url, project, "all")
    kinds = {f.severity.value for f in plan.all_findings()}
    assert "error" not in kinds and "drift" not in kinds
