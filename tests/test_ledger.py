"""Both ledgers honour one contract; the S3 ledger works against the emulator's S3 and
its lock is a conditional write."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from polysync_spec.cli import run
from polysync_spec.engine.ledger import Ledger, LockHeld, S3Ledger, SqliteLedger
from polysync_spec.engine.model import PlannedRun
from polysync_spec.engine.phase import RunPhase
from polysync_spec.sandbox.lifecycle import Outcome
from polysync_spec.sandbox.server import Sandbox
from tests.helpers import write

RUN = PlannedRun("load", "load", "glue", "glue", "us-east-1", "StartJobRun", {"JobName": "x"}, "x")
OTHER = PlannedRun(
    "clean", "clean", "batch", "batch", "us-east-1", "SubmitJob", {"jobName": "y"}, "y"
)


def _s3(sandbox: Sandbox) -> Any:
    client = boto3.client("s3", endpoint_url=sandbox.endpoint_url, region_name="us-east-1")
    client.create_bucket(Bucket="polysync-state")
    return client


@pytest.fixture(params=["sqlite", "s3"])
def ledger(request: pytest.FixtureRequest, tmp_path: Path, sandbox: Sandbox) -> Iterator[Ledger]:
    store: Ledger = (
        SqliteLedger(tmp_path / "state.db")
        if request.param == "sqlite"
        else S3Ledger("s3://polysync-state/ci/main", _s3(sandbox))
    )
    yield store
    store.close()


def test_ledger_contract(ledger: Ledger) -> None:
    ledger.begin("a1", {"run_plan": "nightly", "manifest_path": "m", "runs": []})
    ledger.intent("a1", RUN, "0b6e…attempt", 1700000000.5)
    recorded = ledger.runs("a1")["load"]
    assert (recorded.status, recorded.run_id) == ("Submitting", None)
    assert (recorded.attempt_id, recorded.intent_at) == ("0b6e…attempt", 1700000000.5)
    ledger.submitted("a1", "load", "x/jr_1")
    ledger.status("a1", "load", RunPhase.SUCCESS, None, True)
    ledger.skipped("a1", OTHER, "because")
    runs = ledger.runs("a1")
    assert (runs["load"].status, runs["load"].run_id) == ("Success", "x/jr_1")
    assert runs["load"].finished_at is not None
    assert (runs["clean"].status, runs["clean"].message) == ("Skipped", "because")
    assert ledger.find_run("x/jr_1") is not None and ledger.find_run("x/jr_1")[0] == "a1"  # type: ignore[index]
    assert [a[0] for a in ledger.applies()] == ["a1"]
    assert ledger.plan("a1") == {"run_plan": "nightly", "manifest_path": "m", "runs": []}
    ledger.forget("a1", ["clean"])
    assert set(ledger.runs("a1")) == {"load"}


def test_ledger_lock_refuses_a_second_holder_until_released(ledger: Ledger) -> None:
    assert ledger.acquire("a1") == "a1"
    with pytest.raises(LockHeld, match="polysync unlock a1"):
        ledger.acquire("a1")
    assert ledger.release("a1")
    assert ledger.acquire("a1") == "a1"


def test_apply_with_an_s3_ledger_records_runs_and_resumes(
    sandbox: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    s3 = _s3(sandbox)
    sandbox.script("batch", "cleanup", Outcome(starting_seconds=0.1, running_seconds=0.2))
    path = write(
        tmp_path,
        "version: 1\nplatforms:\n  batch: {type: aws_batch, region: us-east-1, default_job_queue: etl-standard}\n"
        "jobs:\n  clean: {platform: batch, external_id: cleanup}\nrun_plans:\n  p: {runs: [{job: clean}]}\n",
    )
    state = "s3://polysync-state/ci/main"
    args = ["apply", str(path), "--auto-approve", "--state", state, "--poll-interval", "0.05"]
    assert run(args) == 0
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="polysync-state")["Contents"]]
    assert any(k.endswith("/runs/clean.json") for k in keys)
    assert not any("/locks/" in k for k in keys)  # released
    assert run(args) == 0
    assert len(sandbox.requests("SubmitJob")) == 1  # the second apply submitted nothing
    capsys.readouterr()
    assert run(["status", "--state", state]) == 0
    apply_id = capsys.readouterr().out.split()[0]
    S3Ledger(state, s3).acquire(apply_id)  # another CI job holds it
    assert run(args) == 1
    assert "is locked by pid" in capsys.readouterr().err
    assert run(["unlock", apply_id, "--state", state]) == 0
    assert run(args) == 0


def test_a_lock_left_by_a_dead_process_of_this_host_is_taken_over(ledger: Ledger) -> None:
    import socket
    import subprocess
    import sys

    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead = f"pid {gone.stdout.strip()} on {socket.gethostname()}"
    if isinstance(ledger, SqliteLedger):
        ledger._db.execute("INSERT INTO locks VALUES ('a1', ?, 0)", (dead,))
    else:
        assert isinstance(ledger, S3Ledger)
        ledger._put(ledger._key("locks", "a1.json"), {"holder": dead, "acquired_at": 0})
    assert ledger.acquire("a1") == "a1"
    with pytest.raises(LockHeld):  # and now it is ours, alive
        ledger.acquire("a1")
