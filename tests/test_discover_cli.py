"""`polysync discover` and `polysync sandbox` from the command line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from polysync_spec.cli import run
from polysync_spec.sandbox.server import Sandbox
from tests.conftest import EXAMPLES


def test_discover_glue_lists_jobs_with_imported_parameters(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["discover", str(EXAMPLES), "--platform", "glue_main", "-o", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    jobs = {job["name"]: job for job in document["jobs"]}
    assert set(jobs) == {"orders-etl", "customers-etl", "orders-quality"}
    assert jobs["orders-etl"]["parameters"]["row_limit"] == {"value": 500, "type": "integer"}
    assert "job-bookmark-option" not in jobs["orders-etl"]["parameters"]
    assert [r.operation for r in sandbox.requests()] == ["GetJobs"]


def test_discover_batch_lists_highest_revisions_and_queues(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["discover", str(EXAMPLES), "--platform", "batch_main"]) == 0
    out = capsys.readouterr().out
    assert "  nightly-export:3\n" in out and "nightly-export:2" not in out
    assert "  media-fair-share  [ENABLED, VALID, fair-share]" in out
    assert {r.operation for r in sandbox.requests()} == {
        "DescribeJobDefinitions",
        "DescribeJobQueues",
    }


def test_discover_unknown_platform_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["discover", str(EXAMPLES), "--platform", "nope"]) == 1
    assert "no valid platform 'nope'" in capsys.readouterr().err


def test_discover_without_aws_says_what_failed(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    assert run(["discover", str(EXAMPLES), "--platform", "glue_main"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: discovering Glue jobs in us-east-1:")
    assert "Traceback" not in err


def test_sandbox_command_serves_on_loopback_and_stops_on_sigint() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "polysync_spec", "sandbox", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith("polysync sandbox listening on http://127.0.0.1:")
        assert (
            "seeded: 3 Glue jobs, 3 Batch queues, 6 Batch definition revisions"
            in process.stdout.readline()
        )
    finally:
        process.send_signal(signal.SIGINT)
        # A bound on a hang, not a measure of speed: shutdown on a loaded 2-core machine
        # has taken over 10 s.
        assert process.wait(timeout=120) == 0


def test_discover_with_sandbox_needs_no_aws_and_no_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    assert run(["discover", str(EXAMPLES), "-p", "glue_main", "--sandbox"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("Glue jobs on glue_main (us-east-1): 3\n")
    assert "(no running sandbox: this command uses its own at http://127.0.0.1:" in err
