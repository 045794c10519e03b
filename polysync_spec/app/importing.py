# Over 400 lines: import end to end: reading, the round-trip merge, the request comparison, the report.
"""Write or update job manifests from what a platform holds (`polysync import`).

New jobs go to one file per platform (`<into>`, by default `<PATH>/jobs/<platform>.yaml`).
A job the manifests already declare is updated in place, in whatever file holds it, with
ruamel.yaml round-trip: only what is missing is added (parameters, captured compute, a
newer pinned revision), so comments, key order, quoting and hand-written values survive,
and importing twice changes nothing. Jobs gone from AWS are reported, never deleted.
A captured value (an imported parameter) that differs from what AWS holds now is
reported, and with `refresh` replaced by AWS's.

Nothing imported may change a request silently: `request_changes` plans every run of an
updated job on the manifests as they are and as they would be, against one discovery of
the live objects, and names each request member that would differ.
"""

from __future__ import annotations

import difflib
import fnmatch
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from io import StringIO
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap

from polysync_spec import redact
from polysync_spec.engine.live import LiveState
from polysync_spec.engine.plan import make_plan
from polysync_spec.errors import PolysyncError
from polysync_spec.manifest.fmt import _yaml
from polysync_spec.manifest.models import SCHEMA_ID
from polysync_spec.manifest.project import Project
from polysync_spec.providers.aws import Sessions
from polysync_spec.providers.base import ImportedJob
from polysync_spec.providers.clients import client_for
from polysync_spec.providers.registry import platform_of
from polysync_spec.values import aws_string

SCHEMA_FILE = Path("schemas") / "polysync.schema.json"
HEADER = (
    "# yaml-language-server: $schema={schema}\n"
    "# Imported by `polysync import --platform {platform}`; edit freely: a later import only\n"
    "# adds what is missing, and overwrites what is written here only with --refresh.\n"
)
# A parameter whose name says it holds a credential: its values are never shown (reports,
# diffs), whether or not the manifest marks it `secret`.
SECRET_NAME = re.compile(
    r"(?i)(secret|passw(or)?d|passphrase|token|credential|api[_-]?key|private[_-]?key|"
    r"access[_-]?key)"
)


@dataclass
class CapturedValue:
    """A captured value the manifest holds that differs from what AWS holds now: the job,
    the parameter (`parameters.NAME`), both values as strings as AWS would see them, and
    where the manifest's is (`file:line:col`). `secret`: never show the values. `refreshed`:
    replaced by AWS's (`--refresh`); `fixed`: written as `${...}`, never replaced."""

    job: str
    key: str
    manifest: str
    aws: str
    where: str
    secret: bool
    refreshed: bool = False
    fixed: bool = False

    def describe(self, *, written: bool) -> str:
        """One line for the report; `written`: whether the import's changes were written."""
        values = (
            "the values differ (not shown: secret)"
            if self.secret
            else f"{self.manifest!r} in the manifest, {self.aws!r} in AWS"
        )
        state = (
            ("refreshed" if written else "AWS's value not written")
            if self.refreshed
            else "kept (written as ${...}: never refreshed)"
            if self.fixed
            else "kept (--refresh takes AWS's)"
        )
        return f"{self.where}: job '{self.job}' {self.key}: {values}; {state}"


@dataclass
class RequestChange:
    """A run whose request the import would change: the run plan, run key, job, the request
    members that differ (`Arguments.--x`, `jobDefinition`) and a unified diff of the request
    as plan prints it (secrets as plan shows them)."""

    run_plan: str
    run: str
    job: str
    members: list[str]
    diff: str
    # False when the request only states what AWS already fills with the same values
    # (a parameter imported from the job's DefaultArguments, sent explicitly): what runs
    # is the same, and the import needs no --allow-request-changes.
    changes_run: bool = True

    def name(self) -> str:
        return f"{self.run_plan}/{self.run} ({', '.join(self.members)})"


@dataclass
class ImportResult:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)  # in the manifests, not in AWS
    diffs: dict[Path, str] = field(default_factory=dict)  # file -> unified diff
    texts: dict[Path, str] = field(default_factory=dict)  # file -> its text after the import
    captured: list[CapturedValue] = field(default_factory=list)  # differing from AWS
    requests: list[RequestChange] = field(default_factory=list)
    unused: list[str] = field(default_factory=list)  # updated jobs no run plan uses
    written: bool = False

    @property
    def run_changes(self) -> list[RequestChange]:
        """The request changes that change what runs (those that need
        --allow-request-changes)."""
        return [change for change in self.requests if change.changes_run]

    @property
    def stated(self) -> list[RequestChange]:
        """The request changes that only state what AWS already fills, same values."""
        return [change for change in self.requests if not change.changes_run]

    def write(self) -> None:
        """Write every changed file (creating its directory)."""
        for path, text in self.texts.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")


