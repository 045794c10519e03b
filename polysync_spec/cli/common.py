"""What the commands share: options, variables, manifests, AWS sessions, the ledger."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import click

from polysync_spec.errors import PolysyncError
from polysync_spec.render import diagnostics as render

DEFAULT_PATH_ENV = "POLYSYNC_PATH"


if TYPE_CHECKING:  # generic from click 8.2; the project supports 8.1 too
    _ParamType = click.ParamType[float, Any]
else:
    _ParamType = click.ParamType


class Seconds(_ParamType):
    """A finite number of seconds within [minimum, maximum]: inf, nan and 1e300 are
    usage errors, never a crash once runs have started."""

    name = "seconds"

    def __init__(self, minimum: float = 0.0, maximum: float = 7 * 24 * 3600.0) -> None:
        self.minimum, self.maximum = minimum, maximum

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        try:
            number = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number of seconds", param, ctx)
        if not (self.minimum <= number <= self.maximum):  # also false for nan
            self.fail(
                f"{value!r} is not between {self.minimum:g} and {self.maximum:g} seconds",
                param,
                ctx,
            )
        return number


VAR_FILES = "polysync.var_files"


def parse_vars(values: Sequence[str], *, files: Sequence[str] | None = None) -> Any:
    """The variable values a command sets: those of its `--var-file`s (`files`; None: the
    ones given to the running command), a later file over an earlier one, then `--var
    NAME=VALUE` over them all. Returns `manifest.varfile.Assignments` (a dict of NAME ->
    value text that knows where in a file each value was set). A variable file with
    problems raises `PolysyncError` listing them with file:line:col (exit 1, as a manifest
    with problems does); a malformed `--var` is a usage error (exit 64)."""
    from polysync_spec.manifest.varfile import Assignments, read_var_files

    if files is None:
        context = click.get_current_context(silent=True)
        files = context.meta.get(VAR_FILES, ()) if context is not None else ()
    from_files, problems = read_var_files(files)
    if problems:
        click.echo(render.text(problems), nl=False, err=True)
        raise PolysyncError(
            f"the variable file(s) have {len(problems)} problem(s) (see above); nothing was done"
        )
    parsed: dict[str, str] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"expected NAME=VALUE, got {item!r}", param_hint="--var")
        parsed[name.strip()] = value
    assignments: Assignments = from_files.overridden_by(parsed)
    return assignments


def _remember_var_files(ctx: click.Context, _param: click.Parameter, value: Any) -> None:
    ctx.meta[VAR_FILES] = tuple(value or ())


sandbox_option = click.option(
    "--sandbox",
    "use_sandbox",
    is_flag=True,
    help="Run against the running `polysync sandbox`, else an embedded one for this command "
    "alone, seeded with the example objects (no AWS account).",
)


@contextlib.contextmanager
def aws_sessions(use_sandbox: bool, **options: Any) -> Iterator[Any]:
    """AWS sessions for a command: real ones; with `use_sandbox`, ones aimed at the
    running `polysync sandbox` (its state directory's record, alive and answering), else
    at an embedded sandbox started for this command alone (said on stderr). `options` go
    to `Sessions` (e.g. `submit_read_timeout`)."""
    from polysync_spec.providers.aws import Sessions

    if not use_sandbox:
        yield Sessions(**options)
        return
    from polysync_spec.sandbox import state

    found = state.running(state.state_dir())
    if found is not None:
        click.echo(f"(sandbox at {found.endpoint_url}: the running one, pid {found.pid})", err=True)
        yield Sessions(sandbox_url=found.endpoint_url, **options)
        return
    from polysync_spec.sandbox.seed import apply_seed, load_seed
    from polysync_spec.sandbox.server import Sandbox

    # A record whose sandbox died: its jobs and runs are gone, and a command about them
    # (status, logs, cancel) must not seem to answer for them (found by a fresh tester).
    gone = state.read_record(state.state_dir())
    with Sandbox() as server:
        server.reset()  # moto's state is process-wide: start from nothing, then seed
        apply_seed(server, load_seed())
        if gone is not None:
            click.echo(
                f"(the sandbox recorded in {state.state_dir()}, pid {gone.pid} at "
                f"{gone.endpoint_url}, is no longer running: every job and run it held is "
                "gone with it)",
                err=True,
            )
        click.echo(
            f"(no running sandbox: this command uses its own at {server.endpoint_url}, seeded "
            "with the example objects; its state ends with the command)",
            err=True,
        )
        yield Sessions(sandbox_url=server.endpoint_url, **options)


def output_option(*formats: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return click.option(
        "--output", "-o", type=click.Choice(list(formats)), default="text", show_default=True
    )


path_argument = click.argument(
    "path",
    required=False,
    default=lambda: os.environ.get(DEFAULT_PATH_ENV, "."),
    type=click.Path(path_type=str),
)

target_option = click.option("--target", "-t", help="Overlay the named target.")


def only_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """`--only RUN[,RUN]` (the command's `only`, repeatable) and `--only-exact`."""
    command = click.option(
        "--only-exact",
        is_flag=True,
        help="With --only: the named runs alone, without the runs they wait on (which "
        "are then not waited for).",
    )(command)
    return click.option(
        "--only",
        multiple=True,
        metavar="RUN[,RUN]",
        help="Apply only these runs of the run plan and the runs they wait on (`after`, "
        "transitively); the others are left out, untouched (repeatable).",
    )(command)


def check_only(only: tuple[str, ...], only_exact: bool) -> None:
    if only_exact and not only:
        raise click.UsageError("--only-exact needs --only RUN[,RUN]")


_var = click.option(
    "--var",
    "variables",
    multiple=True,
    metavar="NAME=VALUE",
    help="Set a variable (repeatable; overrides --var-file).",
)
_var_file = click.option(
    "--var-file",
    multiple=True,
    metavar="FILE",
    type=click.Path(exists=True, dir_okay=False),
    expose_value=False,
    callback=_remember_var_files,
    help="Set variables from a YAML or JSON file of NAME: value (repeatable; a later "
    "file overrides an earlier one).",
)


def var_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """`--var NAME=VALUE` (the command's `variables`) and `--var-file FILE`, which
    `parse_vars` reads from the running command's context."""
    return _var(_var_file(command))


# Their debug output holds request bodies: tokens, keys and secret parameter values. They
# stay at WARNING whatever the root logger says; --verbose is for polysync's own loggers.


def provider_for(name: str, platform: Any, sessions: Any) -> Any:
    from polysync_spec.providers.clients import client_for as build

    return build(name, platform, sessions)


def load_manifests(
    path: str,
    target: str | None,
    variables: tuple[str, ...],
    *,
    var_files: Sequence[str] | None = None,
) -> Any:
    """The project at `path` with `variables` (and `var_files`; None: the command's
    `--var-file`s) set, as `parse_vars` reads them."""
    from polysync_spec import load_project

    project = load_project(path, target=target, cli_vars=parse_vars(variables, files=var_files))
    note_skipped(project, path)
    return project


def note_skipped(project: Any, path: str) -> None:
    """Say on stderr, in one line, which YAML files below `path` were not read."""
    note = render.skipped_note(project.skipped, path)
    if note:
        click.echo(note, err=True)


def usable_platform(project: Any, name: str, path: str) -> Any:
    """A platform that validated cleanly (its ${env...} values all set), or a clear error."""
    platform = project.platforms.get(name)
    problems = project.errors_of("platforms", name)
    if platform is None or problems:
        click.echo(render.text(problems), nl=False, err=True)
        if platform is None and not problems:
            known = ", ".join(sorted(project.platforms)) or "none"
            raise PolysyncError(f"no valid platform {name!r} in {path} (platforms: {known})")
        raise PolysyncError(f"platform {name!r} has errors; fix them first")
    return platform


def plan_vars(saved: Any) -> tuple[str, ...]:
    return tuple(f"{k}={v}" for k, v in saved.variables.items() if v != "***")


def state_ledger(state: str, sessions: Any = None) -> Any:
    """The ledger named by --state: a SQLite file, or s3://bucket/prefix."""
    from polysync_spec.engine.ledger import open_ledger

    if not state.startswith("s3://"):
        return open_ledger(state)
    import boto3

    sandbox_url = getattr(sessions, "sandbox_url", None)
    keys = (
        {"aws_access_key_id": "sandbox", "aws_secret_access_key": "sandbox"} if sandbox_url else {}
    )
    client = boto3.client("s3", endpoint_url=sandbox_url, **keys)  # type: ignore[call-overload]
    return open_ledger(state, client)


def plan_costs(ledger: Any, apply_id: str) -> dict[str, Any]:
    """Each run's cost estimate as the apply's plan holds it (its prices), by run key."""
    stored = ledger.plan(apply_id) or {}
    return {run["key"]: run.get("cost") for run in stored.get("runs", [])}


def in_plan_order(ledger: Any, apply_id: str, runs: dict[str, Any]) -> dict[str, Any]:
    """The apply's runs in its plan's order (then any the plan no longer has)."""
    stored = ledger.plan(apply_id) or {}
    order = [run["key"] for run in stored.get("runs", [])]
    return {key: runs[key] for key in order if key in runs} | runs
