"""Planning commands: plan (live diff, findings, exact requests) and show (a plan file)."""

from __future__ import annotations

import sys
from typing import Any

import click

from polysync_spec.cli.common import (
    aws_sessions,
    check_only,
    load_manifests,
    note_skipped,
    only_options,
    output_option,
    parse_vars,
    path_argument,
    sandbox_option,
    target_option,
    var_option,
)
from polysync_spec.cli.group import cli
from polysync_spec.errors import ExitCode, PolysyncError
from polysync_spec.render import diagnostics as render


@cli.command()
@path_argument
@click.option("--run-plan", "-r", "run_plan", help="Run plan to plan (default: the only one).")
@target_option
@var_option
@click.option("--out", "out_file", type=click.Path(dir_okay=False), help="Write a plan file.")
@output_option("text", "json", "markdown", "github")
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 0 when apply would submit nothing, 2 when it would, 1 on errors.",
)
@click.option(
    "--state",
    "state_path",
    default=".polysync/state.db",
    show_default=True,
    help="The ledger apply uses: plan shows what apply will do with each run.",
)
@click.option("--rerun", is_flag=True, help="Plan as `apply --rerun` would.")
@click.option("--retry-failed", is_flag=True, help="Plan as `apply --retry-failed` would.")
@click.option(
    "--max-cost",
    "max_cost",
    type=click.FloatRange(min=0, min_open=True),
    help="Fail (exit 1, PS729) when the plan's expected cost exceeds this many USD; "
    "overrides the run plan's max_cost.",
)
@click.option(
    "--price-file",
    "price_file",
    type=click.Path(dir_okay=False),
    help="A JSON price table whose entries add to or replace the packaged prices (README: Cost).",
)
@only_options
@sandbox_option
def plan(
    *,
    path: str,
    run_plan: str | None,
    target: str | None,
    variables: tuple[str, ...],
    out_file: str | None,
    output: str,
    detailed_exitcode: bool,
    state_path: str,
    rerun: bool,
    retry_failed: bool,
    only: tuple[str, ...],
    only_exact: bool,
    max_cost: float | None,
    price_file: str | None,
    use_sandbox: bool,
) -> ExitCode:
    """Diff the manifests against live AWS and show the exact requests apply would send,
    and what apply will do with each run given the ledger (submit, re-attach, skip)."""
    check_only(only, only_exact)
    with aws_sessions(use_sandbox) as sessions:
        _, result = make_plan_for(
            path,
            run_plan,
            target,
            variables,
            sessions,
            only=only,
            only_exact=only_exact,
            max_cost=max_cost,
            price_file=price_file,
        )
        read_ledger_into(result, state_path, sessions, rerun=rerun, retry_failed=retry_failed)
    _emit_plan(result, output)
    if out_file:
        from polysync_spec.render.plan import json_document

        with open(out_file, "w", encoding="utf-8") as stream:
            stream.write(json_document(result))
        click.echo(f"plan written to {out_file} (id {result.plan_id})", err=True)
    if result.has_errors:
        return ExitCode.ERROR
    if detailed_exitcode:
        return ExitCode.PENDING if result.pending else ExitCode.OK
    return ExitCode.OK


def read_ledger_into(
    the_plan: Any, state_path: str, sessions: Any, *, rerun: bool, retry_failed: bool
) -> None:
    """What the ledger holds for the plan's identity; a SQLite ledger that does not
    exist yet holds nothing (and is not created by a plan)."""
    import os

    from polysync_spec.cli.common import state_ledger
    from polysync_spec.engine.resume import read_ledger

    if not state_path.startswith("s3://") and not os.path.exists(state_path):
        return
    ledger = state_ledger(state_path, sessions)
    try:
        read_ledger(the_plan, ledger, rerun=rerun, retry_failed=retry_failed)
    finally:
        ledger.close()


@cli.command()
@click.argument("plan_file", type=click.Path(dir_okay=False))
@output_option("text", "json", "markdown", "github")
def show(plan_file: str, output: str) -> ExitCode:
    """Render a saved plan file."""
    from polysync_spec.engine.planfile import read_plan_file

    saved = read_plan_file(plan_file)
    _emit_plan(saved, output)
    return ExitCode.ERROR if saved.has_errors else ExitCode.OK


def make_plan_for(
    path: str,
    run_plan: str | None,
    target: str | None,
    variables: tuple[str, ...],
    sessions: Any,
    *,
    only: tuple[str, ...] = (),
    only_exact: bool = False,
    max_cost: float | None = None,
    price_file: str | None = None,
) -> tuple[Any, Any]:
    """Load and plan (`app.planning`): what both `plan` and `apply` start with. Returns
    the project too, so that apply does not load the manifests a second time.
    `max_cost` (USD) and `price_file`: see `plan --help`."""
    from polysync_spec.app.planning import ManifestErrors, plan_project
    from polysync_spec.providers.cost import load_prices

    prices = load_prices(price_file)
    project = load_manifests(path, target, variables)
    try:
        return project, plan_project(
            project,
            run_plan,
            sessions,
            manifest_path=path,
            only=only,
            only_exact=only_exact,
            prices=prices,
            max_cost=max_cost,
        )
    except ManifestErrors:
        click.echo(render.text(project.diagnostics), nl=False, err=True)
        raise


def _emit_plan(result: Any, output: str) -> None:
    from polysync_spec.render import plan as render_plan

    if output == "json":
        click.echo(render_plan.json_document(result), nl=False)
    elif output == "markdown":
        click.echo(render_plan.markdown(result), nl=False)
    elif output == "github":
        click.echo(render_plan.github(result), nl=False)
    else:
        click.echo(render_plan.text(result, color=sys.stdout.isatty()), nl=False)


def _choose_run_plan(project: Any, requested: str | None) -> str:
    from polysync_spec.app.planning import choose_run_plan

    try:
        return choose_run_plan(project, requested)
    except PolysyncError as exc:
        raise click.UsageError(str(exc)) from None


def render_plan_text(the_plan: Any) -> str:
    from polysync_spec.render.plan import text

    return text(the_plan, color=sys.stdout.isatty())


@cli.command()
@path_argument
@click.option("--run-plan", "-r", "run_plan", help="Run plan to draw (default: the only one).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["mermaid", "dot", "text"]),
    default="mermaid",
    show_default=True,
)
@target_option
@var_option
def graph(
    *, path: str, run_plan: str | None, fmt: str, target: str | None, variables: tuple[str, ...]
) -> ExitCode:
    """Draw a run plan's runs and `after` edges (no AWS calls)."""
    from polysync_spec import load_project
    from polysync_spec.render import graph as draw

    # Offline, like validate: secrets are not needed to draw the plan.
    project = load_project(
        path, target=target, cli_vars=parse_vars(variables), unset_env_severity=None
    )
    note_skipped(project, path)
    if not project.ok:
        click.echo(render.text(project.diagnostics), nl=False, err=True)
        raise PolysyncError("the manifests have errors (see above)")
    name = _choose_run_plan(project, run_plan)
    nodes, edges = draw.run_graph(project, name)
    if fmt == "dot":
        click.echo(draw.dot(nodes, edges, name), nl=False)
    elif fmt == "text":
        click.echo(draw.text(nodes, edges), nl=False)
    else:
        click.echo(draw.mermaid(nodes, edges), nl=False)
    return ExitCode.OK
