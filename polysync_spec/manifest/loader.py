# Over 400 lines: hostile-file-safe reading, YAML 1.2 scalars and tags, positions.
"""Read manifest files into plain data plus the position of every key and value.

`load_path` accepts one file or a directory (searched recursively for `*.yaml` / `*.yml`).
YAML-level breakage (syntax, tabs, duplicate keys, encodings, alias bombs) becomes
diagnostics with positions; nothing here raises for bad input.

Reading uses libyaml (through PyYAML's C composer) for the node graph and its marks, then
builds plain data with YAML 1.2 core scalar rules, honouring explicit tags (`!!str 3`): libyaml parses about two orders of
magnitude faster than a pure-Python round-trip parser, and validate and plan need
positions, not comments. Comment-preserving writes (import, fmt) use ruamel.yaml.
"""

from __future__ import annotations

import fnmatch
import math
import os
import re
import stat
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import BaseResolver

from polysync_spec.errors import Diagnostic, Position, Severity
from polysync_spec.manifest import codes

try:
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # PyYAML built without libyaml: slower, same result
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]

PathKey = tuple[str | int, ...]

MANIFEST_SUFFIXES = (".yaml", ".yml")
IGNORE_FILE = ".polysyncignore"
# A manifest is hand-written configuration; these bounds only stop hostile input
# (a multi-megabyte file, an alias "billion laughs") from exhausting memory or time.
MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_IGNORE_BYTES = 1024 * 1024
MAX_EXPANDED_NODES = 2_000_000
MAX_DEPTH = 64


@dataclass(frozen=True)
class Marks:
    """Where a key and its value start, 0-based as libyaml reports them."""

    key: tuple[int, int]
    value: tuple[int, int]


@dataclass(frozen=True)
class SourceDocument:
    """One manifest file: its display path, its data, and the marks of every path in it."""

    path: str
    data: dict[str, Any]
    marks: dict[PathKey, Marks] = field(default_factory=dict)


@dataclass
class LoadResult:
    documents: list[SourceDocument]
    diagnostics: list[Diagnostic]
    # YAML files below a directory that are not polysync manifests (`is_manifest_text`):
    # not read, by display path.
    skipped: list[str] = field(default_factory=list)


# The top-level sections of format v1 (DESIGN.md §1), besides `version`.
SECTIONS = ("variables", "platforms", "jobs", "run_plans", "targets")
# Directories never searched for manifests: tools' and package managers' trees, which
# hold YAML of their own (a hidden directory, such as .git or .venv, is skipped too).
SKIPPED_DIRECTORIES = frozenset({"node_modules", "__pycache__", "site-packages"})
# A directory holding one of these is an environment (venv / virtualenv, conda).
ENVIRONMENT_MARKERS = ("pyvenv.cfg", "conda-meta")
_TOP_LEVEL_KEY = re.compile(
    r"""^(?:"([^"\n]*)"|'([^'\n]*)'|([^\s#'"\-?:{\[][^:#\n]*?))[ \t]*:(?:[ \t]+(.*))?$""",
    re.M,
)
# The first content line (after blank lines, comments, directives and `---`) is a list
# item at column 0.
_TOP_LEVEL_LIST = re.compile(r"\A(?:[ \t]*(?:#[^\n]*)?\n|%[^\n]*\n|---[ \t]*\n)*-(?:[ \t]|\n|\Z)")
_INTEGER_VALUE = re.compile(r"[-+]?[0-9]+\s*(?:#.*)?\Z")


