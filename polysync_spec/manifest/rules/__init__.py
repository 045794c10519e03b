"""The registry of rules: every diagnostic code with its title, documentation and check.

One module per family, each listing its rules in `RULES`; this module joins them in code
order. The README's code tables and the manifest reference are generated from here
(`polysync_spec/reference.py`), so a code cannot go undocumented. These are the
platform-agnostic rules; each platform's own sit in its package (`providers/<p>/rules.py`)
and reach `load_project` through `platform_rules` (the façade passes
`providers.registry.RULES`, every rule of every layer).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from polysync_spec.errors import Diagnostic
from polysync_spec.manifest.rules import (
    auth,
    files,
    interpolation,
    plan,
    references,
    structure,
)
from polysync_spec.manifest.rules.base import Check, CheckContext, Rule

__all__ = ["RULES", "Check", "CheckContext", "Rule", "rule", "run_checks"]

_FAMILIES = (files, structure, interpolation, references, auth, plan)

RULES: tuple[Rule, ...] = tuple(
    sorted((r for family in _FAMILIES for r in family.RULES), key=lambda r: r.code)
)
_BY_CODE: dict[str, Rule] = {r.code: r for r in RULES}
if len(_BY_CODE) != len(RULES):  # pragma: no cover - caught by the registry tests
    raise RuntimeError("two rules share a code")


def rule(code: str) -> Rule:
    """The rule registered for `code` (KeyError when none is)."""
    return _BY_CODE[code]


def run_checks(ctx: CheckContext, platform_rules: Sequence[Rule] = ()) -> Iterator[Diagnostic]:
    """Every finding of every rule that has a check (these and `platform_rules`), rule by
    rule in code order."""
    for registered in sorted((*RULES, *platform_rules), key=lambda r: r.code):
        if registered.check is not None:
            yield from registered.check(ctx)
