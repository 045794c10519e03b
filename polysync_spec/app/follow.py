"""Use cases that follow an apply's runs from the ledger, in a later process: status
--watch, cancel and logs --follow. They share the engine's Monitor with apply: the same
batched reads, throttling tolerance, limits and final states, and every wait is bounded
and says why it stopped.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from polysync_spec.engine.events import (
    AllEnded,
    CancelCause,
    CancelReason,
    LookupFailed,
    Lost,
    NotFollowed,
    NothingInFlight,
    Sink,
    SubmissionFound,
)
from polysync_spec.engine.ledger import Ledger, RunRecord
from polysync_spec.engine.model import Plan, PlannedRun, native_edge
from polysync_spec.engine.monitor import Limits, Monitor, PollPolicy
from polysync_spec.engine.phase import RunPhase
from polysync_spec.engine.runstate import RunState
from polysync_spec.errors import ExitCode, PolysyncError
from polysync_spec.providers.base import RunClient, RunRequest

# Builds the provider of a platform of the apply's manifests (raises PolysyncError when
# the manifests no longer have it).
ClientFor = Callable[[str], RunClient]


def restored(planned: PlannedRun, record: RunRecord, plan: Plan) -> RunState:
    """A run as the ledger recorded it, ready to be followed: an Unknown run with a run
    id is asked about again; a Batch run that waited on its dependencies through a native
    `dependsOn` keeps them, so that "Dependent Job failed" reads as Skipped."""
    status: RunPhase = (
        RunPhase.SUBMITTED
        if record.status in (RunPhase.SUBMITTING, RunPhase.UNKNOWN)
        else record.status
    )
    if record.run_id is None and record.status is RunPhase.UNKNOWN:
        status = record.status
    by_key = {run.key: run for run in plan.runs}
    native = [
        edge["run"]
        for edge in planned.after
        if edge["run"] in by_key
        and native_edge(
            planned.service,
            planned.platform,
            by_key[edge["run"]].service,
            by_key[edge["run"]].platform,
            edge["on"],
        )
    ]
    return RunState(
        planned,
        status=status,
        run_id=record.run_id,
        message=record.message,
        submitted_at=record.submitted_at,
        started_at=record.started_at,
        finished_at=record.finished_at,
        native_after=native,
        usage=record.usage,
    )


@dataclass
class Followed:
    """One apply's runs from the ledger, with a monitor over them."""

    apply_id: str
    plan: Plan
    records: dict[str, RunRecord]
    states: dict[str, RunState] = field(default_factory=dict)

    @property
    def in_flight(self) -> list[RunState]:
        return [s for s in self.states.values() if s.in_flight]

    def exit_code(self) -> ExitCode:
        """3 when a run failed, was cancelled or ended Unknown (the README's table)."""
        phases = [s.status for s in self.states.values()]
        phases += [r.status for k, r in self.records.items() if k not in self.states]
        return ExitCode.RUNS_FAILED if any(phase.bad for phase in phases) else ExitCode.OK


def open_apply(ledger: Ledger, apply_id: str) -> Followed:
    """The apply's plan and runs as the ledger holds them. Raises PolysyncError when the
    ledger does not know the apply."""
    stored = ledger.plan(apply_id)
    if stored is None:
        raise PolysyncError(f"no apply {apply_id} in the ledger")
    plan = Plan.from_dict(stored)
    records = ledger.runs(apply_id)
    followed = Followed(apply_id, plan, records)
    by_key = {run.key: run for run in plan.runs}
    for key, record in records.items():
        if key in by_key:
            followed.states[key] = restored(by_key[key], record, plan)
    return followed


def _providers(followed: Followed, provider_for: ClientFor, sink: Sink) -> dict[str, RunClient]:
    """A provider per platform of the apply's runs. A platform that cannot be had (gone
    from the manifests, bad credentials) never keeps the others' runs from being
    followed: its runs in flight are given up, saying why."""
    providers: dict[str, RunClient] = {}
    platforms = {s.planned.platform for s in followed.states.values()}
    platforms |= {r.platform for r in followed.records.values()}
    for name in sorted(platforms):
        try:
            providers[name] = provider_for(name)
        except PolysyncError as exc:
            for state in followed.states.values():
                if state.planned.platform == name and state.in_flight:
                    state.gave_up, state.status = True, RunPhase.UNKNOWN
                    state.message = f"cannot be followed: {exc}"
                    sink(NotFollowed(state.planned.key, state.message))
    return providers


