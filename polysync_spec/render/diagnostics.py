"""Diagnostics as `file:line:col: severity CODE: message`, JSON, or GitHub annotations."""

from __future__ import annotations

import json
from collections.abc import Sequence

from polysync_spec.errors import Diagnostic, Position, Severity


def text(diagnostics: Sequence[Diagnostic]) -> str:
    lines = []
    for d in diagnostics:
        where = f"{d.position}: " if d.position else ""
        lines.append(f"{where}{d.severity.value} {d.code}: {d.message}")
    return "\n".join(lines) + ("\n" if lines else "")


def json_document(diagnostics: Sequence[Diagnostic]) -> str:
    return (
        json.dumps(
            {
                "version": 1,
                "diagnostics": [d.to_dict() for d in diagnostics],
                "summary": counts(diagnostics),
            },
            indent=2,
        )
        + "\n"
    )


# GitHub has three annotation levels; plan's drift shows as a warning.
GITHUB_LEVEL = {
    Severity.ERROR: "error",
    Severity.WARNING: "warning",
    Severity.DRIFT: "warning",
    Severity.NOTE: "notice",
}


def github(diagnostics: Sequence[Diagnostic]) -> str:
    """GitHub Actions workflow commands, one per diagnostic."""
    lines = [
        workflow_command(GITHUB_LEVEL[d.severity], d.code, d.message, d.position)
        for d in diagnostics
    ]
    return "\n".join(lines) + ("\n" if lines else "")


def workflow_command(level: str, title: str, message: str, position: Position | None) -> str:
    """`::level file=...,line=...,col=...,title=...::message`, escaped as the runner
    requires (%, CR, LF everywhere; also : and , in properties)."""
    props = [f"title={_prop(title)}"]
    if position:
        props = [
            f"file={_prop(position.path)}",
            f"line={position.line}",
            f"col={position.column}",
            *props,
        ]
    return f"::{level} {','.join(props)}::{_data(message)}"


def _data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _prop(value: str) -> str:
    return _data(value).replace(":", "%3A").replace(",", "%2C")


def counts(diagnostics: Sequence[Diagnostic]) -> dict[str, int]:
    return {
        "errors": sum(d.severity is Severity.ERROR for d in diagnostics),
        "warnings": sum(d.severity is Severity.WARNING for d in diagnostics),
        "notes": sum(d.severity is Severity.NOTE for d in diagnostics),
    }


def summary(diagnostics: Sequence[Diagnostic], files: int) -> str:
    c = counts(diagnostics)
    noun = "file" if files == 1 else "files"
    if not c["errors"] and not c["warnings"]:
        return f"{files} {noun} valid, no problems"
    return f"{c['errors']} error(s), {c['warnings']} warning(s) in {files} {noun}"


def skipped_note(skipped: Sequence[str], root: str, shown: int = 3) -> str | None:
    """One line saying which YAML files below `root` were skipped as not polysync
    manifests (the first `shown` by name, relative to `root`), or None when none was."""
    if not skipped:
        return None
    import os

    names = [os.path.relpath(path, root) for path in skipped[:shown]]
    more = ", …" if len(skipped) > shown else ""
    noun = "file" if len(skipped) == 1 else "files"
    verb = "is" if len(skipped) == 1 else "are"
    return (
        f"skipped {len(skipped)} YAML {noun} that {verb} not polysync manifests "
        f"({', '.join(names)}{more})"
    )
