"""Variable files (`--var-file FILE`): a YAML or JSON mapping of variable names to values.

The values a command line sets, from files and `--var`, are `Assignments`: each name with
its value as text (what `--var NAME=VALUE` gives) and, for a value from a file, where in
the file it was set, so that an undeclared name or a value of the wrong type is reported
at its `file:line:col`. Values are never quoted in a message: a variable may hold a
secret (Terraform's `-var-file` does the same: a `.tfvars` file often carries them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from polysync_spec.errors import Diagnostic, Position, Severity
from polysync_spec.manifest import codes
from polysync_spec.manifest.loader import parse_text, read_manifest
from polysync_spec.values import aws_string

# A variable file holds a few values; the bound only stops a hostile file.
MAX_VAR_FILE_BYTES = 1024 * 1024


class Assignments(dict[str, str]):
    """Variable values set for one command: NAME -> value text (as `--var` takes it),
    with `origins`: NAME -> the `Position` in the variable file that set it (absent for
    a value from `--var`)."""

    def __init__(
        self,
        values: Mapping[str, str] | None = None,
        origins: Mapping[str, Position] | None = None,
    ) -> None:
        super().__init__(values or {})
        self.origins: dict[str, Position] = dict(origins or {})

    def overridden_by(self, other: Mapping[str, str]) -> Assignments:
        """These values with `other`'s on top (a later file, or `--var`): a name `other`
        sets takes its value and its origin (none, for a plain mapping)."""
        origins = {k: v for k, v in self.origins.items() if k not in other}
        origins.update(getattr(other, "origins", {}))
        return Assignments({**self, **other}, origins)


def read_var_files(paths: Iterable[str]) -> tuple[Assignments, list[Diagnostic]]:
    """The values set by the variable files `paths`, a later file overriding an earlier
    one, and the problems found in them (syntax, a top level that is not a mapping, a
    value that is not a string, number or boolean), each with its file:line:col.

    Values become text as `--var` would give them (`true`, `3`, `0.5`), and are converted
    to the variable's declared type when the manifests are loaded."""
    merged = Assignments()
    problems: list[Diagnostic] = []
    for path in paths:
        values, found = _read_one(Path(path))
        problems.extend(found)
        merged = merged.overridden_by(values)
    return merged, problems


def _read_one(path: Path) -> tuple[Assignments, list[Diagnostic]]:
    found: list[Diagnostic] = []
    raw = read_manifest(path, None, found, limit=MAX_VAR_FILE_BYTES, what="variable files")
    if raw is None:
        return Assignments(), found
    display = str(path)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        found.append(
            Diagnostic(
                codes.FILE_UNREADABLE, Severity.ERROR, "file is not valid UTF-8", Position(display)
            )
        )
        return Assignments(), found
    parsed: list[Diagnostic] = []
    document = parse_text(text, display, parsed)
    for problem in parsed:
        if problem.code == codes.EMPTY_FILE:
            continue  # an empty variable file sets nothing
        if problem.code == codes.NOT_A_MAPPING:
            found.append(
                Diagnostic(
                    problem.code,
                    Severity.ERROR,
                    "a variable file holds a mapping of variable names to values (NAME: value)",
                    problem.position,
                )
            )
        else:
            found.append(problem)
    if document is None:
        return Assignments(), found
    values: dict[str, str] = {}
    origins: dict[str, Position] = {}
    for name, value in document.data.items():
        marks = document.marks.get((name,))
        key_at = Position(display, marks.key[0] + 1, marks.key[1] + 1) if marks else None
        value_at = Position(display, marks.value[0] + 1, marks.value[1] + 1) if marks else None
        if value is None or isinstance(value, dict | list):
            kind = "no value" if value is None else f"a {type(value).__name__}"
            kind = {"a dict": "a mapping"}.get(kind, kind)
            found.append(
                Diagnostic(
                    codes.VARIABLE_TYPE_MISMATCH,
                    Severity.ERROR,
                    f"variable '{name}': a variable file sets a string, number or boolean, "
                    f"found {kind}",
                    value_at or key_at,
                )
            )
            continue
        values[str(name)] = aws_string(value)
        if key_at is not None:
            origins[str(name)] = key_at
    return Assignments(values, origins), found