@dataclass
class _File:
    path: Path
    original: str
    data: CommentedMap


def job_name(aws_name: str) -> str:
    """A manifest name for an AWS job: letters, digits, _ and -, starting with a letter."""
    name = re.sub(r"[^A-Za-z0-9_-]", "_", aws_name)[:128]
    return name if re.match(r"^[A-Za-z_]", name) else f"job_{name}"[:128]


def import_platform(
    project: Project,
    root: Path,
    platform_name: str,
    found: list[Any],
    *,
    into: Path | None = None,
    pattern: str = "*",
    refresh: bool = False,
) -> ImportResult:
    """Merge `found` (what discovery saw) into the manifests below `root`, in memory: the
    result's `texts` and `diffs` say what would change (`ImportResult.write` writes it).
    Captured values that differ from AWS's are in `captured`; with `refresh`, replaced."""
    spec = platform_of(project.platforms[platform_name])
    target = into or root / "jobs" / f"{platform_name}.yaml"
    result = ImportResult()
    files: dict[Path, _File] = {}
    existing: dict[str, str] = {}  # AWS name -> manifest job name
    for name, job in project.jobs.items():
        if job.platform == platform_name:
            existing[spec.aws_name(job)] = name
    wanted = [d for d in found if fnmatch.fnmatch(d.name, pattern)]
    seen = set()
    for definition in wanted:
        seen.add(definition.name)
        imported = spec.imported_job(definition)
        _register_secrets(imported)
        entry = _entry(imported, platform_name)
        if definition.name in existing:
            name = existing[definition.name]
            owner = project.source.owners[("jobs", name)]
            document = _load(files, Path(owner.path))
            current = document.data["jobs"][name]
            changed = _merge(current, entry, imported)
            for captured in _compare(project, name, current, imported):
                if refresh and not captured.fixed:
                    _replace(current["parameters"], captured.key.split(".", 1)[1], entry)
                    captured.refreshed = changed = True
                result.captured.append(captured)
            if changed:
                result.updated.append(name)
        else:
            document = _load(files, target, header=(platform_name, root))
            jobs = document.data.setdefault("jobs", CommentedMap())
            name = job_name(definition.name)
            jobs[name] = entry
            result.added.append(name)
    result.gone = sorted(
        name for aws, name in existing.items() if aws not in seen and fnmatch.fnmatch(aws, pattern)
    )
    for document in files.values():
        text = _dump(document.data)
        if text == document.original:
            continue
        result.texts[document.path] = text
        result.diffs[document.path] = "".join(
            difflib.unified_diff(
                document.original.splitlines(keepends=True),
                text.splitlines(keepends=True),
                fromfile=f"{document.path} (before)",
                tofile=f"{document.path} (after)",
            )
        )
    return result


def _entry(imported: ImportedJob, platform: str) -> CommentedMap:
    entry = CommentedMap()
    entry["platform"] = platform
    entry["external_id"] = imported.external_id
    parameters = {
        name: (CommentedMap(value=value) if kind == "json" and isinstance(value, dict) else value)
        for name, (value, kind) in imported.parameters.items()
    }
    if parameters:
        entry["parameters"] = CommentedMap(parameters)
    if imported.compute:
        entry["compute"] = CommentedMap(imported.compute)
    return entry


def _merge(current: Any, imported: CommentedMap, job: ImportedJob) -> bool:
    """Add what is missing; change only an external id the platform says the imported
    one replaces (a newer pinned revision). True when changed."""
    changed = False
    if not isinstance(current, dict):
        return False
    ext = current.get("external_id")
    if isinstance(ext, str) and job.replaces(ext):
        current["external_id"] = job.external_id
        changed = True
    for section in ("parameters", "compute"):
        if section not in imported:
            continue
        if section not in current or current[section] is None:
            current[section] = imported[section]
            changed = True
            continue
        for key, value in imported[section].items():
            if key not in current[section] and f"--{key}" not in current[section]:
                current[section][key] = value
                changed = True
    return changed


def looks_secret(name: str) -> bool:
    """Whether a parameter's name says it holds a credential (`SECRET_NAME`)."""
    return bool(SECRET_NAME.search(name))


def _register_secrets(imported: ImportedJob) -> None:
    """Mask, in everything printed from now on, the AWS values of secret-looking
    parameters (`redact.register`: stdout, stderr and logs pass through `redact.mask`)."""
    for name, (value, _kind) in imported.parameters.items():
        if looks_secret(name):
            redact.register(aws_string(value))


