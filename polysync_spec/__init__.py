"""polysync-spec: jobs-as-code for AWS Glue and AWS Batch.

The library façade; the CLI and the demo are its first users:

- `load_project(path, ...)` reads and validates a manifest set (every rule of every
  platform) and returns a `Project` with its `diagnostics`;
- `validate(path, ...)` reports every problem, under the base and each target overlay;
- `make_plan(project, run_plan, sessions)` discovers what the run plan touches and plans
  it (`Plan`, plain data, the same document as `plan --output json`);
- `apply(...)`, `status(...)`, `cancel(...)` and `import_jobs(...)` are the use cases of
  `app/`, re-exported here.

AWS is reached through `providers.aws.Sessions` (`Sessions(sandbox_url=...)` for the
embedded sandbox). Errors: `PolysyncError` (exit code on `.exit_code`), `AwsError`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from polysync_spec import manifest as _manifest
from polysync_spec.errors import Diagnostic, ExitCode, PolysyncError, Severity
from polysync_spec.manifest import Project
from polysync_spec.providers.registry import PLATFORM_RULES
from polysync_spec.version import __version__

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from polysync_spec.app.apply import ApplySettings
    from polysync_spec.app.follow import CancelOutcome
    from polysync_spec.app.importing import ImportResult
    from polysync_spec.engine.events import Sink
    from polysync_spec.engine.execute import ApplyResult
    from polysync_spec.engine.ledger import Ledger
    from polysync_spec.engine.model import Plan
    from polysync_spec.providers.aws import Sessions
    from polysync_spec.providers.base import RunClient


__all__ = [
    "Diagnostic",
    "ExitCode",
    "PolysyncError",
    "Project",
    "__version__",
    "apply",
    "cancel",
    "import_jobs",
    "load_project",
    "make_plan",
    "status",
    "validate",
]


def load_project(
    path: str | os.PathLike[str],
    *,
    target: str | None = None,
    cli_vars: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
    unset_env_severity: Severity | None = Severity.ERROR,
    overrides: Mapping[Path, str] | None = None,
) -> Project:
    """The manifest set at `path` (a file or a directory) for one target (or the base),
    validated by every rule; problems are in `.diagnostics`, never raised. `env`
    defaults to the process environment (for `${env.NAME}`); `overrides` (file -> text)
    stands in for what those files hold (`manifest.loader.load_path`)."""
    return _manifest.load_project(
        path,
        target=target,
        cli_vars=cli_vars,
        env=env,
        unset_env_severity=unset_env_severity,
        platform_rules=PLATFORM_RULES,
        overrides=overrides,
    )


def validate(
    path: str | os.PathLike[str],
    *,
    target: str | None = None,
    cli_vars: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
    require_env: bool = False,
) -> list[Diagnostic]:
    """Every problem in the manifest set, sorted by position: what `polysync validate`
    prints. An unset `${env.NAME}` is reported only with `require_env`."""
    return _manifest.validate(
        path,
        target=target,
        cli_vars=cli_vars,
        env=env,
        require_env=require_env,
        platform_rules=PLATFORM_RULES,
    )


def make_plan(
    project: Project, run_plan: str | None, sessions: Sessions, *, manifest_path: str = ""
) -> Plan:
    """Discover what `run_plan` (None: the only one) touches and plan it. Raises
    `app.planning.ManifestErrors`, `UsageError` (unknown run plan) or `AwsError`."""
    from polysync_spec.app.planning import plan_project

    return plan_project(project, run_plan, sessions, manifest_path=manifest_path)


def import_jobs(
    project: Project,
    root: Path,
    platform_name: str,
    sessions: Sessions,
    *,
    into: Path | None = None,
    pattern: str = "*",
    write: bool,
    refresh: bool = False,
    allow_request_changes: bool = False,
    cli_vars: Mapping[str, str] | None = None,
) -> ImportResult:
    """Merge what platform `platform_name` holds into the manifests below `root` (new
    jobs to `into`); with `write=False`, only the diffs (`ImportResult.diffs`). With
    `refresh`, captured values that differ from AWS's take AWS's (`ImportResult.captured`
    lists them either way). The runs whose request the import would change are in
    `ImportResult.requests`; then nothing is written unless `allow_request_changes`
    (`ImportResult.written`). `cli_vars`: the variables `project` was loaded with."""
    from polysync_spec.app.importing import import_jobs as run

    return run(
        project,
        root,
        platform_name,
        sessions,
        reload=lambda texts: load_project(
            root, target=project.target, cli_vars=cli_vars, overrides=texts
        ),
        into=into,
        pattern=pattern,
        refresh=refresh,
        write=write,
        allow_request_changes=allow_request_changes,
    )


def apply(
    plan: Plan,
    project: Project,
    sessions: Sessions,
    ledger: Ledger,
    *,
    env: Mapping[str, str],
    settings: ApplySettings | None = None,
    sink: Sink | None = None,
    signals: bool = False,
) -> ApplyResult:
    """Apply `plan` (from `make_plan` or a plan file): each run submitted exactly once
    (recorded in `ledger` before its call), followed to its end, its events given to
    `sink` (`render.events.text_sink(print)` prints what the CLI prints). `env` holds
    the secrets' variables. With `signals`, SIGINT/SIGTERM/SIGHUP interrupt it. Raises
    `LockHeld` when another process applies the same plan."""
    from polysync_spec.app import apply as use_case
    from polysync_spec.engine.events import discard

    executor = use_case.executor_for(
        plan, project, sessions, ledger, env=env, settings=settings, sink=sink or discard
    )
    return use_case.run(executor, signals=signals)


def status(
    ledger: Ledger,
    apply_id: str,
    client_for: Callable[[str], RunClient],
    *,
    sink: Sink,
    interval: float = 5.0,
    timeout: float | None = None,
) -> ExitCode:
    """Follow an apply's runs in flight until each has ended or been given up, recording
    what AWS says (`polysync status --watch`); `client_for` gives a platform's client
    by name (`providers.clients.clients_of(project, sessions)`). The apply's exit code."""
    from polysync_spec.app.follow import watch

    return watch(ledger, apply_id, client_for, sink=sink, interval=interval, timeout=timeout)


def cancel(
    ledger: Ledger,
    targets: Mapping[str, list[str] | None],
    client_for: Callable[[str, str], RunClient],
    *,
    sink: Sink,
    wait: float = 300.0,
) -> list[CancelOutcome]:
    """Cancel runs of applies in `ledger` (`targets`: apply id -> run ids, or None for
    all in flight), best effort per run, then wait up to `wait` seconds for AWS to
    confirm each end (`polysync cancel --wait`). `client_for(apply_id, platform)`."""
    from polysync_spec.app.follow import cancel as run

    return run(ledger, targets, client_for, sink=sink, wait=wait)
