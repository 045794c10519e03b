"""Turn a path in the merged manifest set into a `file:line:column` position.

Checks report findings against paths such as `("jobs", "orders_etl", "compute",
"worker_type")`; one locator maps them to where the user wrote the value. Each named entry
of a section (a job, a platform, ...) lives in exactly one file, so the file is found from
the first two path segments. When a segment is missing (a required key that was never
written) the position falls back to the nearest ancestor that exists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from polysync_spec.errors import DocPath, PathSegment, Position
from polysync_spec.manifest.loader import SourceDocument

__all__ = ["NAMED_SECTIONS", "DocPath", "PathSegment", "SourceMap"]

# Sections whose entries are named and merged across files.
NAMED_SECTIONS = ("variables", "platforms", "jobs", "run_plans", "targets")


@dataclass
class SourceMap:
    """Where each part of the merged manifest set came from."""

    documents: list[SourceDocument]
    # (section, name) -> the document that defines it.
    owners: dict[tuple[str, str], SourceDocument] = field(default_factory=dict)
    # The selected target, whose overlay values are located in the target's own block.
    target: str | None = None

    def locate(self, path: Sequence[PathSegment], *, key: bool = False) -> Position | None:
        """The position of the value at `path` (or of its key when `key` is true)."""
        path = tuple(path)
        if self.target is not None and path and path[0] in ("variables", "platforms", "jobs"):
            overlay = ("targets", self.target, *self._overlay_path(path))
            owner = self.owners.get(("targets", self.target))
            if owner is not None and _exists(owner, overlay):
                return _walk(owner, overlay, key=key)
        document = self._owner(path)
        if document is None:
            return None
        return _walk(document, path, key=key)

    def _overlay_path(self, path: DocPath) -> DocPath:
        # Targets overlay variables by value (`variables: {run_date: "..."}`), while the base
        # declares them long-hand (`variables: {run_date: {default: "..."}}`).
        if path[0] == "variables" and len(path) >= 3 and path[2] == "default":
            return (*path[:2], *path[3:])
        return path

    def _owner(self, path: DocPath) -> SourceDocument | None:
        if len(path) >= 2 and path[0] in NAMED_SECTIONS:
            owner = self.owners.get((str(path[0]), str(path[1])))
            if owner is not None:
                return owner
        if path:
            for document in self.documents:
                if path[0] in document.data:
                    return document
        return self.documents[0] if self.documents else None


def _exists(document: SourceDocument, path: DocPath) -> bool:
    return path in document.marks


def _walk(document: SourceDocument, path: DocPath, *, key: bool) -> Position:
    """The deepest position the path reaches: the value (or key) itself when it exists,
    else the key of its nearest existing ancestor."""
    for depth in range(len(path), 0, -1):
        marks = document.marks.get(path[:depth])
        if marks is None:
            continue
        line, column = marks.value if depth == len(path) and not key else marks.key
        return Position(document.path, line + 1, column + 1)
    return Position(document.path)
