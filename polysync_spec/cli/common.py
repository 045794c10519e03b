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


def parse_vars(values: Sequence[str]) -> dict[str, str]:
    parsed: dict[str, str] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"expected NAME=VALUE, got {item!r}", param_hint="--var")
        parsed[name.strip()] = value
    return parsed


sandbox_option = click.option(
    "--sandbox",
    "use_sandbox",
    is_flag=True,
    help="Run against an embedded AWS sandbox seeded with the example objects (no AWS account).",
)


@contextlib.contextmanager
def aws_sessions(use_sandbox: bool, **options: Any) -> Iterator[Any]:
    """AWS sessions for a command: real ones, or ones aimed at a fresh embedded sandbox.
    `options` go to `Sessions` (e.g. `submit_read_timeout`)."""
    from polysync_spec.providers.aws import Sessions

    if not use_sandbox:
        yield Sessions(**options)
        return
    from polysync_spec.sandbox.seed import apply_seed, load_seed
    from polysync_spec.sandbox.server import Sandbox

    with Sandbox() as server:
        server.reset()  # moto's state is process-wide: start from nothing, then seed
        apply_seed(server, load_seed())
        click.echo(f"(sandbox at {server.endpoint_url}, seeded with the example objects)", err=True)
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

var_option = click.option(
    "--var", "variables", multiple=True, metavar="NAME=VALUE", help="Set a variable (repeatable)."
)


# Their debug output holds request bodies: tokens, keys and secret parameter values. They
# stay at WARNING whatever the root logger says; --verbose is for polysync's own loggers.


def provider_for(name: str, platform: Any, sessions: Any) -> Any:
    from polysync_spec.providers.clients import client_for as build

    return build(name, platform, sessions)


def load_manifests(path: str, target: str | None, variables: tuple[str, ...]) -> Any:
    from polysync_spec import load_project

    return load_project(path, target=target, cli_vars=parse_vars(variables))


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
