"""The `polysync` command line: thin commands over the library, one exit-code decision point.

Every command returns an `ExitCode`; `main` is the only place that exits. Usage errors exit
64 (not click's 2, which `plan --detailed-exitcode` uses for "runs pending").
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any, NoReturn

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


sandbox_option = click.option(
    "--sandbox",
    "use_sandbox",
    is_flag=True,
    help="Run against an embedded AWS sandbox seeded with the example objects (no AWS account).",
)


@contextlib.contextmanager
def _sessions(use_sandbox: bool) -> Iterator[Any]:
    """AWS sessions for a command: real ones, or ones aimed at a fresh embedded sandbox."""
    from polysync_spec.providers.aws import Sessions

    if not use_sandbox:
        yield Sessions()
        return
    from polysync_spec.sandbox.seed import apply_seed, load_seed
    from polysync_spec.sandbox.server import Sandbox

    with Sandbox() as server:
        server.reset()  # moto's state is process-wide: start from nothing, then seed
        apply_seed(server, load_seed())
        click.echo(f"(sandbox at {server.endpoint_url}, seeded with the example objects)", err=True)
        yield Sessions(sandbox_url=server.endpoint_url)


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
WIRE_LOGGERS = ("botocore", "boto3", "urllib3", "s3transfer", "azure", "msal")


def configure_logging(verbose: bool) -> None:
    for name in WIRE_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    own = logging.getLogger("polysync_spec")
    own.setLevel(logging.DEBUG if verbose else logging.WARNING)
    if verbose and not own.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        own.addHandler(handler)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="polysync")
@click.option("--verbose", "-v", is_flag=True, help="Log what polysync does (never secrets).")
def cli(verbose: bool) -> None:
    """Jobs-as-code for AWS Glue and AWS Batch."""
    configure_logging(verbose)


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
@path_argument
@click.option("--platform", "-p", "platform_name", required=True, help="Platform to look at.")
@target_option
@var_option
@output_option("text", "json")
@sandbox_option
def discover(
    *,
    path: str,
    platform_name: str,
    target: str | None,
    variables: tuple[str, ...],
    output: str,
    use_sandbox: bool,
) -> ExitCode:
    """List what a platform holds: Glue jobs, or Batch definitions and queues. Read-only."""
    project = _load(path, target, variables)
    platform = _usable_platform(project, platform_name, path)
    with _sessions(use_sandbox) as sessions:
        return _discover(platform_name, platform, sessions, output)


def provider_for(name: str, platform: Any, sessions: Any) -> Any:
    from polysync_spec.providers import provider_for as build

    return build(name, platform, sessions)


def _discover(platform_name: str, platform: Any, sessions: Any, output: str) -> ExitCode:
    from polysync_spec.providers import provider_for
    from polysync_spec.providers.batch import BatchProvider
    from polysync_spec.render import discovery

    provider = provider_for(platform_name, platform, sessions)
    found = discovery.Discovery(platform_name, platform.type, platform.region)
    if isinstance(provider, BatchProvider):
        found.batch_definitions = sorted(provider.discover().values(), key=lambda d: d.name)
        found.batch_queues = sorted(provider.queues().values(), key=lambda q: q.name)
    else:
        jobs, _ = provider.discover()
        found.glue_jobs = sorted(jobs.values(), key=lambda j: j.name)
    click.echo(discovery.as_json(found) if output == "json" else discovery.as_text(found), nl=False)
    return ExitCode.OK


@cli.command()
@path_argument
@click.option("--run-plan", "-r", "run_plan", help="Run plan to plan (default: the only one).")
@target_option
@var_option
@click.option("--out", "out_file", type=click.Path(dir_okay=False), help="Write a plan file.")
@output_option("text", "json", "markdown")
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 0 when nothing is pending, 2 when runs are pending, 1 on errors.",
)
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
    use_sandbox: bool,
) -> ExitCode:
    """Diff the manifests against live AWS and show the exact requests apply would send."""
    with _sessions(use_sandbox) as sessions:
        result = _make_plan(path, run_plan, target, variables, sessions)
    _emit_plan(result, output)
    if out_file:
        from polysync_spec.render.plan import json_document

        with open(out_file, "w", encoding="utf-8") as stream:
            stream.write(json_document(result))
        click.echo(f"plan written to {out_file} (id {result.plan_id})", err=True)
    if result.has_errors:
        return ExitCode.ERROR
    if detailed_exitcode:
        return ExitCode.PENDING if result.runs else ExitCode.OK
    return ExitCode.OK


@cli.command()
@click.argument("plan_file", type=click.Path(dir_okay=False))
@output_option("text", "json", "markdown")
def show(plan_file: str, output: str) -> ExitCode:
    """Render a saved plan file."""
    import json

    from polysync_spec.engine.model import Plan

    try:
        with open(plan_file, encoding="utf-8") as stream:
            saved = Plan.from_dict(json.load(stream))
    except OSError as exc:
        raise PolysyncError(f"cannot read plan file {plan_file}: {exc.strerror}") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise PolysyncError(f"{plan_file} is not a valid plan file: {exc}") from None
    _emit_plan(saved, output)
    return ExitCode.ERROR if saved.has_errors else ExitCode.OK


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
@click.option("--poll-interval", type=click.FloatRange(min=0.05), default=2.0, show_default=True)
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    help="Stop waiting after this many seconds; runs still going are reported Unknown.",
)
@output_option("text", "json")
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
) -> ExitCode:
    """Run a run plan (or a saved plan file): submit in order, poll, cancel on interrupt.

    SOURCE is a plan file from `plan --out`, or manifests (default: $POLYSYNC_PATH or .).
    """
    import json

    from polysync_spec.engine.apply import Applier, PollPolicy, summary_table
    from polysync_spec.render.progress import LiveProgress, plain

    saved = _read_plan_file(source)
    with _sessions(use_sandbox) as sessions:
        if saved is not None:
            project = _load(saved.manifest_path, saved.target, _vars_of(saved))
            _require_fresh(project, saved, sessions)
            the_plan = saved
        else:
            the_plan = _make_plan(source, run_plan, target, variables, sessions)
            # With --output json, stdout carries the JSON result alone.
            click.echo(_render_text(the_plan), nl=False, err=output == "json")
            if the_plan.has_errors:
                raise PolysyncError("the plan has errors; nothing was submitted")
            _confirm(the_plan, auto_approve)
        ledger = _ledger(state_path, sessions)
        try:
            _reset_runs(ledger, the_plan.plan_id, rerun=rerun, retry_failed=retry_failed)
            providers = {
                name: provider_for(name, project_platform, sessions)
                for name, project_platform in _platforms(the_plan, sessions, saved).items()
            }
            applier = Applier(
                the_plan,
                providers,
                ledger,
                env=os.environ,
                poll=PollPolicy(minimum=poll_interval, maximum=max(poll_interval * 15, 30.0)),
                on_interrupt=on_interrupt,
                detach=detach,
                max_concurrency=max_concurrency,
                timeout=timeout,
            )
            live = None
            if output == "json":
                applier.emit = plain(sys.stderr)  # stdout carries the JSON result only
            elif sys.stdout.isatty():
                live = LiveProgress(applier.runs, sys.stdout, click.style)
                applier.emit = live
            else:
                applier.emit = plain(sys.stdout)
            with _interrupts(applier):
                result = applier.run()
            if live is not None:
                live.finish()
        finally:
            ledger.close()
    if output == "json":
        document = {
            "version": 1,
            "apply_id": result.apply_id,
            "exit_code": int(result.exit_code),
            "interrupted": result.interrupted,
            "runs": [state.to_dict() for state in result.runs.values()],
        }
        click.echo(json.dumps(document, indent=2))
    else:
        click.echo("")
        click.echo(summary_table(result.runs))
    return result.exit_code


def _ledger(state: str, sessions: Any = None) -> Any:
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


@contextlib.contextmanager
def _interrupts(applier: Any) -> Iterator[None]:
    """SIGINT / SIGTERM (a cancelled CI job) interrupt the apply; a second one detaches."""
    import signal

    def handler(signum: int, _frame: Any) -> None:
        applier.interrupt()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _read_plan_file(source: str) -> Any:
    """The plan in `source` if it is a plan file, None if it is a manifest path."""
    import json

    from polysync_spec.engine.model import Plan

    if not source.endswith(".json") or not os.path.isfile(source):
        return None
    try:
        with open(source, encoding="utf-8") as stream:
            return Plan.from_dict(json.load(stream))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise PolysyncError(f"{source} is not a valid plan file: {exc}") from None


def _vars_of(saved: Any) -> tuple[str, ...]:
    return tuple(f"{k}={v}" for k, v in saved.variables.items() if v != "***")


def _make_plan(
    path: str, run_plan: str | None, target: str | None, variables: tuple[str, ...], sessions: Any
) -> Any:
    """Load, check, discover and plan: what both `plan` and `apply` start with."""
    from polysync_spec.engine.discovery import discover_live
    from polysync_spec.engine.plan import make_plan

    project = _load(path, target, variables)
    if not project.ok:
        click.echo(render.text(project.diagnostics), nl=False, err=True)
        raise PolysyncError("the manifests have errors (see above); nothing was planned")
    name = _choose_run_plan(project, run_plan)
    return make_plan(project, name, discover_live(project, name, sessions), manifest_path=path)


def _require_fresh(project: Any, saved: Any, sessions: Any) -> None:
    """Refuse a plan file whose live objects changed since it was made."""
    from polysync_spec.engine.discovery import discover_live
    from polysync_spec.engine.plan import make_plan

    if not project.ok:
        click.echo(render.text(project.diagnostics), nl=False, err=True)
        raise PolysyncError(
            f"the manifests at {saved.manifest_path} have errors; nothing was submitted"
        )
    live = discover_live(project, saved.run_plan, sessions)
    now = make_plan(project, saved.run_plan, live, manifest_path=saved.manifest_path).fingerprints
    changed = [
        f"{key}: was {saved.fingerprints.get(key, 'absent')}, now {now.get(key, 'absent')}"
        for key in sorted(set(now) | set(saved.fingerprints))
        if now.get(key) != saved.fingerprints.get(key)
    ]
    if changed:
        raise PolysyncError(
            "stale plan: live objects changed since it was made:\n  "
            + "\n  ".join(changed)
            + "\nrun polysync plan again"
        )


def _confirm(the_plan: Any, auto_approve: bool) -> None:
    if auto_approve:
        return
    if not sys.stdin.isatty():
        raise PolysyncError(
            "no terminal to confirm on: pass --auto-approve to apply without asking"
        )
    if not click.confirm(f"Apply {len(the_plan.runs)} run(s)?", default=False):
        raise PolysyncError("not applied")


def _reset_runs(ledger: Any, apply_id: str, *, rerun: bool, retry_failed: bool) -> None:
    records = ledger.runs(apply_id)
    if rerun:
        ledger.forget(apply_id, list(records))
    elif retry_failed:
        again = [
            k
            for k, r in records.items()
            if r.status in ("Failed", "Cancelled", "Skipped", "Unknown")
        ]
        ledger.forget(apply_id, again)


def _platforms(the_plan: Any, sessions: Any, saved: Any) -> dict[str, Any]:
    project = _load(the_plan.manifest_path, the_plan.target, _vars_of(the_plan))
    return {run.platform: project.platforms[run.platform] for run in the_plan.runs}


def _render_text(the_plan: Any) -> str:
    from polysync_spec.render.plan import text

    return text(the_plan, color=sys.stdout.isatty())


@cli.command()
@click.argument("apply_id", required=False)
@click.option("--state", "state_path", default=".polysync/state.db", show_default=True)
@click.option("--watch", is_flag=True, help="Ask AWS for the runs in flight until they end.")
@click.option("--interval", type=click.FloatRange(min=0.05), default=5.0, show_default=True)
@sandbox_option
def status(
    apply_id: str | None, state_path: str, watch: bool, interval: float, use_sandbox: bool
) -> ExitCode:
    """Show applies recorded in the ledger, or the runs of one apply."""
    import time

    ledger = _ledger(state_path)
    try:
        if watch:
            if apply_id is None:
                raise click.UsageError("--watch needs an APPLY_ID")
            with _sessions(use_sandbox) as sessions:
                _watch(ledger, apply_id, sessions, interval)
        if apply_id is None:
            for ident, run_plan_name, created in ledger.applies():
                click.echo(
                    f"{ident}  {run_plan_name}  {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(created))}"
                )
            return ExitCode.OK
        runs = ledger.runs(apply_id)
        if not runs and ledger.plan(apply_id) is None:
            raise PolysyncError(f"no apply {apply_id} in {state_path}")
        for key, record in runs.items():
            message = f"  {record.message}" if record.message else ""
            click.echo(f"{key}  {record.status}  {record.run_id or '-'}{message}")
        return ExitCode.OK
    finally:
        ledger.close()


def _watch(ledger: Any, apply_id: str, sessions: Any, interval: float) -> None:
    """Poll AWS for the apply's runs in flight, record what it says, until all have ended."""
    import time

    from polysync_spec.engine.model import Plan

    stored = ledger.plan(apply_id)
    if stored is None:
        raise PolysyncError(f"no apply {apply_id} in the ledger")
    saved = Plan.from_dict(stored)
    project = _load(saved.manifest_path, saved.target, _vars_of(saved))
    final = {"Success", "Failed", "Cancelled", "Skipped"}
    while True:
        waiting = {
            k: r for k, r in ledger.runs(apply_id).items() if r.run_id and r.status not in final
        }
        if not waiting:
            return
        by_platform: dict[str, list[tuple[str, str]]] = {}
        for key, record in waiting.items():
            by_platform.setdefault(record.platform, []).append((key, record.run_id))
        for platform, pairs in by_platform.items():
            provider = provider_for(platform, project.platforms[platform], sessions)
            reports = provider.poll([run_id for _, run_id in pairs])
            for key, run_id in pairs:
                report = reports[run_id]
                terminal = report.status.value in final
                if report.status.value != waiting[key].status:
                    ledger.status(apply_id, key, report.status.value, report.message, terminal)
                    click.echo(f"{time.strftime('%H:%M:%S')} {key}: {report.status.value}")
        time.sleep(interval)


