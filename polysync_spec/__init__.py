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
from typing import TYPE_CHECKING

from polysync_spec import manifest as _manifest
from polysync_spec.errors import Diagnostic, ExitCode, PolysyncError, Severity
from polysync_spec.manifest import Project
from polysync_spec.providers.registry import PLATFORM_RULES
from polysync_spec.version import __version__

if TYPE_CHECKING:
    from pathlib import Path

    from polysync_spec.app.importing import ImportResult
    from polysync_spec.engine.model import Plan
    from polysync_spec.providers.aws import Sessions


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
) -> Project:
    """The manifest set at `path` (a file or a directory) for one target (or the base),
    validated by every rule; problems are in `.diagnostics`, never raised. `env`
    defaults to the process environment (for `${env.NAME}`)."""
    return _manifest.load_project(
        path,
        target=target,
        cli_vars=cli_vars,
        env=env,
        unset_env_severity=unset_env_severity,
        platform_rules=PLATFORM_RULES,
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
) -> ImportResult:
    """Merge what platform `platform_name` holds into the manifests below `root` (new
    jobs to `into`); with `write=False`, only the diffs (`ImportResult.diffs`)."""
    from polysync_spec.app.importing import import_jobs as run

    return run(project, root, platform_name, sessions, into=into, pattern=pattern, write=write)
