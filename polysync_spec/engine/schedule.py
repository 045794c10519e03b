"""The order of an apply, decided without I/O: which run may be submitted now, which are
skipped and why, and when every run has ended.

The executor tells the scheduler each run's phase as it learns it (`update`) and asks for
the next decision (`next`) until there is none; the scheduler never calls AWS, never
sleeps, and reads the time only through the clock it is given (for a run told to wait,
`defer`). The rules (README, "Order" and "on_failure"):

- a run may start once each of its `after` edges allows it: its upstream run has ended
  (Unknown counts as ended) in the edge's condition (`succeeded`: Success; `failed`:
  Failed or Unknown; `completed`: any end, Skipped included);
- an edge the platform can hold itself (`Platform.holds_dependency`) allows the run as soon as
  its upstream is in flight: the run goes with a native dependency on it;
- a run is skipped as soon as one of its conditions can no longer be met;
- after the first failure of this apply, `on_failure: stop` and `cancel` skip every run
  not yet submitted (`cancel` also cancels the runs in flight: the executor's part);
- at most `max_concurrency` runs are in flight; among the runs that may start, the
  plan's order decides.

The dependency graph is a `graphlib.TopologicalSorter`: it refuses a cycle up front, and
marking each run done once it has ended (in the sorter's order, as it allows) says when
the whole apply has settled.
"""

from __future__ import annotations

import enum
import graphlib
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from polysync_spec.engine.model import Plan, native_edge
from polysync_spec.engine.phase import RunPhase
from polysync_spec.manifest.models import Condition, OnFailure
from polysync_spec.providers.registry import by_service


@dataclass(frozen=True)
class Edge:
    """Wait for run `run` to end in condition `on`. `native`: the platform holds this
    wait itself (`Platform.holds_dependency`), so the run may go once `run` is in flight."""

    run: str
    on: Condition = Condition.SUCCEEDED
    native: bool = False


@dataclass(frozen=True)
class Node:
    """One run of the plan as the scheduler sees it: its key and its `after` edges."""

    key: str
    after: tuple[Edge, ...] = ()


class SkipCause(enum.StrEnum):
    CONDITION = "condition"  # an `after` condition can no longer be met
    ON_FAILURE = "on_failure"  # on_failure stop / cancel after a failure
    INTERRUPTED = "interrupted"  # the apply was stopped before the run was submitted


@dataclass(frozen=True)
class SkipReason:
    """Why a run was never submitted, with the run and outcome that decided it."""

    cause: SkipCause
    upstream: str | None = None  # the upstream run (CONDITION) or the first failure
    upstream_phase: RunPhase | None = None
    condition: Condition | None = None
    on_failure: OnFailure | None = None

    @classmethod
    def unmet(cls, upstream: str, phase: RunPhase, condition: Condition) -> SkipReason:
        return cls(SkipCause.CONDITION, upstream, phase, condition)

    @classmethod
    def stopped(cls, policy: OnFailure, failed: str) -> SkipReason:
        return cls(SkipCause.ON_FAILURE, failed, RunPhase.FAILED, on_failure=policy)

    @property
    def message(self) -> str:
        """The run's message, as the ledger keeps it and `status` shows it."""
        if self.cause is SkipCause.CONDITION:
            return (
                f"'{self.upstream}' ended {self.upstream_phase}; this run needs it {self.condition}"
            )
        if self.cause is SkipCause.ON_FAILURE:
            return f"on_failure: {self.on_failure} after '{self.upstream}' failed"
        return "the apply was interrupted"


INTERRUPTED = SkipReason(SkipCause.INTERRUPTED)


@dataclass(frozen=True)
class Submit:
    """Submit run `key` now; `native_after`: upstream runs in flight that the platform
    is to wait on (a dependency on each one's run id)."""

    key: str
    native_after: tuple[str, ...] = ()


@dataclass(frozen=True)
class Skip:
    """Run `key` will never be submitted: it is Skipped, for `reason`."""

    key: str
    reason: SkipReason


Decision = Submit | Skip


def condition_met(condition: Condition | str, phase: RunPhase) -> bool:
    """Whether an upstream run that ended in `phase` satisfies an `after` condition."""
    if condition == Condition.SUCCEEDED:
        return phase is RunPhase.SUCCESS
    if condition == Condition.FAILED:
        return phase in (RunPhase.FAILED, RunPhase.UNKNOWN)
    return True  # completed: any end, skipped included