@cli.command()
@click.argument("run_ids", nargs=-1)
@click.option("--apply", "apply_id", help="Cancel every in-flight run of this apply.")
@click.option("--state", "state_path", default=".polysync/state.db", show_default=True)
@sandbox_option
def cancel(
    run_ids: tuple[str, ...], apply_id: str | None, state_path: str, use_sandbox: bool
) -> ExitCode:
    """Cancel runs recorded in the ledger (BatchStopJobRun / TerminateJob)."""
    from polysync_spec.engine.model import Plan

    if not run_ids and not apply_id:
        raise click.UsageError("name run ids or --apply APPLY_ID")
    ledger = _ledger(state_path)
    try:
        targets: dict[str, list[tuple[str, str]]] = {}  # apply id -> [(platform, run id)]
        if apply_id:
            for record in ledger.runs(apply_id).values():
                if record.run_id and record.status not in (
                    "Success",
                    "Failed",
                    "Cancelled",
                    "Skipped",
                ):
                    targets.setdefault(apply_id, []).append((record.platform, record.run_id))
        for run_id in run_ids:
            found = ledger.find_run(run_id)
            if found is None:
                raise PolysyncError(f"run {run_id} is not in the ledger {state_path}")
            targets.setdefault(found[0], []).append((found[1].platform, run_id))
        failed = False
        with _sessions(use_sandbox) as sessions:
            for ident, pairs in targets.items():
                stored = ledger.plan(ident)
                assert stored is not None
                saved = Plan.from_dict(stored)
                project = _load(saved.manifest_path, saved.target, _vars_of(saved))
                for platform in sorted({p for p, _ in pairs}):
                    provider = provider_for(platform, project.platforms[platform], sessions)
                    for run_id, error in provider.cancel(
                        [r for p, r in pairs if p == platform]
                    ).items():
                        failed |= error is not None
                        click.echo(f"{run_id}: {'cancel requested' if error is None else error}")
        if not targets:
            click.echo("nothing in flight to cancel")
        return ExitCode.ERROR if failed else ExitCode.OK
    finally:
        ledger.close()


