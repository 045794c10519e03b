"""Log tails: under failed runs in apply, from `polysync logs`, degrading to a note."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from polysync_spec.cli import run
from polysync_spec.sandbox.lifecycle import Outcome
from polysync_spec.sandbox.server import Sandbox
from tests.helpers import SANDBOX_PLATFORMS, write

PROJECT = (
    SANDBOX_PLATFORMS
    + """\
jobs:
  load: {platform: glue, external_id: customers-etl}
  clean: {platform: batch, external_id: cleanup}
run_plans:
  p:
    on_failure: continue
    runs: [{job: load}, {job: clean}]
"""
)
FAILING = Outcome(result="FAILED", starting_seconds=0.1, running_seconds=0.1)


def _apply(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *extra: str
) -> str:
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, PROJECT)
    run(["apply", str(path), "--auto-approve", "--poll-interval", "0.05", *extra])
    return capsys.readouterr().out


def test_failed_runs_show_their_last_log_lines(
    sandbox: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    glue_lines = (*(f"glue line {i}" for i in range(40)), "Traceback: KeyError 'customer_id'")
    sandbox.script("glue", "customers-etl", replace(FAILING, message="KeyError", logs=glue_lines))
    sandbox.script(
        "batch", "cleanup", replace(FAILING, exit_code=2, logs=("rm: cannot remove", "exit 2"))
    )
    out = _apply(tmp_path, monkeypatch, capsys, "--log-lines", "5")
    glue_block = out.split("load: last 5 log line(s) from /aws-glue/jobs/error / jr_")[1].split(
        "\n"
    )[1:6]
    assert glue_block == [f"    | glue line {i}" for i in (36, 37, 38, 39)] + [
        "    | Traceback: KeyError 'customer_id'"
    ]
    assert "clean: last 2 log line(s) from /aws/batch/job / cleanup/default/" in out
    assert "    | rm: cannot remove\n    | exit 2" in out


def test_missing_log_stream_degrades_to_a_note(
    sandbox: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sandbox.script("glue", "customers-etl", replace(FAILING, logs=()))
    sandbox.script("batch", "cleanup", Outcome(starting_seconds=0.1, running_seconds=0.1))
    out = _apply(tmp_path, monkeypatch, capsys)
    assert (
        "load: (no logs: no log stream jr_" in out
        and "in /aws-glue/jobs/error or /aws-glue/jobs/output)" in out
    )
    assert "clean: Success" in out


def test_log_lines_zero_turns_the_tails_off(
    sandbox: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sandbox.script("glue", "customers-etl", FAILING)
    out = _apply(tmp_path, monkeypatch, capsys, "--log-lines", "0")
    assert "log line(s)" not in out and "no logs" not in out


def test_logs_follow_ends_when_the_run_ends(
    sandbox: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sandbox.script(
        "batch",
        "cleanup",
        Outcome(starting_seconds=0.2, running_seconds=0.8, logs=("copying", "done")),
    )
    sandbox.script("glue", "customers-etl", Outcome(stuck_in="RUNNING"))
    monkeypatch.chdir(tmp_path)
    path = write(
        tmp_path, PROJECT.replace("runs: [{job: load}, {job: clean}]", "runs: [{job: clean}]")
    )
    assert run(["apply", str(path), "--auto-approve", "--detach"]) == 0
    capsys.readouterr()
    assert run(["status"]) == 0
    apply_id = capsys.readouterr().out.split()[0]
    assert run(["status", apply_id]) == 0
    batch_id = capsys.readouterr().out.split()[2]
    assert run(["logs", batch_id, "--follow", "--interval", "0.1"]) == 0
    assert capsys.readouterr().out == "copying\ndone\n"
