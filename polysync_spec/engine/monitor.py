"""Following runs in AWS: the one status engine of apply, status --watch, cancel and logs.

It reads every run in flight with one batched call per platform, tolerates throttling and
failed reads (a failed read is never a failed run), maps what AWS says to the run's state
and the ledger, and bounds every wait:

- a run AWS's reads do not return is Unknown only after the vanish grace (reads may lag a
  submission);
- a run still waiting to start (queued in AWS, `StatusReport.waiting`, or waiting for a
  free slot) beyond the stall limit is given up, with the reason AWS gives;
- a running run past its own limit (`Platform.run_limit_seconds`: a timeout, from the
  manifest or the definition) plus a grace period is given up;
- `timeout` (apply --timeout, status --watch --timeout) bounds everything.

A run given up is reported Unknown with what was last seen, and is not cancelled.
Cancellation is best effort per run: each gets its call (retried on throttling and server
errors), failures are reported per run, and the caller learns which were confirmed.

What it learns goes to the ledger, and to the sink it is given as typed events
(`engine/events.py`); it writes no text. Every AWS call runs on a thread of its own
(`engine/calls.py`), so that an interrupt is acted on at once whatever the network does.
"""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from polysync_spec.engine.calls import THROTTLING, Abandoned, call, error_code
from polysync_spec.engine.events import (
    CancelReason,
    CancelRequested,
    ChildrenProgress,
    PollFailed,
    RunSettled,
    Sink,
    StatusChanged,
)
from polysync_spec.engine.ledger import Ledger
from polysync_spec.engine.phase import RunPhase
from polysync_spec.engine.runstate import RunState
from polysync_spec.providers.base import Refusal, RunClient, RunStatus, StatusReport
from polysync_spec.providers.registry import by_service

CANCEL_ATTEMPTS = 3


@dataclass
class PollPolicy:
    """Poll intervals back off from `minimum` to `maximum` while nothing changes; any
    change brings them back down. Jitter keeps many appliers from polling in step."""

    minimum: float = 2.0
    maximum: float = 30.0
    factor: float = 1.5
    jitter: float = 0.1
    # The interval is never more than this share of the youngest run's age: a run is
    # seen to end within about 5% of how long it has run (a 60 s run within 3 s, an hour
    # within the maximum). Backing off on "nothing changed" alone let a fleet of runs
    # that started together be seen 20 s late; polling in proportion to age costs about
    # as many rounds over an hour (20 ln(T / 40 s) + 20: 110 against 120 at 30 s).
    age_share: float = 0.05

    def next(self, current: float, changed: bool, youngest_age: float | None = None) -> float:
        """The next interval, in seconds: back to `minimum` on a change, else `factor`
        longer up to `maximum`; with `youngest_age` (seconds since the youngest run in
        flight was submitted), at most `age_share` of it (never under `minimum`)."""
        base = self.minimum if changed else min(self.maximum, current * self.factor)
        if youngest_age is not None:
            base = min(base, max(self.minimum, youngest_age * self.age_share))
        return base * (1 + random.uniform(-self.jitter, self.jitter))


@dataclass(frozen=True)
class Limits:
    """The bounds of every wait on a run, in seconds."""

    grace: float = 600.0  # past a run's own limit before it is given up
    stall: float = 3600.0  # waiting to start (RUNNABLE, WAITING, a free slot)
    vanish: float = 120.0  # not returned by AWS's reads
    # The longest a run is waited on when neither the manifest nor AWS gives it a limit
    # (e.g. a job whose definition has no timeout).
    unbounded: float = 24 * 3600.0