@cli.command()
@click.argument("lock_id")
@click.option("--state", "state_path", default=".polysync/state.db", show_default=True)
def unlock(lock_id: str, state_path: str) -> ExitCode:
    """Remove a stale apply lock (when the process holding it is gone)."""
    ledger = _ledger(state_path)
    try:
        if not ledger.release(lock_id):
            raise PolysyncError(f"no lock {lock_id} in {state_path}")
        click.echo(f"lock {lock_id} removed")
        return ExitCode.OK
    finally:
        ledger.close()


def _emit_plan(result: Any, output: str) -> None:
    from polysync_spec.render import plan as render_plan

    if output == "json":
        click.echo(render_plan.json_document(result), nl=False)
    elif output == "markdown":
        click.echo(render_plan.markdown(result), nl=False)
    else:
        click.echo(render_plan.text(result, color=sys.stdout.isatty()), nl=False)


def _choose_run_plan(project: Any, requested: str | None) -> str:
    names = sorted(project.run_plans)
    if requested is not None:
        if requested not in project.run_plans:
            raise click.UsageError(
                f"no run plan {requested!r}; run plans: {', '.join(names) or 'none'}"
            )
        return requested
    if len(names) == 1:
        return str(names[0])
    raise click.UsageError(
        f"choose a run plan with --run-plan ({', '.join(names) or 'none defined'})"
    )


