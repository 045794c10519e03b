"""`polysync import` against the sandbox: the requests of the runs an import touches are
compared before anything is written, and captured values that changed in AWS are
reported (and, with --refresh, updated), secret-looking ones masked."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest

from polysync_spec.cli import run
from polysync_spec.sandbox.server import Sandbox
from tests.helpers import write

PROJECT = """\
version: 1
platforms:
  glue_main: {type: aws_glue, region: us-east-1}
run_plans:
  nightly:
    runs:
      - name: load
        job: loader
"""

LOADER = """\
# The nightly load, owned by the data team.
jobs:
  loader:
    platform: glue_main
    external_id: loader-job   # the Glue job
"""


def _glue(sandbox: Sandbox) -> object:
    return boto3.client("glue", endpoint_url=sandbox.endpoint_url, region_name="us-east-1")


def _create(sandbox: Sandbox, name: str, arguments: dict[str, str]) -> None:
    _glue(sandbox).create_job(  # type: ignore[attr-defined]
        Name=name,
        Role="arn:aws:iam::123456789012:role/glue",
        Command={"Name": "glueetl", "ScriptLocation": "s3://scripts/x.py"},
        DefaultArguments=arguments,
    )


def _update(sandbox: Sandbox, name: str, arguments: dict[str, str]) -> None:
    """The job's DefaultArguments changed in AWS (the sandbox has no UpdateJob: the job is
    made again, as UpdateJob would leave it)."""
    _glue(sandbox).delete_job(JobName=name)  # type: ignore[attr-defined]
    _create(sandbox, name, arguments)


def _import(project: Path, *args: str) -> int:
    return run(["import", str(project), "-p", "glue_main", *args])


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write(tmp_path, PROJECT)
    write(tmp_path, LOADER, "jobs/loader.yaml")
    return tmp_path


def _snapshot(project: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in sorted(project.rglob("*.yaml"))}


def test_an_import_that_only_states_the_jobs_defaults_writes_and_says_what_runs_is_same(
    sandbox: Sandbox, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before, Glue filled --kind from the job's DefaultArguments; after, the run sends it
    in Arguments with the same value: a different StartJobRun, the same run (Glue merges
    Arguments over DefaultArguments). Written, and said so; no flag needed."""
    _create(sandbox, "loader-job", {"--kind": "full"})
    sandbox.log.clear()
    assert _import(project, "--filter", "loader-job") == 0
    err = capsys.readouterr().err
    assert (
        "nightly/load (Arguments.--kind): now sent explicitly, with the values AWS already "
        "fills from the job or definition: what runs is unchanged"
    ) in err
    # Both plans (before and after) read one discovery of the job.
    assert len(sandbox.requests("BatchGetJobs")) == 1
    text = (project / "jobs" / "loader.yaml").read_text()
    assert "external_id: loader-job   # the Glue job\n    parameters:\n      kind: full\n" in text


