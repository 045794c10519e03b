"""Canonical formatting of manifest files that keeps comments, quotes and key order.

ruamel.yaml's round-trip re-emits each file with one indentation style: mappings by 2,
sequence items by 4 with the dash at 2 (`runs:` / `  - job: x`). Comments, blank lines,
quoting and flow style (`{a: 1}`) survive, and nothing is reordered or wrapped.
Formatting a formatted file changes nothing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from io import StringIO
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from polysync_spec.errors import Diagnostic, Position, Severity
from polysync_spec.manifest import codes
from polysync_spec.manifest.loader import _manifest_files, read_manifest


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096  # never re-wrap a long value
    return yaml


def format_text(text: str) -> str:
    """The canonical form of one manifest file (raises YAMLError on broken YAML)."""
    data = _yaml().load(text)
    if data is None:
        return text
    out = StringIO()
    _yaml().dump(data, out)
    return out.getvalue()


@dataclass
class FormatResult:
    changed: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)


def format_path(path: str | os.PathLike[str], *, write: bool) -> FormatResult:
    """Format a manifest file or every manifest below a directory."""
    root = Path(path)
    result = FormatResult()
    files = sorted(_manifest_files(root, result.diagnostics)) if root.is_dir() else [root]
    directory = root if root.is_dir() else root.parent
    for file in files:
        # The same guarded read as validate: no FIFO, device, oversized file, or link
        # out of the directory is ever opened (or written back through).
        raw = read_manifest(file, directory, result.diagnostics)
        if raw is None:
            continue
        try:
            original = raw.decode("utf-8")
            formatted = format_text(original)
        except (UnicodeDecodeError, YAMLError) as exc:
            mark = getattr(exc, "problem_mark", None)
            position = (
                Position(str(file), mark.line + 1, mark.column + 1) if mark else Position(str(file))
            )
            message = f"cannot format: {getattr(exc, 'problem', None) or exc}"
            result.diagnostics.append(
                Diagnostic(codes.YAML_SYNTAX, Severity.ERROR, message, position)
            )
            continue
        if formatted == original:
            result.unchanged.append(file)
            continue
        result.changed.append(file)
        if write:
            file.write_text(formatted, encoding="utf-8")
    return result
