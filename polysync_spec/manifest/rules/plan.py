"""PS7xx findings of plan against live AWS that Glue and Batch share. The planner
(`engine/plan.py`) reports them; the Glue and Batch ones are registered with their
platform's rules."""

from __future__ import annotations

from polysync_spec.errors import Severity
from polysync_spec.manifest import codes
from polysync_spec.manifest.rules.base import Rule

DEFAULT_DRIFT = Rule(
    codes.DEFAULT_DRIFT,
    "a manifest parameter differs from the live default",
    Severity.DRIFT,
    doc="""A parameter's value in the manifest differs from the default the live
    definition holds (a Glue job's DefaultArguments, a Batch definition's parameters):
    one of them changed since they last agreed. Secret parameters are not compared.""",
)
INHERITED_COMPUTE = Rule(
    codes.INHERITED_COMPUTE,
    "compute values the definition supplies",
    Severity.NOTE,
    doc="""Compute values no tier of the manifests sets, which the run takes from the
    live definition (e.g. a Glue job's worker settings and timeout, a Batch definition's
    retry attempts and attempt duration). They show with the tier `definition`.""",
)
INHERITED_PARAMETERS = Rule(
    codes.INHERITED_PARAMETERS,
    "parameters filled from the definition's defaults",
    Severity.NOTE,
    doc="""Parameters the run does not send, which AWS fills from the live definition's
    defaults (a Glue job's DefaultArguments, a Batch definition's parameters).""",
)

COST_OVER_LIMIT = Rule(
    codes.COST_OVER_LIMIT,
    "the plan's expected cost exceeds its limit",
    doc="""The plan's expected cost (each run's median of its recent runs, or its upper
    bound where it has no history; runs without a price do not count) exceeds the limit
    set by `plan --max-cost USD` or the run plan's `max_cost`. The message names the
    total, the limit and the runs that cost most. Blocks apply.""",
)

RULES = (DEFAULT_DRIFT, INHERITED_COMPUTE, INHERITED_PARAMETERS, COST_OVER_LIMIT)
