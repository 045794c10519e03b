"""Applying against the sandbox: the plans, appliers and request-log views that the apply
and exactly-once tests share."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

from polysync_spec import load_project
from polysync_spec.engine.execute import Executor
from polysync_spec.engine.ledger import SqliteLedger
from polysync_spec.engine.model import Plan
from polysync_spec.engine.monitor import PollPolicy
from polysync_spec.providers.aws import Sessions
from polysync_spec.providers.base import RunRequest
from polysync_spec.providers.clients import client_for
from polysync_spec.render.events import text_sink
from polysync_spec.sandbox.lifecycle import Outcome
from polysync_spec.sandbox.server import Sandbox
from tests.helpers import SANDBOX_PLATFORMS, plan_against, write

FAST = Outcome(starting_seconds=0.1, running_seconds=0.2)
HEADER = (
    SANDBOX_PLATFORMS
    + """\
jobs:
  load: {platform: glue, external_id: customers-etl}
  check: {platform: glue, external_id: orders-quality}
  export: {platform: batch, external_id: nightly-export, parameters: {input_path: x, partners: y}}
  clean: {platform: batch, external_id: cleanup}
"""
)


def plan_for(
    sandbox: Sandbox, path: Path, run_plan: str = "p", env: dict[str, str] | None = None
) -> Plan:
    plan: Plan = plan_against(sandbox.endpoint_url, path, run_plan, env)
    return plan


ONE_CLEAN_RUN = HEADER + "run_plans:\n  p:\n    runs:\n      - {job: clean}\n"


def clean_plan(sandbox: Sandbox, tmp_path: Path) -> Plan:
    """A run plan of one run: the Batch `clean` job."""
    return plan_for(sandbox, write(tmp_path, ONE_CLEAN_RUN))


def applier_for(
    sandbox: Sandbox,
    plan: Plan,
    tmp_path: Path,
    *,
    read_timeout: float = 60.0,
    submit_read_timeout: float = 20.0,
    sessions: Sessions | None = None,
    **kwargs: Any,
) -> tuple[Executor, SqliteLedger, list[str]]:
    """An applier of `plan` against the sandbox, its ledger (to close) and its lines."""
    project = load_project(plan.manifest_path, env={"ORDERS_API_TOKEN": "t"})
    sessions = sessions or Sessions(
        sandbox_url=sandbox.endpoint_url,
        read_timeout=read_timeout,
        submit_read_timeout=submit_read_timeout,
    )
    providers = {name: client_for(name, p, sessions) for name, p in project.platforms.items()}
    lines: list[str] = []
    ledger = SqliteLedger(tmp_path / "state.db")
    defaults = {
        "poll": PollPolicy(minimum=0.05, maximum=0.2),
        "clock": sessions.clock,
        "answer_window": sessions.answer_window,
    }
    applier = Executor(
        plan, providers, ledger, env={"ORDERS_API_TOKEN": "t"},
        sink=text_sink(lines.append), **{**defaults, **kwargs},
    )  # fmt: skip
    return applier, ledger, lines


def apply_plan(
    sandbox: Sandbox, plan: Plan, tmp_path: Path, *, read_timeout: float = 60.0, **kwargs: Any
) -> tuple[Any, list[str]]:
    applier, ledger, lines = applier_for(
        sandbox, plan, tmp_path, read_timeout=read_timeout, **kwargs
    )
    try:
        return applier.run(), lines
    finally:
        ledger.close()


def statuses(result: Any) -> dict[str, str]:
    return {key: state.status for key, state in result.runs.items()}


def fast(sandbox: Sandbox, **overrides: Outcome) -> None:
    for name in ("customers-etl", "orders-quality"):
        sandbox.script("glue", name, overrides.get(name, FAST))
    for name in ("nightly-export", "cleanup"):
        sandbox.script("batch", name, overrides.get(name, FAST))


def submissions(sandbox: Sandbox) -> list[tuple[str, Any]]:
    return [
        (r.operation, r.params)
        for r in sandbox.requests()
        if r.operation in ("StartJobRun", "SubmitJob")
    ]


def crash_after_intent(
    sandbox: Sandbox, plan: Plan, tmp_path: Path, *, submitted: bool, age: float = 0.0
) -> str:
    """The state a SIGKILL leaves between the AWS call and the ledger write: the intent
    (with its attempt identity) is recorded, the run id is not; the request did (or did
    not) reach AWS. Returns the attempt id."""
    run_state = plan.runs[0]
    attempt_id = str(uuid.uuid4())
    ledger = SqliteLedger(tmp_path / "state.db")
    ledger.begin(plan.plan_id, plan.to_dict())
    ledger.intent(plan.plan_id, run_state, attempt_id, time.time() - age)
    ledger.close()
    if submitted:
        project = load_project(plan.manifest_path, env={})
        provider = client_for(
            run_state.platform,
            project.platforms[run_state.platform],
            Sessions(sandbox_url=sandbox.endpoint_url),
        )
        provider.submit(RunRequest(run_state.api, run_state.resolved_request({}, attempt_id)))
    return attempt_id


def operations(sandbox: Sandbox, *names: str) -> list[str]:
    """The operations the sandbox received, in order, of those named."""
    return [r.operation for r in sandbox.requests() if r.operation in names]
