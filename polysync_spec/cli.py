"""The `polysync` command line: thin commands over the library, one exit-code decision point.

Every command returns an `ExitCode`; `main` is the only place that exits. Usage errors exit
64 (not click's 2, which `plan --detailed-exitcode` uses for "runs pending").
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import NoReturn

import click

from polysync_spec import __version__
from polysync_spec.errors import ExitCode, PolysyncError
from polysync_spec.manifest import validate as validate_manifests
from polysync_spec.manifest.loader import count_manifest_files
from polysync_spec.render import diagnostics as render
from polysync_spec.schema import schema_text

DEFAULT_PATH_ENV = "POLYSYNC_PATH"


def _parse_vars(values: Sequence[str]) -> dict[str, str]:
    parsed: dict[str, str] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"expected NAME=VALUE, got {item!r}", param_hint="--var")
        parsed[name.strip()] = value
    return parsed


path_argument = click.argument(
    "path",
    required=False,
    default=lambda: os.environ.get(DEFAULT_PATH_ENV, "."),
    type=click.Path(path_type=str),
)
target_option = click.option("--target", "-t", help="Overlay the named target.")
var_option = click.option(
    "--var", "variables", multiple=True, metavar="NAME=VALUE", help="Set a variable (repeatable)."
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="polysync")
def cli() -> None:
    """Jobs-as-code for AWS Glue and AWS Batch."""


@cli.command()
@path_argument
@target_option
@var_option
@click.option(
    "--output",
    "-o",
    type=click.Choice(["text", "json", "github"]),
    default="text",
    show_default=True,
)
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
        path, target=target, cli_vars=_parse_vars(variables), require_env=require_env
    )
    if output == "json":
        click.echo(render.json_document(diagnostics), nl=False)
    elif output == "github":
        click.echo(render.github(diagnostics), nl=False)
    else:
        click.echo(render.text(diagnostics), nl=False)
        click.echo(render.summary(diagnostics, count_manifest_files(path)), err=True)
    return ExitCode.ERROR if any(d.is_error for d in diagnostics) else ExitCode.OK


@cli.command()
def schema() -> ExitCode:
    """Print the JSON Schema of manifest format v1."""
    click.echo(schema_text(), nl=False)
    return ExitCode.OK


def main(argv: Sequence[str] | None = None) -> NoReturn:
    sys.exit(run(argv))


def run(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return the exit code (tests call this directly)."""
    try:
        result = cli.main(args=list(argv) if argv is not None else None, standalone_mode=False)
    except click.UsageError as exc:
        exc.show()
        return ExitCode.USAGE
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.Abort:
        click.echo("Aborted.", err=True)
        return ExitCode.ERROR
    except click.ClickException as exc:
        exc.show()
        return ExitCode.ERROR
    except PolysyncError as exc:
        click.echo(f"error: {exc}", err=True)
        return exc.exit_code
    except BrokenPipeError:
        # Output piped into `head`: not an error of ours.
        return ExitCode.OK
    if isinstance(result, int):
        return int(result)
    return ExitCode.OK