def _load(path: str, target: str | None, variables: tuple[str, ...]) -> Any:
    from polysync_spec.manifest import load_project

    return load_project(path, target=target, cli_vars=_parse_vars(variables))


def _usable_platform(project: Any, name: str, path: str) -> Any:
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


@cli.group()
def auth() -> None:
    """Authentication: check who each platform's credentials are."""


@auth.command("check")
@path_argument
@click.option(
    "--platform", "-p", "platform_names", multiple=True, help="Platform to check (default: all)."
)
@target_option
@var_option
@output_option("text", "json")
@sandbox_option
def auth_check(
    *,
    path: str,
    platform_names: tuple[str, ...],
    target: str | None,
    variables: tuple[str, ...],
    output: str,
    use_sandbox: bool,
) -> ExitCode:
    """sts:GetCallerIdentity per platform: the account and ARN it acts as. No secret is shown."""
    import json

    from polysync_spec.providers.aws import caller_identity

    project = _load(path, target, variables)
    declared = {name for (section, name) in project.entry_errors if section == "platforms"}
    names = list(platform_names) or sorted(set(project.platforms) | declared)
    results: list[dict[str, str]] = []
    with _sessions(use_sandbox) as sessions:
        for name in names:
            entry: dict[str, str] = {"platform": name}
            try:
                platform = _usable_platform(project, name, path)
                entry["method"] = platform.auth.method
                entry.update(caller_identity(sessions, name, platform))
                entry["status"] = "ok"
            except PolysyncError as exc:
                entry["status"] = "failed"
                entry["error"] = str(exc)
            results.append(entry)
    if output == "json":
        click.echo(json.dumps({"version": 1, "platforms": results}, indent=2))
    else:
        for entry in results:
            if entry["status"] == "ok":
                click.echo(
                    f"{entry['platform']}: {entry['method']} -> account {entry['account']}, "
                    f"{entry['arn']}"
                )
            else:
                click.echo(f"{entry['platform']}: FAILED: {entry['error']}")
    failed = any(entry["status"] != "ok" for entry in results)
    return ExitCode.ERROR if failed or not results else ExitCode.OK