def is_manifest_text(text: str) -> bool:
    """Whether a YAML file found below a directory is a polysync manifest: it has a
    top-level polysync section (or a near misspelling of one, whose error then stands),
    or a top-level `version` whose value is a number (docker-compose's `version` is a
    string such as "3.8"). A file whose top level is a block list (an Ansible playbook,
    a list of anything) has no sections: not a manifest. A file whose top-level keys
    cannot be seen from the text (flow style) is taken for a manifest, so that its
    problems are reported. Reads block-style top-level keys only: it decides which files
    are read, not what they say."""
    from polysync_spec.manifest.suggest import closest

    if _TOP_LEVEL_LIST.match(text):
        return False
    keys = False
    for match in _TOP_LEVEL_KEY.finditer(text):
        keys = True
        key = next(group for group in match.groups()[:3] if group is not None)
        if key == "version":
            if _INTEGER_VALUE.match((match.group(4) or "").strip()):
                return True
        elif key in SECTIONS or closest(key, SECTIONS, cutoff=0.8) is not None:
            return True
    return not keys


def _environment(directory: Path) -> bool:
    return any(os.path.lexists(directory / marker) for marker in ENVIRONMENT_MARKERS)


def load_path(
    path: str | os.PathLike[str], overrides: Mapping[Path, str] | None = None
) -> LoadResult:
    """Load a manifest file or every manifest file below a directory, in a stable order.

    The manifest directory is `path` itself, or the directory holding it when `path` is a
    file: a symbolic link that leads out of it is refused (see `read_manifest`).
    `overrides` (file -> text) replaces what those files hold, in memory: the manifests
    as they would be after a change (`polysync import` plans both before writing).
    """
    overrides = overrides or {}
    root = Path(path)
    diagnostics: list[Diagnostic] = []
    skipped: list[str] = []
    if not root.exists():
        return LoadResult(
            [], [_diag(codes.PATH_NOT_FOUND, f"no such file or directory: {root}", None)]
        )
    if root.is_dir():
        files = sorted(_manifest_files(root, diagnostics, skipped))
        if not files:
            diagnostics.append(
                _diag(
                    codes.PATH_NOT_FOUND,
                    f"no *.yaml or *.yml manifest files found below {root}"
                    + (f" ({len(skipped)} YAML file(s) that are not manifests)" if skipped else ""),
                    Position(str(root)),
                )
            )
        directory = root
    else:
        files = [root]  # a file named on its own is always read
        directory = root.parent
    documents: list[SourceDocument] = []
    for file in files:
        if file in overrides:
            documents.extend(
                d for d in [parse_text(overrides[file], str(file), diagnostics)] if d is not None
            )
            continue
        document = load_file(file, diagnostics, directory=directory)
        if document is not None:
            documents.append(document)
    return LoadResult(documents, diagnostics, sorted(skipped))


def count_manifest_files(path: str | os.PathLike[str]) -> int:
    """How many files `load_path` would read."""
    return survey(path)[0]


def survey(path: str | os.PathLike[str]) -> tuple[int, list[str]]:
    """How many files `load_path` would read, and the YAML files it would skip as not
    polysync manifests (display paths, sorted)."""
    root = Path(path)
    if root.is_dir():
        skipped: list[str] = []
        count = sum(1 for _ in _manifest_files(root, [], skipped))
        return count, sorted(skipped)
    return (1 if root.exists() else 0), []


def _manifest_files(
    root: Path, diagnostics: list[Diagnostic], skipped: list[str] | None = None
) -> Iterator[Path]:
    """Walk a directory for manifests, skipping hidden entries, `.polysyncignore` globs,
    environments and package trees (`SKIPPED_DIRECTORIES`, `ENVIRONMENT_MARKERS`), and
    YAML files that are not manifests (`is_manifest_text`; added to `skipped`).

    `os.walk` does not follow directory symlinks, so a symlink loop cannot trap the walk;
    a symlinked directory is reported rather than silently skipped.
    """
    patterns = _ignore_patterns(root, diagnostics)
    for current, dirnames, filenames in os.walk(root, followlinks=False):
        here = Path(current)
        kept: list[str] = []
        for name in sorted(dirnames):
            rel = (here / name).relative_to(root).as_posix()
            if name.startswith(".") or _ignored(rel + "/", patterns):
                continue
            if name in SKIPPED_DIRECTORIES or _environment(here / name):
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
            if not _looks_like_manifest(here / name):
                if skipped is not None:
                    skipped.append(str(here / name))
                continue
            yield here / name


