# Over 400 lines: the loading pipeline, one short step per function, in order.
"""Load a manifest set end to end: files → merge → target overlay → interpolation →
models → checks. Every problem is a positioned `Diagnostic`; nothing raises for bad input.
"""

from __future__ import annotations

import contextlib
import gc
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from polysync_spec import redact
from polysync_spec.errors import Diagnostic, Position, Severity
from polysync_spec.manifest import codes
from polysync_spec.manifest.interpolate import (
    UNRESOLVED,
    Scope,
    convert_cli_value,
    deep_merge,
    interpolate,
)
from polysync_spec.manifest.loader import SourceDocument, load_path
from polysync_spec.manifest.models import (
    NAME_PATTERN,
    PLATFORM_JOB_TYPES,
    SECTIONS,
    BatchJob,
    GlueJob,
    RunPlan,
    Target,
    Variable,
    VariableType,
)
from polysync_spec.manifest.positions import NAMED_SECTIONS, DocPath, SourceMap
from polysync_spec.manifest.rules import CheckContext, Rule, run_checks
from polysync_spec.manifest.structure import validate_entry, validate_entry_for_checks
from polysync_spec.manifest.suggest import did_you_mean
from polysync_spec.values import fits_type

NAME_RE = re.compile(NAME_PATTERN)


@dataclass
class Project:
    """A loaded manifest set: the valid models, where everything came from, and findings."""

    source: SourceMap
    diagnostics: list[Diagnostic]
    target: str | None = None
    variables: dict[str, Any] = field(default_factory=dict)
    platforms: dict[str, Any] = field(default_factory=dict)
    jobs: dict[str, GlueJob | BatchJob] = field(default_factory=dict)
    run_plans: dict[str, RunPlan] = field(default_factory=dict)
    targets: dict[str, Target] = field(default_factory=dict)
    # Paths whose values came from the environment: redacted wherever they are shown.
    env_paths: set[DocPath] = field(default_factory=set)
    # YAML files below the manifest directory that are not manifests (not read).
    skipped: list[str] = field(default_factory=list)
    # The errors of each entry, by (section, name): commands refuse an entry that has any,
    # even when a value was left unresolved (an unset ${env...} secret) in its model.
    entry_errors: dict[tuple[str, str], list[Diagnostic]] = field(default_factory=dict)
    # The merged, overlaid data before interpolation: what the user wrote (e.g. which
    # ${env.NAME} a secret comes from).
    raw: dict[str, Any] = field(default_factory=dict)

    def errors_of(self, section: str, name: str) -> list[Diagnostic]:
        """The errors located in one entry (a platform, a job, ...)."""
        return self.entry_errors.get((section, name), [])

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]

    @property
    def ok(self) -> bool:
        return not self.errors


class _Collector:
    """Collects findings as positioned diagnostics, once each: the one locator, which
    turns the manifest path of a finding (`Diagnostic.doc_path`) into its position."""

    def __init__(self, source: SourceMap) -> None:
        self.source = source
        self.diagnostics: list[Diagnostic] = []
        self._seen: set[tuple[str, Position | None, str]] = set()
        self.entry_errors: dict[tuple[str, str], list[Diagnostic]] = {}

    def add(self, diagnostic: Diagnostic) -> None:
        path = diagnostic.doc_path
        if diagnostic.position is None and path is not None:
            position = self.source.locate(path, key=diagnostic.at_key)
            diagnostic = replace(diagnostic, position=position)
        key = (diagnostic.code, diagnostic.position, diagnostic.message)
        if key not in self._seen:
            self._seen.add(key)
            self.diagnostics.append(diagnostic)
        if path is not None and diagnostic.is_error and len(path) >= 2:
            self.entry_errors.setdefault((str(path[0]), str(path[1])), []).append(diagnostic)

    def at(
        self, code: str, severity: Severity, path: DocPath, message: str, at_key: bool = False
    ) -> None:
        self.add(Diagnostic(code, severity, message, doc_path=path, at_key=at_key))


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Loading builds many long-lived objects and no garbage worth collecting midway;
    CPython's cyclic collector would scan them again and again as they pile up (10,000
    jobs: 3.4 s with it, 1.8 s without). Reentrant; restores the previous setting."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@gc_paused()
