"""Issue 19, least privilege: every command works with exactly the product documents'
permissions (plus logs:GetLogEvents), and with the policy `polysync iam` prints; a
policy missing one permission fails with a message naming it. Through the CLI, on the
sandbox with IAM enforced, as a user whose keys are in the environment."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from polysync_spec.cli import run
from polysync_spec.providers.glue.runs import GET_JOB_RUNS_PAGE, HISTORY_PAGE
from polysync_spec.sandbox.lifecycle import Outcome
from polysync_spec.sandbox.server import Sandbox
from tests.helpers import SANDBOX_PLATFORMS, write
from tests.iam_policies import PRODUCT_DOCUMENTS, without

Grant = Callable[[Mapping[str, Any]], tuple[str, str]]
PROJECT = (
    SANDBOX_PLATFORMS
    + """\
jobs:
  load: {platform: glue, external_id: customers-etl}
  wait: {platform: glue, external_id: orders-etl}
  clean: {platform: batch, external_id: cleanup}
run_plans:
  done:
    runs: [{job: load}, {job: clean}]
  held:
    runs: [{job: wait}, {job: clean}]
"""
)
ACCOUNT = "123456789012"


def _quick(*logs: str) -> Outcome:
    return Outcome(starting_seconds=0.1, running_seconds=0.2, logs=logs)


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = run(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _generated_policy(capsys: pytest.CaptureFixture[str], path: Path) -> dict[str, Any]:
    code, out, _ = _cli(capsys, "iam", str(path), "--account-id", ACCOUNT)
    assert code == 0
    policy: dict[str, Any] = json.loads(out)
    return policy


def _every_command(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str], path: Path
) -> dict[str, str]:
    """plan -> apply -> status -> logs, then a detached apply cancelled and watched; each
    must succeed. Returns the outputs by step."""
    outputs: dict[str, str] = {}
    sandbox.script("glue", "customers-etl", _quick("glue says hello"))
    sandbox.script("batch", "cleanup", _quick("batch says hello"))

    code, outputs["plan"], err = _cli(capsys, "plan", str(path), "-r", "done")
    assert code == 0, err
    code, outputs["apply"], err = _cli(
        capsys, "apply", str(path), "-r", "done", "--auto-approve", "--poll-interval", "0.05"
    )
    assert code == 0, outputs["apply"] + err
    assert "load: Success" in outputs["apply"] and "clean: Success" in outputs["apply"]

    code, out, _ = _cli(capsys, "status")
    assert code == 0
    done_id = out.split()[0]
    code, outputs["status"], _ = _cli(capsys, "status", done_id)
    assert code == 0
    runs = {line.split()[0]: line.split()[2] for line in outputs["status"].splitlines()}
    for key, expected in (("load", "glue says hello"), ("clean", "batch says hello")):
        code, out, err = _cli(capsys, "logs", runs[key])
        assert code == 0 and expected in out, err

    sandbox.script("glue", "orders-etl", Outcome(stuck_in="RUNNING"))
    sandbox.script("batch", "cleanup", Outcome(stuck_in="RUNNING"))
    code, out, err = _cli(capsys, "apply", str(path), "-r", "held", "--auto-approve", "--detach")
    assert code == 0, out + err
    code, out, _ = _cli(capsys, "status")
    held_id = next(line.split()[0] for line in out.splitlines() if line.split()[1] == "held")
    code, outputs["cancel"], err = _cli(capsys, "cancel", "--apply", held_id, "--wait", "20")
    assert code == 0, outputs["cancel"] + err
    code, outputs["watch"], err = _cli(
        capsys, "status", held_id, "--watch", "--interval", "0.1", "--timeout", "10"
    )
    assert "wait  Cancelled" in outputs["watch"] and "clean  Cancelled" in outputs["watch"]
    return outputs


def test_every_command_works_with_the_product_documents_permissions(
    sandbox: Sandbox,
    as_iam_user: Grant,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, PROJECT)
    as_iam_user(PRODUCT_DOCUMENTS)
    outputs = _every_command(sandbox, capsys, path)
    # The queue could not be described: said, not an error.
    assert "PS719" in outputs["plan"]
    # Each process asks for a denied call once, then falls back: three processes plan.
    assert len(sandbox.requests("BatchGetJobs")) == 3
    assert len(sandbox.requests("DescribeJobQueues")) == 3


def test_every_command_works_with_the_policy_polysync_iam_prints(
    sandbox: Sandbox,
    as_iam_user: Grant,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, PROJECT)
    as_iam_user(_generated_policy(capsys, path))
    outputs = _every_command(sandbox, capsys, path)
    assert "PS719" not in outputs["plan"]  # DescribeJobQueues is granted: queues checked
    assert not sandbox.requests("GetJob")  # BatchGetJobs is granted: no fallback


@pytest.mark.parametrize(
    ("missing", "command", "named"),
    [
        ("glue:StartJobRun", "apply", "glue:StartJobRun on arn:aws:glue:us-east-1:"),
        ("batch:SubmitJob", "apply", "needs batch:SubmitJob on both arn:aws:batch:us-east-1:"),
        ("batch:DescribeJobDefinitions", "plan", "needs batch:DescribeJobDefinitions"),
    ],
)
def test_a_policy_missing_one_permission_fails_naming_it(
    sandbox: Sandbox,
    as_iam_user: Grant,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    missing: str,
    command: str,
    named: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, PROJECT)
    sandbox.script("glue", "customers-etl", _quick())
    sandbox.script("batch", "cleanup", _quick())
    as_iam_user(without(_generated_policy(capsys, path), missing))
    argv = [command, str(path), "-r", "done"]
    if command == "apply":
        argv += ["--auto-approve", "--poll-interval", "0.05"]
    code, out, err = _cli(capsys, *argv)
    assert code != 0
    assert f"not authorized to perform: {missing}" in out + err
    assert named in out + err


def test_three_runs_of_one_glue_job_succeed_without_get_job_runs(
    sandbox: Sandbox,
    as_iam_user: Grant,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The issue's report: three runs of one job were polled with GetJobRuns, denied, and
    all ended Unknown although they succeeded."""
    import boto3

    boto3.client(
        "glue",
        endpoint_url=sandbox.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="sandbox",
        aws_secret_access_key="sandbox",
    ).create_job(
        Name="wide",
        Role=f"arn:aws:iam::{ACCOUNT}:role/glue",
        Command={"Name": "glueetl", "ScriptLocation": "s3://scripts/wide.py"},
        ExecutionProperty={"MaxConcurrentRuns": 3},
    )
    sandbox.script("glue", "wide", Outcome(starting_seconds=0.3, running_seconds=0.6))
    monkeypatch.chdir(tmp_path)
    path = write(
        tmp_path,
        SANDBOX_PLATFORMS
        + "jobs:\n  wide: {platform: glue, external_id: wide}\n"
        + "run_plans:\n  p:\n    runs:\n"
        + "".join(f"      - {{job: wide, name: w{i}}}\n" for i in range(3)),
    )
    as_iam_user(PRODUCT_DOCUMENTS)
    code, out, err = _cli(capsys, "apply", str(path), "--auto-approve", "--poll-interval", "0.05")
    assert code == 0, out + err
    assert all(f"w{i}: Success" in out for i in range(3)), out
    # Refused once to plan's client (the runs' history, for the cost) and once to apply's
    # (polling three runs at once), never asked again by either.
    assert [r.params["MaxResults"] for r in sandbox.requests("GetJobRuns")] == [
        HISTORY_PAGE,
        GET_JOB_RUNS_PAGE,
    ]
