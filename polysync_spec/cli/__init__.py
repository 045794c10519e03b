"""The `polysync` command line: thin commands over the library, one exit-code decision point.

Every command returns an `ExitCode`; `run` is the only place that turns outcomes into exit
codes. Usage errors exit 64 (not click's 2, which `plan --detailed-exitcode` uses for
"runs pending"). Commands live by family: `manifests`, `aws`, `plan`, `apply`, `runs`.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import Sequence
from typing import NoReturn

import click

from polysync_spec import redact
from polysync_spec.cli import (  # noqa: F401  (registers the commands)
    apply,
    aws,
    demo,
    events,
    iam,
    init,
    logs,
    manifests,
    plan,
    runs,
    sandbox,
)
from polysync_spec.cli.group import cli
from polysync_spec.errors import ExitCode, PolysyncError

__all__ = ["cli", "main", "run"]


def main(argv: Sequence[str] | None = None) -> NoReturn:
    # A cancelled CI job sends SIGTERM, a closed terminal SIGHUP. Treat them as Ctrl-C
    # from the first instant, so a stop before `apply` installs its own handler still
    # exits 4 ("interrupted") rather than dying by the signal.
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    sys.exit(run(argv))


def _terminate(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def run(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return the exit code (tests call this directly).

    Everything the command writes to stdout, stderr or a log passes the redaction layer
    (`polysync_spec.redact`): secrets met during the invocation (the manifests' secret
    values, credentials, tokens) are masked, whoever wrote the text. The layer is
    installed for the call only and knows only this call's secrets, as a process would."""
    with redact.isolated(), redact.guarded_output():
        redact.register_environment(os.environ)
        return _run(argv)


def _run(argv: Sequence[str] | None) -> int:
    try:
        result = cli.main(args=list(argv) if argv is not None else None, standalone_mode=False)
    except click.UsageError as exc:
        exc.show()
        return ExitCode.USAGE
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.Abort as exc:
        if isinstance(exc.__cause__, KeyboardInterrupt):  # click wraps Ctrl-C / SIGTERM
            click.echo("interrupted", err=True)
            return ExitCode.INTERRUPTED
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
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return ExitCode.INTERRUPTED
    except Exception as exc:
        # A bug of ours: one line for the user, the traceback under --verbose only.
        logging.getLogger("polysync_spec").debug("internal error", exc_info=True)
        click.echo(
            f"internal error: {exc.__class__.__name__}: {exc} (run with -v for details; please report it)",
            err=True,
        )
        return ExitCode.ERROR
    if isinstance(result, int):
        return int(result)
    return ExitCode.OK