class Monitor:
    """Follows `runs` in AWS and writes what it learns to the ledger.

    `settle(state, status, message)` is called when a run reaches an end (Success,
    Failed, Cancelled, Skipped, or Unknown when given up); the default records it.
    `stop()` says when a call in flight is abandoned (an interrupt)."""

    def __init__(
        self,
        runs: Mapping[str, RunState],
        providers: Mapping[str, RunClient],
        ledger: Ledger,
        apply_id: str,
        *,
        sink: Sink,
        limits: Limits | None = None,
        timeout: float | None = None,
        stop: Callable[[], bool] = lambda: False,
    ) -> None:
        self.runs = runs
        self.providers = providers
        self.ledger = ledger
        self.apply_id = apply_id
        self.sink = sink
        self.limits = limits or Limits()
        self.timeout = timeout
        self.started = time.time()
        self.stop = stop
        self.settle: Callable[[RunState, RunPhase, str | None], None] = self.record

    # ------------------------------------------------------------ reading

    def poll(
        self,
        stop: Callable[[], bool] | None = None,
        *,
        only: Callable[[RunState], bool] | None = None,
    ) -> bool:
        """Read every run in flight (or those `only` selects), one batched call per
        platform; True when anything changed. `stop`: when a call in flight is abandoned
        (default: the monitor's)."""
        changed = False
        by_platform: dict[str, list[RunState]] = {}
        for state in self.runs.values():
            if state.in_flight and (only is None or only(state)):
                by_platform.setdefault(state.planned.platform, []).append(state)
        for platform, states in by_platform.items():
            provider = self.providers[platform]
            run_ids = [s.run_id for s in states if s.run_id]
            try:
                reports = call(functools.partial(provider.poll, run_ids), stop or self.stop)
            except Abandoned:
                return changed
            except Exception as exc:  # a failed read is not a failed run: try again later
                throttled = error_code(exc) in THROTTLING
                self.sink(PollFailed(platform, throttled, exc.__class__.__name__))
                continue
            with self.ledger.together():  # one commit for the round's changes
                for state in states:
                    report = reports.get(state.run_id or "")
                    if report is not None:
                        changed |= self.update(state, report)
        return changed

    def update(self, state: RunState, report: StatusReport) -> bool:
        """Apply one read of a run; True when anything changed."""
        if report.status is RunStatus.UNKNOWN and report.state is None:
            return self._unseen(state, report.message)
        state.unseen_since = None
        status = RunPhase.of(report.status)
        message = report.message
        if status is RunPhase.FAILED and report.dependency_failed and state.native_after:
            status = RunPhase.SKIPPED
            held = by_service(state.planned.service).held_dependency
            message = f"{', '.join(state.native_after)} did not succeed ({held})"
        children = dict(report.children) if report.children else None
        if (
            status == state.status
            and report.state == state.state
            and children == state.children
            and message == state.message
            and report.held == state.held
        ):
            return False
        now = time.time()
        waiting = report.waiting
        if waiting and state.waiting_since is None:
            state.waiting_since = state.submitted_at or now
        elif not waiting:
            state.waiting_since = None
        state.state, state.children = report.state, children
        was_held, state.held = state.held, report.held
        if report.usage:
            state.usage = dict(report.usage)
        if status.final:
            self.settle(state, status, message)
            return True
        running = status in (RunPhase.STARTING, RunPhase.RUNNING)
        if running and not waiting and state.started_at is None:
            state.started_at = now
            self.ledger.started(self.apply_id, state.planned.key)
        if status != state.status or message != state.message or was_held != state.held:
            state.status, state.message = status, message
            self.ledger.status(self.apply_id, state.planned.key, status, message, False)
            self.sink(
                StatusChanged(
                    state.planned.key, status, report.state, message, state.waiting_on(self.runs)
                )
            )
        elif children is not None:
            self.sink(ChildrenProgress(state.planned.key, children))
        return True

    def _unseen(self, state: RunState, message: str | None) -> bool:
        """AWS did not return the run. Right after a submission that is the reads' lag,
        not news: the run keeps its state until it has gone unseen for the vanish grace,
        and only then is it Unknown (in the ledger too; a later apply asks again)."""
        now = time.time()
        if state.unseen_since is None:
            state.unseen_since = now
        if now - state.unseen_since < self.limits.vanish:
            return False
        self.give_up(
            state,
            f"{message or 'AWS does not know the run'} (not seen for "
            f"{now - state.unseen_since:.0f} s)",
        )
        return True

    # ------------------------------------------------------------ bounds

    @property
    def timed_out(self) -> bool:
        return self.timeout is not None and time.time() - self.started > self.timeout

    def bounded(self, seconds: float) -> float:
        """`seconds` of waiting, cut so that no wait runs past the timeout."""
        if self.timeout is None:
            return seconds
        left = self.started + self.timeout - time.time()
        return max(0.0, min(seconds, left))

    def enforce_limits(self) -> None:
        """No run is waited on forever: see the module's docstring for the bounds."""
        now = time.time()
        for state in self.runs.values():
            if not state.in_flight:
                continue
            reason = self.over_limit(state, now)
            if reason is not None:
                self.give_up(state, reason)

    def over_limit(self, state: RunState, now: float) -> str | None:
        """Why `state` is not waited on any longer, or None."""
        last = state.state or state.status
        aws_says = f": {state.message}" if state.message else ""
        if self.timed_out:
            return f"still {last}{aws_says} when the --timeout of {self.timeout:.0f}s was reached"
        if state.waiting_since is not None:
            waited = now - state.waiting_since
            if waited > self.limits.stall:
                return (
                    f"still {last}{aws_says} after {waited:.0f}s waiting to start, beyond the "
                    f"stall limit of {self.limits.stall:.0f}s"
                )
            return None
        began = state.started_at or state.submitted_at
        if began is None:
            return None
        limit = state.limit_seconds()
        elapsed = now - began
        if limit is None:
            if elapsed > self.limits.unbounded:
                return (
                    f"still {last} after {elapsed:.0f}s; it has no time limit of its own (set "
                    "attempt_duration_seconds) and polysync waits at most "
                    f"{self.limits.unbounded:.0f}s"
                )
            return None
        if elapsed > limit + self.limits.grace:
            return (
                f"still {last} after {elapsed:.0f}s, beyond its limit of {limit:.0f}s plus "
                f"{self.limits.grace:.0f}s grace"
            )
        return None

    def give_up(self, state: RunState, reason: str) -> None:
        state.gave_up = True
        self.settle(state, RunPhase.UNKNOWN, f"{reason}; it was not cancelled")

    def record(self, state: RunState, status: RunPhase, message: str | None) -> None:
        """The default end of a run: its state, the ledger, an event."""
        state.status, state.message, state.finished_at = status, message, time.time()
        self.ledger.status(self.apply_id, state.planned.key, status, message, status.final)
        if state.usage:
            self.ledger.usage(self.apply_id, state.planned.key, state.usage)
        self.sink(RunSettled(state.planned.key, status, message, state.usage))

    # ------------------------------------------------------------ cancelling

    def cancel(
        self,
        states: Iterable[RunState],
        reason: CancelReason,
        stop: Callable[[], bool] | None = None,
    ) -> dict[str, Refusal | None]:
        """Cancel each run (the platform's stop call), best effort: a throttled or
        failed call is tried again, a refusal is reported for its run, and one platform's
        failure never holds back another's. Returns run id -> None (accepted) or why not."""
        by_platform: dict[str, list[str]] = {}
        for state in states:
            if state.run_id:
                by_platform.setdefault(state.planned.platform, []).append(state.run_id)
        results: dict[str, Refusal | None] = {}
        for platform, run_ids in by_platform.items():
            results.update(self._cancel_platform(platform, run_ids, reason, stop or self.stop))
        return results

    def _cancel_platform(
        self, platform: str, run_ids: list[str], reason: CancelReason, stop: Callable[[], bool]
    ) -> dict[str, Refusal | None]:
        provider = self.providers[platform]
        results: dict[str, Refusal | None] = {}
        todo = list(run_ids)
        for attempt in range(CANCEL_ATTEMPTS):
            try:
                answered = call(functools.partial(provider.cancel, todo), stop)
            except Abandoned:
                answered = dict.fromkeys(todo, Refusal("NoAnswer", "the cancel got no answer"))
                results.update(answered)
                break
            except Exception as exc:
                code = error_code(exc) or exc.__class__.__name__
                answered = dict.fromkeys(todo, Refusal(code, str(exc), retryable=True))
            results.update(answered)
            todo = [r for r, refusal in answered.items() if refusal and refusal.retryable]
            if not todo:
                break
            time.sleep(min(0.2 * 2**attempt, 5.0) * (1 + random.random()))
        for run_id in run_ids:
            self.sink(CancelRequested(run_id, reason, results.get(run_id)))
        return results

    def await_end(
        self,
        states: Iterable[RunState],
        deadline: float,
        *,
        stop: Callable[[], bool] = lambda: False,
        poll: PollPolicy | None = None,
    ) -> bool:
        """Poll until every run of `states` has ended, `deadline` (monotonic) passes or
        `stop()`; True when all ended."""
        watched = list(states)
        interval = (poll or PollPolicy(minimum=1.0, maximum=5.0)).minimum
        while True:
            if all(not s.in_flight for s in watched):
                return True
            if stop() or time.monotonic() >= deadline:
                return False
            time.sleep(min(interval, max(deadline - time.monotonic(), 0.0)))
            self.poll(stop=lambda: stop() or time.monotonic() >= deadline)
            interval = min(interval * 1.5, 5.0)