def _looks_like_manifest(file: Path) -> bool:
    """`is_manifest_text` of a plain regular file. Anything else (a link, a FIFO, a file
    too large or unreadable, not UTF-8) is left to `load_file`, which says what is wrong."""
    try:
        info = os.lstat(file)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_FILE_BYTES:
            return True
        with open(file, "rb") as stream:
            text = stream.read(MAX_FILE_BYTES + 1).decode("utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return True
    return is_manifest_text(text)


def _ignore_patterns(root: Path, diagnostics: list[Diagnostic]) -> list[str]:
    ignore = root / IGNORE_FILE
    if not os.path.lexists(ignore):
        return []
    raw = read_manifest(ignore, root, diagnostics, limit=MAX_IGNORE_BYTES)
    if raw is None:
        return []
    lines = raw.decode("utf-8", errors="replace").splitlines()
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


def load_file(
    file: Path, diagnostics: list[Diagnostic], *, directory: Path | None = None
) -> SourceDocument | None:
    """Load one file; on any problem append diagnostics and return None (or a partial doc).

    `directory`: the manifest directory, which a symbolic link may not lead out of
    (default: the directory holding `file`).
    """
    display = str(file)
    raw = read_manifest(file, file.parent if directory is None else directory, diagnostics)
    if raw is None:
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


_FILE_KINDS = (
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISDIR, "a directory"),
)
# O_NONBLOCK: should the path turn into a FIFO between the stat and the open, the open
# returns at once instead of waiting for a writer. O_NOCTTY: a terminal never becomes ours.
_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)
_READ_CHUNK = 1024 * 1024


