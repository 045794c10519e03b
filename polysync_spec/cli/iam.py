"""`polysync iam`: the least-privilege IAM policy of what the manifests would do."""

from __future__ import annotations

import json
import re

import click

from polysync_spec.cli.common import (
    note_skipped,
    parse_vars,
    path_argument,
    target_option,
    var_option,
)
from polysync_spec.cli.group import cli
from polysync_spec.errors import ExitCode, PolysyncError
from polysync_spec.providers.permissions import DEFAULT_COMMANDS, Command
from polysync_spec.render import diagnostics as render


@cli.command("iam")
@path_argument
@click.option(
    "--run-plan",
    "-r",
    "run_plans",
    multiple=True,
    help="Run plan to grant (repeatable; default: every run plan).",
)
@target_option
@var_option
@click.option(
    "--account-id", help="The AWS account id (default: the role's account, else ${ACCOUNT})."
)
@click.option(
    "--command",
    "-c",
    "commands",
    multiple=True,
    type=click.Choice([c.value for c in Command]),
    help="Command group to grant (repeatable; default: plan, apply, status, cancel, logs).",
)
@click.option(
    "--output", "-o", type=click.Choice(["json", "text"]), default="json", show_default=True
)
def iam(
    *,
    path: str,
    run_plans: tuple[str, ...],
    target: str | None,
    variables: tuple[str, ...],
    account_id: str | None,
    commands: tuple[str, ...],
    output: str,
) -> ExitCode:
    """Print the least-privilege IAM policy for running the manifests' run plans: one
    statement group per command (Plan, Apply, Status, Cancel, Logs; Discover and Events
    on request),
    scoped to the Glue jobs, Batch queues and job definitions the runs use. Offline:
    nothing is read from AWS."""
    from polysync_spec import load_project
    from polysync_spec.providers.iam import least_privilege

    if account_id is not None and not re.fullmatch(r"\d{12}", account_id):
        raise click.BadParameter("an AWS account id is 12 digits", param_hint="--account-id")
    # Offline, like validate: no secret is needed to know what the runs touch.
    project = load_project(
        path, target=target, cli_vars=parse_vars(variables), unset_env_severity=None
    )
    note_skipped(project, path)
    if not project.ok:
        click.echo(render.text(project.diagnostics), nl=False, err=True)
        raise PolysyncError("the manifests have errors (see above)")
    unknown = [name for name in run_plans if name not in project.run_plans]
    if unknown:
        known = ", ".join(sorted(project.run_plans)) or "none"
        raise click.UsageError(f"no run plan {unknown[0]!r} (run plans: {known})")
    policy = least_privilege(
        project,
        list(run_plans) or sorted(project.run_plans),
        account_id=account_id,
        commands=[Command(c) for c in commands] or DEFAULT_COMMANDS,
    )
    if output == "text":
        for statement in policy.document["Statement"]:
            resources = statement["Resource"]
            click.echo(f"{statement['Sid']}:")
            click.echo(f"  actions:   {', '.join(statement['Action'])}")
            shown = [resources] if isinstance(resources, str) else resources
            click.echo("  resources: " + "\n             ".join(shown))
    else:
        click.echo(json.dumps(policy.document, indent=2))
    for note in policy.notes:
        click.echo(f"note: {note}", err=True)
    return ExitCode.OK
