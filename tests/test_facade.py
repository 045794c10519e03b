"""The library façade (`polysync_spec`): a whole plan → apply → status → cancel flow
through its names alone, against the sandbox over HTTP."""

from __future__ import annotations

from pathlib import Path

import polysync_spec
from polysync_spec.engine.ledger import SqliteLedger
from polysync_spec.engine.phase import RunPhase
from polysync_spec.errors import ExitCode
from polysync_spec.providers.aws import Sessions
from polysync_spec.providers.clients import clients_of
from polysync_spec.render.events import text_sink
from polysync_spec.sandbox.server import Sandbox
from tests.helpers import write

MANIFEST = """\
version: 1
platforms:
  glue:
    type: aws_glue
    region: us-east-1
jobs:
  etl:
    platform: glue
    external_id: orders-etl
run_plans:
  nightly:
    runs:
      - job: etl
      - {name: again, job: etl, after: [etl]}
"""


def test_the_facade_plans_applies_and_follows_a_run_plan(sandbox: Sandbox, tmp_path: Path) -> None:
    path = write(tmp_path, MANIFEST)
    assert polysync_spec.validate(path, env={}) == []
    project = polysync_spec.load_project(path, env={})
    sessions = Sessions(sandbox_url=sandbox.endpoint_url)
    plan = polysync_spec.make_plan(project, None, sessions, manifest_path=str(path))
    assert [run.key for run in plan.runs] == ["etl", "again"]
    assert not plan.has_errors
    lines: list[str] = []
    ledger = SqliteLedger(tmp_path / "state.db")
    try:
        result = polysync_spec.apply(
            plan, project, sessions, ledger, env={}, sink=text_sink(lines.append)
        )
        assert result.exit_code is ExitCode.OK
        assert [result.runs[k].status for k in ("etl", "again")] == [RunPhase.SUCCESS] * 2
        # The submissions went over the wire in the plan's order, the second after the first.
        started = [r.params["JobName"] for r in sandbox.requests("StartJobRun")]
        assert started == ["orders-etl", "orders-etl"]
        assert any(line.startswith("etl: submitted ") for line in lines), lines
        # Following an apply that has ended reads the ledger and says so.
        followed: list[str] = []
        code = polysync_spec.status(
            ledger, result.apply_id, clients_of(project, sessions), sink=text_sink(followed.append)
        )
        assert code is ExitCode.OK
        outcomes = polysync_spec.cancel(
            ledger,
            {result.apply_id: None},
            lambda _apply, name: clients_of(project, sessions)(name),
            sink=text_sink(followed.append),
            wait=0,
        )
        assert outcomes == []  # nothing in flight: nothing to cancel
    finally:
        ledger.close()


def test_the_facade_validates_with_every_platforms_rules(tmp_path: Path) -> None:
    """`polysync_spec.validate` runs the Glue rules (in providers/glue/rules.py), which the
    manifest layer alone does not know: an internal Glue argument used as a parameter."""
    path = write(
        tmp_path,
        MANIFEST.replace(
            "external_id: orders-etl", "external_id: orders-etl\n    parameters: {JOB_NAME: x}"
        ),
    )
    from polysync_spec import manifest
    from polysync_spec.manifest import codes

    assert codes.GLUE_INTERNAL_ARGUMENT in {d.code for d in polysync_spec.validate(path, env={})}
    assert codes.GLUE_INTERNAL_ARGUMENT not in {d.code for d in manifest.validate(path, env={})}
