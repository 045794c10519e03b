"""Read manifest files with ruamel.yaml round-trip, so every value keeps its line and column.

`load_path` accepts one file or a directory (searched recursively for `*.yaml` / `*.yml`).
YAML-level breakage (syntax, tabs, duplicate keys, encodings, alias bombs) becomes
diagnostics with positions; nothing here raises for bad input.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, SequenceNode

from polysync_spec.errors import Diagnostic, Position, Severity
from polysync_spec.manifest import codes

MANIFEST_SUFFIXES = (".yaml", ".yml")
IGNORE_FILE = ".polysyncignore"
# A manifest is hand-written configuration; these bounds only stop hostile input
# (a multi-megabyte file, an alias "billion laughs") from exhausting memory or time.
MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_EXPANDED_NODES = 2_000_000
MAX_DEPTH = 64


@dataclass(frozen=True)
class SourceDocument:
    """One manifest file: its display path and its round-trip root mapping."""

    path: str
    root: CommentedMap


@dataclass
class LoadResult:
    documents: list[SourceDocument]
    diagnostics: list[Diagnostic]


def load_path(path: str | os.PathLike[str]) -> LoadResult:
    """Load a manifest file or every manifest file below a directory, in a stable order."""
    root = Path(path)
    diagnostics: list[Diagnostic] = []
    if not root.exists():
        return LoadResult(
            [], [_diag(codes.PATH_NOT_FOUND, f"no such file or directory: {root}", None)]
        )
    if root.is_dir():
        files = sorted(_manifest_files(root, diagnostics))
        if not files:
            diagnostics.append(
                _diag(
                    codes.PATH_NOT_FOUND,
                    f"no *.yaml or *.yml manifest files found below {root}",
                    Position(str(root)),
                )
            )
    else:
        files = [root]
    documents: list[SourceDocument] = []
    for file in files:
        document = load_file(file, diagnostics)
        if document is not None:
            documents.append(document)
    return LoadResult(documents, diagnostics)


def _manifest_files(root: Path, diagnostics: list[Diagnostic]) -> Iterator[Path]:
    """Walk a directory for manifests, skipping hidden entries and `.polysyncignore` globs.

    `os.walk` does not follow directory symlinks, so a symlink loop cannot trap the walk;
    a symlinked directory is reported rather than silently skipped.
    """
    patterns = _ignore_patterns(root)
    for current, dirnames, filenames in os.walk(root, followlinks=False):
        here = Path(current)
        kept: list[str] = []
        for name in sorted(dirnames):
            rel = (here / name).relative_to(root).as_posix()
            if name.startswith(".") or _ignored(rel + "/", patterns):
                continue
            if (here / name).is_symlink():
                diagnostics.append(
                    _diag(
                        codes.FILE_UNREADABLE,
                        "symbolic link to a directory is not followed; list its manifests "
                        "directly or replace the link",
                        Position(str(here / name)),
                        severity=Severity.WARNING,
                    )
                )
                continue
            kept.append(name)
        dirnames[:] = kept
        for name in filenames:
            rel = (here / name).relative_to(root).as_posix()
            if name.startswith(".") or not name.endswith(MANIFEST_SUFFIXES):
                continue
            if _ignored(rel, patterns):
                continue
            yield here / name


def _ignore_patterns(root: Path) -> list[str]:
    ignore = root / IGNORE_FILE
    if not ignore.is_file():
        return []
    lines = ignore.read_text(encoding="utf-8", errors="replace").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def _ignored(rel: str, patterns: list[str]) -> bool:
    for pattern in patterns:
        stripped = pattern.rstrip("/")
        if pattern.endswith("/"):
            # A directory pattern ignores the directory and everything below it.
            if rel.startswith(stripped + "/") or fnmatch.fnmatch(rel.rstrip("/"), stripped):
                return True
        elif fnmatch.fnmatch(rel, pattern) or fnmatch.fnmatch(rel.rstrip("/"), pattern):
            return True
    return False


def load_file(file: Path, diagnostics: list[Diagnostic]) -> SourceDocument | None:
    """Load one file; on any problem append diagnostics and return None (or a partial doc)."""
    display = str(file)
    try:
        raw = file.read_bytes()
    except OSError as exc:
        diagnostics.append(
            _diag(codes.FILE_UNREADABLE, f"cannot read file: {exc.strerror}", Position(display))
        )
        return None
    if len(raw) > MAX_FILE_BYTES:
        diagnostics.append(
            _diag(
                codes.FILE_UNREADABLE,
                f"file is {len(raw)} bytes; manifests are limited to {MAX_FILE_BYTES} bytes",
                Position(display),
            )
        )
        return None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        diagnostics.append(
            _diag(
                codes.FILE_UNREADABLE,
                f"file is not valid UTF-8 (byte 0x{raw[exc.start]:02x})",
                Position(display, line, column),
            )
        )
        return None
    return parse_text(text, display, diagnostics)


def parse_text(text: str, display: str, diagnostics: list[Diagnostic]) -> SourceDocument | None:
    yaml = YAML(typ="rt")
    # Duplicates are found below on the composed node graph, so that every one is
    # reported in one pass instead of the parser stopping at the first.
    yaml.allow_duplicate_keys = True
    try:
        constructor, _parser = yaml.get_constructor_parser(text)
        node = constructor.composer.get_single_node()
        if node is None:
            diagnostics.append(
                _diag(
                    codes.EMPTY_FILE,
                    "file is empty; a manifest file holds at least one section",
                    Position(display),
                    severity=Severity.WARNING,
                )
            )
            return None
        before = len(diagnostics)
        _check_node_graph(node, display, diagnostics)
        if len(diagnostics) > before and any(
            d.code == codes.YAML_TOO_LARGE for d in diagnostics[before:]
        ):
            return None
        data = constructor.construct_document(node)
    except MarkedYAMLError as exc:
        diagnostics.append(_yaml_error(exc, display))
        return None
    except YAMLError as exc:
        diagnostics.append(_diag(codes.YAML_SYNTAX, f"YAML error: {exc}", Position(display)))
        return None
    except RecursionError:
        diagnostics.append(
            _diag(codes.YAML_TOO_LARGE, "document is nested too deeply", Position(display))
        )
        return None
    if not isinstance(data, CommentedMap):
        kind = "a list" if isinstance(data, CommentedSeq) else "a scalar value"
        diagnostics.append(
            _diag(
                codes.NOT_A_MAPPING,
                f"the top level of a manifest must be a mapping of sections, found {kind}",
                Position(display, node.start_mark.line + 1, node.start_mark.column + 1),
            )
        )
        return None
    return SourceDocument(display, data)


def _check_node_graph(root: Node, display: str, diagnostics: list[Diagnostic]) -> None:
    """Report duplicate keys, tags, and graphs that would expand past the size limit."""
    expanded = 0
    stack: list[tuple[Node, int]] = [(root, 0)]
    while stack:
        node, depth = stack.pop()
        expanded += 1
        if expanded > MAX_EXPANDED_NODES or depth > MAX_DEPTH:
            reason = (
                f"nested deeper than {MAX_DEPTH} levels"
                if depth > MAX_DEPTH
                else f"expands to more than {MAX_EXPANDED_NODES} values (an alias bomb?)"
            )
            diagnostics.append(
                _diag(codes.YAML_TOO_LARGE, f"document is {reason}", _mark(root, display))
            )
            return
        if isinstance(node, MappingNode):
            seen: dict[object, Node] = {}
            for key_node, value_node in node.value:
                key = (
                    key_node.value
                    if not isinstance(key_node, (MappingNode, SequenceNode))
                    else None
                )
                if key == "<<":
                    stack.append((value_node, depth + 1))
                    continue
                if isinstance(key, str):
                    if key in seen:
                        first = seen[key]
                        diagnostics.append(
                            _diag(
                                codes.DUPLICATE_KEY,
                                f"duplicate key {key!r}; first defined at line "
                                f"{first.start_mark.line + 1}",
                                _mark(key_node, display),
                                related=(_mark(first, display),),
                            )
                        )
                    else:
                        seen[key] = key_node
                stack.append((value_node, depth + 1))
        elif isinstance(node, SequenceNode):
            stack.extend((item, depth + 1) for item in node.value)


def _yaml_error(exc: MarkedYAMLError, display: str) -> Diagnostic:
    mark = exc.problem_mark or exc.context_mark
    position = Position(display, mark.line + 1, mark.column + 1) if mark else Position(display)
    problem = exc.problem or exc.context or "invalid YAML"
    if "'\\t'" in problem or "\t" in problem:
        return _diag(
            codes.YAML_TAB,
            "tab character used for indentation; YAML indentation must use spaces",
            position,
        )
    if "another document" in problem:
        return _diag(
            codes.YAML_SYNTAX,
            "a manifest file holds one YAML document; move the next document to its own file",
            position,
        )
    if problem.startswith("expected <block end>"):
        return _diag(
            codes.YAML_SYNTAX,
            "YAML syntax error: this line's indentation does not match its siblings",
            position,
        )
    context = f" ({exc.context})" if exc.context and exc.problem else ""
    return _diag(codes.YAML_SYNTAX, f"YAML syntax error: {problem}{context}", position)


def _mark(node: Node, display: str) -> Position:
    return Position(display, node.start_mark.line + 1, node.start_mark.column + 1)


def _diag(
    code: str,
    message: str,
    position: Position | None,
    *,
    severity: Severity = Severity.ERROR,
    related: tuple[Position, ...] = (),
) -> Diagnostic:
    return Diagnostic(code, severity, message, position, related)


def to_plain(value: Any) -> Any:
    """Convert a round-trip tree to plain dict/list/str/int/float/bool/None.

    The models validate plain data strictly; ruamel's scalar subclasses and its date
    resolution (an unquoted 2026-01-01 becomes a date even in YAML 1.2) are undone here.
    Aliases were bounded by `_check_node_graph`, so the expansion here is bounded too.
    """
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, TaggedScalar):
        return str(value.value)
    return str(value)
