"""Commands that look at AWS without running anything: discover, auth check, import."""

from __future__ import annotations

from typing import Any

import click

from polysync_spec.cli.common import (
    aws_sessions,
    load_manifests,
    output_option,
    path_argument,
    provider_for,
    sandbox_option,
    target_option,
    usable_platform,
    var_option,
)
from polysync_spec.cli.group import cli
from polysync_spec.errors import ExitCode, PolysyncError


@cli.command()
@path_argument
@click.option("--platform", "-p", "platform_name", required=True, help="Platform to look at.")
@target_option
@var_option
@output_option("text", "json")
@sandbox_option
def discover(
    *,
    path: str,
    platform_name: str,
    target: str | None,
    variables: tuple[str, ...],
    output: str,
    use_sandbox: bool,
) -> ExitCode:
    """List what a platform holds: Glue jobs, or Batch definitions and queues. Read-only."""
    project = load_manifests(path, target, variables)
    platform = usable_platform(project, platform_name, path)
    with aws_sessions(use_sandbox) as sessions:
        return _discover(platform_name, platform, sessions, output)


def _discover(platform_name: str, platform: Any, sessions: Any, output: str) -> ExitCode:
    from polysync_spec.render import discovery

    found = provider_for(platform_name, platform, sessions).inventory(platform_name)
    shown = (
        discovery.as_json(platform_name, platform.type, platform.region, found)
        if output == "json"
        else discovery.as_text(found)
    )
    click.echo(shown, nl=False)
    return ExitCode.OK


@cli.group()
def auth() -> None:
    """Authentication: check who each platform's credentials are."""


@auth.command("check")
@path_argument
@click.option(
    "--platform", "-p", "platform_names", multiple=True, help="Platform to check (default: all)."
)
@target_option
@var_option
@output_option("text", "json")
@sandbox_option
def auth_check(
    *,
    path: str,
    platform_names: tuple[str, ...],
    target: str | None,
    variables: tuple[str, ...],
    output: str,
    use_sandbox: bool,
) -> ExitCode:
    """sts:GetCallerIdentity per platform: the account and ARN it acts as. No secret is shown."""
    import json

    from polysync_spec.providers.aws import caller_identity

    project = load_manifests(path, target, variables)
    declared = {name for (section, name) in project.entry_errors if section == "platforms"}
    names = list(platform_names) or sorted(set(project.platforms) | declared)
    results: list[dict[str, str]] = []
    with aws_sessions(use_sandbox) as sessions:
        for name in names:
            entry: dict[str, str] = {"platform": name}
            try:
                platform = usable_platform(project, name, path)
                entry["method"] = platform.auth.method
                entry.update(caller_identity(sessions, name, platform))
                entry["status"] = "ok"
            except PolysyncError as exc:
                entry["status"] = "failed"
                entry["error"] = str(exc)
            results.append(entry)
    if output == "json":
        click.echo(json.dumps({"version": 1, "platforms": results}, indent=2))
    else:
        for entry in results:
            if entry["status"] == "ok":
                click.echo(
                    f"{entry['platform']}: {entry['method']} -> account {entry['account']}, "
                    f"{entry['arn']}"
                )
            else:
                click.echo(f"{entry['platform']}: FAILED: {entry['error']}")
    failed = any(entry["status"] != "ok" for entry in results)
    return ExitCode.ERROR if failed or not results else ExitCode.OK


@cli.command("import")
@path_argument
@click.option("--platform", "-p", "platform_name", required=True, help="Platform to import from.")
@click.option("--filter", "pattern", default="*", show_default=True, help="Glob on AWS job names.")
@click.option("--into", type=click.Path(dir_okay=False), help="File for new jobs.")
@click.option("--dry-run", is_flag=True, help="Show the changes as a diff; write nothing.")
@click.option(
    "--refresh", is_flag=True, help="Replace captured values that differ from AWS's by AWS's."
)
@click.option(
    "--allow-request-changes",
    is_flag=True,
    help="Write even when the import changes a request a run would send.",
)
@target_option
@var_option
@sandbox_option
def import_jobs(
    *,
    path: str,
    platform_name: str,
    pattern: str,
    into: str | None,
    dry_run: bool,
    refresh: bool,
    allow_request_changes: bool,
    target: str | None,
    variables: tuple[str, ...],
    use_sandbox: bool,
) -> ExitCode:
    """Write or update job manifests from what a platform holds (round-trip safe). Runs
    whose request the import would change are shown, and refused without
    --allow-request-changes."""
    from pathlib import Path

    from polysync_spec import load_project
    from polysync_spec.app.importing import import_jobs, refusal
    from polysync_spec.cli.common import parse_vars
    from polysync_spec.render import diagnostics as render

    project = load_manifests(path, target, variables)
    usable_platform(project, platform_name, path)  # or a clear error naming it
    if not project.ok:
        # A job entry with errors would not be recognised, and importing would add it twice.
        click.echo(render.text(project.errors), nl=False, err=True)
        raise PolysyncError("the manifests have errors; fix them before importing into them")
    root = Path(path) if Path(path).is_dir() else Path(path).parent
    cli_vars = parse_vars(variables)
    with aws_sessions(use_sandbox) as sessions:
        result = import_jobs(
            project,
            root,
            platform_name,
            sessions,
            reload=lambda texts: load_project(
                path, target=target, cli_vars=cli_vars, overrides=texts
            ),
            into=Path(into) if into else None,
            pattern=pattern,
            refresh=refresh,
            write=not dry_run,
            allow_request_changes=allow_request_changes,
        )
    if dry_run:
        for diff in result.diffs.values():
            click.echo(diff, nl=False)
    for change in result.requests:
        click.echo(change.diff, nl=False)
    for captured in result.captured:
        click.echo(captured.describe(written=result.written), err=True)
    if result.unused:
        click.echo(
            f"used by no run plan (no request to compare): {', '.join(result.unused)}", err=True
        )
    if result.updated and not result.requests:
        click.echo("no request changes", err=True)
    for change in result.stated:
        click.echo(
            f"{change.name()}: now sent explicitly, with the values AWS already fills from "
            "the job or definition: what runs is unchanged",
            err=True,
        )
    if result.run_changes and not allow_request_changes:
        if not dry_run:
            raise PolysyncError(refusal(result.run_changes))
        click.echo(refusal(result.run_changes, dry_run=True), err=True)
    verb = "would change" if dry_run else "changed"
    click.echo(
        f"{len(result.added)} new job(s), {len(result.updated)} updated, {len(result.diffs)} file(s) {verb}",
        err=True,
    )
    if result.gone:
        click.echo(f"in the manifests but gone from AWS (kept): {', '.join(result.gone)}", err=True)
    return ExitCode.OK
