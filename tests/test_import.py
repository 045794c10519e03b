"""`polysync import` against the sandbox: pagination, round-trip safety, idempotence,
filters, and an imported project that validates and plans clean."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
    # Hand-written compute kept as written; none captured: a job-level value would
    # outrank the platform's defaults and change what runs.
    assert "compute: {worker_type: G.2X}" in text and "number_of_workers" not in text
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


TRICKY = {
    "--zip": "02134",
    "--ratio": "0.10",
    "--big": "1e3",
    "--thousand": "1_000",
    "--plus": "+5",
    "--obj": '{"a": 1}',
    "--flag": "true",
    "--empty": "",
    "--count": "42",
    "--compact": '{"a":1}',
}

DEFAULTED = """\
version: 1
platforms:
  glue_main:
    type: aws_glue
    region: us-east-1
    defaults: {worker_type: G.2X, number_of_workers: 2}
targets:
  staging:
    platforms:
      glue_main:
        defaults: {number_of_workers: 1}
jobs:
  tricky:
    platform: glue_main
    external_id: tricky-args
run_plans:
  p:
    runs:
      - job: tricky
"""


def _planned(sandbox: Sandbox, project: Path, target: str | None) -> Any:
    from polysync_spec import load_project, make_plan
    from polysync_spec.providers.aws import Sessions

    loaded = load_project(project, target=target, env={})
    assert loaded.ok, loaded.diagnostics
    sessions = Sessions(sandbox_url=sandbox.endpoint_url)
    return make_plan(loaded, "p", sessions, manifest_path=str(project))


def test_import_keeps_every_argument_verbatim_and_changes_no_request(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """Importing a job into a project whose platform has defaults and a target overlay
    changes nothing Glue runs: the compute members sent are the same under every target,
    the arguments Glue runs with are the same byte for byte, and plan sees no drift. The
    arguments are now sent explicitly (before, Glue filled them from the job's
    DefaultArguments): a different request with the same effect, which the import
    writes without --allow-request-changes and names."""
    glue = boto3.client("glue", region_name="us-east-1", endpoint_url=sandbox.endpoint_url)
    glue.create_job(
        Name="tricky-args",
        Role="arn:aws:iam::123456789012:role/glue",
        Command={"Name": "glueetl", "ScriptLocation": "s3://scripts/tricky.py"},
        DefaultArguments=TRICKY,
        WorkerType="G.1X",
        NumberOfWorkers=5,
    )
    write(tmp_path, DEFAULTED)
    before = {t: _planned(sandbox, tmp_path, t) for t in (None, "staging")}
    assert _import(tmp_path, "-p", "glue_main", "--filter", "tricky-args") == 0
    after = {t: _planned(sandbox, tmp_path, t) for t in (None, "staging")}
    for target in (None, "staging"):
        [old], [new] = before[target].runs, after[target].runs
        members = ("JobName", "WorkerType", "NumberOfWorkers", "Timeout")
        assert {k: new.request.get(k) for k in members} == {k: old.request.get(k) for k in members}
        # What Glue runs with: the job's DefaultArguments under the arguments sent.
        effective = {**TRICKY, **new.request["Arguments"]}
        assert {k: effective[k] for k in TRICKY} == TRICKY
        assert {k: new.request["Arguments"][k] for k in TRICKY} == TRICKY  # sent verbatim
        assert [f.code for f in after[target].all_findings() if f.severity.value == "drift"] == []
    assert before[None].runs[0].request["NumberOfWorkers"] == 2  # the platform default
    assert before["staging"].runs[0].request["NumberOfWorkers"] == 1  # the target's
    text = (tmp_path / "polysync.yaml").read_text()
    assert "compute" not in text.split("tricky:", 1)[1]  # no captured compute written


@pytest.mark.parametrize(
    ("text", "value", "kind"),
    [
        ("02134", "02134", "string"),
        ("0.10", "0.10", "string"),
        ("1e3", "1e3", "string"),
        ("1_000", "1_000", "string"),
        ("+5", "+5", "string"),
        ("-0", "-0", "string"),
        (" 3", " 3", "string"),
        ("nan", "nan", "string"),
        ('{"a": 1}', '{"a": 1}', "string"),
        ("True", "True", "string"),
        ("", "", "string"),
        ("true", True, "boolean"),
        ("42", 42, "integer"),
        ("-7", -7, "integer"),
        ("1.5", 1.5, "number"),
        ('{"a":1}', {"a": 1}, "json"),
        ("[1,2]", [1, 2], "json"),
    ],
)
def test_an_imported_value_is_typed_only_when_it_renders_back_verbatim(
    text: str, value: Any, kind: str
) -> None:
    from polysync_spec.providers.glue.importing import infer_value
    from polysync_spec.values import aws_string

    assert infer_value(text) == (value, kind)
    assert aws_string(infer_value(text)[0]) == text


def test_the_schema_line_of_a_new_file_resolves_in_the_users_repository(
    sandbox: Sandbox, project: Path
) -> None:
    """Without a schema in the repository the line points at the published schema; after
    `polysync schema --write schemas/polysync.schema.json` at the copy, relatively."""
    from polysync_spec.schema import schema_text

    assert _import(project, "-p", "glue_main", "--filter", "orders-etl") == 0
    first = (project / "jobs" / "glue_main.yaml").read_text().splitlines()[0]
    assert (
        first == "# yaml-language-server: $schema=https://polysync.dev/schemas/polysync.schema.json"
    )
    written = project / "schemas" / "polysync.schema.json"
    assert run(["schema", "--write", str(written)]) == 0
    assert written.read_text() == schema_text()
    assert _import(project, "-p", "glue_main", "--into", str(project / "more" / "g.yaml")) == 0
    first = (project / "more" / "g.yaml").read_text().splitlines()[0]
    assert first == "# yaml-language-server: $schema=../schemas/polysync.schema.json"
    assert (project / "more" / "g.yaml").parent.joinpath(first.split("=", 1)[1]).resolve() == (
        written.resolve()
    )
