"""An outside attack on "nothing lost, nothing forever: every command as robust as apply,
every state honest" (status --watch, cancel, logs --follow, re-attached runs, the ledger).

Each test reproduces one broken promise and fails against the code it was written for."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import boto3
import pytest

from polysync_spec.cli import run
from polysync_spec.engine.ledger import SqliteLedger
from polysync_spec.errors import ExitCode
from polysync_spec.sandbox.lifecycle import Outcome, write_logs
from polysync_spec.sandbox.server import Sandbox
from tests.applying import HEADER, crash_after_intent, fast, plan_for
from tests.helpers import write

STUCK = Outcome(stuck_in="RUNNING", starting_seconds=0.05)
TWO_PLATFORMS = HEADER + "run_plans:\n  p:\n    runs:\n      - {job: load}\n      - {job: clean}\n"


def _one(job: str) -> str:
    return HEADER + f"run_plans:\n  p:\n    runs:\n      - {{job: {job}}}\n"


def _detached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str
) -> tuple[Path, str, dict[str, str]]:
    """Apply `text` with --detach in tmp_path: (manifest path, apply id, key -> run id)."""
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, text)
    assert run(["apply", str(path), "--auto-approve", "--detach"]) == ExitCode.OK
    ledger = SqliteLedger(tmp_path / ".polysync" / "state.db")
    try:
        [(apply_id, _, _)] = ledger.applies()
        run_ids = {k: r.run_id or "" for k, r in ledger.runs(apply_id).items()}
    finally:
        ledger.close()
    return path, apply_id, run_ids


def _drop_glue(path: Path) -> None:
    """The manifests lose the Glue platform (and its jobs and runs)."""
    text = path.read_text()
    for line in (
        "  glue: {type: aws_glue, region: us-east-1}\n",
        "  load: {platform: glue, external_id: customers-etl}\n",
        "  check: {platform: glue, external_id: orders-quality}\n",
        "      - {job: load}\n",
    ):
        text = text.replace(line, "")
    path.write_text(text)


# ------------------------------------------------------------------ honest states


def test_status_watch_does_not_pass_while_an_unrecorded_submission_runs_in_aws(
    sandbox: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A SIGKILL between SubmitJob and the ledger write: the job runs in AWS, the ledger
    holds its intent and identity (plan shows it as `?`, cancel --apply finds it). status
    --watch says "nothing in flight" and exits 0: a CI step passes on a run nobody
    followed."""
    fast(sandbox, cleanup=STUCK)
    monkeypatch.chdir(tmp_path)
    plan = plan_for(sandbox, write(tmp_path, _one("clean")))
    crash_after_intent(sandbox, plan, tmp_path, submitted=True)
    code = run(
        [
            "status", plan.plan_id, "--watch", "--interval", "0.05", "--timeout", "2",
            "--state", str(tmp_path / "state.db"),
        ]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code != ExitCode.OK, out  # the run is going in AWS (STUCK): not a success
    assert "nothing in flight" not in out


def test_cancel_of_a_glue_run_that_already_ended_says_so_and_records_it(
    sandbox: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The ledger still says Submitted (the apply detached); in AWS the run succeeded.
    Batch (TerminateJob accepted) answers "ended Success"; Glue's refusal ("is in state
    SUCCEEDED and cannot be stopped") is reported as a refusal, the run is never read,
    and the ledger keeps a finished run in flight."""
    fast(sandbox, **{"customers-etl": Outcome(starting_seconds=0.05, running_seconds=0.1)})
    _, apply_id, run_ids = _detached(tmp_path, monkeypatch, _one("load"))
    job_name, job_run_id = run_ids["load"].split("/")
    glue = boto3.client("glue", endpoint_url=sandbox.endpoint_url, region_name="us-east-1")
    for _ in range(100):  # bounded: the run takes ~0.15 s
        state = glue.get_job_run(JobName=job_name, RunId=job_run_id)["JobRun"]["JobRunState"]
        if state == "SUCCEEDED":
            break
        time.sleep(0.05)
    assert state == "SUCCEEDED"
    capsys.readouterr()
    run(["cancel", "--apply", apply_id, "--wait", "5"])
    out = capsys.readouterr().out
    ledger = SqliteLedger(tmp_path / ".polysync" / "state.db")
    try:
        recorded = ledger.runs(apply_id)["load"].status
    finally:
        ledger.close()
    assert "ended Success" in out, out
    assert recorded == "Success"


# ------------------------------------------------------------------ best-effort cancel


def test_cancel_with_one_platform_gone_from_the_manifests_still_cancels_the_others(
    sandbox: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """One platform's failure (here: it left the manifests) must never keep another
    platform's runs from their cancel call. The Batch run gets no TerminateJob at all."""
    fast(sandbox, cleanup=STUCK, **{"customers-etl": STUCK})
    path, apply_id, _ = _detached(tmp_path, monkeypatch, TWO_PLATFORMS)
    _drop_glue(path)
    capsys.readouterr()
    code = run(["cancel", "--apply", apply_id, "--wait", "5"])
    out = capsys.readouterr()
    assert "internal error" not in out.err
    assert len(sandbox.requests("TerminateJobs")) == 1, out.out + out.err
    assert code == ExitCode.ERROR  # the Glue run's cancellation could not be confirmed


# ------------------------------------------------------------------ bounded waits


def _recording_sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits the command's main thread asks for (time.sleep and Event.wait), each
    shortened so that the test itself never waits long."""
    asked: list[float] = []
    real_sleep, real_wait = time.sleep, threading.Event.wait

    def sleep(seconds: float) -> None:
        if threading.current_thread() is threading.main_thread():
            asked.append(seconds)
        real_sleep(min(seconds, 0.2))

    def wait(self: threading.Event, timeout: float | None = None) -> bool:
        if timeout is not None and threading.current_thread() is threading.main_thread():
            asked.append(timeout)
            timeout = min(timeout, 0.2)
        return real_wait(self, timeout)

    monkeypatch.setattr(time, "sleep", sleep)
    monkeypatch.setattr(threading.Event, "wait", wait)
    return asked


@pytest.mark.parametrize("command", ["status --watch", "logs --follow", "apply"])
def test_timeout_bounds_every_wait_whatever_the_interval(
    sandbox: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: str,
) -> None:
    """--timeout 1 with a poll interval of 600 s: the commands sleep 600 s, then 900 s,
    ... before they look at the --timeout again (asserted on the waits asked for, not on
    the clock)."""
    fast(sandbox, cleanup=STUCK)
    path, apply_id, run_ids = _detached(tmp_path, monkeypatch, _one("clean"))
    argv = {
        "status --watch": ["status", apply_id, "--watch", "--interval", "600"],
        "logs --follow": ["logs", run_ids["clean"], "--follow", "--interval", "600"],
        "apply": ["apply", str(path), "--auto-approve", "--poll-interval", "600"],
    }[command] + ["--timeout", "1"]
    asked = _recording_sleeps(monkeypatch)
    capsys.readouterr()
    run(argv)
    assert asked and max(asked) <= 1.0, f"{command} asked to wait {sorted(asked)[-3:]} s"


@pytest.mark.parametrize(
    ("command", "value"),
    [
        (command, value)
        for command in ("status --watch", "logs --follow", "apply")
        for value in ("1e300", "inf", "nan")
        if (command, value) != ("apply", "nan")  # no error there: it polls without pause
    ],
)
def test_an_extreme_interval_is_no_internal_error(
    sandbox: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: str,
    value: str,
) -> None:
    """The interval options accept any float >= 0.05: time.sleep / Event.wait then raise
    OverflowError or ValueError, reported as "internal error" (after the runs started)."""
    fast(sandbox, cleanup=STUCK)
    path, apply_id, run_ids = _detached(tmp_path, monkeypatch, _one("clean"))
    argv = {
        "status --watch": ["status", apply_id, "--watch", "--interval", value],
        "logs --follow": ["logs", run_ids["clean"], "--follow", "--interval", value],
        "apply": ["apply", str(path), "--auto-approve", "--poll-interval", value],
    }[command] + ["--timeout", "2"]
    capsys.readouterr()
    run(argv)
    err = capsys.readouterr().err
    assert "internal error" not in err, err


# ------------------------------------------------------------------ nothing lost, nothing twice


def test_logs_follow_prints_each_line_once(
    sandbox: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A Glue run writes to /aws-glue/jobs/output, then its first line to .../error.
    The tail switches to the error stream, no longer extends what was printed, and the
    follower prints the whole error stream again at every poll."""
    fast(sandbox, **{"customers-etl": STUCK})
    _, _, run_ids = _detached(tmp_path, monkeypatch, _one("load"))
    job_run_id = run_ids["load"].split("/")[1]
    write_logs("us-east-1", "/aws-glue/jobs/output", job_run_id, ["out one", "out two"])
    real_sleep = time.sleep
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        if threading.current_thread() is threading.main_thread():
            sleeps.append(seconds)
            if len(sleeps) == 1:  # after the first look: the run logs an error
                write_logs("us-east-1", "/aws-glue/jobs/error", job_run_id, ["ERROR boom"])
        real_sleep(min(seconds, 0.1))

    monkeypatch.setattr(time, "sleep", sleep)
    capsys.readouterr()
    run(["logs", run_ids["load"], "--follow", "--interval", "0.1", "--timeout", "1"])
    out = capsys.readouterr().out
    assert len(sleeps) >= 3  # several polls after the error line
    assert out.count("ERROR boom") == 1, out


# ------------------------------------------------------------------ no internal errors


@pytest.mark.parametrize("change", ["platform removed", "manifests moved"])
def test_logs_when_the_manifests_lost_the_run_s_platform_is_a_clear_error(
    sandbox: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    change: str,
) -> None:
    """status --watch and cancel say which platform is missing; logs raises KeyError."""
    fast(sandbox, cleanup=STUCK, **{"customers-etl": STUCK})
    path, _, run_ids = _detached(tmp_path, monkeypatch, TWO_PLATFORMS)
    if change == "platform removed":
        _drop_glue(path)
    else:
        path.rename(tmp_path / "elsewhere.yaml")
    capsys.readouterr()
    code = run(["logs", run_ids["load"]])
    err = capsys.readouterr().err
    assert "internal error" not in err, err
    assert code == ExitCode.ERROR and "glue" in err


def _damage_plan_row(tmp_path: Path) -> None:
    ledger = SqliteLedger(tmp_path / ".polysync" / "state.db")
    try:
        ledger._db.execute("UPDATE applies SET plan = '{\"runs\": ['")  # a torn write
    finally:
        ledger.close()


@pytest.mark.parametrize("command", ["status --watch", "cancel --apply", "cancel", "logs", "apply"])
def test_a_damaged_plan_in_the_ledger_is_a_clear_error_naming_the_file(
    sandbox: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: str,
) -> None:
    """The SQLite file is sound, the stored plan is not JSON: JSONDecodeError surfaces as
    "internal error" from every command that reads it."""
    fast(sandbox, cleanup=STUCK)
    path, apply_id, run_ids = _detached(tmp_path, monkeypatch, _one("clean"))
    _damage_plan_row(tmp_path)
    argv = {
        "status --watch": ["status", apply_id, "--watch", "--interval", "0.05", "--timeout", "2"],
        "cancel --apply": ["cancel", "--apply", apply_id, "--wait", "2"],
        "cancel": ["cancel", run_ids["clean"], "--wait", "2"],
        "logs": ["logs", run_ids["clean"]],
        "apply": ["apply", str(path), "--auto-approve", "--timeout", "2"],
    }[command]
    capsys.readouterr()
    code = run(argv)
    err = capsys.readouterr().err
    assert "internal error" not in err, err
    assert code == ExitCode.ERROR and ".polysync/state.db" in err


@pytest.mark.parametrize(
    "command", ["status", "status APPLY_ID", "cancel --apply", "logs", "apply"]
)
def test_an_s3_ledger_in_a_missing_bucket_is_a_clear_error(
    sandbox: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: str,
) -> None:
    fast(sandbox)
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, _one("clean"))
    argv = {
        "status": ["status"],
        "status APPLY_ID": ["status", "0123456789abcdef"],
        "cancel --apply": ["cancel", "--apply", "0123456789abcdef"],
        "logs": ["logs", "some-run-id"],
        "apply": ["apply", str(path), "--auto-approve", "--timeout", "5"],
    }[command] + ["--state", "s3://no-such-bucket/ci"]
    capsys.readouterr()
    code = run(argv)
    err = capsys.readouterr().err
    assert "internal error" not in err, err
    assert code == ExitCode.ERROR and "no-such-bucket" in err


@pytest.mark.parametrize("command", ["status", "apply"])
def test_a_damaged_s3_ledger_object_is_a_clear_error(
    sandbox: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: str,
) -> None:
    s3: Any = boto3.client("s3", endpoint_url=sandbox.endpoint_url)
    s3.create_bucket(Bucket="ledger")
    fast(sandbox)
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, _one("clean"))
    state = ["--state", "s3://ledger/ci"]
    assert run(["apply", str(path), "--auto-approve", "--poll-interval", "0.05", *state]) == 0
    [plan_key] = [
        o["Key"]
        for o in s3.list_objects_v2(Bucket="ledger")["Contents"]
        if o["Key"].endswith("/plan.json")
    ]
    s3.put_object(Bucket="ledger", Key=plan_key, Body=b'{"plan": {"runs": [')  # truncated
    argv = {"status": ["status"], "apply": ["apply", str(path), "--auto-approve"]}[command]
    capsys.readouterr()
    code = run([*argv, *state])
    err = capsys.readouterr().err
    assert "internal error" not in err, err
    assert code == ExitCode.ERROR and plan_key in err
