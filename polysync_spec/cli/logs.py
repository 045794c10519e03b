"""`polysync logs`: the last lines of a run's logs, from the ledger, optionally followed."""

from __future__ import annotations

import click

from polysync_spec.cli.apply import state_ledger
from polysync_spec.cli.common import (
    aws_sessions,
    load_manifests,
    plan_vars,
    provider_for,
    sandbox_option,
)
from polysync_spec.cli.group import cli
from polysync_spec.errors import ExitCode, PolysyncError


@cli.command()
@click.argument("run_id")
@click.option("--lines", "-n", type=click.IntRange(min=1), default=30, show_default=True)
@click.option("--follow", "-f", is_flag=True, help="Keep printing new lines until the run ends.")
@click.option("--interval", type=click.FloatRange(min=0.05), default=5.0, show_default=True)
@click.option("--state", "state_path", default=".polysync/state.db", show_default=True)
@sandbox_option
def logs(
    *, run_id: str, lines: int, follow: bool, interval: float, state_path: str, use_sandbox: bool
) -> ExitCode:
    """Print the last lines of a run's logs (Glue: /aws-glue/jobs, Batch: /aws/batch/job)."""
    import time

    from polysync_spec.engine.model import Plan

    ledger = state_ledger(state_path)
    try:
        found = ledger.find_run(run_id)
        if found is None:
            raise PolysyncError(f"run {run_id} is not in the ledger {state_path}")
        apply_id, record = found
        stored = ledger.plan(apply_id)
    finally:
        ledger.close()
    assert stored is not None
    saved = Plan.from_dict(stored)
    project = load_manifests(saved.manifest_path, saved.target, plan_vars(saved))
    with aws_sessions(use_sandbox) as sessions:
        provider = provider_for(record.platform, project.platforms[record.platform], sessions)
        printed: list[str] = []
        while True:
            tail = provider.log_tail(run_id, 10_000 if follow else lines)
            fresh = (
                list(tail.lines[len(printed) :])
                if tail.lines[: len(printed)] == tuple(printed)
                else list(tail.lines)
            )
            if not follow:
                fresh = fresh[-lines:]
            for line in fresh:
                click.echo(line)
            printed.extend(fresh)
            if tail.note and not printed:
                click.echo(f"(no logs: {tail.note})", err=True)
            if not follow or provider.poll([run_id])[run_id].status.terminal:
                if follow:  # the last lines may land as the run ends
                    final = provider.log_tail(run_id, 10_000)
                    for line in final.lines[len(printed) :]:
                        click.echo(line)
                return ExitCode.OK
            time.sleep(interval)