def _compare(
    project: Project, job: str, current: Any, imported: ImportedJob
) -> list[CapturedValue]:
    """The imported parameters the manifest entry `current` holds with a value other than
    AWS's, as strings as AWS sees them (`values.aws_string`). A value written as `${...}`
    is compared resolved, never shown, and never replaced; a `secret` parameter is not
    shown either."""
    parameters = current.get("parameters") if isinstance(current, dict) else None
    if not isinstance(parameters, dict):
        return []
    differing = []
    model = project.jobs[job]
    for name, (value, _kind) in imported.parameters.items():
        key = name if name in parameters else f"--{name}" if f"--{name}" in parameters else None
        if key is None:
            continue
        raw = parameters[key]
        long_form = isinstance(raw, dict) and "value" in raw
        written = raw["value"] if long_form else raw
        declared = model.parameters.get(key) or model.parameters.get(name)
        fixed = isinstance(written, str) and "${" in written
        manifest = aws_string(declared.value if fixed and declared is not None else _plain(written))
        theirs = aws_string(value)
        if manifest == theirs:
            continue
        from_env = fixed and "env." in written
        secret = from_env or looks_secret(name) or bool(declared and declared.secret)
        if secret:
            redact.register(manifest)
            redact.register(theirs)
        path = ("jobs", job, "parameters", key, *(("value",) if long_form else ()))
        where = project.source.locate(path)
        differing.append(
            CapturedValue(
                job=job,
                key=f"parameters.{key}",
                manifest=manifest,
                aws=theirs,
                where=str(where) if where else job,
                secret=secret,
                fixed=fixed,
            )
        )
    return differing


def _plain(value: Any) -> Any:
    """A ruamel value as plain Python (CommentedMap/Seq and scalar subclasses)."""
    return json.loads(json.dumps(value)) if isinstance(value, dict | list) else value


def _replace(parameters: Any, key: str, entry: CommentedMap) -> None:
    """Put AWS's value for parameter `key` in place of the manifest's (long form: its
    `value`), keeping the key, its comments and the entry's other members."""
    name = key[2:] if key.startswith("--") and key[2:] in entry["parameters"] else key
    value = entry["parameters"][name]
    if isinstance(value, dict) and set(value) == {"value"}:
        value = value["value"]
    if isinstance(parameters[key], dict) and "value" in parameters[key]:
        parameters[key]["value"] = value
    else:
        parameters[key] = value


def _load(files: dict[Path, _File], path: Path, header: tuple[str, Path] | None = None) -> _File:
    if path in files:
        return files[path]
    if path.exists():
        original = path.read_text(encoding="utf-8")
        data = _yaml().load(original) or CommentedMap()
    else:
        original = ""
        platform, root = header or ("", path.parent)
        data = _yaml().load(
            HEADER.format(schema=schema_location(path, root), platform=platform) + "jobs: {}\n"
        )
        data["jobs"] = CommentedMap()
    files[path] = _File(path, original, data)
    return files[path]


def schema_location(path: Path, root: Path) -> str:
    """Where the schema line of a new file at `path` points: `schemas/polysync.schema.json`
    relative to it when the project below `root` has one (`polysync schema --write`),
    else the schema's published `$id`, which resolves from any repository."""
    schema = root / SCHEMA_FILE
    if schema.is_file():
        return Path(os.path.relpath(schema, path.parent)).as_posix()
    return SCHEMA_ID


def _dump(data: CommentedMap) -> str:
    out = StringIO()
    _yaml().dump(data, out)
    return out.getvalue()


def import_jobs(
    project: Project,
    root: Path,
    platform_name: str,
    sessions: Sessions,
    *,
    reload: Callable[[Mapping[Path, str]], Project],
    into: Path | None = None,
    pattern: str = "*",
    refresh: bool = False,
    write: bool = False,
    allow_request_changes: bool = False,
) -> ImportResult:
    """Read what platform `platform_name` holds (`PlatformClient.importable`), merge it in
    memory into the manifests below `root` (`import_platform`), and compare the requests
    of every run of an updated job before and after (`request_changes`; `reload(texts)`
    loads the manifests with `texts`, file -> text, in place of those files, as `project`
    was loaded). With `write`, writes the files, unless a request would change and
    `allow_request_changes` is false (`ImportResult.written` says whether it wrote).

    Raises `AwsError` when a read fails, `PolysyncError` when the import would leave the
    manifests with errors."""
    found = client_for(platform_name, project.platforms[platform_name], sessions).importable()
    result = import_platform(
        project, root, platform_name, found, into=into, pattern=pattern, refresh=refresh
    )
    if result.updated:
        result.requests, result.unused = request_changes(
            project, reload(result.texts), platform_name, result.updated, sessions
        )
    if write and (allow_request_changes or not result.run_changes):
        result.write()
        result.written = True
    return result