@cli.command()
@click.option(
    "--seed", "seed_file", type=click.Path(exists=True, dir_okay=False), help="Seed YAML."
)
@click.option(
    "--port", type=int, default=4599, show_default=True, help="Port on 127.0.0.1 (0: any)."
)
def sandbox(seed_file: str | None, port: int) -> ExitCode:
    """Run the local AWS emulator (Glue, Batch, STS, S3) in the foreground, seeded."""
    import threading

    from polysync_spec.sandbox.seed import apply_seed, load_seed
    from polysync_spec.sandbox.server import Sandbox

    server = Sandbox(port=port).start()
    try:
        created = apply_seed(server, load_seed(seed_file))
        click.echo(f"polysync sandbox listening on {server.endpoint_url}")
        click.echo(
            f"seeded: {created['glue_jobs']} Glue jobs, {created['job_queues']} Batch queues, "
            f"{created['job_definitions']} Batch definition revisions"
        )
        click.echo("point polysync (or any AWS SDK) at it with:")
        for key, value in server.env().items():
            click.echo(f"  export {key}={value}")
        click.echo("Ctrl-C stops it.")
        threading.Event().wait()
    except KeyboardInterrupt:
        click.echo("stopped.", err=True)
    finally:
        server.stop()
    return ExitCode.OK


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
