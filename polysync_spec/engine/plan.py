"""The planner: validated manifests x a live snapshot -> Plan. Pure: no I/O, no AWS calls.

For each run, the run's platform (`providers.registry`) builds the exact request apply
will send, records each compute value's tier, and checks the run against its live
objects: errors that would make AWS refuse or fail the run, drift between manifest and
definition, notes on what the definition supplies. The planner locates each finding in
the manifests and adds the plan-wide checks of every platform.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

from polysync_spec.engine.live import LiveState
from polysync_spec.engine.model import Plan, PlannedRun
from polysync_spec.errors import Diagnostic, Severity
from polysync_spec.manifest import codes
from polysync_spec.manifest.models import Run
from polysync_spec.manifest.positions import DocPath
from polysync_spec.manifest.project import Project
from polysync_spec.providers.base import PlanContext, PlannedRequest, Platform
from polysync_spec.providers.cost import Prices, packaged_prices
from polysync_spec.providers.registry import PLATFORMS, platform_of

_ENV_REF = re.compile(r"^\$\{\s*env\.([A-Za-z_][A-Za-z0-9_-]*)\s*\}$")


class _Run:
    """Collects one run's findings, located in the manifests (a `FindingSink`)."""

    def __init__(self, project: Project, at: DocPath) -> None:
        self.project = project
        self.at = at
        self.findings: list[Diagnostic] = []

    def _add(
        self, kind: Severity, code: str, message: str, path: DocPath | None, key: bool
    ) -> None:
        """`key`: the finding is about the entry at `path` as a whole (a parameter, a block),
        so it points at the key; otherwise at the value. A whole job points at its name."""
        target = path or self.at
        position = self.project.source.locate(target, key=key or len(target) == 2)
        self.findings.append(Diagnostic(code, kind, message, position))

    def error(
        self, code: str, message: str, path: DocPath | None = None, *, key: bool = False
    ) -> None:
        self._add(Severity.ERROR, code, message, path, key)

    def drift(
        self, code: str, message: str, path: DocPath | None = None, *, key: bool = False
    ) -> None:
        self._add(Severity.DRIFT, code, message, path, key)

    def note(
        self, code: str, message: str, path: DocPath | None = None, *, key: bool = False
    ) -> None:
        self._add(Severity.NOTE, code, message, path, key)


def make_plan(
    project: Project,
    run_plan: str,
    live: LiveState,
    *,
    manifest_path: str,
    prices: Prices | None = None,
    max_cost: float | None = None,
) -> Plan:
    """Plan every run of `run_plan` against `live`. The project must be free of errors.

    Each run's cost comes from its platform's `estimate`, priced from `prices` (default:
    the packaged table). `max_cost` (USD; default: the run plan's `max_cost`) bounds the
    plan's expected cost: above it, the plan has an error (PS729)."""
    plan_model = project.run_plans[run_plan]
    prices = prices if prices is not None else packaged_prices()
    variables = {
        name: ("***" if any(p[:2] == ("variables", name) for p in project.env_paths) else value)
        for name, value in sorted(project.variables.items())
    }
    plan = Plan(
        run_plan=run_plan,
        target=project.target,
        manifest_path=manifest_path,
        variables=variables,
        runs=[],
        max_concurrency=plan_model.max_concurrency,
        on_failure=plan_model.on_failure.value,
        max_cost=max_cost if max_cost is not None else plan_model.max_cost,
    )
    for index, run in enumerate(plan_model.runs):
        at: DocPath = ("run_plans", run_plan, "runs", index)
        job = project.jobs[run.job]
        platform = project.platforms[job.platform]
        collector = _Run(project, at)
        spec = platform_of(job)
        planning = spec.plan_run(run, job, platform, live.of(job.platform), collector)
        planned = _planned(spec, job, run, platform, planning)
        planned.findings = collector.findings
        estimate = spec.estimate(
            job,
            platform,
            live.of(job.platform),
            compute=planned.values(),
            request=planning.request.payload,
            prices=prices,
        )
        planned.cost = estimate.to_dict() if estimate is not None else None
        planned.request = _redact(
            project,
            (run_plan, index),
            run,
            spec,
            payload=planned.request,
            secrets=planning.request.secret_fields,
        )
        plan.runs.append(planned)
    plan.findings.extend(_plan_wide(project, run_plan, live))
    over = plan.cost_over_limit()
    if over is not None:
        where = (
            project.source.locate(("run_plans", run_plan, "max_cost")) if max_cost is None else None
        )
        plan.findings.append(Diagnostic(codes.COST_OVER_LIMIT, Severity.ERROR, over, where))
    plan.fingerprints = _fingerprints(project, plan_model.runs, live)
    return plan


