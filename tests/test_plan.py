"""`polysync plan` against the sandbox: every finding with its severity and position, the
fewest discovery calls, secrets kept out of plan files, and requests that are exactly what
the emulator then receives."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest

from polysync_spec import load_project
from polysync_spec.cli import run
from polysync_spec.engine.model import Plan
from polysync_spec.errors import Position, Severity
from polysync_spec.providers.aws import Sessions
from polysync_spec.providers.base import RunRequest
from polysync_spec.providers.clients import client_for
from polysync_spec.sandbox.server import Sandbox
from tests.conftest import EXAMPLES
from tests.helpers import plan_against, write_marked

HEADER = """\
version: 1
platforms:
  glue: {type: aws_glue, region: us-east-1}
  batch: {type: aws_batch, region: us-east-1, default_job_queue: etl-standard}
"""


def _client(sandbox: Sandbox, service: str) -> Any:
    return boto3.client(service, endpoint_url=sandbox.endpoint_url, region_name="us-east-1")  # type: ignore[call-overload]


def _plan(
    sandbox: Sandbox, path: Path, run_plan: str = "p", env: dict[str, str] | None = None
) -> Plan:
    plan: Plan = plan_against(sandbox.endpoint_url, path, run_plan, env)
    return plan


def _found(plan: Plan) -> set[tuple[str, Severity, Position | None]]:
    return {(f.code, f.severity, f.position) for f in plan.all_findings()}


# ------------------------------------------------------------------ errors


def test_missing_glue_job_is_an_error_at_its_external_id(sandbox: Sandbox, tmp_path: Path) -> None:
    path, at = write_marked(
        tmp_path,
        HEADER
        + "jobs:\n  j: {platform: glue, external_id: «x»no-such-job}\nrun_plans:\n  p: {runs: [{job: j}]}\n",
    )
    plan = _plan(sandbox, path)
    assert ("PS701", Severity.ERROR, at["x"]) in _found(plan)
    assert plan.runs[0].live is None and plan.has_errors


def test_definition_without_active_revision(sandbox: Sandbox, tmp_path: Path) -> None:
    batch = _client(sandbox, "batch")
    for definition in batch.describe_job_definitions(jobDefinitionName="cleanup")["jobDefinitions"]:
        batch.deregister_job_definition(jobDefinition=definition["jobDefinitionArn"])
    path, at = write_marked(
        tmp_path,
        HEADER
        + "jobs:\n  c: {platform: batch, external_id: «x»cleanup}\nrun_plans:\n  p: {runs: [{job: c}]}\n",
    )
    plan = _plan(sandbox, path)
    assert ("PS702", Severity.ERROR, at["x"]) in _found(plan)
    assert "at least one revision has Status=ACTIVE" in plan.runs[0].findings[0].message


@pytest.mark.parametrize(
    ("reference", "state"),
    [("nightly-export:2", "is INACTIVE"), ("nightly-export:9", "does not exist")],
)
def test_pinned_revision_inactive_or_missing(
    sandbox: Sandbox, tmp_path: Path, reference: str, state: str
) -> None:
    batch = _client(sandbox, "batch")
    arn = next(
        d["jobDefinitionArn"]
        for d in batch.describe_job_definitions(jobDefinitionName="nightly-export")[
            "jobDefinitions"
        ]
        if d["revision"] == 2
    )
    batch.deregister_job_definition(jobDefinition=arn)
    path, at = write_marked(
        tmp_path,
        HEADER
        + f"jobs:\n  e: {{platform: batch, external_id: «x»{reference}}}\nrun_plans:\n  p: {{runs: [{{job: e}}]}}\n",
    )
    plan = _plan(sandbox, path)
    [finding] = [f for f in plan.all_findings() if f.code == "PS703"]
    assert (finding.severity, finding.position) == (Severity.ERROR, at["x"])
    assert state in finding.message


def test_bare_name_resolves_to_the_highest_active_revision(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    path, _ = write_marked(
        tmp_path,
        HEADER
        + "jobs:\n  e: {platform: batch, external_id: nightly-export, parameters: {input_path: x, partners: y}}\nrun_plans:\n  p: {runs: [{job: e}]}\n",
    )
    assert _plan(sandbox, path).runs[0].live == "nightly-export -> nightly-export:3"


def test_arn_without_revision_resolves_like_the_bare_name(sandbox: Sandbox, tmp_path: Path) -> None:
    """SubmitJob runs the latest ACTIVE revision of such an ARN; DescribeJobDefinitions'
    jobDefinitions takes only ARNs with a revision, so it is looked up by name."""
    arn = "arn:aws:batch:us-east-1:123456789012:job-definition/nightly-export"
    path, _ = write_marked(
        tmp_path,
        HEADER
        + f"jobs:\n  e: {{platform: batch, external_id: '{arn}', parameters: {{input_path: x, partners: y}}}}\nrun_plans:\n  p: {{runs: [{{job: e}}]}}\n",
    )
    sandbox.log.clear()
    assert _plan(sandbox, path).runs[0].live == f"{arn} -> nightly-export:3"
    [described] = sandbox.requests("DescribeJobDefinitions")
    assert described.params["jobDefinitionName"] == "nightly-export"


def test_missing_queue_points_where_the_queue_was_named(sandbox: Sandbox, tmp_path: Path) -> None:
    text = (
        HEADER
        + "jobs:\n  c: {platform: batch, external_id: cleanup}\nrun_plans:\n  p:\n    runs:\n      - job: c\n        compute: {job_queue: «q»no-such-queue}\n"
    )
    path, at = write_marked(tmp_path, text)
    plan = _plan(sandbox, path)
    assert ("PS704", Severity.ERROR, at["q"]) in _found(plan)
    assert "job attribute / platform default" in plan.runs[0].findings[0].message


def test_disabled_queue(sandbox: Sandbox, tmp_path: Path) -> None:
    _client(sandbox, "batch").update_job_queue(jobQueue="etl-standard", state="DISABLED")
    path, at = write_marked(
        tmp_path,
        HEADER.replace("default_job_queue: etl-standard", "default_job_queue: «q»etl-standard")
        + "jobs:\n  c: {platform: batch, external_id: cleanup}\nrun_plans:\n  p: {runs: [{job: c}]}\n",
    )
    assert ("PS705", Severity.ERROR, at["q"]) in _found(_plan(sandbox, path))


def test_fair_share_queue_without_share_identifier_is_an_error(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    path, at = write_marked(
        tmp_path,
        HEADER
        + "jobs:\n  t: {platform: batch, external_id: thumbnails, job_queue: «q»media-fair-share}\nrun_plans:\n  p: {runs: [{job: t}]}\n",
    )
    assert ("PS706", Severity.ERROR, at["q"]) in _found(_plan(sandbox, path))


def test_share_identifier_on_a_queue_without_policy_is_an_error(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    path, at = write_marked(
        tmp_path,
        HEADER
        + "jobs:\n  t: {platform: batch, external_id: thumbnails, job_queue: «q»etl-high, share_identifier: media}\nrun_plans:\n  p: {runs: [{job: t}]}\n",
    )
    assert ("PS707", Severity.ERROR, at["q"]) in _found(_plan(sandbox, path))


def test_parallel_runs_beyond_max_concurrent_runs(sandbox: Sandbox, tmp_path: Path) -> None:
    text = (
        HEADER
        + "jobs:\n  c: {platform: glue, external_id: customers-etl}\nrun_plans:\n  p:\n    runs:\n      - {name: a, job: c}\n      - «b»{name: b, job: c}\n      - {name: z, job: c, after: [a, b]}\n"
    )
    path, at = write_marked(tmp_path, text)
    plan = _plan(sandbox, path)
    [finding] = [f for f in plan.findings if f.code == "PS708"]
    assert (finding.severity, finding.position) == (Severity.ERROR, at["b"])
    assert (
        "may start 2 runs of Glue job 'customers-etl' at once (a, b), but its MaxConcurrentRuns is 1"
        in finding.message
    )


def test_runs_ordered_by_after_do_not_count_as_parallel(sandbox: Sandbox, tmp_path: Path) -> None:
    text = (
        HEADER
        + "jobs:\n  c: {platform: glue, external_id: customers-etl}\nrun_plans:\n  p:\n    runs:\n      - {name: a, job: c}\n      - {name: b, job: c, after: [a]}\n"
    )
    path, _ = write_marked(tmp_path, text)
    assert not _plan(sandbox, path).has_errors


def test_arguments_beyond_260_kb(sandbox: Sandbox, tmp_path: Path) -> None:
    blob = "x" * (130 * 1024)
    text = (
        HEADER
        + f"jobs:\n  «j»c:\n    platform: glue\n    external_id: customers-etl\n    parameters: {{a: {blob}, b: {blob}, c: {blob}}}\nrun_plans:\n  p:\n    runs:\n      - «r»job: c\n"
    )
    path, at = write_marked(tmp_path, text)
    plan = _plan(sandbox, path)
    [finding] = [f for f in plan.all_findings() if f.code == "PS709"]
    assert finding.severity is Severity.ERROR and finding.position == at["r"]


def test_worker_settings_on_a_python_shell_job_are_an_error(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    text = (
        HEADER
        + "jobs:\n  q:\n    platform: glue\n    external_id: orders-quality\n    «c»compute: {worker_type: G.1X}\nrun_plans:\n  p: {runs: [{job: q}]}\n"
    )
    path, at = write_marked(tmp_path, text)
    plan = _plan(sandbox, path)
    assert ("PS710", Severity.ERROR, at["c"]) in _found(plan)


# ------------------------------------------------------------------ drift and notes


def test_batch_drift_placeholders_and_defaults(sandbox: Sandbox, tmp_path: Path) -> None:
    text = HEADER + (
        "jobs:\n  «j»e:\n    platform: batch\n    external_id: nightly-export:3\n    parameters:\n"
        "      «extra»region: eu\n      input_path: «default»s3://other/\n"
        "run_plans:\n  p: {runs: [{job: e}]}\n"
    )
    path, at = write_marked(tmp_path, text)
    found = _found(_plan(sandbox, path))
    assert ("PS711", Severity.DRIFT, at["extra"]) in found  # no Ref::region in the definition
    assert ("PS713", Severity.DRIFT, at["default"]) in found  # s3://exports/in/ live
    assert ("PS712", Severity.DRIFT, at["j"]) in found  # Ref::partners has no value anywhere


def test_run_level_parameter_without_placeholder_points_at_the_run(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    text = (
        HEADER
        + "jobs:\n  c: {platform: batch, external_id: cleanup, allow_undeclared_parameters: true, parameters: {older_than_days: '14'}}\nrun_plans:\n  p:\n    runs:\n      - job: c\n        parameters: {«x»typo_days: 3}\n"
    )
    path, at = write_marked(tmp_path, text)
    assert ("PS711", Severity.DRIFT, at["x"]) in _found(_plan(sandbox, path))


def test_glue_drift_and_non_overridable_arguments(sandbox: Sandbox, tmp_path: Path) -> None:
    _client(sandbox, "glue").create_job(
        Name="locked", Role="r", Command={"Name": "glueetl", "ScriptLocation": "s3://s/x.py"},
        DefaultArguments={"--day": "2026-01-01"}, NonOverridableArguments={"--env": "prod"},
    )  # fmt: skip
    text = (
        HEADER
        + "jobs:\n  l:\n    platform: glue\n    external_id: locked\n    parameters:\n      «day»day: «value»2026-02-02\n      «env»env: dev\nrun_plans:\n  p: {runs: [{job: l}]}\n"
    )
    path, at = write_marked(tmp_path, text)
    found = _found(_plan(sandbox, path))
    assert ("PS713", Severity.DRIFT, at["value"]) in found
    assert ("PS715", Severity.DRIFT, at["env"]) in found


def test_notes_say_what_the_definition_supplies(sandbox: Sandbox, tmp_path: Path) -> None:
    text = (
        HEADER
        + "jobs:\n  «o»o: {platform: glue, external_id: orders-etl}\n  «c»c: {platform: batch, external_id: cleanup}\nrun_plans:\n  p: {runs: [{job: o}, {job: c}]}\n"
    )
    path, at = write_marked(tmp_path, text)
    plan = _plan(sandbox, path)
    notes = {
        (f.code, f.position): f.message for f in plan.all_findings() if f.severity is Severity.NOTE
    }
    assert "worker_type G.1X" in notes[("PS721", at["o"])]
    assert (
        notes[("PS722", at["o"])]
        == "filled from the job's DefaultArguments: --row_limit, --source_path, --target_table"
    )
    assert notes[("PS722", at["c"])] == "filled from cleanup:1's defaults: older_than_days"
    # nothing but the attempt's identity: Glue fills the rest from DefaultArguments
    assert plan.runs[0].request == {
        "JobName": "orders-etl",
        "Arguments": {"--polysync-attempt-id": "${attempt_id}"},
    }


# ------------------------------------------------------------------ the example project


def test_example_plan_discovers_with_the_fewest_calls(sandbox: Sandbox) -> None:
    sandbox.log.clear()
    _plan(sandbox, EXAMPLES, "nightly", {"ORDERS_API_TOKEN": "t"})
    assert sandbox.log.counts() == {
        "BatchGetJobs": 1,
        "DescribeJobQueues": 1,
        "DescribeJobDefinitions": 1,
        # the cost: one page of recent runs per Glue job, the queues' compute environments
        "GetJobRuns": 3,
        "DescribeComputeEnvironments": 1,
    }
    # A bare name and a pinned revision: one page of the account's ACTIVE listing
    # answers both (asking would take two calls).
    [listing] = sandbox.requests("DescribeJobDefinitions")
    assert listing.params == {"status": "ACTIVE", "maxResults": 100}


def test_requests_in_the_plan_are_exactly_what_the_emulator_receives(sandbox: Sandbox) -> None:
    env = {"ORDERS_API_TOKEN": "t0k3n-value"}
    plan = _plan(sandbox, EXAMPLES, "nightly", env)
    project = load_project(EXAMPLES, env=env)
    sessions = Sessions(sandbox_url=sandbox.endpoint_url)
    sandbox.log.clear()
    attempts = [str(uuid.uuid4()) for _ in plan.runs]
    for planned, attempt_id in zip(plan.runs, attempts, strict=True):
        provider = client_for(planned.platform, project.platforms[planned.platform], sessions)
        provider.submit(RunRequest(planned.api, planned.resolved_request(env, attempt_id)))
    received = [r.params for r in sandbox.requests() if r.operation in ("StartJobRun", "SubmitJob")]
    assert received == [
        planned.resolved_request(env, attempt_id)
        for planned, attempt_id in zip(plan.runs, attempts, strict=True)
    ]
    assert received[0]["Arguments"]["--api_token"] == "t0k3n-value"
    # Each carries its attempt's identity where the plan shows the slot.
    assert received[0]["Arguments"]["--polysync-attempt-id"] == attempts[0]
    batch_names = [r["jobName"] for r in received if "jobName" in r]
    assert batch_names and all(n.startswith("Polysync-") for n in batch_names)


def test_plan_file_holds_no_secret_and_show_renders_it(
    sandbox: Sandbox,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ORDERS_API_TOKEN", "CANARY-plan-secret")
    out = tmp_path / "plan.json"
    assert run(["plan", str(EXAMPLES), "-r", "nightly", "--sandbox", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    content = out.read_text()
    assert "CANARY" not in content and "CANARY" not in printed
    document = json.loads(content)
    assert document["runs"][0]["request"]["Arguments"]["--api_token"] == {
        "$env": "ORDERS_API_TOKEN"
    }
    assert run(["show", str(out)]) == 0
    assert capsys.readouterr().out == printed


def test_exit_codes(
    sandbox: Sandbox,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ORDERS_API_TOKEN", "t")
    assert run(["plan", str(EXAMPLES), "-r", "nightly", "--sandbox", "--detailed-exitcode"]) == 2
    assert run(["plan", str(EXAMPLES), "-r", "nightly", "--sandbox"]) == 0
    assert run(["plan", str(EXAMPLES), "--sandbox"]) == 64  # two run plans: which one?
    assert run(["plan", str(EXAMPLES), "-r", "nope", "--sandbox"]) == 64
    path, _ = write_marked(
        tmp_path,
        HEADER
        + "jobs:\n  j: {platform: glue, external_id: no-such-job}\nrun_plans:\n  p: {runs: [{job: j}]}\n",
    )
    assert run(["plan", str(path), "--sandbox", "--detailed-exitcode"]) == 1
    monkeypatch.delenv("ORDERS_API_TOKEN")
    assert run(["plan", str(EXAMPLES), "-r", "nightly", "--sandbox"]) == 1  # the secret is needed
    assert "ORDERS_API_TOKEN is not set" in capsys.readouterr().err


def test_show_refuses_a_file_that_is_not_a_plan(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bogus = tmp_path / "x.json"
    bogus.write_text('{"format": "something-else"}')
    assert run(["show", str(bogus)]) == 1
    assert "is not a valid plan file" in capsys.readouterr().err


# ------------------------------------------------------------------ undeclared parameters


def test_an_undeclared_run_parameter_is_an_error_and_nothing_is_asked_of_aws(
    sandbox: Sandbox,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Issue 17: a misspelled run parameter was a warning, and sent to AWS as a new argument.
    path, at = write_marked(
        tmp_path,
        HEADER
        + "jobs:\n  etl: {platform: glue, external_id: customers-etl, parameters: {full_refresh: x}}\n"
        + "run_plans:\n  p: {runs: [{job: etl, parameters: {«k»full_refesh: 'true'}}]}\n",
    )
    project = load_project(path, env={})
    [d] = project.errors
    assert (d.code, d.position) == ("PS508", at["k"])
    assert "(did you mean 'full_refresh'?)" in d.message
    assert "allow_undeclared_parameters: true" in d.message
    monkeypatch.chdir(tmp_path)
    for command in (["validate", str(path)], ["plan", str(path)], ["apply", str(path), "--auto-approve"]):  # fmt: skip
        assert run(command) == 1
        assert f"{at['k']}: error PS508:" in "".join(capsys.readouterr())
    assert sandbox.requests("StartJobRun") == []


def test_a_job_that_allows_undeclared_parameters_sends_them_as_given(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    path, _ = write_marked(
        tmp_path,
        HEADER
        + "jobs:\n  etl:\n    platform: glue\n    external_id: customers-etl\n"
        + "    allow_undeclared_parameters: true\n"
        + "run_plans:\n  p: {runs: [{job: etl, parameters: {extra: 5, flag: true}}]}\n",
    )
    assert load_project(path, env={}).diagnostics == []
    plan = _plan(sandbox, path)
    assert plan.runs[0].request["Arguments"] == {
        "--extra": "5",
        "--flag": "true",
        "--polysync-attempt-id": "${attempt_id}",
    }
