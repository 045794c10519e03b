"""Exactly once under faults: 200 runs while AWS throttles, fails, drops connections and
stops answering, half of the failures striking after the request took effect (the case
that makes blind retries submit twice). Every run must reach its true terminal state and
exist exactly once in the emulator, and the exit code must say what happened."""

from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path

import pytest

from polysync_spec import load_project
from polysync_spec.engine.execute import Executor
from polysync_spec.engine.ledger import SqliteLedger
from polysync_spec.engine.monitor import PollPolicy
from polysync_spec.errors import ExitCode
from polysync_spec.providers.aws import Sessions
from polysync_spec.providers.clients import client_for
from polysync_spec.render.events import text_sink
from polysync_spec.sandbox.lifecycle import Outcome
from polysync_spec.sandbox.server import Chaos, Fault, Sandbox
from tests.helpers import plan_against
from tests.reliability.workload import (
    BATCH_DEFINITION,
    GLUE_JOB,
    create_wide_job,
    emulator_runs,
    held,
    mixed_plan,
    record,
)

LONG = os.environ.get("RELIABILITY") == "long"
# Of each kind: 100 in the bounded CI run, 250 with RELIABILITY=long.
RUNS = 250 if LONG else 100


@pytest.mark.reliability
def test_runs_under_throttling_and_server_errors_are_each_submitted_once(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not LONG:
        # Under 20% throttling botocore's default adaptive mode slows its own send rate
        # on purpose (the 200 runs take ~160 s); the long mode keeps it. Standard mode
        # retries reads the same way without the client-side rate limit. Submissions
        # are never retried by botocore in either mode.
        monkeypatch.setenv("AWS_RETRY_MODE", "standard")
    create_wide_job(sandbox)
    sandbox.script("glue", GLUE_JOB, Outcome(starting_seconds=0.05, running_seconds=0.1))
    sandbox.script(
        "batch",
        BATCH_DEFINITION,
        Outcome(result="FAILED", exit_code=1, starting_seconds=0.05, running_seconds=0.1),
    )
    path = mixed_plan(tmp_path, 2 * RUNS, max_concurrency=40)
    plan = plan_against(sandbox.endpoint_url, path)
    project = load_project(path, env={})
    # A short read timeout, so that the held answers below count as lost connections.
    sessions = Sessions(sandbox_url=sandbox.endpoint_url, read_timeout=1.0)
    providers = {name: client_for(name, p, sessions) for name, p in project.platforms.items()}
    chaos = Chaos(
        throttle=0.2, server_error=0.05, reset=0.02, timeout=0.005, hold_seconds=1.5,
        seed=int(os.environ.get("RELIABILITY_SEED", "20261121")),
    )  # fmt: skip
    sandbox.chaos(chaos)
    # and, for certain, the hardest case: submissions that take effect, then fail
    for operation in ("SubmitJob", "StartJobRun"):
        sandbox.fail(
            operation, Fault("InternalServerError", "Internal error", 500, times=3, after=True)
        )
    ledger = SqliteLedger(tmp_path / "state.db")
    lines: list[str] = []
    applier = Executor(
        plan, providers, ledger, env={}, poll=PollPolicy(minimum=0.05, maximum=0.3),
        sink=text_sink(lines.append), consistency_delay=0.0, log_lines=0,
        settle_seconds=3.0,  # longer than the 1.5 s a held request takes to act
        answer_window=sessions.answer_window, clock=sessions.clock,
    )  # fmt: skip
    started = time.time()
    try:
        result = applier.run()
    finally:
        ledger.close()
        sandbox.chaos(None)

    # faults really happened, including the ambiguous kind
    assert chaos.injected["throttle"] > 20 and chaos.injected["server_error"] > 0
    assert chaos.injected["reset"] + chaos.injected["reset_after"] > 0
    assert chaos.injected["timeout"] + chaos.injected["timeout_after"] > 0
    record("faults", runs=2 * RUNS, injected=dict(chaos.injected), seconds=time.time() - started)
    recovered = [line for line in lines if "the submission went through despite the error" in line]
    assert len(recovered) >= 6
    # every run reached its true terminal state
    statuses = Counter(state.status for state in result.runs.values())
    assert statuses == {"Success": RUNS, "Failed": RUNS}, [
        line for line in lines if "Unknown" in line
    ][:5]
    assert result.exit_code is ExitCode.RUNS_FAILED
    # each run of the plan exists exactly once in the emulator
    assert held(sandbox) == Counter({f"{k}{i}": 1 for k in "gb" for i in range(RUNS)})
    # and the runs the apply recorded are exactly the runs the emulator holds
    assert {state.run_id for state in result.runs.values()} == set(emulator_runs(sandbox))