def load_project(
    path: str | os.PathLike[str],
    *,
    target: str | None = None,
    cli_vars: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
    unset_env_severity: Severity | None = Severity.ERROR,
    platform_rules: Sequence[Rule] = (),
    overrides: Mapping[Path, str] | None = None,
) -> Project:
    """Load and validate the manifest set at `path` for one target (or the base), with the
    platform-agnostic rules and `platform_rules` (each platform's own, which this layer
    cannot import: `polysync_spec.load_project` passes them all)."""
    loaded = load_path(path, overrides)
    source = SourceMap(loaded.documents)
    out = _Collector(source)
    for diagnostic in loaded.diagnostics:
        out.add(diagnostic)
    merged = _merge(loaded.documents, source, out)
    if not loaded.documents:
        if not any(d.is_error for d in out.diagnostics):
            # Only empty files: there is nothing to run, which is an error, not a pass.
            out.add(
                Diagnostic(
                    codes.MISSING_VERSION,
                    Severity.ERROR,
                    "no manifest found: the manifest set is empty",
                    Position(str(path)),
                )
            )
        return Project(source, _sorted(out.diagnostics), target, skipped=loaded.skipped)
    raw_targets = merged.get("targets", {})
    project = Project(source, [], target, skipped=loaded.skipped)
    for name, data in raw_targets.items():
        model = validate_entry("targets", name, data, out.at, lambda _p: False)
        if model is not None:
            project.targets[name] = model
    if target is not None:
        if target not in raw_targets:
            out.add(
                Diagnostic(
                    codes.UNKNOWN_TARGET,
                    Severity.ERROR,
                    f"target '{target}' is not defined"
                    + did_you_mean(target, raw_targets)
                    + (f"; targets: {', '.join(sorted(raw_targets))}" if raw_targets else ""),
                    None,
                )
            )
        elif target in project.targets:
            source.target = target
            merged = _overlay(merged, project.targets[target], target, out)
    scope = Scope(
        variables={},
        env=os.environ if env is None else env,
        target=target,
        unset_env_severity=unset_env_severity,
    )
    _resolve_variables(merged, scope, project, cli_vars or {}, out)
    resolved: dict[str, Any] = {}
    for section in ("platforms", "jobs", "run_plans"):
        resolved[section] = interpolate(merged.get(section, {}), scope, (section,), out.at)
    project.env_paths = scope.env_paths
    _register_secrets(resolved, scope)
    _fill_job_types(resolved)
    sensitive = _sensitive(scope.env_paths)
    # Checks also see entries that failed validation, minus their failing fields, so one
    # bad value does not hide a job's other problems.
    checked: dict[str, dict[str, Any]] = {"platforms": {}, "jobs": {}, "run_plans": {}}
    for section, store in (
        ("platforms", project.platforms),
        ("jobs", project.jobs),
        ("run_plans", project.run_plans),
    ):
        for name, data in resolved[section].items():
            if section == "jobs" and isinstance(data, dict) and "type" not in data:
                _check_untyped_job(name, data, out, sensitive)
                continue
            model, degraded = validate_entry_for_checks(section, name, data, out.at, sensitive)
            if model is not None:
                store[name] = model
            if (model or degraded) is not None:
                checked[section][name] = model or degraded
    ctx = CheckContext(
        raw=merged,
        resolved=resolved,
        platforms=checked["platforms"],
        jobs=checked["jobs"],
        run_plans=checked["run_plans"],
    )
    for finding in run_checks(ctx, platform_rules):
        out.add(finding)
    project.diagnostics = _sorted(out.diagnostics)
    project.entry_errors = out.entry_errors
    project.raw = merged
    return project


