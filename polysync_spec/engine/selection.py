"""`--only`: which runs of a run plan one apply handles.

Terraform's `-target` semantics: the runs named, plus every run they wait on through
`after`, transitively (their prerequisites); `--only-exact` takes the runs named alone,
and apply does not wait for an upstream it leaves out (plan names each such edge and
what the ledger says of the upstream). The selection is not part of the plan's
identity: the runs left out are neither submitted nor recorded, so a later apply of the
whole plan finds the selected runs in the ledger and submits only the others.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from polysync_spec.engine.model import Plan, Selection
from polysync_spec.errors import UsageError
from polysync_spec.manifest.suggest import did_you_mean


def select(
    run_plan: str,
    upstreams: Mapping[str, Sequence[str]],
    names: Iterable[str],
    *,
    exact: bool = False,
) -> Selection:
    """The selection of `names` (run keys; each may be a comma-separated list) in the
    run plan `run_plan`, whose runs are `upstreams`' keys in plan order, each with the
    runs its `after` names. Raises `UsageError` for a name that is not a run of the
    plan, with a "did you mean" and the plan's runs."""
    keys = list(upstreams)
    wanted: list[str] = []
    for item in names:
        for name in (part.strip() for part in item.split(",")):
            if not name:
                continue
            if name not in keys:
                raise UsageError(
                    f"--only {name}: no run {name!r} in run plan {run_plan!r}"
                    + did_you_mean(name, keys, clause=True)
                    + f"; runs: {', '.join(keys)}"
                )
            if name not in wanted:
                wanted.append(name)
    if not wanted:
        raise UsageError("--only needs at least one run name")
    included: set[str] = set()
    if not exact:
        todo = [up for name in wanted for up in upstreams[name]]
        while todo:
            key = todo.pop()
            if key not in included and key not in wanted:
                included.add(key)
                todo.extend(upstreams[key])
    in_order = [key for key in keys if key in wanted]
    return Selection(tuple(in_order), tuple(k for k in keys if k in included), exact)


def selection_problems(plan: Plan) -> list[str]:
    """Why a plan file's selection cannot be applied as it stands (an edited file):
    names that are not runs of the plan, or, without `exact`, a prerequisite missing."""
    selection = plan.selection
    if selection is None:
        return []
    keys = {run.key for run in plan.runs}
    problems = [
        f"$.selection: {name!r} is not a run of this plan"
        for name in (*selection.only, *selection.prerequisites)
        if name not in keys
    ]
    if not selection.exact and not problems:
        for run in plan.selected_runs:
            problems.extend(
                f"$.selection: {run.key!r} waits for {up!r}, which is not selected "
                "(without exact, every prerequisite is)"
                for up in plan.unwaited(run.key)
            )
    return problems
