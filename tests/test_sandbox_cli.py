"""`polysync sandbox` as a lasting process that `--sandbox` on every command uses, seeded
from the user's own manifests (`--from`), with scripted outcomes; `polysync init`.

The sandbox runs in a process of its own (as in a second terminal); the commands run
in-process and reach it over HTTP through its state record."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest.mock import ANY

import pytest

from polysync_spec import load_project
from polysync_spec.cli import run
from polysync_spec.sandbox import state
from polysync_spec.sandbox.from_manifests import seed_from_project
from polysync_spec.sandbox.server import Sandbox
from tests.conftest import EXAMPLES
from tests.helpers import BackgroundSandbox

POLYSYNC = [sys.executable, "-m", "polysync_spec"]


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    """The state directory `--sandbox` looks in (conftest points POLYSYNC_SANDBOX_DIR here)."""
    return Path(os.environ["POLYSYNC_SANDBOX_DIR"])


@pytest.fixture
def project(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A starter project from `polysync init`."""
    directory = tmp_path / "proj"
    assert run(["init", str(directory)]) == 0
    capsys.readouterr()
    return directory


def requests_of(endpoint_url: str, operation: str) -> list[dict[str, Any]]:
    """What the running sandbox received (its request log, over HTTP)."""
    with urllib.request.urlopen(
        f"{endpoint_url}/_sandbox/requests?operation={operation}", timeout=10
    ) as reply:
        return list(json.loads(reply.read()))


