"""The scheduler alone: no sandbox, no AWS, no sleeping. Each case drives a Scheduler to
its end, ending each run in flight with the outcome the case gives it, and compares what
was submitted and what was skipped, with the reason, to the README's rules."""

from __future__ import annotations

import graphlib
from collections.abc import Mapping
from dataclasses import dataclass, field

import pytest

from polysync_spec.engine.phase import RunPhase
from polysync_spec.engine.schedule import (
    Edge,
    Node,
    Scheduler,
    Skip,
    SkipCause,
    SkipReason,
    Submit,
    condition_met,
)
from polysync_spec.manifest.models import Condition, OnFailure

SUCCESS, FAILED, CANCELLED = RunPhase.SUCCESS, RunPhase.FAILED, RunPhase.CANCELLED


@dataclass
class Outcome:
    """What happened in a driven apply: submissions in order (with their native
    upstreams), skips with their reasons, and the most runs ever in flight at once."""

    submitted: list[str] = field(default_factory=list)
    native: dict[str, tuple[str, ...]] = field(default_factory=dict)
    skipped: dict[str, SkipReason] = field(default_factory=dict)
    most_in_flight: int = 0


def drive(scheduler: Scheduler, ends: Mapping[str, RunPhase]) -> Outcome:
    """Ask for decisions until there are none; then end the longest-running run in
    flight with its outcome from `ends` (Success by default), and ask again."""
    outcome = Outcome()
    in_flight: list[str] = []
    for _ in range(1000):
        decision = scheduler.next()
        if isinstance(decision, Skip):
            outcome.skipped[decision.key] = decision.reason
        elif isinstance(decision, Submit):
            outcome.submitted.append(decision.key)
            outcome.native[decision.key] = decision.native_after
            scheduler.update(decision.key, RunPhase.SUBMITTED)
            in_flight.append(decision.key)
            outcome.most_in_flight = max(outcome.most_in_flight, len(in_flight))
        elif in_flight:
            first = in_flight.pop(0)
            scheduler.update(first, ends.get(first, SUCCESS))
        else:
            assert scheduler.settled and not scheduler.pending
            return outcome
    raise AssertionError("the scheduler never settled")


def _unmet(upstream: str, phase: RunPhase, condition: Condition) -> SkipReason:
    return SkipReason(SkipCause.CONDITION, upstream, phase, condition)


def _stopped(policy: OnFailure) -> SkipReason:
    return SkipReason(SkipCause.ON_FAILURE, "up", FAILED, on_failure=policy)


# One row per on_failure x `after` condition x upstream outcome. The plan: `up`; `down`
# after `up` on the condition; `other`, independent, waiting behind max_concurrency 1 for
# `up` to end. Expected: the runs submitted, and those skipped with the reason.
S, F, C = Condition.SUCCEEDED, Condition.FAILED, Condition.COMPLETED
STOP, CONTINUE, CANCEL = OnFailure.STOP, OnFailure.CONTINUE, OnFailure.CANCEL
CASES: list[tuple[OnFailure, Condition, RunPhase, set[str], dict[str, SkipReason]]] = [
    # the upstream succeeds: on_failure has nothing to answer
    *[(policy, S, SUCCESS, {"up", "down", "other"}, {}) for policy in (STOP, CONTINUE, CANCEL)],
    *[
        (policy, F, SUCCESS, {"up", "other"}, {"down": _unmet("up", SUCCESS, F)})
        for policy in (STOP, CONTINUE, CANCEL)
    ],
    *[(policy, C, SUCCESS, {"up", "down", "other"}, {}) for policy in (STOP, CONTINUE, CANCEL)],
    # the upstream fails: continue follows the conditions; stop and cancel submit nothing new
    (CONTINUE, S, FAILED, {"up", "other"}, {"down": _unmet("up", FAILED, S)}),
    (CONTINUE, F, FAILED, {"up", "down", "other"}, {}),
    (CONTINUE, C, FAILED, {"up", "down", "other"}, {}),
    *[
        (policy, condition, FAILED, {"up"}, dict.fromkeys(["down", "other"], _stopped(policy)))
        for policy in (STOP, CANCEL)
        for condition in (S, F, C)
    ],
    # the upstream is cancelled: not a failure (on_failure stays silent), and not `failed`
    *[
        (policy, S, CANCELLED, {"up", "other"}, {"down": _unmet("up", CANCELLED, S)})
        for policy in (STOP, CONTINUE, CANCEL)
    ],
    *[
        (policy, F, CANCELLED, {"up", "other"}, {"down": _unmet("up", CANCELLED, F)})
        for policy in (STOP, CONTINUE, CANCEL)
    ],
    *[(policy, C, CANCELLED, {"up", "down", "other"}, {}) for policy in (STOP, CONTINUE, CANCEL)],
]


