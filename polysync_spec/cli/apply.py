"""Running commands: apply, and status, cancel and unlock over the ledger."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator
from typing import Any

import click

from polysync_spec import redact
from polysync_spec.cli.common import (
    DEFAULT_PATH_ENV,
    Seconds,
    aws_sessions,
    load_manifests,
    output_option,
    plan_vars,
    provider_for,
    sandbox_option,
    target_option,
    var_option,
)
from polysync_spec.cli.group import cli
from polysync_spec.cli.plan import make_plan_for, read_ledger_into, render_plan_text
from polysync_spec.errors import ExitCode, PolysyncError
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
@click.option("--rerun", is_flag=True, help="Start every run afresh, whatever the ledger says.")
@click.option(
    "--retry-failed", is_flag=True, help="Submit again the runs that failed or were cancelled."
)
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
) -> ExitCode:
    """Run a run plan (or a saved plan file): submit in order, poll, cancel on interrupt.

    SOURCE is a plan file from `plan --out`, or manifests (default: $POLYSYNC_PATH or .).
    With --output jsonl, stdout carries one JSON object per event, then the result.
    """
    from polysync_spec.app import apply as use_case
    from polysync_spec.engine.monitor import PollPolicy

    saved = _read_plan_file(source)
    with aws_sessions(use_sandbox, submit_read_timeout=submit_timeout) as sessions:
        if saved is not None:
            if saved.has_errors:
                # plan --out writes the file even with errors, for review; never apply it.
                codes = sorted({f.code for f in saved.all_findings() if f.kind.value == "error"})
                raise PolysyncError(
                    f"the plan in {source} has errors ({', '.join(codes)}); nothing was submitted"
                )
            project = load_manifests(saved.manifest_path, saved.target, plan_vars(saved))
            if not project.ok:
                click.echo(render.text(project.diagnostics), nl=False, err=True)
                raise PolysyncError(
                    f"the manifests at {saved.manifest_path} have errors; nothing was submitted"
                )
            use_case.require_fresh(project, saved, sessions)
            the_plan = saved
        else:
            project, the_plan = make_plan_for(source, run_plan, target, variables, sessions)
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
        )
        ledger = state_ledger(state_path, sessions)
        try:
            executor = use_case.executor_for(
                the_plan, project, sessions, ledger, env=os.environ, settings=settings
            )
            with _progress(executor, output):
                result = use_case.run(executor)
            records = _in_plan_order(ledger, result.apply_id, ledger.runs(result.apply_id))
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
    else:
        executor.sink = text_sink(plain(sys.stdout))
    yield
    if live is not None:
        live.finish()


def _show_result(result: Any, records: dict[str, Any], output: str) -> None:
    import time

    from polysync_spec.render.runs import result_document, summary_table

    if output == "markdown":
        from polysync_spec.render.timeline import markdown

        click.echo(markdown(result.apply_id, records, time.time()), nl=False)
    elif output == "json":
        click.echo(json.dumps(result_document(result), indent=2))
    elif output == "jsonl":
        from polysync_spec.render.events import result_line

        click.echo(result_line(result_document(result)))
    else:
        click.echo("")
        click.echo(summary_table(result.runs))


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


def _read_plan_file(source: str) -> Any:
    """The plan in `source` if it is a plan file, None if it is a manifest path. The file
    is checked against the plan schema here, before any AWS call."""
    from polysync_spec.engine.planfile import read_plan_file

    if not source.endswith(".json") or not os.path.isfile(source):
        return None
    return read_plan_file(source)


def _confirm(the_plan: Any, auto_approve: bool) -> None:
    if auto_approve:
        return
    if not sys.stdin.isatty():
        raise PolysyncError(
            "no terminal to confirm on: pass --auto-approve to apply without asking"
        )
    if not click.confirm(f"Apply the run plan ({the_plan.summary()})?", default=False):
        raise PolysyncError("not applied")


@cli.command()
@click.argument("apply_id", required=False)
@click.option("--state", "state_path", default=".polysync/state.db", show_default=True)
@click.option("--watch", is_flag=True, help="Ask AWS for the runs in flight until they end.")
@click.option("--interval", type=Seconds(0.05, 3600), default=5.0, show_default=True)
@click.option(
    "--timeout",
    type=Seconds(1),
    help="With --watch: stop after this many seconds; runs still going are reported Unknown.",
)
@output_option("text", "markdown")
@sandbox_option
def status(
    *,
    apply_id: str | None,
    state_path: str,
    watch: bool,
    interval: float,
    timeout: float | None,
    output: str,
    use_sandbox: bool,
) -> ExitCode:
    """Show applies recorded in the ledger, or the runs of one apply. With --watch,
    follow its runs in flight until they end (exit 3 when one failed, was cancelled or
    ended Unknown)."""
    import time

    code = ExitCode.OK
    ledger = state_ledger(state_path)
    try:
        if watch:
            if apply_id is None:
                raise click.UsageError("--watch needs an APPLY_ID")
            code = _watch(ledger, apply_id, use_sandbox, interval, timeout)
        if apply_id is None:
            for ident, run_plan_name, created in ledger.applies():
                click.echo(
                    f"{ident}  {run_plan_name}  {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(created))}"
                )
            return ExitCode.OK
        runs = ledger.runs(apply_id)
        if not runs and ledger.plan(apply_id) is None:
            raise PolysyncError(f"no apply {apply_id} in {state_path}")
        # status loads no manifests: the secrets it knows of are the plan's {"$env"} slots
        # (a ledger written before redaction may hold them in a message).
        redact.register_env_references(ledger.plan(apply_id), os.environ)
        if output == "markdown":
            from polysync_spec.render.timeline import markdown

            click.echo(
                markdown(apply_id, _in_plan_order(ledger, apply_id, runs), time.time()), nl=False
            )
            return code
        for key, record in runs.items():
            message = f"  {record.message}" if record.message else ""
            click.echo(f"{key}  {record.status}  {record.run_id or '-'}{message}")
        return code
    finally:
        ledger.close()


def _in_plan_order(ledger: Any, apply_id: str, runs: dict[str, Any]) -> dict[str, Any]:
    stored = ledger.plan(apply_id) or {}
    order = [run["key"] for run in stored.get("runs", [])]
    return {key: runs[key] for key in order if key in runs} | runs


def _providers_of(ledger: Any, sessions: Any) -> Any:
    """apply id, platform name -> its provider, built from the manifests the apply was
    planned from (loaded once per apply)."""
    from polysync_spec.engine.model import Plan

    projects: dict[str, Any] = {}

    def build(apply_id: str, platform: str) -> Any:
        if apply_id not in projects:
            saved = Plan.from_dict(ledger.plan(apply_id) or {})
            projects[apply_id] = (
                saved,
                load_manifests(saved.manifest_path, saved.target, plan_vars(saved)),
            )
        saved, project = projects[apply_id]
        if platform not in project.platforms:
            raise PolysyncError(
                f"platform {platform!r} of apply {apply_id} is not in the manifests at "
                f"{saved.manifest_path} any more; run this where the apply ran"
            )
        return provider_for(platform, project.platforms[platform], sessions)

    return build


def _watch(
    ledger: Any, apply_id: str, use_sandbox: bool, interval: float, timeout: float | None
) -> ExitCode:
    """Follow the apply's runs in flight (the engine's monitor) until they end."""
    import time

    from polysync_spec.app.follow import watch
    from polysync_spec.render.events import text_sink

    def write(line: str) -> None:
        click.echo(f"{time.strftime('%H:%M:%S')} {line}")

    with aws_sessions(use_sandbox) as sessions:
        providers = _providers_of(ledger, sessions)
        return watch(
            ledger,
            apply_id,
            lambda platform: providers(apply_id, platform),
            sink=text_sink(write),
            interval=interval,
            timeout=timeout,
        )


@cli.command()
@click.argument("run_ids", nargs=-1)
@click.option("--apply", "apply_id", help="Cancel every in-flight run of this apply.")
@click.option("--state", "state_path", default=".polysync/state.db", show_default=True)
@click.option(
    "--wait",
    type=Seconds(0),
    default=300.0,
    show_default=True,
    help="Seconds to wait for AWS to confirm each cancellation (0: do not wait).",
)
@sandbox_option
def cancel(
    run_ids: tuple[str, ...], apply_id: str | None, state_path: str, wait: float, use_sandbox: bool
) -> ExitCode:
    """Cancel runs recorded in the ledger (BatchStopJobRun / TerminateJob), best effort per
    run; --apply also finds runs whose id was never recorded, by their attempt identity.
    Exits 0 when every cancellation was confirmed, 1 otherwise."""
    from polysync_spec.app.follow import cancel as cancel_runs
    from polysync_spec.render.events import text_sink

    if not run_ids and not apply_id:
        raise click.UsageError("name run ids or --apply APPLY_ID")
    ledger = state_ledger(state_path)
    try:
        targets: dict[str, list[str] | None] = {}
        if apply_id:
            if ledger.plan(apply_id) is None:
                raise PolysyncError(f"no apply {apply_id} in {state_path}")
            targets[apply_id] = None
        for run_id in run_ids:
            found = ledger.find_run(run_id)
            if found is None:
                raise PolysyncError(f"run {run_id} is not in the ledger {state_path}")
            chosen = targets.setdefault(found[0], [])
            if chosen is not None:
                chosen.append(run_id)
        with aws_sessions(use_sandbox) as sessions:
            outcomes = cancel_runs(
                ledger,
                targets,
                _providers_of(ledger, sessions),
                sink=text_sink(click.echo),
                wait=wait,
            )
        if not outcomes:
            click.echo("nothing in flight to cancel")
        for outcome in outcomes:
            click.echo(f"{outcome.key}  {outcome.run_id}  {outcome.detail}")
        return ExitCode.OK if all(o.confirmed for o in outcomes) else ExitCode.ERROR
    finally:
        ledger.close()


@cli.command()
@click.argument("lock_id")
@click.option("--state", "state_path", default=".polysync/state.db", show_default=True)
def unlock(lock_id: str, state_path: str) -> ExitCode:
    """Remove a stale apply lock (when the process holding it is gone)."""
    ledger = state_ledger(state_path)
    try:
        if not ledger.release(lock_id):
            raise PolysyncError(f"no lock {lock_id} in {state_path}")
        click.echo(f"lock {lock_id} removed")
        return ExitCode.OK
    finally:
        ledger.close()
