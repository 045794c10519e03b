"""`${var.NAME}`, `${env.NAME}` and `${target}` interpolation, and `--target` overlays.

A string that is exactly one reference takes the referenced value with its type
(`number_of_workers: ${var.workers}` stays an integer); a reference inside a longer string
is rendered as AWS would receive it. `$${` writes a literal `${`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from polysync_spec import redact
from polysync_spec.errors import Severity
from polysync_spec.manifest import codes
from polysync_spec.manifest.models import VariableType
from polysync_spec.manifest.positions import DocPath
from polysync_spec.manifest.suggest import did_you_mean
from polysync_spec.values import aws_string

REFERENCE = re.compile(r"\$\$\{|\$\{([^{}]*)\}|\$\{")
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
NO_TARGET = "default"

Report = Callable[[str, Severity, DocPath, str], None]


class _Unresolved:
    """Stands for a reference that could not be resolved (already reported)."""


UNRESOLVED = _Unresolved()


@dataclass
class Scope:
    """What references resolve against."""

    variables: dict[str, Any]  # name -> value, or UNRESOLVED when declared without a value
    env: Mapping[str, str]
    target: str | None
    # Unset ${env.X} is an error where the value is needed (plan, apply). Offline validation
    # passes None: CI secrets are usually absent there, and their absence is not a defect
    # of the manifests (`validate --require-env` makes it an error again).
    unset_env_severity: Severity | None = Severity.ERROR
    # Paths whose value holds text from the environment: never echoed in a message.
    env_paths: set[DocPath] = field(default_factory=set)


def deep_merge(base: Any, overlay: Any) -> Any:
    """Overlay maps key by key; scalars and lists replace.

    A mapping whose `method` (auth) or `source` (token) changes is replaced whole, so
    switching a target from web_identity to profile does not keep the role's attributes.
    """
    if not isinstance(base, dict) or not isinstance(overlay, dict):
        return overlay
    for discriminator in ("method", "source"):
        if discriminator in overlay and overlay.get(discriminator) != base.get(discriminator):
            return overlay
    merged = dict(base)
    for key, value in overlay.items():
        merged[key] = deep_merge(base[key], value) if key in base else value
    return merged


def interpolate(value: Any, scope: Scope, path: DocPath, report: Report) -> Any:
    """Resolve every reference in `value` (recursively), reporting problems at `path`."""
    if isinstance(value, dict):
        return {k: interpolate(v, scope, (*path, k), report) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, scope, (*path, i), report) for i, v in enumerate(value)]
    if not isinstance(value, str) or "$" not in value:
        return value
    matches = list(REFERENCE.finditer(value))
    if not matches:
        return value
    if len(matches) == 1 and matches[0].span() == (0, len(value)) and matches[0].group(1):
        resolved = _resolve(matches[0].group(1), scope, path, report)
        return value if resolved is UNRESOLVED else resolved
    parts: list[str] = []
    cursor = 0
    for match in matches:
        parts.append(value[cursor : match.start()])
        cursor = match.end()
        token = match.group(0)
        if token == "$${":
            parts.append("${")
            continue
        if match.group(1) is None:
            report(
                codes.BAD_REFERENCE,
                Severity.ERROR,
                path,
                "unterminated or nested '${' reference; write '$${' for a literal '${'",
            )
            return value
        resolved = _resolve(match.group(1), scope, path, report)
        if resolved is UNRESOLVED:
            return value
        parts.append(aws_string(resolved))
    parts.append(value[cursor:])
    return "".join(parts)


def _resolve(expression: str, scope: Scope, path: DocPath, report: Report) -> Any:
    namespace, _, name = expression.strip().partition(".")
    if namespace == "target" and not name:
        return scope.target or NO_TARGET
    if namespace not in ("var", "env") or not NAME.match(name):
        report(
            codes.BAD_REFERENCE,
            Severity.ERROR,
            path,
            f"unknown reference '${{{expression}}}'; use ${{var.NAME}}, ${{env.NAME}} or ${{target}}",
        )
        return UNRESOLVED
    if namespace == "env":
        if name not in scope.env:
            if scope.unset_env_severity is not None:
                report(
                    codes.UNSET_ENV,
                    scope.unset_env_severity,
                    path,
                    f"environment variable {name} is not set",
                )
            return UNRESOLVED
        scope.env_paths.add(path)
        return scope.env[name]
    if name not in scope.variables:
        report(
            codes.UNDEFINED_VARIABLE,
            Severity.ERROR,
            path,
            f"undefined variable '{name}'{did_you_mean(name, scope.variables)}; "
            "declare it under `variables:`",
        )
        return UNRESOLVED
    resolved = scope.variables[name]
    if any(p[:2] == ("variables", name) for p in scope.env_paths):
        # A variable whose default comes from the environment is shown as *** whatever
        # sets it (--var, --var-file, the environment), and no message repeats a value
        # that uses it. In a job's or run's parameters, where tokens and passwords go,
        # the value is a secret in every plan, plan file and ledger too; a region or an
        # endpoint from the environment stays readable in plans and console links.
        scope.env_paths.add(path)
        if "parameters" in path[:5] and resolved is not UNRESOLVED:
            redact.register(aws_string(resolved))
    if resolved is UNRESOLVED:
        report(
            codes.VARIABLE_WITHOUT_VALUE,
            Severity.ERROR,
            path,
            f"variable '{name}' has no default and was not set with --var {name}=VALUE",
        )
    return resolved


def convert_cli_value(text: str, kind: VariableType) -> Any:
    """Convert a `--var` string to the variable's declared type, or raise ValueError."""
    match kind:
        case VariableType.STRING:
            return text
        case VariableType.INTEGER:
            return int(text, 10)
        case VariableType.NUMBER:
            number = float(text)
            return int(number) if re.fullmatch(r"[+-]?\d+", text) else number
        case VariableType.BOOLEAN:
            lowered = text.lower()
            if lowered in ("true", "false"):
                return lowered == "true"
            raise ValueError("expected true or false")