def test_apply_logs_status_and_cancel_use_the_one_running_sandbox(
    project: Path, state_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sandbox = BackgroundSandbox(POLYSYNC, state_dir, os.environ, "--from", str(project))
    try:
        record = sandbox.wait_for_record()
        url, pid = record["endpoint_url"], record["pid"]
        assert pid == sandbox.process.pid
        assert url.startswith("http://127.0.0.1:")
        assert "seeded: 1 Glue jobs, 1 Batch queues, 1 Batch definition revisions" in (
            sandbox.output()
        )
        ledger = str(tmp_path / "state.db")
        using = f"(sandbox at {url}: the running one, pid {pid})"

        code = run(
            ["apply", str(project), "--sandbox", "--auto-approve", "--state", ledger,
             "--poll-interval", "0.1"]
        )  # fmt: skip
        out, err = capsys.readouterr()
        assert code == 0, err
        assert using in err
        assert "no running sandbox" not in err
        # The runs went to the running sandbox, once each.
        (started,) = requests_of(url, "StartJobRun")
        assert started["params"]["JobName"] == "starter-load-orders"
        (submitted,) = requests_of(url, "SubmitJob")
        assert submitted["params"]["jobDefinition"] == "starter-export-orders"

        assert run(["status", "--state", ledger, "--sandbox"]) == 0
        (apply_id, run_plan, *_) = capsys.readouterr().out.split()
        assert run_plan == "daily"
        assert run(["status", apply_id, "--state", ledger, "--sandbox"]) == 0
        lines = capsys.readouterr().out.splitlines()
        runs = {line.split()[0]: line.split()[1:3] for line in lines}
        assert runs["load_orders"][0] == "Success"
        assert runs["load_orders"][1].startswith("starter-load-orders/jr_")
        assert runs["export_orders"] == ["Success", runs["export_orders"][1]]

        batch_run = runs["export_orders"][1]
        assert run(["logs", batch_run, "--state", ledger, "--sandbox"]) == 0
        out, err = capsys.readouterr()
        assert out.splitlines() == ["job started", "job finished"]
        assert using in err

        assert run(["cancel", "--apply", apply_id, "--state", ledger, "--sandbox"]) == 0
        out, err = capsys.readouterr()
        assert "nothing in flight to cancel" in out
        assert using in err
    finally:
        assert sandbox.stop() == 0
    assert not (state_dir / "sandbox.json").exists()  # stopping removed the record
    assert "stopped." in sandbox.output()


def test_without_a_running_sandbox_a_command_says_its_own_ends_with_it(
    state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["discover", str(EXAMPLES), "-p", "glue_main", "--sandbox"]) == 0
    err = capsys.readouterr().err
    (line,) = [e for e in err.splitlines() if "sandbox" in e]
    assert line.startswith("(no running sandbox: this command uses its own at http://127.0.0.1:")
    assert line.endswith("seeded with the example objects; its state ends with the command)")


@pytest.fixture
def recorded(sandbox_server: Sandbox, state_dir: Path) -> Iterator[Sandbox]:
    """The session's sandbox, reset, holding `state_dir` and recorded in it as
    `polysync sandbox` does (this process's pid): commands in-process find it "running"."""
    sandbox_server.reset()
    with state.claim(state_dir) as held:
        held.write(sandbox_server.endpoint_url, "nothing")
        yield sandbox_server


def test_a_stale_record_is_ignored_and_replaced(
    state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    state_dir.mkdir(parents=True)
    record = state_dir / "sandbox.json"
    stale = {"pid": gone.pid, "endpoint_url": "http://127.0.0.1:9", "started_at": 0, "seeded": ""}
    record.write_text(json.dumps(stale), encoding="utf-8")
    assert run(["discover", str(EXAMPLES), "-p", "glue_main", "--sandbox"]) == 0
    err = capsys.readouterr().err
    assert "(no running sandbox:" in err
    # ... and says that what the dead one held is gone (found by a fresh tester: status,
    # logs and cancel seemed to answer for its runs).
    assert (
        f"(the sandbox recorded in {state_dir}, pid {gone.pid} at http://127.0.0.1:9, is no "
        "longer running: every job and run it held is gone with it)"
    ) in err
    # A live process whose endpoint does not answer is no sandbox either.
    record.write_text(json.dumps({**stale, "pid": os.getpid()}), encoding="utf-8")
    assert run(["discover", str(EXAMPLES), "-p", "glue_main", "--sandbox"]) == 0
    assert "(no running sandbox:" in capsys.readouterr().err

    # The next sandbox takes the directory and replaces the record.
    record.write_text(json.dumps(stale), encoding="utf-8")
    with state.claim(state_dir) as held:
        assert held.replaced is not None
        assert held.replaced.pid == gone.pid
        held.write("http://127.0.0.1:4599", "nothing")
        assert state.read_record(state_dir) == state.Record(
            os.getpid(), "http://127.0.0.1:4599", ANY, "nothing"
        )
    assert not record.exists()  # released: the record went with it


def test_a_second_sandbox_on_the_same_state_dir_refuses(
    recorded: Sandbox, state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = (state_dir / "sandbox.json").read_text("utf-8")
    assert run(["sandbox", "--port", "0", "--state-dir", str(state_dir)]) == 1
    assert capsys.readouterr().err == (
        f"error: a sandbox is already running at {recorded.endpoint_url} (pid {os.getpid()}) "
        f"with state in {state_dir}; use it (--sandbox on any command), stop it (Ctrl-C in its "
        "terminal), or give this one another --state-dir\n"
    )
    assert (state_dir / "sandbox.json").read_text("utf-8") == before  # untouched


BAD_SEEDS = [
    pytest.param(
        "glue:\n  jobs:\n    - Name: a\n      Command: {Name: glueetl, ScriptLocation: s3://b/a.py}\n"
        "    - Name: b\n      Command: {Name: glueetl, ScriptLocation: s3://b/b.py}\n"
        "      Timeut: 5\n",
        "5:7: sandbox seed entry glue.jobs[1]: Parameter validation failed: Unknown parameter "
        'in input: "Timeut"',
        id="unknown-member",
    ),
    pytest.param(
        "glue:\n  jobs: {Name: a}\n",
        "2:9: sandbox seed entry glue.jobs: expected a list, found a mapping",
        id="not-a-list",
    ),
    pytest.param(
        "batch:\n  job_queues:\n    - {jobQueueName: q, computeEnvironment: nope}\n",
        "3:7: sandbox seed entry batch.job_queues[0]: no compute environment 'nope'",
        id="unknown-reference",
    ),
    pytest.param("glue: {jobs: [\n", "2:1: YAML syntax error", id="yaml-syntax"),
    pytest.param("- a list\n", "1:1: the top level of a sandbox seed", id="not-a-mapping"),
    # Found by a fresh tester: these started a sandbox (seeding nothing, or never).
    pytest.param(
        "gluee: {}\n",
        "1:8: sandbox seed entry gluee: unknown key (did you mean 'glue'?)",
        id="misspelt-section",
    ),
    pytest.param(
        "batch:\n  job_definitions:\n    - {jobDefinitionName: d, revisions: 100000}\n",
        "3:7: sandbox seed entry batch.job_definitions[0]: revisions must be between 1 and 100",
        id="too-many-revisions",
    ),
]


@pytest.mark.parametrize(("text", "expected"), BAD_SEEDS)
def test_a_bad_seed_is_reported_at_its_position(
    text: str, expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed = tmp_path / "seed.yaml"
    seed.write_text(text, encoding="utf-8")
    state = tmp_path / "state"
    assert run(["sandbox", "--seed", str(seed), "--port", "0", "--state-dir", str(state)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {seed}:{expected}"), err
    assert "internal error" not in err
    assert "Traceback" not in err
    assert not (state / "sandbox.json").exists()


def test_a_from_project_with_errors_is_reported_at_its_positions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "polysync.yaml").write_text(
        "version: 1\nplatforms:\n  glue: {type: aws_glue, region: us-east-1}\n"
        "jobs:\n  etl: {platform: glue, external_id: etl, compute: {workers: 2}}\n",
        encoding="utf-8",
    )
    code = run(["sandbox", "--from", str(bad), "--port", "0", "--state-dir", str(tmp_path / "s")])
    err = capsys.readouterr().err
    assert code == 1
    assert f"{bad / 'polysync.yaml'}:5:" in err
    assert err.rstrip().endswith(
        f"error: cannot seed the sandbox from {bad}: the manifests have errors (above)"
    )


def test_outcome_errors_name_the_job_and_the_position(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = ["--port", "0", "--state-dir", str(tmp_path / "s")]
    outcomes = tmp_path / "outcomes.yaml"
    outcomes.write_text("load_orders: failed\nexport_orders: timeout\n", encoding="utf-8")
    assert run(["sandbox", "--from", str(project), "--outcomes", str(outcomes), *state]) == 1
    assert capsys.readouterr().err.startswith(
        f"error: {outcomes}:2:1: outcome 'timeout' for Batch job 'export_orders': expected one "
        "of succeeded, failed, stuck"
    )
    outcomes.write_text("load_orders: {result: FAILED, mesage: x}\n", encoding="utf-8")
    assert run(["sandbox", "--from", str(project), "--outcomes", str(outcomes), *state]) == 1
    assert "outcomes.yaml:1:1: outcome for 'load_orders': unknown field 'mesage'" in (
        capsys.readouterr().err
    )
    outcomes.write_text(
        "load_orders: failed\nexport_orders: {result: FAILED, running_seconds: soon}\n",
        encoding="utf-8",
    )
    assert run(["sandbox", "--from", str(project), "--outcomes", str(outcomes), *state]) == 1
    assert capsys.readouterr().err == (
        f"error: {outcomes}:2:1: outcome for 'export_orders': running_seconds must be a number "
        "of seconds from 0 to 3600\n"
    )
    assert run(["sandbox", "--from", str(project), "--outcome", "nope=failed", *state]) == 64
    assert "no job 'nope' in the manifests (jobs: export_orders, load_orders)" in (
        capsys.readouterr().err
    )
    assert run(["sandbox", "--outcome", "load_orders=failed", *state]) == 64


def test_scripted_failure_from_an_outcomes_file_fails_the_apply(
    project: Path, state_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outcomes = tmp_path / "outcomes.yaml"
    # `failed` as the one-word form takes it (upper case was required: a fresh tester).
    outcomes.write_text(
        "load_orders: {result: failed, message: 'no such table lake.orders', "
        "running_seconds: 0.2}\n",
        encoding="utf-8",
    )
    sandbox = BackgroundSandbox(
        POLYSYNC, state_dir, os.environ, "--from", str(project), "--outcomes", str(outcomes)
    )
    try:
        sandbox.wait_for_record()
        assert "scripted: load_orders FAILED" in sandbox.output()
        code = run(
            ["apply", str(project), "--sandbox", "--auto-approve", "--poll-interval", "0.1",
             "--state", str(tmp_path / "state.db")]
        )  # fmt: skip
        out = capsys.readouterr().out
        assert code == 3
        assert "load_orders: Failed" in out
        assert "no such table lake.orders" in out
        assert "export_orders: Skipped" in out or "export_orders  Skipped" in out
    finally:
        assert sandbox.stop() == 0


def test_from_the_examples_plans_without_drift_or_errors(
    recorded: Sandbox, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORDERS_API_TOKEN", "x")
    project = load_project(EXAMPLES, unset_env_severity=None)
    created = seed_from_project(recorded.endpoint_url, project)
    assert created == {"glue_jobs": 3, "job_queues": 3, "job_definitions": 5}
    # What the sandbox was asked to create, over the wire: a pinned revision (nightly-export:3)
    # means three revisions, each with a placeholder for every parameter used.
    registered = [r.params for r in recorded.requests("RegisterJobDefinition")]
    assert [r["jobDefinitionName"] for r in registered].count("nightly-export") == 3
    export = next(r for r in registered if r["jobDefinitionName"] == "nightly-export")
    assert export["containerProperties"]["command"][1:] == ["Ref::input_path", "Ref::partners"]
    assert export["parameters"] == {
        "input_path": "s3://exports/in/",
        "partners": '["acme","globex"]',
    }
    (fair,) = recorded.requests("CreateSchedulingPolicy")
    assert fair.params["fairsharePolicy"]["shareDistribution"][0]["shareIdentifier"] == "media"
    for run_plan, runs in (("nightly", 5), ("backfill", 3)):
        code = run(["plan", str(EXAMPLES), "-r", run_plan, "--sandbox", "--detailed-exitcode"])
        out, err = capsys.readouterr()
        assert code == 2, out  # runs to start, nothing wrong
        assert out.rstrip().endswith(f"Plan: {runs} runs to start, 0 drift, 0 errors")
        assert f"(sandbox at {recorded.endpoint_url}: the running one" in err
    # Seeding again keeps what exists.
    assert seed_from_project(recorded.endpoint_url, project) == dict.fromkeys(created, 0)


def test_init_writes_a_project_that_validates_cleanly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = tmp_path / "new"
    assert run(["init", str(directory)]) == 0
    out = capsys.readouterr().out
    written = sorted(str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file())
    assert written == [
        ".gitignore",
        "jobs/jobs.yaml",
        "polysync.yaml",
        "run_plans/daily.yaml",
        "schemas/polysync.schema.json",
    ]
    assert out.splitlines()[-7:-1] == [
        f"  cd {directory}",
        "  polysync validate",
        "  polysync sandbox --from .     # in another terminal: a local AWS with these jobs",
        "  polysync plan --sandbox",
        "  polysync apply --sandbox --auto-approve",
        "  polysync status --sandbox",
    ]
    assert (directory / ".gitignore").read_text("utf-8").splitlines()[-1] == ".polysync/"
    assert (
        (directory / "polysync.yaml")
        .read_text("utf-8")
        .startswith("# yaml-language-server: $schema=schemas/polysync.schema.json\n")
    )
    assert run(["schema"]) == 0
    assert (directory / "schemas/polysync.schema.json").read_text("utf-8") == (
        capsys.readouterr().out
    )
    assert run(["validate", str(directory), "--require-env"]) == 0
    out, err = capsys.readouterr()
    assert out == ""
    assert err == "3 files valid, no problems\n"
    assert run(["fmt", "--check", str(directory)]) == 0


def test_init_refuses_to_overwrite_without_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = tmp_path / "new"
    directory.mkdir()
    mine = directory / "polysync.yaml"
    mine.write_text("version: 1\n", encoding="utf-8")
    assert run(["init", str(directory)]) == 1
    assert capsys.readouterr().err == (
        f"error: {directory} already has {mine}; nothing was written (--force overwrites them)\n"
    )
    assert mine.read_text("utf-8") == "version: 1\n"
    assert not (directory / "jobs").exists()
    assert run(["init", str(directory), "--force"]) == 0
    assert mine.read_text("utf-8").startswith("# yaml-language-server:")