def read_manifest(
    file: Path,
    directory: Path | None,
    diagnostics: list[Diagnostic],
    *,
    limit: int = MAX_FILE_BYTES,
    what: str = "manifests",
) -> bytes | None:
    """The bytes of one manifest file, or None with a PS002 diagnostic naming `file`.
    (`what` names such files in messages: plan files are read this way too.)

    A manifest path can be hostile (a committed symlink to `/dev/zero`, a FIFO that never
    ends, a huge file), so this reads only what is safe to read:
    - a symbolic link must lead to a place inside `directory` (after resolving every
      link on the way); otherwise it is refused without being followed (None: a file
      named on the command line on its own, such as a plan file, may be a link anywhere);
    - only regular files: a FIFO, device, socket or directory is refused from its
      `stat`, never opened;
    - the size is checked before reading (stat, then fstat of the open file), and the
      read itself stops after `limit` bytes, so a file that grows meanwhile is refused
      too.
    """
    display = str(file)
    target = file
    if directory is not None and os.path.islink(file):
        resolved = Path(os.path.realpath(file))
        inside = Path(os.path.realpath(directory))
        if resolved != inside and inside not in resolved.parents:
            diagnostics.append(
                _diag(
                    codes.FILE_UNREADABLE,
                    f"symbolic link {display} leads outside the manifest directory (to "
                    f"{resolved}); it is not followed: copy the file into the directory instead",
                    Position(display),
                )
            )
            return None
        target = resolved  # open what was checked, not the link a second time
    try:
        info = os.stat(target)
        refusal = _refusal(info, display, limit, what)
        if refusal is not None:
            diagnostics.append(refusal)
            return None
        fd = os.open(target, _OPEN_FLAGS)
    except OSError as exc:
        dangling = (
            " (a symbolic link to nothing)"
            if isinstance(exc, FileNotFoundError) and os.path.islink(file)
            else ""
        )
        diagnostics.append(
            _diag(
                codes.FILE_UNREADABLE,
                f"cannot read file: {exc.strerror}{dangling}",
                Position(display),
            )
        )
        return None
    try:
        refusal = _refusal(os.fstat(fd), display, limit, what)
        if refusal is not None:
            diagnostics.append(refusal)
            return None
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, min(_READ_CHUNK, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        diagnostics.append(
            _diag(codes.FILE_UNREADABLE, f"cannot read file: {exc.strerror}", Position(display))
        )
        return None
    finally:
        os.close(fd)
    if size > limit:
        diagnostics.append(_too_large(display, size, limit, what, grew=True))
        return None
    return b"".join(chunks)


def _refusal(info: os.stat_result, display: str, limit: int, what: str) -> Diagnostic | None:
    """Why a file with this stat must not be read, if it must not."""
    if not stat.S_ISREG(info.st_mode):
        kind = next((name for test, name in _FILE_KINDS if test(info.st_mode)), "not a file")
        return _diag(
            codes.FILE_UNREADABLE,
            f"{display} is {kind}, not a regular file; {what} are read from regular files only",
            Position(display),
        )
    if info.st_size > limit:
        return _too_large(display, info.st_size, limit, what, grew=False)
    return None


def _too_large(display: str, size: int, limit: int, what: str, *, grew: bool) -> Diagnostic:
    how = "turned out larger as it was read" if grew else f"is {size} bytes"
    return _diag(
        codes.FILE_UNREADABLE,
        f"file {how}; {what} are limited to {limit} bytes",
        Position(display),
    )


def parse_text(text: str, display: str, diagnostics: list[Diagnostic]) -> SourceDocument | None:
    try:
        node = yaml.compose(text, Loader=_CoreLoader)
    except yaml.MarkedYAMLError as exc:
        diagnostics.append(_yaml_error(exc, display, text))
        return None
    except yaml.YAMLError as exc:
        diagnostics.append(_diag(codes.YAML_SYNTAX, f"YAML error: {exc}", Position(display)))
        return None
    except RecursionError:
        diagnostics.append(
            _diag(codes.YAML_TOO_LARGE, "document is nested too deeply", Position(display))
        )
        return None
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
    if any(d.code == codes.YAML_TOO_LARGE for d in diagnostics[before:]):
        return None
    if not isinstance(node, MappingNode):
        kind = "a list" if isinstance(node, SequenceNode) else "a scalar value"
        diagnostics.append(
            _diag(
                codes.NOT_A_MAPPING,
                f"the top level of a manifest must be a mapping of sections, found {kind}",
                _mark(node, display),
            )
        )
        return None
    marks: dict[PathKey, Marks] = {}
    bad: list[ScalarNode] = []
    data = _construct(node, (), marks, {}, bad)
    reported: set[int] = set()
    for scalar in bad:  # an aliased scalar is built once for each alias: report it once
        if id(scalar) not in reported:
            reported.add(id(scalar))
            diagnostics.append(_tag_mismatch_diag(scalar, display))
    return SourceDocument(display, data, marks)


def _construct(
    node: Node,
    path: PathKey,
    marks: dict[PathKey, Marks],
    memo: dict[int, Any],
    bad: list[ScalarNode],
) -> Any:
    """Plain data from a node; marks are recorded for every reachable path, and scalars
    whose explicit tag does not fit them go to `bad` (see `_scalar`).

    An alias shares its anchor's value (the graph was bounded by `_check_node_graph`).
    """
    if isinstance(node, ScalarNode):
        return _scalar(node, bad)
    if id(node) in memo:
        return memo[id(node)]
    if isinstance(node, SequenceNode):
        items: list[Any] = []
        memo[id(node)] = items
        for index, item in enumerate(node.value):
            here = (*path, index)
            at = (item.start_mark.line, item.start_mark.column)
            marks[here] = Marks(at, at)
            items.append(_construct(item, here, marks, memo, bad))
        return items
    mapping: dict[str, Any] = {}
    memo[id(node)] = mapping
    merged: list[dict[str, Any]] = []
    for key_node, value_node in node.value:
        if isinstance(key_node, ScalarNode) and key_node.tag == _MERGE_TAG:
            # `<<: *defaults` (or a list of them): keys written here win over merged ones.
            sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
            for source in sources:
                value = _construct(source, path, {}, memo, bad)
                if isinstance(value, dict):
                    merged.append(value)
            continue
        key = _key_text(key_node, bad)
        if key in mapping:
            continue  # a duplicate: reported by _check_node_graph; the first one counts
        here = (*path, key)
        marks[here] = Marks(
            (key_node.start_mark.line, key_node.start_mark.column),
            (value_node.start_mark.line, value_node.start_mark.column),
        )
        mapping[key] = _construct(value_node, here, marks, memo, bad)
    for source in merged:
        for key, value in source.items():
            mapping.setdefault(key, value)
    return mapping


def _key_text(node: Node, bad: list[ScalarNode]) -> str:
    if isinstance(node, ScalarNode):
        value = _scalar(node, bad)
        if isinstance(value, bool):
            return "true" if value else "false"
        return "null" if value is None else str(value)
    return str(_construct(node, (), {}, {}, bad))


_TAG = "tag:yaml.org,2002:"
_NULL_TAG = _TAG + "null"
_BOOL_TAG = _TAG + "bool"
_INT_TAG = _TAG + "int"
_FLOAT_TAG = _TAG + "float"
_STR_TAG = _TAG + "str"
_MERGE_TAG = _TAG + "merge"

# The YAML 1.2 core schema (https://yaml.org/spec/1.2.2/#1032-tag-resolution), exactly:
# no `yes`/`on`, no `1_000`, `0b101`, sexagesimals or dates (all YAML 1.1 only).
_NULLS = frozenset(("", "~", "null", "Null", "NULL"))
_TRUES = frozenset(("true", "True", "TRUE"))
_FALSES = frozenset(("false", "False", "FALSE"))
_INT = re.compile(r"[-+]?[0-9]+\Z")
_OCT = re.compile(r"0o[0-7]+\Z")
_HEX = re.compile(r"0x[0-9a-fA-F]+\Z")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?\Z")
_INF = re.compile(r"[-+]?(\.inf|\.Inf|\.INF)\Z")
_NAN = re.compile(r"(\.nan|\.NaN|\.NAN)\Z")


class _CoreResolver(BaseResolver):
    """Tags plain scalars by the YAML 1.2 core schema instead of PyYAML's YAML 1.1 rules.

    libyaml's composer (CParser) asks `self.resolve` for the tag of every scalar that has
    no explicit tag (and of `!`); a scalar with an explicit tag (`!!str 3`) keeps it.
    So after composing, a node's tag alone says how to build its value.
    """

    def resolve(self, kind: type[Node], value: Any, implicit: tuple[bool, bool]) -> str:
        # BaseResolver.resolve without path resolvers (this loader has none), and without
        # building a list of candidates for every scalar.
        if kind is ScalarNode:
            if implicit[0]:
                for tag, regexp in self.yaml_implicit_resolvers.get(value[:1], ()):
                    if regexp.match(value):
                        return str(tag)
            return _STR_TAG
        return _TAG + ("seq" if kind is SequenceNode else "map")


for _tag, _regexp, _first in (
    (_NULL_TAG, re.compile(r"(~|null|Null|NULL|)\Z"), ["~", "n", "N", ""]),
    (_BOOL_TAG, re.compile(r"(true|True|TRUE|false|False|FALSE)\Z"), list("tTfF")),
    (_INT_TAG, re.compile(r"([-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)\Z"), list("-+0123456789")),
    (_FLOAT_TAG, _FLOAT, list("-+.0123456789")),
    (_FLOAT_TAG, _INF, list("-+.")),
    (_FLOAT_TAG, _NAN, ["."]),
    # Not core, but manifests use `<<: *defaults` (see `_construct`), as before.
    (_MERGE_TAG, re.compile(r"<<\Z"), ["<"]),
):
    _CoreResolver.add_implicit_resolver(_tag, _regexp, _first)


class _CoreLoader(_CoreResolver, _SafeLoader):
    """libyaml's composer with the core resolver, which comes first in the MRO so that its
    implicit resolvers and `resolve` replace the YAML 1.1 ones of PyYAML's `Resolver`."""


def _scalar(node: ScalarNode, bad: list[ScalarNode]) -> Any:
    """The value of a scalar from its tag: the core-schema tag `_CoreResolver` gave a plain
    scalar, `!!str` for a quoted one, or the tag written explicitly (`!!str 3` is the text
    "3", `!!int "3"` the number 3). A value its explicit tag does not fit (`!!int abc`)
    goes to `bad` and stays the text as written.

    Any other tag keeps the text as written, as it always has: custom tags (`!env x`), and
    `!!timestamp`, since YAML 1.2 core has no timestamps and an unquoted date is text too.
    """
    text: str = node.value
    tag = node.tag
    if tag == _STR_TAG:
        return text
    if tag == _INT_TAG:
        if _INT.match(text):
            return int(text, 10)
        if _HEX.match(text):
            return int(text[2:], 16)
        if _OCT.match(text):
            return int(text[2:], 8)
    elif tag == _FLOAT_TAG:
        if _FLOAT.match(text):
            return float(text)
        if _INF.match(text):
            return -math.inf if text[0] == "-" else math.inf
        if _NAN.match(text):
            return math.nan
    elif tag == _NULL_TAG:
        if text in _NULLS:
            return None
    elif tag == _BOOL_TAG:
        if text in _TRUES:
            return True
        if text in _FALSES:
            return False
    else:
        return text
    bad.append(node)
    return text


def _tag_mismatch_diag(node: ScalarNode, display: str) -> Diagnostic:
    name = node.tag.removeprefix(_TAG)
    forms = {
        "int": "decimal digits with an optional sign, 0o17 or 0x1F",
        "float": "1.5, -2e3, .inf or .nan",
        "bool": "true or false",
        "null": "null, ~ or nothing",
    }[name]
    return _diag(
        codes.YAML_TAG_MISMATCH,
        f"{node.value!r} is not a YAML 1.2 {name} ({forms}), but it is tagged !!{name}; "
        f"fix the value or remove the tag",
        _mark(node, display),
    )


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
        if isinstance(node, ScalarNode) and _huge_integer(node):
            diagnostics.append(_huge_integer_diag(node, display))
            return
        if isinstance(node, MappingNode):
            seen: dict[object, Node] = {}
            for key_node, value_node in node.value:
                if isinstance(key_node, ScalarNode) and _huge_integer(key_node):
                    diagnostics.append(_huge_integer_diag(key_node, display))
                    return
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


def _huge_integer(node: ScalarNode) -> bool:
    """A decimal integer (plain, or tagged `!!int`) longer than Python converts (`int()`
    refuses more than `sys.get_int_max_str_digits()` digits, 4300 by default, with a
    ValueError)."""
    limit = sys.get_int_max_str_digits()
    return (
        bool(limit)
        and node.tag == _INT_TAG
        and len(node.value) > limit
        and _INT.match(node.value) is not None
    )


def _huge_integer_diag(node: ScalarNode, display: str) -> Diagnostic:
    return _diag(
        codes.YAML_TOO_LARGE,
        f"integer of {len(node.value)} digits; numbers are limited to "
        f"{sys.get_int_max_str_digits()} digits (quote it if it is text)",
        _mark(node, display),
    )


def _yaml_error(exc: yaml.MarkedYAMLError, display: str, text: str) -> Diagnostic:
    mark = exc.problem_mark or exc.context_mark
    position = Position(display, mark.line + 1, mark.column + 1) if mark else Position(display)
    problem = exc.problem or exc.context or "invalid YAML"
    at = text[mark.index] if mark is not None and 0 <= mark.index < len(text) else ""
    if at == "\t" or "'\\t'" in problem:
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
