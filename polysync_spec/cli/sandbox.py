"""`polysync sandbox`: the local AWS emulator, running until stopped, that `--sandbox` on
every other command uses while it runs (its state directory says where it is)."""

from __future__ import annotations

from typing import Any

import click

from polysync_spec.cli.common import VAR_FILES, var_option
from polysync_spec.cli.group import cli
from polysync_spec.errors import ExitCode, PolysyncError


@cli.command()
@click.option(
    "--seed",
    "seed_file",
    type=click.Path(exists=True, dir_okay=False),
    help="Seed YAML in the AWS API's shapes (default, without --from: the example project's).",
)
@click.option(
    "--from",
    "from_path",
    type=click.Path(exists=True),
    help="Seed from these manifests: the Glue jobs, Batch definitions and queues they name.",
)
@click.option("--target", "-t", help="With --from: overlay the named target.")
@var_option
@click.option(
    "--outcome",
    "outcome_args",
    multiple=True,
    metavar="JOB=OUTCOME",
    help="With --from: how runs of manifest job JOB end: succeeded, failed, stuck, and for "
    "Glue also timeout, error, expired (repeatable).",
)
@click.option(
    "--outcomes",
    "outcomes_file",
    type=click.Path(exists=True, dir_okay=False),
    help="With --from: a YAML mapping of JOB: OUTCOME (a word, or result/message/exit_code/"
    "starting_seconds/running_seconds/stuck_in/logs).",
)
@click.option(
    "--port", type=int, default=4599, show_default=True, help="Port on 127.0.0.1 (0: any)."
)
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False),
    help="Where the running sandbox is recorded [default: $POLYSYNC_SANDBOX_DIR, else "
    "$XDG_STATE_HOME/polysync/sandbox, else ~/.local/state/polysync/sandbox].",
)
def sandbox(
    *,
    seed_file: str | None,
    from_path: str | None,
    target: str | None,
    variables: tuple[str, ...],
    outcome_args: tuple[str, ...],
    outcomes_file: str | None,
    port: int,
    state_dir: str | None,
) -> ExitCode:
    """Run the local AWS emulator (Glue, Batch, STS, S3, CloudWatch Logs) until stopped
    (Ctrl-C or SIGTERM). While it runs, `--sandbox` on any command uses it, so `apply`,
    `logs`, `status` and `cancel` see the same runs."""
    import threading

    from polysync_spec.sandbox import state
    from polysync_spec.sandbox.seed import apply_seed, load_seed

    var_files = click.get_current_context().meta.get(VAR_FILES)
    if (outcome_args or outcomes_file or target or variables or var_files) and not from_path:
        raise click.UsageError(
            "--outcome, --outcomes, --target, --var and --var-file go with --from PATH"
        )
    directory = state.state_dir(state_dir)
    with state.claim(directory) as held:
        # Everything the user gave is read and checked before anything listens.
        seeds = [load_seed(seed_file)] if seed_file or not from_path else []
        project = _project(from_path, target, variables) if from_path else None
        outcomes = _outcomes(project, outcome_args, outcomes_file) if project else []
        server = _start(port)
        try:
            created = {"glue_jobs": 0, "job_queues": 0, "job_definitions": 0}
            for seed in seeds:
                for key, count in apply_seed(server, seed).items():
                    created[key] += count
            if project is not None:
                from polysync_spec.sandbox.from_manifests import seed_from_project

                for key, count in seed_from_project(server.endpoint_url, project).items():
                    created[key] += count
            for _, service, name, outcome in outcomes:
                server.script(service, name, outcome)
            sources = [*(seed.source for seed in seeds), *([from_path] if from_path else [])]
            seeded = (
                f"{created['glue_jobs']} Glue jobs, {created['job_queues']} Batch queues, "
                f"{created['job_definitions']} Batch definition revisions"
                f" from {' and '.join(sources)}"
            )
            if held.replaced is not None and held.replaced.pid != 0:
                click.echo(
                    f"(replaced the record of a sandbox that is gone: pid {held.replaced.pid})",
                    err=True,
                )
            held.write(server.endpoint_url, seeded)
            click.echo(f"polysync sandbox listening on {server.endpoint_url}")
            click.echo(f"seeded: {seeded}")
            if outcomes:
                scripted = ", ".join(f"{job} {_word(o)}" for job, _, _, o in outcomes)
                click.echo(f"scripted: {scripted}")
            click.echo(f"recorded in {directory}: --sandbox on any polysync command uses it.")
            click.echo("Other AWS SDKs reach it with:")
            for key, value in server.env().items():
                click.echo(f"  export {key}={value}")
            click.echo("Ctrl-C stops it.")
            threading.Event().wait()
        except KeyboardInterrupt:
            click.echo("stopped.", err=True)
        finally:
            held.release()  # the record goes before the endpoint does
            server.stop()
    return ExitCode.OK


def _start(port: int) -> Any:
    from polysync_spec.sandbox.server import Sandbox

    if not 0 <= port <= 65535:
        raise click.BadParameter(f"{port} is not a port (0-65535)", param_hint="--port")
    try:
        return Sandbox(port=port).start()
    except OSError as exc:
        raise PolysyncError(
            f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}; another program holds "
            "it (--port 0 takes any free port)"
        ) from None


def _project(path: str, target: str | None, variables: tuple[str, ...]) -> Any:
    """The manifests at `path`, valid, or their errors on stderr and a PolysyncError. An
    unset ${env.NAME} is no error here: the sandbox needs no secret's value."""
    from polysync_spec import load_project
    from polysync_spec.cli.common import parse_vars
    from polysync_spec.render import diagnostics as render

    project = load_project(
        path, target=target, cli_vars=parse_vars(variables), unset_env_severity=None
    )
    if not project.ok:
        click.echo(render.text(project.errors), nl=False, err=True)
        raise PolysyncError(
            f"cannot seed the sandbox from {path}: the manifests have errors (above)"
        )
    if not project.jobs:
        raise PolysyncError(f"cannot seed the sandbox from {path}: the manifests define no jobs")
    return project


def _outcomes(
    project: Any, outcome_args: tuple[str, ...], outcomes_file: str | None
) -> list[tuple[str, str, str, Any]]:
    """(manifest job, service, AWS name, Outcome) for each job given in --outcomes FILE, then in
    --outcome JOB=OUTCOME (a later one wins)."""
    from polysync_spec.sandbox.from_manifests import aws_name, outcome_of

    chosen: dict[str, Any] = {}
    if outcomes_file:
        from polysync_spec.errors import Position
        from polysync_spec.sandbox.seed import read_yaml

        data, source, marks = read_yaml(outcomes_file, "outcomes file")
        for job, spec in data.items():
            try:
                chosen[job] = outcome_of(project, job, spec)
            except ValueError as exc:
                mark = marks.get((job,))
                where = Position(source, mark.key[0] + 1, mark.key[1] + 1) if mark else source
                raise PolysyncError(f"{where}: {exc}") from None
    for item in outcome_args:
        job, sep, word = item.partition("=")
        if not sep or not job.strip() or not word.strip():
            raise click.BadParameter(f"expected JOB=OUTCOME, got {item!r}", param_hint="--outcome")
        try:
            chosen[job.strip()] = outcome_of(project, job.strip(), word)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--outcome") from None
    return [(job, *aws_name(project, job), outcome) for job, outcome in chosen.items()]


def _word(outcome: Any) -> str:
    return f"stuck in {outcome.stuck_in}" if outcome.stuck_in else str(outcome.result)