Secrets = frozenset[tuple[str, str]]


def _planned(
    spec: Platform, job: Any, run: Run, platform: Any, planning: PlannedRequest
) -> PlannedRun:
    request = planning.request
    compute = {**request.compute, **planning.recorded}
    return PlannedRun(
        key=run.key,
        job=run.job,
        platform=job.platform,
        service=spec.service,
        region=platform.region,
        api=request.api,
        request={k: (dict(v) if isinstance(v, dict) else v) for k, v in request.payload.items()},
        live=planning.live,
        compute={k: {"value": v.value, "tier": v.tier.value} for k, v in compute.items()},
        after=[{"run": edge.run, "on": edge.on.value} for edge in run.after],
    )


# ---------------------------------------------------------------- plan-wide checks


def _plan_wide(project: Project, run_plan: str, live: LiveState) -> list[Diagnostic]:
    """Each platform's checks of the run plan as a whole (e.g. runs that may go at once)."""
    plan_model = project.run_plans[run_plan]
    ancestors = _ancestors(plan_model.runs)
    findings: list[Diagnostic] = []
    for spec in PLATFORMS:
        runs = [
            (index, run, project.jobs[run.job], project.platforms[project.jobs[run.job].platform])
            for index, run in enumerate(plan_model.runs)
            if platform_of(project.jobs[run.job]) is spec
        ]
        if not runs:
            continue
        context = PlanContext(
            run_plan,
            runs,
            plan_model.max_concurrency,
            lambda keys: _largest_unordered(keys, ancestors),
        )
        for path, code, message in spec.plan_findings(context, live.platforms):
            findings.append(Diagnostic(code, Severity.ERROR, message, project.source.locate(path)))
    return findings


def _ancestors(runs: list[Run]) -> dict[str, set[str]]:
    direct = {run.key: {edge.run for edge in run.after} for run in runs}
    result: dict[str, set[str]] = {}

    def visit(key: str, trail: frozenset[str] = frozenset()) -> set[str]:
        if key in result:
            return result[key]
        found: set[str] = set()
        for parent in direct.get(key, set()):
            if parent not in trail:
                found |= {parent, *visit(parent, trail | {key})}
        result[key] = found
        return found

    for key in direct:
        visit(key)
    return result


def _largest_unordered(keys: list[str], ancestors: dict[str, set[str]]) -> list[str]:
    """The largest set of runs no two of which are ordered by `after` (small n: exact)."""

    def unordered(a: str, b: str) -> bool:
        return a not in ancestors.get(b, set()) and b not in ancestors.get(a, set())

    if len(keys) > 12:  # greedy beyond what exhaustive search handles quickly
        chosen: list[str] = []
        for key in keys:
            if all(unordered(key, other) for other in chosen):
                chosen.append(key)
        return chosen
    for size in range(len(keys), 0, -1):
        for group in itertools.combinations(keys, size):
            if all(unordered(a, b) for a, b in itertools.combinations(group, 2)):
                return list(group)
    return keys[:1]


# ---------------------------------------------------------------- secrets and fingerprints


def _redact(
    project: Project,
    where: tuple[str, int],
    run: Run,
    spec: Platform,
    *,
    payload: dict[str, Any],
    secrets: frozenset[tuple[str, str]],
) -> dict[str, Any]:
    """Replace each secret value by {"$env": NAME}: the variable apply reads it from."""
    run_plan, index = where
    raw_jobs = project.raw.get("jobs", {})
    raw_runs = project.raw.get("run_plans", {}).get(run_plan, {}).get("runs", [])
    redacted = {k: (dict(v) if isinstance(v, dict) else v) for k, v in payload.items()}
    for outer, inner in secrets:
        name = spec.parameter_name((outer, inner))
        if name not in project.jobs[run.job].parameters:
            name = inner
        raw_run = raw_runs[index].get("parameters", {}).get(name) if index < len(raw_runs) else None
        raw_job = raw_jobs.get(run.job, {}).get("parameters", {}).get(name)
        source = raw_run if name in run.parameters else raw_job
        value = source.get("value") if isinstance(source, dict) else source
        match = _ENV_REF.match(value) if isinstance(value, str) else None
        redacted[outer][inner] = {"$env": match.group(1)} if match else "***"
    return redacted


def _fingerprints(project: Project, runs: list[Run], live: LiveState) -> dict[str, str]:
    prints: dict[str, str] = {}
    for run in runs:
        job = project.jobs[run.job]
        platform = project.platforms[job.platform]
        prints.update(platform_of(job).fingerprints(job, platform, live.of(job.platform)))
    return prints