def _merge(documents: list[SourceDocument], source: SourceMap, out: _Collector) -> dict[str, Any]:
    """Merge files by top-level section; a name defined twice cites both places."""
    merged: dict[str, Any] = {section: {} for section in NAMED_SECTIONS}
    version_seen = False
    for document in documents:
        for key in document.data:
            if key == "version":
                version_seen = True
                value = document.data[key]
                if value != 1:
                    shown = f" {value!r}" if isinstance(value, int | str) else ""
                    out.add(
                        Diagnostic(
                            codes.UNSUPPORTED_VERSION,
                            Severity.ERROR,
                            f"unsupported manifest version{shown}; this polysync reads version 1",
                            _value_position(document, key),
                        )
                    )
                continue
            if key not in SECTIONS:
                out.add(
                    Diagnostic(
                        codes.UNKNOWN_KEY,
                        Severity.ERROR,
                        f"unknown section '{key}'" + did_you_mean(str(key), SECTIONS, clause=True),
                        _key_position(document, key),
                    )
                )
                continue
            section = document.data[key]
            if section is None:
                continue
            if not isinstance(section, dict):
                out.add(
                    Diagnostic(
                        codes.WRONG_TYPE,
                        Severity.ERROR,
                        f"section '{key}' must be a mapping of names to definitions",
                        _value_position(document, key),
                    )
                )
                continue
            for name in section:
                name_text = str(name)
                owner = source.owners.get((key, name_text))
                if owner is not None:
                    first = SourceMap([owner], {(key, name_text): owner}).locate(
                        (key, name_text), key=True
                    )
                    out.add(
                        Diagnostic(
                            codes.DUPLICATE_NAME,
                            Severity.ERROR,
                            f"{key[:-1].replace('_', ' ')} '{name_text}' is defined twice"
                            + (f"; first in {first}" if first else ""),
                            _key_position(document, key, name),
                            related=(first,) if first else (),
                        )
                    )
                    continue
                source.owners[(key, name_text)] = document
                if not NAME_RE.match(name_text):
                    out.add(
                        Diagnostic(
                            codes.INVALID_NAME,
                            Severity.ERROR,
                            f"invalid name '{name_text[:60]}': names are letters, digits, _ and -, "
                            "starting with a letter or _ (at most 128 characters)",
                            _key_position(document, key, name),
                        )
                    )
                    continue
                merged[key][name_text] = section[name]
    if documents and not version_seen:
        out.add(
            Diagnostic(
                codes.MISSING_VERSION,
                Severity.ERROR,
                "no file of the manifest set declares `version: 1`",
                Position(documents[0].path),
            )
        )
    return merged


def _overlay(merged: dict[str, Any], target: Target, name: str, out: _Collector) -> dict[str, Any]:
    result = dict(merged)
    for section in ("platforms", "jobs"):
        overlay: dict[str, dict[str, Any]] = getattr(target, section)
        combined = dict(merged.get(section, {}))
        for entry, values in overlay.items():
            if entry not in combined:
                out.at(
                    codes.TARGET_OVERLAYS_UNKNOWN,
                    Severity.ERROR,
                    ("targets", name, section, entry),
                    f"target '{name}' overlays {section[:-1]} '{entry}', which is not defined",
                    True,
                )
                continue
            combined[entry] = deep_merge(combined[entry], values)
        result[section] = combined
    variables = dict(merged.get("variables", {}))
    for entry, value in target.variables.items():
        base = variables.get(entry)
        if base is None:
            out.at(
                codes.TARGET_OVERLAYS_UNKNOWN,
                Severity.ERROR,
                ("targets", name, "variables", entry),
                f"target '{name}' sets variable '{entry}', which is not declared",
                True,
            )
            continue
        variables[entry] = {**base, "default": value} if isinstance(base, dict) else base
    result["variables"] = variables
    return result


def _resolve_variables(
    merged: dict[str, Any],
    scope: Scope,
    project: Project,
    cli_vars: Mapping[str, str],
    out: _Collector,
) -> None:
    declared: dict[str, Variable] = {}
    for name, data in merged.get("variables", {}).items():
        model = validate_entry("variables", name, data, out.at, lambda _p: False)
        if model is None:
            scope.variables[name] = UNRESOLVED
            continue
        declared[name] = model
        default = model.default
        if (
            default is not None
            and model.type is not None
            and (
                isinstance(default, str) != (model.type is VariableType.STRING)
                or not fits_type(default, model.type.value)
            )
        ):
            out.at(
                codes.VARIABLE_TYPE_MISMATCH,
                Severity.ERROR,
                ("variables", name, "default"),
                f"variable '{name}' is declared {model.type.value} but its default is not",
            )
        if isinstance(default, str):
            # Defaults may use ${env...} and ${target}, not other variables (no cycles).
            default = interpolate(
                default,
                Scope({}, scope.env, scope.target, scope.unset_env_severity, scope.env_paths),
                ("variables", name, "default"),
                out.at,
            )
        scope.variables[name] = UNRESOLVED if default is None else default
    # A value from a variable file (`--var-file`) is reported where the file sets it.
    origins: Mapping[str, Position] = getattr(cli_vars, "origins", {})
    for name, text in cli_vars.items():
        origin = origins.get(name)
        setter = f"variable '{name}'" if origin else f"--var {name}"
        if name not in merged.get("variables", {}):
            out.add(
                Diagnostic(
                    codes.UNDECLARED_CLI_VARIABLE,
                    Severity.ERROR,
                    f"{setter}: no variable '{name}' is declared"
                    + did_you_mean(name, merged.get("variables", {})),
                    origin,
                )
            )
            continue
        model = declared.get(name)
        if model is None:
            continue
        try:
            scope.variables[name] = convert_cli_value(text, model.value_type())
        except ValueError:
            out.add(
                Diagnostic(
                    codes.VARIABLE_TYPE_MISMATCH,
                    Severity.ERROR,
                    f"{setter}: expected a value of type {model.value_type().value}",
                    origin,
                )
            )
    project.variables = {k: v for k, v in scope.variables.items() if v is not UNRESOLVED}


