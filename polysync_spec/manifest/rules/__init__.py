"""The registry of rules: every diagnostic code with its title, documentation and check.

One module per family, each listing its rules in `RULES`; this module joins them in code
order. The README's code tables and the manifest reference are generated from here
(`polysync_spec/reference.py`), so a code cannot go undocumented. Glue and Batch rules
sit in `glue.py` and `batch.py`, self-contained, until they move to their providers.
"""

from __future__ import annotations

from collections.abc import Iterator

from polysync_spec.errors import Diagnostic
from polysync_spec.manifest.rules import (
    auth,
    batch,
    files,
    glue,
    interpolation,
    plan,
    references,
    structure,
)
from polysync_spec.manifest.rules.base import Check, CheckContext, Rule

__all__ = ["RULES", "Check", "CheckContext", "Rule", "rule", "run_checks"]

_FAMILIES = (files, structure, interpolation, glue, batch, references, auth, plan)

RULES: tuple[Rule, ...] = tuple(
    sorted((r for family in _FAMILIES for r in family.RULES), key=lambda r: r.code)
)
_BY_CODE: dict[str, Rule] = {r.code: r for r in RULES}
if len(_BY_CODE) != len(RULES):  # pragma: no cover - caught by the registry tests
    raise RuntimeError("two rules share a code")


def rule(code: str) -> Rule:
    """The rule registered for `code` (KeyError when none is)."""
    return _BY_CODE[code]


def run_checks(ctx: CheckContext) -> Iterator[Diagnostic]:
    """Every finding of every rule that has a check, rule by rule in code order."""
    for registered in RULES:
        if registered.check is not None:
            yield from registered.check(ctx)