def watch(
    ledger: Ledger,
    apply_id: str,
    provider_for: ClientFor,
    *,
    sink: Sink,
    interval: float = 5.0,
    timeout: float | None = None,
    limits: Limits | None = None,
) -> ExitCode:
    """Follow the apply's runs in flight until each has ended or been given up (its own
    limit, the stall limit, the vanish grace, `timeout` seconds), recording what AWS says
    in the ledger; a submission whose run id never reached the ledger is looked up by
    its identity first. Returns the exit code of the whole apply: 3 when a run failed,
    was cancelled, ended Unknown, or may still have to be submitted."""
    followed = open_apply(ledger, apply_id)
    providers = _providers(followed, provider_for, sink)
    _unrecorded(ledger, followed, providers, sink)
    monitor = Monitor(
        followed.states, providers, ledger, apply_id, sink=sink, limits=limits, timeout=timeout
    )
    if not followed.in_flight:
        sink(NothingInFlight())
        return followed.exit_code()
    policy = PollPolicy(minimum=interval, maximum=max(interval * 6, 30.0))
    wait = policy.minimum
    while followed.in_flight:
        changed = monitor.poll()
        monitor.enforce_limits()
        if not followed.in_flight:
            break
        time.sleep(monitor.bounded(wait))
        wait = policy.next(wait, changed)
    sink(AllEnded({key: state.status for key, state in followed.states.items()}))
    return followed.exit_code()


@dataclass(frozen=True)
class CancelOutcome:
    """One run's cancellation: confirmed (the run ended), or why not."""

    key: str
    run_id: str
    confirmed: bool
    detail: str


def cancel(
    ledger: Ledger,
    targets: Mapping[str, list[str] | None],
    provider_for: Callable[[str, str], RunClient],
    *,
    sink: Sink,
    wait: float = 300.0,
) -> list[CancelOutcome]:
    """Cancel runs of applies in the ledger: `targets` maps an apply id to run ids, or
    to None for every run of it in flight, including submissions whose run id was never
    recorded (found in AWS by their attempt identity). Best effort per run: a platform
    that cannot be had, or a refused call, never keeps the other runs from theirs. Then
    waits up to `wait` seconds for AWS to confirm each end; a run that had ended before
    its cancel came says so."""
    outcomes: list[CancelOutcome] = []
    for apply_id, wanted in targets.items():
        followed = open_apply(ledger, apply_id)
        providers = _providers(followed, functools.partial(provider_for, apply_id), sink)
        monitor = Monitor(followed.states, providers, ledger, apply_id, sink=sink)
        if wanted is None:
            _unrecorded(ledger, followed, providers, sink)
        chosen = [
            s
            for s in followed.states.values()
            if (s.in_flight and (wanted is None or s.run_id in wanted))
            or (s.gave_up and s.status == RunPhase.UNKNOWN and s.run_id)
        ]
        reachable = [s for s in chosen if s.planned.platform in providers and s.in_flight]
        requested = CancelReason(CancelCause.REQUESTED)
        refused = monitor.cancel(reachable, requested) if reachable else {}
        # Read every chosen run to its end (or the wait's): a refusal may only mean that
        # the run had already ended.
        monitor.await_end(reachable, time.monotonic() + wait)
        for state in chosen:
            refusal = refused.get(state.run_id or "")
            if state.planned.platform not in providers:
                detail, confirmed = f"not cancelled: {state.message}", False
            elif state.final:
                late = " (it had ended before the cancel came)" if refusal else ""
                detail, confirmed = f"ended {state.status}{late}", True
            elif refusal is not None:
                detail, confirmed = f"refused: {refusal}", False
            else:
                detail = (
                    f"cancel requested, not confirmed within {wait:.0f}s "
                    f"(still {state.state or state.status})"
                )
                confirmed = False
            outcomes.append(
                CancelOutcome(state.planned.key, state.run_id or "-", confirmed, detail)
            )
    return outcomes


def _unrecorded(
    ledger: Ledger, followed: Followed, providers: Mapping[str, RunClient], sink: Sink
) -> list[RunState]:
    """Runs of submissions whose run id never reached the ledger (a SIGKILL between the
    call and the record), found in AWS by their attempt identity."""
    found: list[RunState] = []
    by_key = {run.key: run for run in followed.plan.runs}
    for key, record in followed.records.items():
        if (
            record.run_id is not None
            or record.status is not RunPhase.SUBMITTING
            or not record.attempt_id
        ):
            continue
        planned = by_key.get(key)
        if planned is None:
            continue
        provider = providers.get(planned.platform)
        if provider is None:
            continue
        request = RunRequest(planned.api, planned.resolved_request(None, record.attempt_id))
        try:
            run_ids = provider.find_submitted(request, record.intent_at or 0.0)
        except Exception as exc:
            sink(LookupFailed(key, exc.__class__.__name__))
            continue
        for index, run_id in enumerate(run_ids):
            sink(SubmissionFound(key, run_id, Lost.UNRECORDED))
            state = RunState(planned, status=RunPhase.SUBMITTED, run_id=run_id)
            # Followed with the others, so that the monitor sees its cancellation end.
            followed.states[key if index == 0 else f"{key}#{index}"] = state
            found.append(state)
        if len(run_ids) == 1:  # the truth the apply could not write: record it
            ledger.submitted(followed.apply_id, key, run_ids[0])
        elif not run_ids and key in followed.states:
            # Honest about what is not known: it may yet appear, or never have been sent.
            state = followed.states[key]
            state.status = RunPhase.UNKNOWN
            state.message = (
                "its submission is not visible in AWS (yet); apply again to find it by its "
                "identity, or to send it once it provably never reached AWS"
            )
            sink(NotFollowed(key, state.message))
    return found
