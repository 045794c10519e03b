"""`polysync logs`: the last lines of a run's logs, from the ledger, optionally followed."""

from __future__ import annotations

import click

from polysync_spec.cli.common import (
    Seconds,
    aws_sessions,
    load_manifests,
    plan_vars,
    provider_for,
    sandbox_option,
    state_ledger,
)
from polysync_spec.cli.group import cli
from polysync_spec.errors import ExitCode, PolysyncError


@cli.command()
@click.argument("run_id")
@click.option("--lines", "-n", type=click.IntRange(min=1), default=30, show_default=True)
@click.option("--follow", "-f", is_flag=True, help="Keep printing new lines until the run ends.")
@click.option("--interval", type=Seconds(0.05, 3600), default=5.0, show_default=True)
@click.option(
    "--timeout",
    type=Seconds(1),
    help="With --follow: stop after this many seconds.",
)
@click.option("--state", "state_path", default=".polysync/state.db", show_default=True)
@sandbox_option
def logs(
    *,
    run_id: str,
    lines: int,
    follow: bool,
    interval: float,
    timeout: float | None,
    state_path: str,
    use_sandbox: bool,
) -> ExitCode:
    """Print the last lines of a run's logs (Glue: the latest attempt's, in /aws-glue/jobs;
    Batch: where the job definition's logConfiguration says, by default /aws/batch/job).
    An array job's child is PARENT_ID:INDEX. With --follow, print new lines until the run
    ends or is given up (its limits, the apply engine's, or --timeout), and say why it
    stopped."""
    import time

    from polysync_spec.app.follow import open_apply
    from polysync_spec.engine.monitor import Monitor
    from polysync_spec.providers.base import LogTail
    from polysync_spec.render.events import text_sink

    ledger = state_ledger(state_path)
    try:
        found = ledger.find_run(run_id)
        # A Batch array job's child, PARENT_ID:INDEX: the ledger holds its parent.
        parent_id, colon, index = run_id.rpartition(":")
        child = found is None and bool(colon) and index.isdigit()
        if child:
            found = ledger.find_run(parent_id)
        if found is None:
            raise PolysyncError(f"run {run_id} is not in the ledger {state_path}")
        apply_id, record = found
        followed = open_apply(ledger, apply_id)
        project = load_manifests(
            followed.plan.manifest_path,
            followed.plan.target,
            plan_vars(followed.plan),
            var_files=(),
        )
        if record.platform not in project.platforms:
            raise PolysyncError(
                f"platform {record.platform!r} of run {run_id} is not in the manifests at "
                f"{followed.plan.manifest_path} any more; run this where the apply ran"
            )
        with aws_sessions(use_sandbox) as sessions:
            provider = provider_for(record.platform, project.platforms[record.platform], sessions)
            state = followed.states[record.key]
            monitor = Monitor(
                {record.key: state},
                {record.platform: provider},
                ledger,
                apply_id,
                sink=text_sink(lambda line: click.echo(line, err=True)),
                timeout=timeout,
            )
            # Lines printed, by stream: a tail may move to another stream (Glue's error
            # group once the run fails, a Batch retry's new attempt), and each line is
            # printed once.
            printed: dict[str | None, int] = {}
            noted = False

            def show(tail: LogTail, last: int | None = None) -> None:
                nonlocal noted
                done = printed.get(tail.source, 0)
                fresh = list(tail.lines[done:]) if done <= len(tail.lines) else list(tail.lines)
                if last is not None:
                    fresh = fresh[-last:]
                for line in fresh:
                    click.echo(line)
                printed[tail.source] = len(tail.lines)
                if tail.note and not tail.lines and not noted:
                    noted = True
                    click.echo(f"(no logs: {tail.note})", err=True)

            def child_ended() -> str | None:
                """The child's own status once it has ended (it may end long before
                its array job does), else None."""
                report = provider.poll([run_id]).get(run_id)
                return report.status.value if report and report.status.terminal else None

            while True:
                show(
                    provider.log_tail(run_id, 10_000 if follow else lines),
                    None if follow else lines,
                )
                if not follow:
                    return ExitCode.OK
                ended = child_ended() if child else None
                if ended or not state.in_flight:
                    show(provider.log_tail(run_id, 10_000))  # the last lines land late
                    if ended:
                        why = f"ended {ended}"
                    else:
                        why = f"ended {state.status}" if not state.gave_up else "was given up"
                    click.echo(f"(the {'child job' if ended else 'run'} {why})", err=True)
                    return ExitCode.OK
                time.sleep(monitor.bounded(interval))
                monitor.poll()
                monitor.enforce_limits()
    finally:
        ledger.close()
