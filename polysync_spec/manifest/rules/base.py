"""What a rule is, what its check reads, and the data walks several checks share.

A rule is one stable code with its title and its user documentation, and the check that
finds it when a check does (yamllint's rule modules, cfn-lint's rule classes). A check reads
a `CheckContext` and yields `Diagnostic`s located by a path in the manifest data (built
with `Rule.at`); one locator turns the path into a position. Checks never raise for bad
input.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from polysync_spec.errors import Diagnostic, DocPath, Severity
from polysync_spec.manifest.models import BatchJob, GlueJob, RunPlan


@dataclass
class CheckContext:
    """What checks read: raw (before interpolation) and resolved data, and valid models."""

    raw: dict[str, Any]
    resolved: dict[str, Any]
    platforms: dict[str, Any] = field(default_factory=dict)
    jobs: dict[str, GlueJob | BatchJob] = field(default_factory=dict)
    run_plans: dict[str, RunPlan] = field(default_factory=dict)

    def raw_section(self, section: str) -> dict[str, Any]:
        value = self.raw.get(section)
        return value if isinstance(value, dict) else {}


Check = Callable[[CheckContext], Iterator[Diagnostic]]


@dataclass(frozen=True)
class Rule:
    """One diagnostic code: its title (one line, for tables), its documentation for users,
    its usual severity, and the check that finds it. A rule without a check is reported
    elsewhere (the loader, the validation of a field against its model, the planner), and
    is registered all the same so that the catalogue of codes is complete. `doc` defaults
    to the check's docstring, written for users."""

    code: str
    title: str
    severity: Severity = Severity.ERROR
    check: Check | None = None
    doc: str = ""

    def __post_init__(self) -> None:
        doc = self.doc or (self.check.__doc__ if self.check is not None else None) or ""
        object.__setattr__(self, "doc", inspect.cleandoc(doc))

    def at(self, path: DocPath, message: str, *, at_key: bool = False) -> Diagnostic:
        """A finding of this rule at `path` in the manifest data (at its key with `at_key`:
        the entry as a whole rather than its value)."""
        return Diagnostic(self.code, self.severity, message, doc_path=path, at_key=at_key)


def parameter_sets(
    ctx: CheckContext,
) -> Iterator[tuple[DocPath, GlueJob | BatchJob, dict[str, Any]]]:
    """Every parameter map with the job it belongs to: the job's own, then each run's."""
    for name, job in ctx.jobs.items():
        yield ("jobs", name, "parameters"), job, job.parameters
    for plan_name, plan in ctx.run_plans.items():
        for index, run in enumerate(plan.runs):
            run_job = ctx.jobs.get(run.job)
            if run_job is not None:
                yield ("run_plans", plan_name, "runs", index, "parameters"), run_job, run.parameters


def lookup(node: Any, *path: str | int) -> Any:
    """The value at `path` below `node`, or None where the path does not exist."""
    for segment in path:
        try:
            node = node[segment]
        except (KeyError, IndexError, TypeError):
            return None
    return node
