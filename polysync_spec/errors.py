"""Findings as values: positions, diagnostics, severities and the one exit-code table.

A check never raises for a problem in the user's input: it returns a `Diagnostic`, the one
finding type of validate and plan alike. Exceptions are reserved for failures of the tool
or of its environment (`PolysyncError`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from polysync_spec.redact import mask


class ExitCode(enum.IntEnum):
    """Exit codes of every command, decided in one place (DESIGN.md §4)."""

    OK = 0
    ERROR = 1
    PENDING = 2
    RUNS_FAILED = 3
    INTERRUPTED = 4
    USAGE = 64


class Severity(enum.StrEnum):
    """How much a finding weighs. Only ERROR blocks: validate fails, apply refuses."""

    ERROR = "error"
    WARNING = "warning"
    # Plan only: the live AWS object no longer matches the manifests. Shown as its own kind
    # in plan output (and as a warning in GitHub annotations); it does not block apply.
    DRIFT = "drift"
    NOTE = "note"


# A place in the merged manifest data, e.g. ("jobs", "orders_etl", "compute", "worker_type").
PathSegment = str | int
DocPath = tuple[PathSegment, ...]


@dataclass(frozen=True, order=True)
class Position:
    """A place in a manifest file; line and column are 1-based, as editors show them."""

    path: str
    line: int = 1
    column: int = 1

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"

    @staticmethod
    def fields(position: Position | None) -> dict[str, object]:
        """`path`, `line`, `column` for a JSON document (None when there is no position)."""
        if position is None:
            return {"path": None, "line": None, "column": None}
        return {"path": position.path, "line": position.line, "column": position.column}


@dataclass(frozen=True)
class Diagnostic:
    """One finding, with where it is and a stable code (a registered rule's).

    A check reports where a finding is as `doc_path`, a path in the merged manifest data;
    one locator (`manifest.project`) turns it into `position`, the file, line and column.
    """

    code: str
    severity: Severity
    message: str
    position: Position | None = None
    # Other places that belong to the same finding, e.g. the first definition of a duplicate.
    related: tuple[Position, ...] = field(default=())
    doc_path: DocPath | None = None
    # Locate the key at `doc_path` (the entry as a whole) rather than its value.
    at_key: bool = False

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def sort_key(self) -> tuple[str, int, int, str, str]:
        pos = self.position or Position("")
        return (pos.path, pos.line, pos.column, self.code, self.message)

    def to_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
            **Position.fields(self.position),
            "related": [Position.fields(r) for r in self.related],
        }


class PolysyncError(Exception):
    """A failure of the tool or its environment, with a message fit for the user.

    The message must never carry a credential, a token or a secret parameter value. It
    often quotes text polysync did not write (an AWS error message, botocore's exception
    text), which may: the text is masked (`polysync_spec.redact`) whenever it is shown.
    """

    exit_code: ExitCode = ExitCode.ERROR

    def __str__(self) -> str:
        return mask(super().__str__())


class UsageError(PolysyncError):
    exit_code = ExitCode.USAGE


class Interrupted(PolysyncError):
    """Stopped by the user (Ctrl-C, end of input) before anything was submitted."""

    exit_code = ExitCode.INTERRUPTED