def request_changes(
    before: Project,
    after: Project,
    platform_name: str,
    jobs: list[str],
    sessions: Sessions,
) -> tuple[list[RequestChange], list[str]]:
    """Plan every run of `jobs` (the jobs the import updates) in every run plan, on the
    manifests `before` and `after` the import, and compare the requests as plan prints
    them (StartJobRun / SubmitJob, secrets as `{"$env": NAME}`), byte for byte. The live
    objects are discovered once, for both (`PlatformClient.snapshot` of platform
    `platform_name`, where all of `jobs` live). Returns the runs whose request would
    change, and the jobs no run plan uses (nothing to compare).

    Raises `PolysyncError` when `after` has errors (the import would break the
    manifests), `AwsError` when a read fails."""
    if not after.ok:
        problems = "; ".join(f"{d.position}: {d.message}" for d in after.errors[:5])
        raise PolysyncError(f"the manifests would have errors after the import: {problems}")
    wanted = set(jobs)
    affected: dict[str, set[str]] = {}
    pairs: list[tuple[Any, Any]] = []
    for plan_name, plan in before.run_plans.items():
        for index, run in enumerate(plan.runs):
            if run.job not in wanted:
                continue
            affected.setdefault(plan_name, set()).add(run.key)
            pairs.append((run, before.jobs[run.job]))
            pairs.append((after.run_plans[plan_name].runs[index], after.jobs[run.job]))
    used = {run.job for plan in before.run_plans.values() for run in plan.runs}
    unused = sorted(wanted - used)
    if not pairs:
        return [], unused
    platform = before.platforms[platform_name]
    snapshot = client_for(platform_name, platform, sessions).snapshot(platform, pairs)
    live = LiveState({platform_name: snapshot})
    changes: list[RequestChange] = []
    for plan_name in sorted(affected):
        old = {r.key: r for r in make_plan(before, plan_name, live, manifest_path="").runs}
        new = {r.key: r for r in make_plan(after, plan_name, live, manifest_path="").runs}
        for key in sorted(affected[plan_name]):
            was, will = old[key].request, new[key].request
            if _wire(was) == _wire(will):
                continue
            job = old[key].job
            spec = platform_of(before.jobs[job])
            runs_differ = _wire(spec.effective_request(before.jobs[job], snapshot, was)) != _wire(
                spec.effective_request(after.jobs[job], snapshot, will)
            )
            changes.append(
                RequestChange(
                    plan_name,
                    key,
                    job,
                    _members(was, will),
                    "".join(
                        difflib.unified_diff(
                            _shown(was).splitlines(keepends=True),
                            _shown(will).splitlines(keepends=True),
                            fromfile=f"{plan_name}/{key} {old[key].api} (now)",
                            tofile=f"{plan_name}/{key} {old[key].api} (after the import)",
                        )
                    ),
                    changes_run=runs_differ,
                )
            )
    return changes, unused


def _wire(request: Mapping[str, Any]) -> str:
    """A request as compared: its JSON, member order and all (what would be sent)."""
    return json.dumps(request, ensure_ascii=False)


def _shown(request: Mapping[str, Any]) -> str:
    """A request as shown: indented JSON, the value of each secret-looking map member
    (`Arguments`, `parameters`) masked, however short."""
    shown = {
        key: (
            {k: redact.MASK if looks_secret(k) else v for k, v in value.items()}
            if isinstance(value, dict)
            else value
        )
        for key, value in request.items()
    }
    return json.dumps(shown, indent=2, ensure_ascii=False) + "\n"


def _members(was: Mapping[str, Any], will: Mapping[str, Any]) -> list[str]:
    """The request members that differ; within a map member (`Arguments`, `parameters`),
    each key (`Arguments.--x`)."""
    members: list[str] = []
    for key in [*was, *(k for k in will if k not in was)]:
        a, b = was.get(key), will.get(key)
        if a == b and (key in was) == (key in will):
            continue
        if isinstance(a, dict) or isinstance(b, dict):  # a map member, or a new one
            a = a if isinstance(a, dict) else {}
            b = b if isinstance(b, dict) else {}
            inner = [*a, *(k for k in b if k not in a)]
            differ = [k for k in inner if a.get(k) != b.get(k) or (k in a) != (k in b)]
            members.extend([f"{key}.{k}" for k in differ] or [key])  # or: only its presence
        else:
            members.append(key)
    return members or ["member order"]


def refusal(changes: list[RequestChange], *, dry_run: bool = False) -> str:
    """The message of an import refused because it changes requests (`dry_run`: that it
    would be refused)."""
    runs = "; ".join(change.name() for change in changes)
    if dry_run:
        return (
            f"the import would change the request of {runs}: writing it needs "
            "--allow-request-changes"
        )
    return (
        f"the import would change the request of {runs}: nothing written; pass "
        "--allow-request-changes if that is intended"
    )
