"""What an apply does with what the ledger holds for its plan: the one rule that `plan`
shows and `apply` follows (re-attach, look up, skip, or submit again)."""

from __future__ import annotations

from collections.abc import Mapping

from polysync_spec.engine.ledger import Ledger, RunRecord
from polysync_spec.engine.model import LedgerView, Plan, RunAction
from polysync_spec.engine.phase import RunPhase
from polysync_spec.engine.schedule import SkipReason, condition_met
from polysync_spec.manifest.models import Condition


def view_of(record: RunRecord | None, *, rerun: bool, retry_failed: bool) -> LedgerView:
    """What apply does with a run given its ledger record."""
    if record is None:
        return LedgerView(RunAction.SUBMIT)
    if record.status is RunPhase.SUBMITTING and record.run_id is None:
        # Never forgotten, whatever the flags: it may exist in AWS.
        return LedgerView(RunAction.LOOK_UP, record.status)
    if rerun or (retry_failed and record.status.retryable):
        return LedgerView(RunAction.SUBMIT, record.status, record.run_id)
    if record.status is RunPhase.UNKNOWN and record.run_id:
        return LedgerView(RunAction.REATTACH, record.status, record.run_id)  # ask AWS again
    if record.status.ended:
        return LedgerView(RunAction.SKIP, record.status, record.run_id)
    return LedgerView(RunAction.REATTACH, record.status, record.run_id)


def forgotten(records: Mapping[str, RunRecord], *, rerun: bool, retry_failed: bool) -> list[str]:
    """The runs whose rows apply drops, to submit them again as new attempts with new
    identities: every run with --rerun, those that did not succeed with --retry-failed.
    A submission whose outcome is unknown is never forgotten: it is looked up first."""
    if not (rerun or retry_failed):
        return []
    return [
        key
        for key, record in records.items()
        if record.status is not RunPhase.SUBMITTING and (rerun or record.status.retryable)
    ]


def resubmit_flag(status: str | None) -> str:
    """The apply flag that submits again a run an earlier apply ended with `status`
    (the rule `forgotten` follows; plan shows it)."""
    return "--retry-failed" if status and RunPhase(status).retryable else "--rerun"


def read_ledger(plan: Plan, ledger: Ledger, *, rerun: bool, retry_failed: bool) -> None:
    """Fill `plan.ledger` with what apply would do with each run (read-only)."""
    records = ledger.runs(plan.plan_id)
    views = {
        run.key: view_of(records.get(run.key), rerun=rerun, retry_failed=retry_failed)
        for run in plan.runs
        if run.key in records
    }
    # A run never recorded whose `after` condition can no longer be met, by what the
    # ledger says of its dependencies, is skipped by apply, not submitted (a crash may
    # have come before its Skipped was written).
    changed = True
    while changed:
        changed = False
        for run in plan.runs:
            if run.key in views and views[run.key].action is not RunAction.SUBMIT:
                continue
            for edge in run.after:
                if not plan.selects(edge["run"]):
                    continue  # `--only-exact` left it out: apply does not wait for it
                dep = views.get(edge["run"])
                if dep is None or dep.action is not RunAction.SKIP or dep.status is None:
                    continue
                phase, condition = RunPhase(dep.status), Condition(edge["on"])
                if not condition_met(condition, phase):
                    reason = SkipReason.unmet(edge["run"], phase, condition).message
                    views[run.key] = LedgerView(RunAction.SKIP, RunPhase.SKIPPED, None, reason)
                    changed = True
                    break
    plan.ledger = views