SECRET_AUTH_KEYS = ("secret_access_key", "session_token")


def _register_secrets(resolved: dict[str, Any], scope: Scope) -> None:
    """Hand every value the manifests hold in a secret slot to the redaction layer: auth
    keys and session tokens, a web identity token from the environment, `secret: true`
    parameters (and a run's value for one). Walks the interpolated data, not the models,
    so an entry that failed validation still has its secrets masked. A slot whose
    reference stayed unresolved holds the `${env.NAME}` text itself: not a secret."""

    def secret(value: Any, path: DocPath) -> None:
        if isinstance(value, str) and (path in scope.env_paths or "${" not in value):
            redact.register(value)

    def mapping(node: Any, *keys: str | int) -> dict[Any, Any]:
        for key in keys:
            node = node.get(key) if isinstance(node, dict) else None
        return node if isinstance(node, dict) else {}

    for name, platform in mapping(resolved, "platforms").items():
        auth = mapping(platform, "auth")
        for key in SECRET_AUTH_KEYS:
            secret(auth.get(key), ("platforms", name, "auth", key))
        token = mapping(auth, "token")
        if token.get("source") == "env" and isinstance(token.get("name"), str):
            redact.register(scope.env.get(token["name"]))
    secret_parameters: dict[Any, set[Any]] = {}
    for name, job in mapping(resolved, "jobs").items():
        for key, spec in mapping(job, "parameters").items():
            if isinstance(spec, dict) and spec.get("secret") is True:
                secret_parameters.setdefault(name, set()).add(key)
                secret(spec.get("value"), ("jobs", name, "parameters", key, "value"))
    for plan_name, plan in mapping(resolved, "run_plans").items():
        runs = plan.get("runs") if isinstance(plan, dict) else None
        for index, run in enumerate(runs if isinstance(runs, list) else []):
            job = run.get("job") if isinstance(run, dict) else None
            if not isinstance(job, str):
                continue
            parameters = mapping(run, "parameters")
            for key in secret_parameters.get(job, set()) & set(parameters):
                value = parameters[key]
                path: DocPath = ("run_plans", plan_name, "runs", index, "parameters", key)
                if isinstance(value, dict):
                    secret(value.get("value"), (*path, "value"))
                else:
                    secret(value, path)


def _fill_job_types(resolved: dict[str, Any]) -> None:
    """A job's type is implied by its platform; fill it in so the right model validates it."""
    platforms = resolved.get("platforms", {})
    for job in resolved.get("jobs", {}).values():
        if not isinstance(job, dict) or "type" in job:
            continue
        platform = (
            platforms.get(job.get("platform")) if isinstance(job.get("platform"), str) else None
        )
        implied = (
            PLATFORM_JOB_TYPES.get(str(platform.get("type")))
            if isinstance(platform, dict)
            else None
        )
        if implied:
            job["type"] = implied


def _check_untyped_job(name: str, data: dict[str, Any], out: _Collector, sensitive: Any) -> None:
    """A job whose type its platform could not imply: `platform` is missing, misspelled,
    not a name, or names a platform that is undefined or broken. Such a job can never
    run, so it must never pass as valid (plan and apply would have nothing to run it on).

    It is validated as the job type its keys suggest, so that a missing `platform` is
    PS101, a misspelled one PS100 with "did you mean 'platform'", and its other problems
    are reported too. Nothing here is stored: the job is unusable whatever the guess
    says. An undefined platform name is PS501 from the cross-reference check, and a
    broken platform has errors of its own.
    """
    batch_only = set(BatchJob.model_fields) - set(GlueJob.model_fields)
    guessed = "aws_batch_job" if batch_only & set(data) else "aws_glue_job"
    validate_entry_for_checks("jobs", name, {**data, "type": guessed}, out.at, sensitive)


def _sensitive(env_paths: set[DocPath]) -> Any:
    def sensitive(path: DocPath) -> bool:
        return any(path[: len(p)] == p or p[: len(path)] == path for p in env_paths)

    return sensitive


def _key_position(document: SourceDocument, *path: Any) -> Position:
    found = SourceMap([document]).locate(path, key=True)
    return found or Position(document.path)


def _value_position(document: SourceDocument, *path: Any) -> Position:
    found = SourceMap([document]).locate(path)
    return found or Position(document.path)


def _sorted(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    return sorted(diagnostics, key=Diagnostic.sort_key)
