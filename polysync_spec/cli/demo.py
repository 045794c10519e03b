"""`polysync demo`: the whole loop on the embedded sandbox, with no AWS account.

validate -> plan -> apply of the example's `nightly` run plan (Glue runs succeed, the
scripted data-quality run fails with its message, `on_failure: stop` skips the rest), then
`backfill`, interrupted while its Batch array job runs, to show a confirmed cancellation.
The demo exits 0 when everything happened as it should, failure included.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import click

from polysync_spec.cli.group import cli
from polysync_spec.engine.phase import RunPhase
from polysync_spec.errors import ExitCode, PolysyncError

# The example project, shipped with the package (a link to the repository's examples/).
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _heading(text: str) -> None:
    click.echo("")
    click.echo(click.style(f"== {text}", bold=True))


@cli.command()
@click.option(
    "--examples",
    "examples_path",
    type=click.Path(exists=True, file_okay=False),
    default=str(EXAMPLES),
    show_default=True,
)
@click.option("--poll-interval", type=click.FloatRange(min=0.05), default=0.5, show_default=True)
def demo(examples_path: str, poll_interval: float) -> ExitCode:
    """Validate, plan and apply the example project on a local AWS sandbox."""
    from polysync_spec import load_project, validate
    from polysync_spec.app import apply as use_case
    from polysync_spec.app.planning import plan_project
    from polysync_spec.engine.ledger import SqliteLedger
    from polysync_spec.engine.monitor import PollPolicy
    from polysync_spec.providers.aws import Sessions
    from polysync_spec.render import diagnostics
    from polysync_spec.render import plan as render_plan
    from polysync_spec.render.events import text_sink
    from polysync_spec.render.progress import LiveProgress, plain
    from polysync_spec.render.runs import summary_table
    from polysync_spec.sandbox.lifecycle import Outcome
    from polysync_spec.sandbox.seed import apply_seed, load_seed
    from polysync_spec.sandbox.server import Sandbox

    env = {**os.environ, "ORDERS_API_TOKEN": os.environ.get("ORDERS_API_TOKEN", "demo-token")}
    with Sandbox() as server, tempfile.TemporaryDirectory() as state_dir:
        server.reset()
        apply_seed(server, load_seed())
        sessions = Sessions(sandbox_url=server.endpoint_url)
        click.echo(
            f"Sandbox: a local AWS emulator at {server.endpoint_url}, seeded with the example's"
        )
        click.echo("Glue jobs, Batch queues and definitions (polysync_spec/sandbox/seed.yaml).")

        _heading(f"polysync validate {examples_path}")
        found = validate(examples_path, env=env, require_env=True)
        click.echo(diagnostics.text(found), nl=False)
        click.echo(diagnostics.summary(found, len(list(Path(examples_path).rglob("*.yaml")))))
        if any(d.is_error for d in found):
            raise PolysyncError("the example project does not validate")

        def applied(run_plan: str, interrupt_when: str | None = None) -> Any:
            project = load_project(examples_path, env=env)
            the_plan = plan_project(project, run_plan, sessions, manifest_path=examples_path)
            _heading(f"polysync plan --run-plan {run_plan}")
            click.echo(render_plan.text(the_plan, color=sys.stdout.isatty()), nl=False)
            _heading(f"polysync apply --run-plan {run_plan}")
            ledger = SqliteLedger(Path(state_dir) / "state.db")
            settings = use_case.ApplySettings(
                poll=PollPolicy(minimum=poll_interval, maximum=poll_interval * 4)
            )
            executor = use_case.executor_for(
                the_plan, project, sessions, ledger, env=env, settings=settings
            )
            live = (
                LiveProgress(executor.runs, sys.stdout, click.style)
                if sys.stdout.isatty()
                else None
            )
            executor.sink = text_sink(live or plain(sys.stdout))
            if interrupt_when:
                _interrupt_once_running(executor, interrupt_when)
            try:
                result = use_case.run(executor, signals=False)
            finally:
                ledger.close()
            if live:
                live.finish()
            click.echo("")
            click.echo(summary_table(result.runs))
            return result

        nightly = applied("nightly")
        server.script("batch", "thumbnails", Outcome(stuck_in="RUNNING", starting_seconds=0.5))
        click.echo("")
        click.echo("Next: backfill, interrupted (as Ctrl-C would) once its array job runs.")
        backfill = applied("backfill", interrupt_when="thumbnails")

    statuses = {k: s.status for k, s in nightly.runs.items()}
    expected = {
        "orders_etl": RunPhase.SUCCESS,
        "customers_etl": RunPhase.SUCCESS,
        "orders_quality": RunPhase.FAILED,
        "nightly_export": RunPhase.SKIPPED,
        "cleanup": RunPhase.SKIPPED,
    }
    cancelled = backfill.runs["thumbnails"].status is RunPhase.CANCELLED and backfill.interrupted
    _heading("What you saw")
    click.echo("- Glue runs went STARTING -> RUNNING -> SUCCEEDED, each with its console link.")
    click.echo(
        f"- orders_quality failed with its message: {nightly.runs['orders_quality'].message}"
    )
    click.echo("- on_failure: stop skipped what depended on it; apply would have exited 3.")
    click.echo("- backfill was interrupted: its Batch array job was cancelled (TerminateJobs) and")
    click.echo("  the cancellation confirmed before exiting; apply would have exited 4.")
    if statuses != expected or not cancelled:
        click.echo(
            f"unexpected outcome: {statuses}, thumbnails {backfill.runs['thumbnails'].status}",
            err=True,
        )
        return ExitCode.ERROR
    click.echo("Demo complete.")
    return ExitCode.OK


def _interrupt_once_running(executor: Any, key: str) -> None:
    """Interrupt the apply as Ctrl-C would, once run `key` is running in AWS."""

    def watch() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if executor.runs[key].status is RunPhase.RUNNING:
                time.sleep(1.0)
                executor.interrupt()
                return
            time.sleep(0.1)

    threading.Thread(target=watch, name="demo-interrupt", daemon=True).start()