def test_a_dry_run_shows_the_request_diff_under_the_file_diff(
    sandbox: Sandbox, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _create(sandbox, "loader-job", {"--kind": "full"})
    before = _snapshot(project)
    assert _import(project, "--filter", "loader-job", "--dry-run") == 0
    captured = capsys.readouterr()
    out = captured.out
    assert "+    parameters:\n+      kind: full\n" in out
    assert (
        "--- nightly/load StartJobRun (now)\n+++ nightly/load StartJobRun (after the import)" in out
    )
    assert '+    "--kind": "full",\n' in out
    assert out.index("+      kind: full") < out.index("nightly/load StartJobRun (now)")
    assert "nightly/load (Arguments.--kind): now sent explicitly" in captured.err
    assert "--allow-request-changes" not in captured.err
    assert _snapshot(project) == before


def test_an_import_that_changes_no_request_writes_and_says_so(
    sandbox: Sandbox, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The run sets --kind itself, so the job's new parameter changes nothing it sends."""
    write(project, PROJECT + "        parameters: {kind: full}\n")
    write(project, LOADER + "    allow_undeclared_parameters: true\n", "jobs/loader.yaml")
    _create(sandbox, "loader-job", {"--kind": "full"})
    assert _import(project, "--filter", "loader-job") == 0
    captured = capsys.readouterr()
    assert "no request changes" in captured.err
    assert "StartJobRun" not in captured.out
    assert "kind: full" in (project / "jobs" / "loader.yaml").read_text()


def test_a_job_no_run_plan_uses_has_nothing_to_compare(
    sandbox: Sandbox, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(project, "jobs:\n  spare: {platform: glue_main, external_id: spare-job}\n", "jobs/s.yaml")
    _create(sandbox, "spare-job", {"--kind": "full"})
    assert _import(project, "--filter", "spare-job") == 0
    assert "used by no run plan (no request to compare): spare" in capsys.readouterr().err
    assert "kind: full" in (project / "jobs" / "s.yaml").read_text()


def _position(path: Path, needle: str) -> str:
    lines = path.read_text().splitlines()
    [line] = [i for i, text in enumerate(lines) if needle in text]
    return f"{path}:{line + 1}:{lines[line].index(needle) + 1}"


def test_a_value_changed_in_aws_is_reported_with_its_position_and_kept(
    sandbox: Sandbox, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _create(sandbox, "loader-job", {"--kind": "full"})
    assert _import(project, "--filter", "loader-job", "--allow-request-changes") == 0
    _update(sandbox, "loader-job", {"--kind": "delta"})
    before = _snapshot(project)
    capsys.readouterr()
    assert _import(project, "--filter", "loader-job") == 0
    err = capsys.readouterr().err
    at = _position(project / "jobs" / "loader.yaml", "full")
    assert (
        f"{at}: job 'loader' parameters.kind: 'full' in the manifest, 'delta' in AWS; "
        "kept (--refresh takes AWS's)"
    ) in err
    assert "0 new job(s), 0 updated, 0 file(s) changed" in err
    assert _snapshot(project) == before


def test_refresh_takes_aws_value_in_place_keeping_comments(
    sandbox: Sandbox, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(
        project,
        LOADER + "    parameters:\n      kind: full      # what the nightly load reads\n"
        "      --limit: 10\n",
        "jobs/loader.yaml",
    )
    write(project, PROJECT + "        parameters: {kind: full}\n")
    _create(sandbox, "loader-job", {"--kind": "full", "--limit": "10"})
    _update(sandbox, "loader-job", {"--kind": "delta", "--limit": "20"})
    before = _snapshot(project)
    # The run sets kind itself; --limit is sent from the job: refreshing it changes the
    # request, which is refused without the flag.
    assert _import(project, "--refresh") == 1
    assert "nightly/load (Arguments.--limit)" in capsys.readouterr().err
    assert _snapshot(project) == before
    assert _import(project, "--refresh", "--allow-request-changes") == 0
    text = (project / "jobs" / "loader.yaml").read_text()
    assert text == (
        LOADER + "    parameters:\n      kind: delta     # what the nightly load reads\n"
        "      --limit: 20\n"
    )
    assert "refreshed" in capsys.readouterr().err
    after = _snapshot(project)
    assert _import(project, "--refresh") == 0  # nothing left to refresh
    assert _import(project) == 0
    assert _snapshot(project) == after


def test_a_secret_looking_value_is_never_shown(
    sandbox: Sandbox, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(
        project,
        "jobs:\n  spare: {platform: glue_main, external_id: spare-job,"
        " parameters: {db-password: old-pass-1234}}\n",
        "jobs/s.yaml",
    )
    _create(sandbox, "spare-job", {"--db-password": "new-pass-5678"})
    assert _import(project, "--filter", "spare-job") == 0
    err = capsys.readouterr().err
    assert "job 'spare' parameters.db-password: the values differ (not shown: secret)" in err
    assert _import(project, "--filter", "spare-job", "--refresh", "--dry-run") == 0
    captured = capsys.readouterr()
    shown = captured.out + captured.err
    assert "db-password: ***" in captured.out  # the file diff, masked
    assert "old-pass-1234" not in shown and "new-pass-5678" not in shown
    assert "new-pass-5678" not in (project / "jobs" / "s.yaml").read_text()  # a dry run


MIXED = """\
version: 1
platforms:
  glue_main: {type: aws_glue, region: us-east-1}
  batch_main: {type: aws_batch, region: us-east-1, default_job_queue: etl-standard}
jobs:
  export: {platform: batch_main, external_id: nightly-export:3}
  orders: {platform: glue_main, external_id: orders-etl}
run_plans:
  nightly:
    runs:
      - job: orders
      - job: export
        after: [orders]
"""


def test_following_a_new_batch_revision_is_a_request_change(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The pinned revision is a captured value: a newer one changes `jobDefinition` of the
    run that uses it (the Glue run of the same run plan is planned too, and unchanged)."""
    write(tmp_path, MIXED)
    batch = boto3.client("batch", endpoint_url=sandbox.endpoint_url, region_name="us-east-1")
    batch.register_job_definition(
        jobDefinitionName="nightly-export",
        type="container",
        containerProperties={"image": "x", "vcpus": 1, "memory": 64},
    )
    before = _snapshot(tmp_path)
    assert run(["import", str(tmp_path), "-p", "batch_main", "--filter", "nightly-*"]) == 1
    captured = capsys.readouterr()
    assert "nightly/export (jobDefinition, parameters.input_path)" in captured.err
    assert '-  "jobDefinition": "nightly-export:3"\n' in captured.out
    assert '+  "jobDefinition": "nightly-export:4",\n+  "parameters": {\n' in captured.out
    assert "nightly/orders" not in captured.out + captured.err
    assert _snapshot(tmp_path) == before
    assert (
        run(
            [
                "import",
                str(tmp_path),
                "-p",
                "batch_main",
                "--filter",
                "nightly-*",
                "--allow-request-changes",
            ]
        )
        == 0
    )
    assert "external_id: nightly-export:4" in (tmp_path / "polysync.yaml").read_text()


def test_a_value_from_the_environment_is_compared_masked_and_never_replaced(
    sandbox: Sandbox,
    project: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LOADER_KIND", "kind-from-env")
    hand = LOADER + "    parameters:\n      kind: ${env.LOADER_KIND}   # set by CI\n"
    write(project, hand, "jobs/loader.yaml")
    _create(sandbox, "loader-job", {"--kind": "kind-in-aws"})
    assert _import(project, "--refresh") == 0
    captured = capsys.readouterr()
    at = _position(project / "jobs" / "loader.yaml", "${env.LOADER_KIND}")
    assert (
        f"{at}: job 'loader' parameters.kind: the values differ (not shown: secret); "
        "kept (written as ${...}: never refreshed)"
    ) in captured.err
    assert "kind-from-env" not in captured.out + captured.err
    assert "kind-in-aws" not in captured.out + captured.err
    assert (project / "jobs" / "loader.yaml").read_text() == hand


def test_a_batch_default_parameter_changed_in_a_new_revision_is_reported_then_refreshed(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(
        tmp_path,
        "version: 1\nplatforms:\n  batch_main: {type: aws_batch, region: us-east-1,"
        " default_job_queue: etl-standard}\n",
    )
    assert run(["import", str(tmp_path), "-p", "batch_main", "--filter", "nightly-*"]) == 0
    path = tmp_path / "jobs" / "batch_main.yaml"
    assert "input_path: s3://exports/in/\n" in path.read_text()
    batch = boto3.client("batch", endpoint_url=sandbox.endpoint_url, region_name="us-east-1")
    batch.register_job_definition(
        jobDefinitionName="nightly-export",
        type="container",
        parameters={"input_path": "s3://exports/new/"},
        containerProperties={"image": "x", "vcpus": 1, "memory": 64},
    )
    capsys.readouterr()
    assert run(["import", str(tmp_path), "-p", "batch_main", "--filter", "nightly-*"]) == 0
    err = capsys.readouterr().err
    at = _position(path, "s3://exports/in/")
    assert (
        f"{at}: job 'nightly-export' parameters.input_path: 's3://exports/in/' in the "
        "manifest, 's3://exports/new/' in AWS; kept (--refresh takes AWS's)"
    ) in err
    assert "used by no run plan (no request to compare): nightly-export" in err
    text = path.read_text()
    assert "external_id: nightly-export:4" in text and "s3://exports/in/" in text
    assert (
        run(["import", str(tmp_path), "-p", "batch_main", "--filter", "nightly-*", "--refresh"])
        == 0
    )
    assert path.read_text() == text.replace("s3://exports/in/", "s3://exports/new/")
