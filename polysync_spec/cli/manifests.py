"""Commands that read manifests only: validate, schema."""

from __future__ import annotations

from pathlib import Path

import click

from polysync_spec import validate as validate_manifests
from polysync_spec.cli.common import (
    output_option,
    parse_vars,
    path_argument,
    target_option,
    var_option,
)
from polysync_spec.cli.group import cli
from polysync_spec.errors import ExitCode
from polysync_spec.manifest.loader import survey
from polysync_spec.render import diagnostics as render
from polysync_spec.schema import schema_text


@cli.command()
@path_argument
@target_option
@var_option
@output_option("text", "json", "github")
@click.option(
    "--require-env",
    is_flag=True,
    help="Treat an unset ${env.NAME} as an error (plan and apply always do).",
)
def validate(
    path: str, target: str | None, variables: tuple[str, ...], output: str, require_env: bool
) -> ExitCode:
    """Check manifests offline; report every problem with file:line:col.

    PATH is a manifest file or a directory searched recursively for *.yaml and *.yml
    (default: $POLYSYNC_PATH or the current directory).
    """
    diagnostics = validate_manifests(
        path, target=target, cli_vars=parse_vars(variables), require_env=require_env
    )
    if output == "json":
        click.echo(render.json_document(diagnostics), nl=False)
    elif output == "github":
        click.echo(render.github(diagnostics), nl=False)
    else:
        click.echo(render.text(diagnostics), nl=False)
        files, skipped = survey(path)
        note = render.skipped_note(skipped, path)
        if note:
            click.echo(note, err=True)
        click.echo(render.summary(diagnostics, files), err=True)
    return ExitCode.ERROR if any(d.is_error for d in diagnostics) else ExitCode.OK


@cli.command()
@click.option("--reference", is_flag=True, help="Print the Markdown manifest reference instead.")
@click.option("--plan", "plan_file", is_flag=True, help="Print the JSON Schema of plan files.")
@click.option(
    "--write",
    "write_to",
    type=click.Path(dir_okay=False),
    help="Write it to this file instead (e.g. schemas/polysync.schema.json in your "
    "repository, where editors and `polysync import`'s schema line find it).",
)
def schema(reference: bool, plan_file: bool, write_to: str | None) -> ExitCode:
    """Print the JSON Schema of manifest format v1 (or the Markdown reference, or the
    schema of plan files)."""
    if write_to is not None:
        from polysync_spec.engine.planschema import plan_schema_text
        from polysync_spec.reference import reference_markdown

        text = (
            plan_schema_text()
            if plan_file
            else reference_markdown() + "\n"
            if reference
            else schema_text()
        )
        target = Path(write_to)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        click.echo(f"wrote {target}", err=True)
        return ExitCode.OK
    if plan_file:
        from polysync_spec.engine.planschema import plan_schema_text

        click.echo(plan_schema_text(), nl=False)
        return ExitCode.OK
    if reference:
        from polysync_spec.reference import reference_markdown

        click.echo(reference_markdown())
        return ExitCode.OK
    click.echo(schema_text(), nl=False)
    return ExitCode.OK


@cli.command()
@path_argument
@click.option("--check", is_flag=True, help="Change nothing; exit 1 if a file would change.")
def fmt(path: str, check: bool) -> ExitCode:
    """Format manifests canonically, keeping comments, quotes and key order."""
    from polysync_spec.manifest.fmt import format_path

    result = format_path(path, write=not check)
    click.echo(render.text(result.diagnostics), nl=False, err=True)
    verb = "would reformat" if check else "reformatted"
    for file in result.changed:
        click.echo(f"{verb} {file}")
    click.echo(f"{len(result.changed)} file(s) {verb}, {len(result.unchanged)} unchanged", err=True)
    if result.diagnostics and any(d.is_error for d in result.diagnostics):
        return ExitCode.ERROR
    return ExitCode.ERROR if check and result.changed else ExitCode.OK
