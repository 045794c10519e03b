"""Write or update job manifests from what a platform holds (`polysync import`).

New jobs go to one file per platform (`<into>`, by default `<PATH>/jobs/<platform>.yaml`).
A job the manifests already declare is updated in place, in whatever file holds it, with
ruamel.yaml round-trip: only what is missing is added (parameters, captured compute, a
newer pinned revision), so comments, key order, quoting and hand-written values survive,
and importing twice changes nothing. Jobs gone from AWS are reported, never deleted.
"""

from __future__ import annotations

import difflib
import fnmatch
import os
import re
from dataclasses import dataclass, field
from io import StringIO
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap

from polysync_spec.manifest.fmt import _yaml
from polysync_spec.manifest.models import SCHEMA_ID
from polysync_spec.manifest.project import Project
from polysync_spec.providers.aws import Sessions
from polysync_spec.providers.base import ImportedJob
from polysync_spec.providers.clients import client_for
from polysync_spec.providers.registry import platform_of

SCHEMA_FILE = Path("schemas") / "polysync.schema.json"
HEADER = (
    "# yaml-language-server: $schema={schema}\n"
    "# Imported by `polysync import --platform {platform}`; edit freely: a later import only\n"
    "# adds what is missing and never overwrites what is written here.\n"
)


@dataclass
class ImportResult:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)  # in the manifests, not in AWS
    diffs: dict[Path, str] = field(default_factory=dict)  # file -> unified diff


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
    write: bool,
) -> ImportResult:
    """Merge `found` (what discovery saw) into the manifests below `root`."""
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
        entry = _entry(imported, platform_name)
        if definition.name in existing:
            name = existing[definition.name]
            owner = project.source.owners[("jobs", name)]
            document = _load(files, Path(owner.path))
            if _merge(document.data["jobs"][name], entry, imported):
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
        result.diffs[document.path] = "".join(
            difflib.unified_diff(
                document.original.splitlines(keepends=True),
                text.splitlines(keepends=True),
                fromfile=f"{document.path} (before)",
                tofile=f"{document.path} (after)",
            )
        )
        if write:
            document.path.parent.mkdir(parents=True, exist_ok=True)
            document.path.write_text(text, encoding="utf-8")
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
    into: Path | None = None,
    pattern: str = "*",
    write: bool,
) -> ImportResult:
    """Read what platform `platform_name` holds (`PlatformClient.importable`) and merge it
    into the manifests below `root`; with `write=False`, only the diffs. Raises
    `AwsError` when the read fails."""
    found = client_for(platform_name, project.platforms[platform_name], sessions).importable()
    return import_platform(
        project, root, platform_name, found, into=into, pattern=pattern, write=write
    )
