"""What the engine reports while it applies and follows runs: typed events, plain data.

The executor, the monitor and the use cases that follow runs hand each event to a sink
(`Sink`, any callable taking an `Event`); renderers (`polysync_spec.render.events`) turn
them into the English lines a terminal shows, JSON lines, or nothing at all. No event
carries prose of the engine's own; a `message` field is the run's message as it is
recorded (AWS's text, or the reason the ledger keeps).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from polysync_spec.engine.phase import RunPhase
from polysync_spec.engine.schedule import SkipReason
from polysync_spec.providers.base import Refusal


class Lost(enum.StrEnum):
    """How a submission's outcome came to be unknown, and so who looks it up."""

    INTERRUPTED = "interrupted"  # an earlier apply stopped before recording it
    FAILED = "failed"  # this apply's call failed without a clear answer (a 5xx, a timeout)
    UNRECORDED = "unrecorded"  # status / cancel: the run id never reached the ledger


class CancelCause(enum.StrEnum):
    INTERRUPTED = "interrupted"  # Ctrl-C, SIGTERM, SIGHUP
    REQUESTED = "requested"  # polysync cancel
    ON_FAILURE = "on_failure"  # on_failure: cancel, after a run failed


@dataclass(frozen=True)
class CancelReason:
    cause: CancelCause
    failed: str | None = None  # ON_FAILURE: the run whose failure cancelled the others


# ---------------------------------------------------------------- submitting


@dataclass(frozen=True)
class RunSubmitted:
    """AWS accepted the run. `native_after`: the runs AWS holds it for
    (`Platform.holds_dependency`); `holder`: who holds them (the platform's `title`)."""

    key: str
    run_id: str
    url: str
    native_after: tuple[str, ...] = ()
    holder: str = ""


@dataclass(frozen=True)
class SlotWait:
    """AWS refused to start the run for want of capacity (`reason`, the platform's
    `busy_reason`, e.g. "MaxConcurrentRuns 2"): it waits for a free slot."""

    key: str
    reason: str


@dataclass(frozen=True)
class SettleWait:
    """A submission whose answer was lost is not in AWS's listings yet: waiting until
    they must show it before deciding."""

    key: str
    lost: Lost


@dataclass(frozen=True)
class SubmissionFound:
    """A submission whose answer was lost is in AWS after all, as `run_id`."""

    key: str
    run_id: str
    lost: Lost


@dataclass(frozen=True)
class SubmissionAbsent:
    """A submission whose answer was lost provably never reached AWS: it is sent now."""

    key: str
    lost: Lost


@dataclass(frozen=True)
class RunUnknown:
    """Whether the run exists cannot be told now; `message` says what to do."""

    key: str
    message: str


@dataclass(frozen=True)
class RunSkipped:
    key: str
    reason: SkipReason


# ---------------------------------------------------------------- resuming


@dataclass(frozen=True)
class EndedEarlier:
    """The run ended in an earlier apply of the same plan: not submitted again."""

    key: str
    phase: RunPhase


@dataclass(frozen=True)
class Reattached:
    """The run is in flight from an earlier apply (`phase`: what the ledger held)."""

    key: str
    run_id: str | None
    phase: RunPhase


# ---------------------------------------------------------------- following


@dataclass(frozen=True)
class StatusChanged:
    """A run in flight changed: its phase, the service's own `state`, AWS's message;
    `waiting_on`: the upstream runs AWS holds it for (`StatusReport.held`), while it
    does."""

    key: str
    phase: RunPhase
    state: str | None
    message: str | None
    waiting_on: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChildrenProgress:
    """An array job's children, counted by state."""

    key: str
    children: Mapping[str, int]


@dataclass(frozen=True)
class RunSettled:
    """The run reached its end (or was given up: Unknown); `usage`: what it used, in
    billing units (`providers.cost`), where AWS says."""

    key: str
    phase: RunPhase
    message: str | None
    usage: Mapping[str, float] | None = None


@dataclass(frozen=True)
class PollFailed:
    """A platform's batched read failed; it is tried again on the next round."""

    platform: str
    throttled: bool
    error: str  # the exception's class name


@dataclass(frozen=True)
class LogTailRead:
    """The last lines of a failed run's logs, or why there are none (`note`)."""

    key: str
    lines: tuple[str, ...]
    source: str | None
    note: str | None


@dataclass(frozen=True)
class CancelRequested:
    """A cancellation was sent for `run_id`; `refusal`: why AWS did not accept it."""

    run_id: str
    reason: CancelReason
    refusal: Refusal | None


# ---------------------------------------------------------------- stopping


@dataclass(frozen=True)
class Detached:
    """--detach: everything is submitted; `in_flight` runs continue in AWS."""

    in_flight: int


@dataclass(frozen=True)
class DetachedOnInterrupt:
    """An interrupt with --on-interrupt detach (or a second one): runs continue."""


@dataclass(frozen=True)
class CancellingOnInterrupt:
    """A first interrupt (--on-interrupt cancel): the runs in flight, by key, are being
    cancelled; a second interrupt stops the cancelling and detaches."""

    runs: tuple[str, ...]


@dataclass(frozen=True)
class StoppedWaitingForCancels:
    """A second interrupt while cancelling: polysync stops without waiting for AWS to
    confirm. `uncancelled`: the runs (by key) whose cancel AWS did not accept (not sent,
    refused, or unanswered), which may continue in AWS."""

    uncancelled: tuple[str, ...] = ()


@dataclass(frozen=True)
class SubmissionUnanswered:
    """A submission left in flight by the interrupt never answered; not cancelled."""

    key: str


@dataclass(frozen=True)
class LateSubmissionFailed:
    """A submission left in flight by the interrupt answered with an error."""

    key: str
    error: str


# ---------------------------------------------------------------- following from the ledger


@dataclass(frozen=True)
class NotFollowed:
    """A run status / cancel cannot follow: it is Unknown, for `message`."""

    key: str
    message: str


@dataclass(frozen=True)
class LookupFailed:
    """An unrecorded submission could not be looked up in AWS."""

    key: str
    error: str  # the exception's class name


@dataclass(frozen=True)
class NothingInFlight:
    pass


@dataclass(frozen=True)
class AllEnded:
    """Every run followed has ended: each key with its phase."""

    runs: Mapping[str, RunPhase]


Event = (
    RunSubmitted
    | SlotWait
    | SettleWait
    | SubmissionFound
    | SubmissionAbsent
    | RunUnknown
    | RunSkipped
    | EndedEarlier
    | Reattached
    | StatusChanged
    | ChildrenProgress
    | RunSettled
    | PollFailed
    | LogTailRead
    | CancelRequested
    | Detached
    | DetachedOnInterrupt
    | CancellingOnInterrupt
    | StoppedWaitingForCancels
    | SubmissionUnanswered
    | LateSubmissionFailed
    | NotFollowed
    | LookupFailed
    | NothingInFlight
    | AllEnded
)

Sink = Callable[[Event], None]


def discard(_event: Event) -> None:
    """A sink that drops every event."""
