"""`polysync events setup`: the SQS queue and EventBridge rule of event-driven waiting."""

from __future__ import annotations

import click

from polysync_spec.cli.common import (
    aws_sessions,
    load_manifests,
    path_argument,
    sandbox_option,
    target_option,
    usable_platform,
    var_option,
)
from polysync_spec.cli.group import cli
from polysync_spec.errors import ExitCode, PolysyncError


@cli.group()
def events() -> None:
    """Event-driven waiting: apply learns of run ends from an SQS queue."""


@events.command("setup")
@path_argument
@click.option(
    "--platform",
    "-p",
    "platform_names",
    multiple=True,
    help="Platform to set up (repeatable; default: every platform with an events_queue).",
)
@target_option
@var_option
@click.option("--dry-run", is_flag=True, help="Say what would be created; change nothing.")
@sandbox_option
def setup(
    *,
    path: str,
    platform_names: tuple[str, ...],
    target: str | None,
    variables: tuple[str, ...],
    dry_run: bool,
    use_sandbox: bool,
) -> ExitCode:
    """Create, where missing, the platform's events_queue (SQS), the EventBridge rule that
    sends it the platform's run ends, the rule's target and the queue policy that lets
    the rule deliver. Idempotent: a second run changes nothing."""
    from polysync_spec.providers.aws import caller_identity
    from polysync_spec.providers.eventqueue.setup import setup as set_up

    project = load_manifests(path, target, variables)
    names = list(platform_names) or sorted(
        name for name, p in project.platforms.items() if getattr(p, "events_queue", None)
    )
    if not names:
        raise PolysyncError("no platform names an events_queue: add one to a platform first")
    with aws_sessions(use_sandbox) as sessions:
        for name in names:
            platform = usable_platform(project, name, path)
            if not platform.events_queue:
                raise click.UsageError(f"platform {name!r} names no events_queue")
            account = caller_identity(sessions, name, platform)["account"]
            steps = set_up(
                platform,
                sessions.client(name, platform, "sqs"),
                sessions.client(name, platform, "events"),
                account,
                dry_run=dry_run,
            )
            click.echo(f"platform {name} ({platform.region}):")
            for step in steps:
                click.echo(f"  {step.line(dry_run)}")
    return ExitCode.OK