def test_the_table_covers_every_policy_condition_and_outcome() -> None:
    combinations = {(policy, condition, end) for policy, condition, end, _, _ in CASES}
    assert len(CASES) == len(combinations) == 3 * 3 * 3


@pytest.mark.parametrize(
    ("policy", "condition", "end", "submitted", "skipped"),
    CASES,
    ids=[f"{p}-{c}-{e}" for p, c, e, _, _ in CASES],
)
def test_on_failure_and_after_conditions(
    policy: OnFailure,
    condition: Condition,
    end: RunPhase,
    submitted: set[str],
    skipped: dict[str, SkipReason],
) -> None:
    runs = [Node("up"), Node("down", (Edge("up", condition),)), Node("other")]
    scheduler = Scheduler(runs, max_concurrency=1, on_failure=policy)
    outcome = drive(scheduler, {"up": end})
    assert set(outcome.submitted) == submitted
    assert outcome.skipped == skipped
    assert outcome.submitted[0] == "up"  # the plan's order decides who goes first


@pytest.mark.parametrize(
    ("condition", "end", "met"),
    [
        (Condition.SUCCEEDED, RunPhase.SUCCESS, True),
        (Condition.SUCCEEDED, RunPhase.UNKNOWN, False),
        (Condition.FAILED, RunPhase.UNKNOWN, True),  # README: failed means Failed or Unknown
        (Condition.FAILED, RunPhase.CANCELLED, False),
        (Condition.FAILED, RunPhase.SKIPPED, False),
        (Condition.COMPLETED, RunPhase.SKIPPED, True),
        (Condition.COMPLETED, RunPhase.UNKNOWN, True),
    ],
)
def test_condition_met(condition: Condition, end: RunPhase, met: bool) -> None:
    assert condition_met(condition, end) is met


def test_max_concurrency_holds_runs_back_in_the_plans_order() -> None:
    runs = [Node(f"r{i}") for i in range(5)]
    outcome = drive(Scheduler(runs, max_concurrency=2, on_failure=CONTINUE), {})
    assert outcome.submitted == ["r0", "r1", "r2", "r3", "r4"]
    assert outcome.most_in_flight == 2


def test_nothing_more_is_submitted_while_every_slot_is_taken() -> None:
    scheduler = Scheduler([Node("a"), Node("b")], max_concurrency=1)
    assert scheduler.next() == Submit("a")
    scheduler.update("a", RunPhase.SUBMITTED)
    assert scheduler.next() is None
    scheduler.update("a", RunPhase.RUNNING)
    assert scheduler.next() is None
    scheduler.update("a", SUCCESS)
    assert scheduler.next() == Submit("b")


def test_a_run_the_executor_still_follows_holds_its_slot_whatever_its_phase() -> None:
    scheduler = Scheduler([Node("a"), Node("b")], max_concurrency=1)
    scheduler.update("a", RunPhase.UNKNOWN, in_flight=True)  # AWS said something unmapped
    assert scheduler.next() is None
    scheduler.update("a", RunPhase.UNKNOWN, in_flight=False)  # given up on
    assert scheduler.next() == Submit("b")


def test_diamond_waits_for_both_sides_and_skips_below_a_failed_side() -> None:
    # top -> left, right -> bottom (after both); left fails under on_failure: continue
    runs = [
        Node("top"),
        Node("left", (Edge("top"),)),
        Node("right", (Edge("top"),)),
        Node("bottom", (Edge("left"), Edge("right"))),
    ]
    outcome = drive(Scheduler(runs, max_concurrency=4, on_failure=CONTINUE), {"left": FAILED})
    assert outcome.submitted == ["top", "left", "right"]
    assert outcome.skipped == {"bottom": _unmet("left", FAILED, Condition.SUCCEEDED)}
    assert outcome.most_in_flight == 2


