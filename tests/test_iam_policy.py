"""`polysync iam`: the least-privilege policy's shape, offline, for the example project."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from polysync_spec.cli import run
from polysync_spec.errors import ExitCode
from polysync_spec.providers.iam import permissions_table
from tests.conftest import EXAMPLES, ROOT

# Actions AWS authorises only against "*" (no resource-level permissions).
UNSCOPED = {
    "batch:DescribeJobs",
    "batch:DescribeJobQueues",
    "batch:DescribeJobDefinitions",
    "batch:DescribeComputeEnvironments",
    "batch:ListJobs",
    "glue:GetJobs",
    "glue:ListJobs",
}
GLUE_JOB_ACTIONS = {
    "glue:BatchGetJobs",
    "glue:GetJob",
    "glue:StartJobRun",
    "glue:GetJobRun",
    "glue:GetJobRuns",
    "glue:BatchStopJobRun",
}


def _policy(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[dict[str, Any], str]:
    assert run(["iam", str(EXAMPLES), *argv]) == ExitCode.OK
    captured = capsys.readouterr()
    document: dict[str, Any] = json.loads(captured.out)
    return document, captured.err


def _statements(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {statement["Sid"]: statement for statement in document["Statement"]}


def test_the_policy_has_a_statement_group_per_command(
    capsys: pytest.CaptureFixture[str],
) -> None:
    document, _ = _policy(capsys, "--account-id", "123456789012")
    assert document["Version"] == "2012-10-17"
    sids = [statement["Sid"] for statement in document["Statement"]]
    assert len(sids) == len(set(sids))
    assert all(re.fullmatch(r"[A-Za-z0-9]+", sid) for sid in sids)
    groups = {re.findall(r"[A-Z][a-z]+", sid)[0] for sid in sids}
    assert groups == {"Plan", "Apply", "Status", "Cancel", "Logs"}
    assert all(statement["Effect"] == "Allow" for statement in document["Statement"])


def test_actions_without_resource_level_permissions_get_any_resource_and_no_other(
    capsys: pytest.CaptureFixture[str],
) -> None:
    document, _ = _policy(
        capsys, "--account-id", "123456789012", "-c", "plan", "-c", "apply", "-c", "discover"
    )
    for statement in document["Statement"]:
        actions = set(statement["Action"])
        if statement["Resource"] == "*":
            assert actions <= UNSCOPED, statement
        else:
            assert not actions & UNSCOPED, statement


def test_glue_actions_are_scoped_to_the_jobs_the_run_plans_use(
    capsys: pytest.CaptureFixture[str],
) -> None:
    statements = _statements(_policy(capsys, "--account-id", "123456789012")[0])
    jobs = [
        f"arn:aws:glue:us-east-1:123456789012:job/{name}"
        for name in ("customers-etl", "orders-etl", "orders-quality")
    ]
    assert statements["PlanGlueJobs"] == {
        "Sid": "PlanGlueJobs",
        "Effect": "Allow",
        "Action": ["glue:BatchGetJobs", "glue:GetJobRuns"],
        "Resource": jobs,
    }
    assert set(statements["ApplyGlueJobs"]["Action"]) == GLUE_JOB_ACTIONS
    assert set(statements["CancelGlueJobs"]["Action"]) >= {"glue:BatchStopJobRun"}
    assert "glue:StartJobRun" not in statements["CancelGlueJobs"]["Action"]
    assert all(statements[sid]["Resource"] == jobs for sid in statements if "GlueJobs" in sid)


def test_batch_submissions_are_scoped_to_queues_and_definition_revisions(
    capsys: pytest.CaptureFixture[str],
) -> None:
    statements = _statements(_policy(capsys, "--account-id", "123456789012")[0])
    prefix = "arn:aws:batch:us-east-1:123456789012"
    submit = statements["ApplyBatchSubmit"]
    assert submit["Action"] == ["batch:SubmitJob"]
    assert set(submit["Resource"]) == {
        f"{prefix}:job-queue/etl-standard",
        f"{prefix}:job-queue/etl-high",
        f"{prefix}:job-queue/media-fair-share",
        f"{prefix}:job-definition/nightly-export:3",  # pinned: that revision only
        f"{prefix}:job-definition/cleanup",
        f"{prefix}:job-definition/cleanup:*",  # bare name: the latest ACTIVE revision
        f"{prefix}:job-definition/thumbnails",
        f"{prefix}:job-definition/thumbnails:*",
    }
    for sid in ("ApplyBatchTerminate", "CancelBatchTerminate"):
        assert statements[sid]["Action"] == ["batch:TerminateJob"]
        assert statements[sid]["Resource"] == [f"{prefix}:job/*"]
    assert "PlanBatchTerminate" not in statements


def test_logs_are_read_from_the_default_log_groups_with_a_note(
    capsys: pytest.CaptureFixture[str],
) -> None:
    document, notes = _policy(capsys, "--account-id", "123456789012")
    resources = _statements(document)["LogsLogGroups"]["Resource"]
    group = "arn:aws:logs:us-east-1:123456789012:log-group:"
    assert f"{group}/aws-glue/jobs/error:*" in resources
    assert f"{group}/aws-glue/jobs/output:*" in resources
    assert f"{group}/aws/batch/job:*" in resources
    assert _statements(document)["LogsLogGroups"]["Action"] == ["logs:GetLogEvents"]
    assert "logConfiguration" in notes and "--continuous-log-logGroup" in notes


def test_the_account_comes_from_the_option_the_role_or_a_placeholder(
    capsys: pytest.CaptureFixture[str],
) -> None:
    document, notes = _policy(capsys)
    assert "arn:aws:glue:us-east-1:${ACCOUNT}:job/orders-etl" in json.dumps(document)
    assert "replace ${ACCOUNT}" in notes
    document, notes = _policy(capsys, "--target", "prod")  # web_identity role's account
    assert "arn:aws:glue:us-east-1:123456789012:job/orders-etl" in json.dumps(document)
    assert "${ACCOUNT}" not in json.dumps(document) and "replace" not in notes
    document, _ = _policy(capsys, "--target", "dev", "--account-id", "210987654321")
    assert "arn:aws:glue:us-west-2:210987654321:job/orders-etl" in json.dumps(document)


def test_run_plan_and_command_select_what_is_granted(capsys: pytest.CaptureFixture[str]) -> None:
    document, _ = _policy(capsys, "-r", "backfill", "-c", "plan", "--account-id", "123456789012")
    statements = _statements(document)
    assert set(statements) == {"PlanGlueJobs", "PlanUnscoped"}
    assert statements["PlanGlueJobs"]["Resource"] == [
        "arn:aws:glue:us-east-1:123456789012:job/orders-etl"
    ]
    document, _ = _policy(capsys, "-c", "discover")
    assert _statements(document) == {
        "DiscoverUnscoped": {
            "Sid": "DiscoverUnscoped",
            "Effect": "Allow",
            "Action": ["batch:DescribeJobDefinitions", "batch:DescribeJobQueues", "glue:GetJobs"],
            "Resource": "*",
        }
    }


def test_text_output_lists_each_statement(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["iam", str(EXAMPLES), "-c", "cancel", "-o", "text"]) == ExitCode.OK
    out = capsys.readouterr().out
    assert "CancelBatchTerminate:\n  actions:   batch:TerminateJob\n" in out


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["-r", "weekly"], "no run plan 'weekly'"),
        (["--account-id", "12345"], "12 digits"),
    ],
)
def test_bad_options_are_usage_errors(
    capsys: pytest.CaptureFixture[str], argv: list[str], expected: str
) -> None:
    assert run(["iam", str(EXAMPLES), *argv]) == ExitCode.USAGE
    assert expected in capsys.readouterr().err


def test_readme_permissions_table_is_generated_from_the_grants() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- permissions:start -->\n(.*?)\n<!-- permissions:end -->", readme, re.S)
    assert block is not None, "README has no <!-- permissions:start/end --> block"
    assert block.group(1) == permissions_table(), (
        "the README's permissions table differs: paste providers.iam.permissions_table()"
    )
