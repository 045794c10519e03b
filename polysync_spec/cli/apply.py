"""`polysync apply`: plan (or read a plan file), confirm, apply, show the result."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator
from typing import Any

import click

from polysync_spec.cli.common import (
    DEFAULT_PATH_ENV,
    Seconds,
    aws_sessions,
    check_only,
    in_plan_order,
    load_manifests,
    only_options,
    output_option,
    plan_vars,
    sandbox_option,
    state_ledger,
    target_option,
    var_option,
)
from polysync_spec.cli.group import cli
from polysync_spec.cli.plan import make_plan_for, read_ledger_into, render_plan_text
from polysync_spec.errors import ExitCode, Interrupted, PolysyncError
from polysync_spec.render import diagnostics as render


@cli.command()
@click.argument("source", required=False, default=lambda: os.environ.get(DEFAULT_PATH_ENV, "."))
@click.option("--run-plan", "-r", "run_plan", help="Run plan to apply (default: the only one).")
@target_option
@var_option
@click.option("--auto-approve", is_flag=True, help="Apply without asking (needed without a TTY).")
@click.option("--detach", is_flag=True, help="Submit the runs and return without waiting.")
@click.option("--max-concurrency", type=click.IntRange(min=1), help="Runs in flight at once.")
@click.option(
    "--on-interrupt",
    type=click.Choice(["cancel", "detach"]),
    default="cancel",
    show_default=True,
    help="What Ctrl-C / SIGTERM does to runs in flight.",
)
@click.option(
    "--state", "state_path", default=".polysync/state.db", show_default=True, help="SQLite ledger."
)
@click.option("--poll-interval", type=Seconds(0.05, 3600), default=2.0, show_default=True)
@click.option(
    "--timeout",
    type=Seconds(1),
    help="Stop waiting after this many seconds; runs still going are reported Unknown.",
)
@click.option(
    "--stall-timeout",
    type=Seconds(1),
    default=3600.0,
    show_default=True,
    help="Give up on a run still waiting to start (RUNNABLE, WAITING, a free Glue slot) "
    "after this many seconds, reporting the reason AWS gives.",
)
@output_option("text", "json", "jsonl", "markdown")
@click.option(
    "--log-lines",
    type=click.IntRange(min=0),
    default=30,
    show_default=True,
    help="Log lines shown under a failed run (0: none).",
)
@click.option(
    "--settle-seconds",
    type=Seconds(0),
    default=60.0,
    show_default=True,
    help="How long after a failed submission ended AWS must show it: a submission whose "
    "answer was lost (a crash, a timeout, a 5xx) and not found in AWS by its identity is "
    "sent again only then (never less than the submit read timeout plus a margin).",
)
@click.option(
    "--submit-timeout",
    type=Seconds(0.1, 600),
    default=20.0,
    show_default=True,
    help="Seconds to wait for the answer to a submission before it counts as lost (the "
    "settle time after a lost answer is never shorter).",
)
@click.option(
    "--events/--no-events",
    default=True,
    show_default=True,
    help="Wait on the event queue of the platforms that name one (events_queue), polling "
    "them only to reconcile; --no-events polls them as the others.",
)
@click.option(
    "--reconcile-interval",
    type=Seconds(1, 86400),
    default=300.0,
    show_default=True,
    help="With events: seconds between the reads that catch a lost event and bound "
    "stalls and run limits.",
)
@click.option("--rerun", is_flag=True, help="Start every run afresh, whatever the ledger says.")
@click.option(
    "--retry-failed", is_flag=True, help="Submit again the runs that failed or were cancelled."
)
@only_options
@sandbox_option
def apply(
    *,
    source: str,
    run_plan: str | None,
    target: str | None,
    variables: tuple[str, ...],
    auto_approve: bool,
    detach: bool,
    max_concurrency: int | None,
    on_interrupt: str,
    state_path: str,
    poll_interval: float,
    rerun: bool,
    retry_failed: bool,
    use_sandbox: bool,
    timeout: float | None,
    output: str,
    log_lines: int,
    settle_seconds: float,
    submit_timeout: float,
    stall_timeout: float,
    only: tuple[str, ...],
    only_exact: bool,
    events: bool,
    reconcile_interval: float,
) -> ExitCode:
    """Run a run plan (or a saved plan file): submit in order, poll, cancel on interrupt.

    SOURCE is a plan file from `plan --out`, or manifests (default: $POLYSYNC_PATH or .).
    With --output jsonl, stdout carries one JSON object per event, then the result.
    """
    from polysync_spec.app import apply as use_case
    from polysync_spec.engine.monitor import PollPolicy

    check_only(only, only_exact)
    saved = _read_plan_file(source)
    if saved is not None and only:
        raise click.UsageError(
            "a plan file applies the runs it was planned with: pass --only to `plan --out`"
        )
    with aws_sessions(use_sandbox, submit_read_timeout=submit_timeout) as sessions:
        if saved is not None:
            if saved.has_errors:
                # plan --out writes the file even with errors, for review; never apply it.
                codes = sorted({f.code for f in saved.all_findings() if f.is_error})
                raise PolysyncError(
                    f"the plan in {source} has errors ({', '.join(codes)}); nothing was submitted"
                )
            project = load_manifests(
                saved.manifest_path, saved.target, plan_vars(saved), var_files=()
            )
            if not project.ok:
                click.echo(render.text(project.diagnostics), nl=False, err=True)
                raise PolysyncError(
                    f"the manifests at {saved.manifest_path} have errors; nothing was submitted"
                )
            use_case.require_fresh(project, saved, sessions)
            _require_same_actions(
                saved, state_path, sessions, rerun=rerun, retry_failed=retry_failed, source=source
            )
            the_plan = saved
        else:
            project, the_plan = make_plan_for(
                source, run_plan, target, variables, sessions, only=only, only_exact=only_exact
            )
            # What the ledger holds, as `plan` shows it: the plan shown before the
            # confirmation says what this apply will do with each run.
            read_ledger_into(the_plan, state_path, sessions, rerun=rerun, retry_failed=retry_failed)
            # With --output json or jsonl, stdout carries the JSON alone.
            click.echo(render_plan_text(the_plan), nl=False, err=output != "text")
            if the_plan.has_errors:
                raise PolysyncError("the plan has errors; nothing was submitted")
            _confirm(the_plan, auto_approve)
        settings = use_case.ApplySettings(
            poll=PollPolicy(minimum=poll_interval, maximum=max(poll_interval * 15, 30.0)),
            on_interrupt=on_interrupt,
            detach=detach,
            max_concurrency=max_concurrency,
            timeout=timeout,
            stall_timeout=stall_timeout,
            log_lines=log_lines,
            settle_seconds=settle_seconds,
            rerun=rerun,
            retry_failed=retry_failed,
            events=events,
            reconcile_seconds=reconcile_interval,
        )
        ledger = state_ledger(state_path, sessions)
        try:
            executor = use_case.executor_for(
                the_plan, project, sessions, ledger, env=os.environ, settings=settings
            )
            with _progress(executor, output):
                result = use_case.run(executor)
            records = in_plan_order(ledger, result.apply_id, ledger.runs(result.apply_id))
        finally:
            ledger.close()
    _show_result(result, records, output)
    return result.exit_code


@contextlib.contextmanager
def _progress(executor: Any, output: str) -> Iterator[None]:
    """Where the apply's events go: JSON lines on stdout (jsonl); text lines on stderr
    when stdout carries a document (json, markdown); a live table on a terminal; else
    timestamped lines on stdout."""
    from polysync_spec.render.events import json_sink, text_sink
    from polysync_spec.render.progress import LiveProgress, plain

    live = None
    if output == "jsonl":
        executor.sink = json_sink(click.echo)
    elif output in ("json", "markdown"):
        executor.sink = text_sink(plain(sys.stderr))
    elif sys.stdout.isatty():
        live = LiveProgress(executor.runs, sys.stdout, click.style)
        executor.sink = text_sink(live)
        live.start()  # elapsed times advance between polls
    else:
        executor.sink = text_sink(plain(sys.stdout))
    try:
        yield
    finally:
        if live is not None:
            live.finish()


def _show_result(result: Any, records: dict[str, Any], output: str) -> None:
    import time

    from polysync_spec.render.runs import result_document, summary_table, total_line

    if output == "markdown":
        from polysync_spec.render.timeline import markdown

        costs = {key: state.planned.cost for key, state in result.runs.items()}
        click.echo(markdown(result.apply_id, records, time.time(), costs), nl=False)
    elif output == "json":
        click.echo(json.dumps(result_document(result), indent=2))
    elif output == "jsonl":
        from polysync_spec.render.events import result_line

        click.echo(result_line(result_document(result)))
    else:
        click.echo("")
        # Above the table: its last lines stay the runs' rows, which scripts read.
        total = total_line(result.runs)
        if total:
            click.echo(total)
        click.echo(summary_table(result.runs))


def _read_plan_file(source: str) -> Any:
    """The plan in `source` if it is a plan file, None if it is a manifest path. The file
    is checked against the plan schema here, before any AWS call."""
    from polysync_spec.engine.planfile import read_plan_file

    if not source.endswith(".json") or not os.path.isfile(source):
        return None
    return read_plan_file(source)


def _require_same_actions(
    saved: Any, state_path: str, sessions: Any, *, rerun: bool, retry_failed: bool, source: str
) -> None:
    """A plan file shows, per run, what apply would do given the ledger (made with
    `plan --rerun` or `--retry-failed`, it shows a new attempt of an ended run). Applying
    it without the same flag would silently do less than it showed: refused, naming the
    runs, before anything is sent (found by a fresh tester)."""
    from polysync_spec.engine.model import RunAction

    shown = dict(saved.ledger)
    read_ledger_into(saved, state_path, sessions, rerun=rerun, retry_failed=retry_failed)
    fewer = [
        key
        for key, view in shown.items()
        if view.action is RunAction.SUBMIT
        and key in saved.ledger
        and saved.ledger[key].action is not RunAction.SUBMIT
    ]
    if fewer:
        raise PolysyncError(
            f"the plan in {source} starts {', '.join(sorted(fewer))} again, which the ledger "
            "holds as ended: it was made with --retry-failed or --rerun; apply it with the "
            "same flag. Nothing was submitted"
        )


def _confirm(the_plan: Any, auto_approve: bool) -> None:
    if auto_approve:
        return
    if not sys.stdin.isatty():
        raise PolysyncError(
            "no terminal to confirm on: pass --auto-approve to apply without asking"
        )
    try:
        confirmed = click.confirm(f"Apply the run plan ({the_plan.summary()})?", default=False)
    except click.Abort:  # Ctrl-C or end of input at the prompt: click turns both into Abort
        click.echo("", err=True)
        raise Interrupted("interrupted at the confirmation; nothing was submitted") from None
    if not confirmed:
        raise PolysyncError("not applied")