class Scheduler:
    """The decisions of one apply over `runs` (in the plan's order, which is also the
    priority among runs that may start).

    `phases`: what is known before the apply begins (runs that ended in an earlier apply,
    runs re-attached); a Failed among them does not trigger `on_failure`, which answers
    this apply's failures only. Raises `graphlib.CycleError` for a cycle of `after`
    edges and ValueError for an edge to a run that is not in `runs`."""

    def __init__(
        self,
        runs: Iterable[Node],
        *,
        max_concurrency: int,
        on_failure: OnFailure = OnFailure.STOP,
        clock: Callable[[], float] = time.time,
        phases: Mapping[str, RunPhase] | None = None,
    ) -> None:
        self._nodes = {node.key: node for node in runs}
        self.max_concurrency = max_concurrency
        self.on_failure = on_failure
        self._clock = clock
        self._sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
        for node in self._nodes.values():
            for edge in node.after:
                if edge.run not in self._nodes:
                    raise ValueError(f"run {node.key!r} waits for {edge.run!r}, not a run")
            self._sorter.add(node.key, *(edge.run for edge in node.after))
        self._sorter.prepare()
        self._phase = dict.fromkeys(self._nodes, RunPhase.PENDING)
        self._in_flight = dict.fromkeys(self._nodes, False)
        self._not_before: dict[str, float] = {}
        self._ended: set[str] = set()  # ended runs; marked done once the sorter allows
        self._released: set[str] = set()  # handed out by the sorter: upstreams all ended
        self.failed_first: str | None = None  # this apply's first Failed run
        for key, phase in (phases or {}).items():
            self._record(key, phase, phase.active)
        self._advance()

    # ------------------------------------------------------------ what the executor says

    def update(self, key: str, phase: RunPhase, *, in_flight: bool | None = None) -> None:
        """Run `key` is now in `phase`. `in_flight` (default: the phase is active) says
        whether it holds a slot of `max_concurrency`: the executor knows of runs still
        followed in AWS whatever their phase says (an Unknown run it still polls)."""
        if phase is RunPhase.FAILED and self._phase[key] is not RunPhase.FAILED:
            self.failed_first = self.failed_first or key
        self._record(key, phase, phase.active if in_flight is None else in_flight)
        self._advance()

    def defer(self, key: str, until: float) -> None:
        """A pending run may not be submitted before `until` (the clock's time): the
        platform refused it for now (no free slot)."""
        self._not_before[key] = until

    # ------------------------------------------------------------ what it answers

    def next(self) -> Decision | None:
        """The next decision: a run to skip (already recorded Skipped), a run to submit
        (the executor then `update`s it with what came of the submission), or None when
        nothing may happen before the phases change."""
        now = self._clock()
        failed = self.failed_first if self.on_failure is not OnFailure.CONTINUE else None
        in_flight = sum(self._in_flight.values())
        for key, node in self._nodes.items():
            if self._phase[key] is not RunPhase.PENDING:
                continue
            if now < self._not_before.get(key, now):
                continue
            if failed is not None:
                return self._skip(key, SkipReason.stopped(self.on_failure, failed))
            decision = self._readiness(node)
            if isinstance(decision, Skip):
                return self._skip(key, decision.reason)
            if decision is None:
                continue
            if in_flight >= self.max_concurrency:
                return None
            return decision
        return None

    def interrupt(self) -> list[Skip]:
        """The apply stops: every run not submitted yet is Skipped."""
        return [self._skip(key, INTERRUPTED) for key in self.pending]

    def phase(self, key: str) -> RunPhase:
        return self._phase[key]

    @property
    def pending(self) -> list[str]:
        """The runs neither submitted nor skipped yet, in the plan's order."""
        return [key for key, phase in self._phase.items() if phase is RunPhase.PENDING]

    @property
    def settled(self) -> bool:
        """Every run has ended (Unknown included): nothing is left to decide or wait on."""
        return not self._sorter.is_active()

    # ------------------------------------------------------------ bookkeeping

    def _readiness(self, node: Node) -> Decision | None:
        """Skip when a condition can no longer be met; None while an edge waits."""
        native: list[str] = []
        waiting = False
        for edge in node.after:
            phase = self._phase[edge.run]
            if phase.ended:
                if not condition_met(edge.on, phase):
                    return Skip(node.key, SkipReason.unmet(edge.run, phase, edge.on))
            elif edge.native and phase.active:
                native.append(edge.run)
            else:
                waiting = True
        return None if waiting else Submit(node.key, tuple(native))

    def _skip(self, key: str, reason: SkipReason) -> Skip:
        self._record(key, RunPhase.SKIPPED, False)
        self._advance()
        return Skip(key, reason)

    def _record(self, key: str, phase: RunPhase, in_flight: bool) -> None:
        self._phase[key] = phase
        self._in_flight[key] = in_flight
        if phase is not RunPhase.PENDING:
            self._not_before.pop(key, None)
        if phase.ended:
            # Once ended, always ended for the graph: an Unknown run read back as Running
            # is waited on by its conditions (phases are read afresh), not by the sorter.
            self._ended.add(key)

    def _advance(self) -> None:
        """Mark done every ended run the sorter has handed out, as far as that goes: a
        run may end (skipped, or submitted natively) before its upstream runs have."""
        while True:
            self._released.update(self._sorter.get_ready())
            finished = self._released & self._ended
            if not finished:
                return
            self._sorter.done(*finished)
            self._released -= finished


def nodes_of(plan: Plan) -> list[Node]:
    """The runs apply handles (`Plan.selection`) as the scheduler sees them; an edge to
    a run left out is not waited for. An edge is native (AWS holds the
    wait) when the platform can hold it and the request has room for it
    (`Platform.with_dependencies`); the others wait client-side."""
    by_key = {run.key: run for run in plan.runs}
    nodes = []
    for run in plan.selected_runs:
        held: list[str] = []
        edges = []
        for edge in run.after:
            if not plan.selects(edge["run"]):
                continue  # `--only-exact` left it out: not waited for
            dep = by_key[edge["run"]]
            native = native_edge(
                run.service, run.platform, dep.service, dep.platform, edge["on"]
            ) and (
                by_service(run.service).with_dependencies(run.request, [*held, dep.key]) is not None
            )
            if native:
                held.append(dep.key)
            edges.append(Edge(edge["run"], Condition(edge["on"]), native))
        nodes.append(Node(run.key, tuple(edges)))
    return nodes