def test_diamond_all_succeeding_submits_the_bottom_last() -> None:
    runs = [
        Node("top"),
        Node("left", (Edge("top"),)),
        Node("right", (Edge("top"),)),
        Node("bottom", (Edge("left"), Edge("right", Condition.COMPLETED))),
    ]
    outcome = drive(Scheduler(runs, max_concurrency=4, on_failure=STOP), {})
    assert outcome.submitted == ["top", "left", "right", "bottom"]
    assert outcome.skipped == {}


def test_a_condition_that_can_no_longer_be_met_skips_at_once() -> None:
    """`late` still runs, but `early` succeeded where `failed` was needed: no wait."""
    runs = [
        Node("early"),
        Node("late"),
        Node("handler", (Edge("late"), Edge("early", Condition.FAILED))),
    ]
    scheduler = Scheduler(runs, max_concurrency=4, on_failure=CONTINUE)
    for key in ("early", "late"):
        assert scheduler.next() == Submit(key)
        scheduler.update(key, RunPhase.SUBMITTED)
    scheduler.update("early", SUCCESS)
    assert scheduler.next() == Skip("handler", _unmet("early", SUCCESS, Condition.FAILED))


def test_a_native_edge_submits_at_once_with_the_upstream_in_flight() -> None:
    runs = [Node("export"), Node("clean", (Edge("export", native=True),))]
    outcome = drive(Scheduler(runs, max_concurrency=4), {})
    assert outcome.submitted == ["export", "clean"]
    assert outcome.native == {"export": (), "clean": ("export",)}
    assert outcome.most_in_flight == 2


def test_a_native_edge_waits_until_the_upstream_is_in_flight() -> None:
    runs = [Node("export"), Node("clean", (Edge("export", native=True),))]
    scheduler = Scheduler(runs, max_concurrency=1)
    assert scheduler.next() == Submit("export")
    scheduler.update("export", RunPhase.SUBMITTED)
    assert scheduler.next() is None  # one slot, taken
    scheduler.update("export", SUCCESS)
    assert scheduler.next() == Submit("clean")  # ended: an ordinary edge now


def test_a_deferred_run_waits_for_the_clock() -> None:
    now = [100.0]
    scheduler = Scheduler([Node("a"), Node("b")], max_concurrency=4, clock=lambda: now[0])
    assert scheduler.next() == Submit("a")
    scheduler.defer("a", 105.0)  # refused: no free slot
    assert scheduler.next() == Submit("b")
    scheduler.update("b", RunPhase.SUBMITTED)
    assert scheduler.next() is None
    now[0] = 105.0
    assert scheduler.next() == Submit("a")


def test_failures_of_an_earlier_apply_do_not_trigger_on_failure() -> None:
    runs = [Node("old"), Node("new")]
    scheduler = Scheduler(runs, max_concurrency=4, phases={"old": FAILED})
    assert scheduler.next() == Submit("new")
    assert scheduler.failed_first is None


def test_an_interrupt_skips_every_run_not_submitted() -> None:
    scheduler = Scheduler([Node("a"), Node("b", (Edge("a"),)), Node("c")], max_concurrency=1)
    assert scheduler.next() == Submit("a")
    scheduler.update("a", RunPhase.SUBMITTED)
    skips = scheduler.interrupt()
    assert [skip.key for skip in skips] == ["b", "c"]
    assert {skip.reason.message for skip in skips} == {"the apply was interrupted"}
    assert not scheduler.settled  # `a` is still in flight
    scheduler.update("a", CANCELLED)
    assert scheduler.settled


def test_skip_reasons_read_as_the_ledger_keeps_them() -> None:
    assert _unmet("check", FAILED, Condition.SUCCEEDED).message == (
        "'check' ended Failed; this run needs it succeeded"
    )
    assert _stopped(OnFailure.CANCEL).message == "on_failure: cancel after 'up' failed"


def test_a_cycle_is_refused_up_front() -> None:
    with pytest.raises(graphlib.CycleError):
        Scheduler([Node("a", (Edge("b"),)), Node("b", (Edge("a"),))], max_concurrency=1)


def test_an_edge_to_no_run_is_refused() -> None:
    with pytest.raises(ValueError, match="'ghost'"):
        Scheduler([Node("a", (Edge("ghost"),))], max_concurrency=1)
