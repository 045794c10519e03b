"""Commands over an apply's runs in the ledger: status (--watch), cancel, unlock."""

from __future__ import annotations

import os
from typing import Any

import click

from polysync_spec import redact
from polysync_spec.cli.common import (
    Seconds,
    aws_sessions,
    in_plan_order,
    load_manifests,
    output_option,
    plan_costs,
    plan_vars,
    provider_for,
    sandbox_option,
    state_ledger,
)
from polysync_spec.cli.group import cli
from polysync_spec.errors import ExitCode, PolysyncError


@cli.command()
@click.argument("apply_id", required=False)
@click.option("--state", "state_path", default=".polysync/state.db", show_default=True)
@click.option("--watch", is_flag=True, help="Ask AWS for the runs in flight until they end.")
@click.option("--interval", type=Seconds(0.05, 3600), default=5.0, show_default=True)
@click.option(
    "--timeout",
    type=Seconds(1),
    help="With --watch: stop after this many seconds; runs still going are reported Unknown.",
)
@output_option("text", "markdown")
@sandbox_option
def status(
    *,
    apply_id: str | None,
    state_path: str,
    watch: bool,
    interval: float,
    timeout: float | None,
    output: str,
    use_sandbox: bool,
) -> ExitCode:
    """Show applies recorded in the ledger, or the runs of one apply. With --watch,
    follow its runs in flight until they end (exit 3 when one failed, was cancelled or
    ended Unknown)."""
    import time

    code = ExitCode.OK
    ledger = state_ledger(state_path)
    try:
        if watch:
            if apply_id is None:
                raise click.UsageError("--watch needs an APPLY_ID")
            code = _watch(ledger, apply_id, use_sandbox, interval, timeout)
        if apply_id is None:
            for ident, run_plan_name, created in ledger.applies():
                click.echo(
                    f"{ident}  {run_plan_name}  {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(created))}"
                )
            return ExitCode.OK
        runs = ledger.runs(apply_id)
        if not runs and ledger.plan(apply_id) is None:
            raise PolysyncError(f"no apply {apply_id} in {state_path}")
        # status loads no manifests: the secrets it knows of are the plan's {"$env"} slots
        # (a ledger written before redaction may hold them in a message).
        redact.register_env_references(ledger.plan(apply_id), os.environ)
        if output == "markdown":
            from polysync_spec.render.timeline import markdown

            ordered = in_plan_order(ledger, apply_id, runs)
            costs = plan_costs(ledger, apply_id)
            click.echo(markdown(apply_id, ordered, time.time(), costs), nl=False)
            return code
        from polysync_spec.render.cost import actual

        costs = plan_costs(ledger, apply_id)
        for key, record in runs.items():
            message = f"  {record.message}" if record.message else ""
            used = f"  used {actual(record.usage, costs.get(key))}" if record.usage else ""
            click.echo(f"{key}  {record.status}  {record.run_id or '-'}{used}{message}")
        return code
    finally:
        ledger.close()


def _providers_of(ledger: Any, sessions: Any) -> Any:
    """apply id, platform name -> its provider, built from the manifests the apply was
    planned from (loaded once per apply)."""
    from polysync_spec.engine.model import Plan

    projects: dict[str, Any] = {}

    def build(apply_id: str, platform: str) -> Any:
        if apply_id not in projects:
            saved = Plan.from_dict(ledger.plan(apply_id) or {})
            projects[apply_id] = (
                saved,
                load_manifests(saved.manifest_path, saved.target, plan_vars(saved), var_files=()),
            )
        saved, project = projects[apply_id]
        if platform not in project.platforms:
            raise PolysyncError(
                f"platform {platform!r} of apply {apply_id} is not in the manifests at "
                f"{saved.manifest_path} any more; run this where the apply ran"
            )
        return provider_for(platform, project.platforms[platform], sessions)

    return build


def _watch(
    ledger: Any, apply_id: str, use_sandbox: bool, interval: float, timeout: float | None
) -> ExitCode:
    """Follow the apply's runs in flight (the engine's monitor) until they end."""
    import time

    from polysync_spec.app.follow import watch
    from polysync_spec.render.events import text_sink

    def write(line: str) -> None:
        click.echo(f"{time.strftime('%H:%M:%S')} {line}")

    with aws_sessions(use_sandbox) as sessions:
        providers = _providers_of(ledger, sessions)
        return watch(
            ledger,
            apply_id,
            lambda platform: providers(apply_id, platform),
            sink=text_sink(write),
            interval=interval,
            timeout=timeout,
        )


@cli.command()
@click.argument("run_ids", nargs=-1)
@click.option("--apply", "apply_id", help="Cancel every in-flight run of this apply.")
@click.option("--state", "state_path", default=".polysync/state.db", show_default=True)
@click.option(
    "--wait",
    type=Seconds(0),
    default=300.0,
    show_default=True,
    help="Seconds to wait for AWS to confirm each cancellation (0: do not wait).",
)
@sandbox_option
def cancel(
    run_ids: tuple[str, ...], apply_id: str | None, state_path: str, wait: float, use_sandbox: bool
) -> ExitCode:
    """Cancel runs recorded in the ledger (BatchStopJobRun / TerminateJob), best effort per
    run; --apply also finds runs whose id was never recorded, by their attempt identity.
    Exits 0 when every cancellation was confirmed, 1 otherwise."""
    from polysync_spec.app.follow import cancel as cancel_runs
    from polysync_spec.render.events import text_sink

    if not run_ids and not apply_id:
        raise click.UsageError("name run ids or --apply APPLY_ID")
    ledger = state_ledger(state_path)
    try:
        targets: dict[str, list[str] | None] = {}
        if apply_id:
            if ledger.plan(apply_id) is None:
                raise PolysyncError(f"no apply {apply_id} in {state_path}")
            targets[apply_id] = None
        for run_id in run_ids:
            found = ledger.find_run(run_id)
            if found is None:
                raise PolysyncError(f"run {run_id} is not in the ledger {state_path}")
            chosen = targets.setdefault(found[0], [])
            if chosen is not None:
                chosen.append(run_id)
        with aws_sessions(use_sandbox) as sessions:
            outcomes = cancel_runs(
                ledger,
                targets,
                _providers_of(ledger, sessions),
                sink=text_sink(click.echo),
                wait=wait,
            )
        if not outcomes:
            click.echo("nothing in flight to cancel")
        for outcome in outcomes:
            click.echo(f"{outcome.key}  {outcome.run_id}  {outcome.detail}")
        return ExitCode.OK if all(o.confirmed for o in outcomes) else ExitCode.ERROR
    finally:
        ledger.close()


@cli.command()
@click.argument("lock_id")
@click.option("--state", "state_path", default=".polysync/state.db", show_default=True)
def unlock(lock_id: str, state_path: str) -> ExitCode:
    """Remove a stale apply lock (when the process holding it is gone)."""
    ledger = state_ledger(state_path)
    try:
        if not ledger.release(lock_id):
            raise PolysyncError(f"no lock {lock_id} in {state_path}")
        click.echo(f"lock {lock_id} removed")
        return ExitCode.OK
    finally:
        ledger.close()
