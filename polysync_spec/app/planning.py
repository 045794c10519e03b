"""The plan use case, shared by `plan`, `apply` and the demo: load, check, discover, plan.

Crosses layers (manifests, the platforms' clients, the pure planner), so it lives here
and not in a click command.
"""

from __future__ import annotations

from collections.abc import Sequence

from polysync_spec.engine.discovery import discover_live
from polysync_spec.engine.model import Plan
from polysync_spec.engine.plan import make_plan
from polysync_spec.engine.selection import select
from polysync_spec.errors import PolysyncError, UsageError
from polysync_spec.manifest.project import Project
from polysync_spec.providers.aws import Sessions
from polysync_spec.providers.clients import clients_of
from polysync_spec.providers.cost import Prices


class ManifestErrors(PolysyncError):
    """The manifests have errors: nothing was planned. `project.diagnostics` says which."""

    def __init__(self, project: Project) -> None:
        super().__init__("the manifests have errors (see above); nothing was planned")
        self.project = project


def choose_run_plan(project: Project, requested: str | None) -> str:
    """`requested`, or the only run plan there is. Raises `UsageError` naming the choices."""
    names = sorted(project.run_plans)
    if requested is not None:
        if requested not in project.run_plans:
            raise UsageError(f"no run plan {requested!r}; run plans: {', '.join(names) or 'none'}")
        return requested
    if len(names) == 1:
        return str(names[0])
    raise UsageError(f"choose a run plan with --run-plan ({', '.join(names) or 'none defined'})")


def plan_project(
    project: Project,
    run_plan: str | None,
    sessions: Sessions,
    *,
    manifest_path: str,
    only: Sequence[str] = (),
    only_exact: bool = False,
    prices: Prices | None = None,
    max_cost: float | None = None,
) -> Plan:
    """Discover what `run_plan` touches (through each platform's client) and plan it.
    With `only` (run keys, `--only`), the plan's selection says which runs apply handles:
    those, and the runs they wait on unless `only_exact` (`engine.selection`).

    Raises `ManifestErrors` when the project has errors, `UsageError` for an unknown or
    ambiguous run plan or an unknown run in `only`, `AwsError` when a read fails."""
    if not project.ok:
        raise ManifestErrors(project)
    name = choose_run_plan(project, run_plan)
    selection = None
    if only:  # an unknown run is a usage error before any AWS call
        upstreams = {
            run.key: [edge.run for edge in run.after] for run in project.run_plans[name].runs
        }
        selection = select(name, upstreams, only, exact=only_exact)
    live = discover_live(project, name, clients_of(project, sessions))
    plan = make_plan(
        project, name, live, manifest_path=manifest_path, prices=prices, max_cost=max_cost
    )
    plan.selection = selection
    return plan
