"""Manifest format v1: loading, interpolation, models and checks."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import replace

from polysync_spec.errors import Diagnostic, Severity
from polysync_spec.manifest.project import Project, gc_paused, load_project
from polysync_spec.manifest.rules import Rule

__all__ = ["Project", "load_project", "validate"]


@gc_paused()
def validate(
    path: str | os.PathLike[str],
    *,
    target: str | None = None,
    cli_vars: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
    require_env: bool = False,
    platform_rules: Sequence[Rule] = (),
) -> list[Diagnostic]:
    """Every problem in the manifest set, in one pass.

    Validation is offline, where CI secrets are usually absent, so an unset `${env.NAME}`
    is reported only with `require_env` (plan and apply always need it). Without `--target`, the base and
    every target overlay are checked; a finding that appears only under a target says so.
    """
    severity = Severity.ERROR if require_env else None
    base = load_project(
        path,
        target=target,
        cli_vars=cli_vars,
        env=env,
        unset_env_severity=severity,
        platform_rules=platform_rules,
    )
    diagnostics = list(base.diagnostics)
    if target is not None or not base.targets:
        return diagnostics
    seen = {(d.code, d.position, d.message) for d in diagnostics}
    for name in sorted(base.targets):
        overlaid = load_project(
            path,
            target=name,
            cli_vars=cli_vars,
            env=env,
            unset_env_severity=severity,
            platform_rules=platform_rules,
        )
        for diagnostic in overlaid.diagnostics:
            key = (diagnostic.code, diagnostic.position, diagnostic.message)
            if key in seen:
                continue
            seen.add(key)
            diagnostics.append(
                replace(diagnostic, message=f"{diagnostic.message} (with --target {name})")
            )
    return sorted(diagnostics, key=Diagnostic.sort_key)
