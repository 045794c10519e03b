"""Submitting a run exactly once.

Every submission attempt has an identity of its own (a uuid4), written to the ledger with
the intent before the AWS call and carried by the request (a job name, a marker
argument). A submission whose answer was lost (a crash, a timeout, a 5xx) is
looked up by that identity only; it is sent again only once AWS must show it and does
not, and a run that is not provably this attempt's is never adopted.

Every call runs on a thread of its own (`engine/calls.py`): an interrupt abandons a hung
submission, which is kept (`abandoned`) so that its answer is still recorded if it comes.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

from polysync_spec.engine.calls import Abandoned, Gate, Interrupts, PendingCall
from polysync_spec.engine.events import (
    Lost,
    RunSubmitted,
    RunUnknown,
    SettleWait,
    Sink,
    SlotWait,
    SubmissionAbsent,
    SubmissionFound,
)
from polysync_spec.engine.ledger import Ledger, RunRecord
from polysync_spec.engine.phase import RunPhase
from polysync_spec.engine.rate import AdaptiveRate
from polysync_spec.engine.runstate import RunState
from polysync_spec.engine.schedule import INTERRUPTED, SkipReason
from polysync_spec.errors import PolysyncError
from polysync_spec.providers.base import RunClient, RunRequest
from polysync_spec.providers.clock import AwsClock
from polysync_spec.providers.registry import by_service

T = TypeVar("T")

SUBMIT_ATTEMPTS = 10
LOOKUP_ATTEMPTS = 5
# A start refused for want of a free slot (`Platform.busy_codes`) is tried again
# after this many seconds, doubling up to the cap.
SLOT_RETRY = 5.0
SLOT_RETRY_CAP = 60.0

# The executor's answers to a submission's end: a run Failed (with its message), a run
# Skipped (with the reason).
Settle = Callable[[RunState, RunPhase, str | None], None]
SkipRun = Callable[[RunState, SkipReason], None]


class Submitter:
    """Sends the runs of one apply, each exactly once, and recovers the submissions of
    an earlier one whose outcome was never recorded.

    `settle_seconds`: how long after a failed submission ended it must show in AWS's
    listings; only a submission unseen for that long is sent again. `answer_window`:
    seconds from a send to the latest moment its answer can come. `consistency_delay`:
    how long AWS's listings may lag a submission, waited before asking whether an
    ambiguous one went through. `clock`: AWS's clock, for recovery windows."""

    def __init__(
        self,
        apply_id: str,
        providers: Mapping[str, RunClient],
        ledger: Ledger,
        *,
        env: Mapping[str, str],
        clock: AwsClock,
        answer_window: float,
        settle_seconds: float,
        consistency_delay: float,
        interrupts: Interrupts,
        sink: Sink,
        settle: Settle,
        skip: SkipRun,
        gate: Gate | None = None,
    ) -> None:
        self.apply_id = apply_id
        self.providers = providers
        self.ledger = ledger
        self.env = env
        self.clock = clock
        self.answer_window = answer_window
        self.settle_seconds = settle_seconds
        self.consistency_delay = consistency_delay
        self.interrupts = interrupts
        self.emit = sink
        self._settle = settle
        self._skip = skip
        # Submissions left unanswered by an interrupt: (run, the call).
        self.abandoned: list[tuple[RunState, PendingCall[str]]] = []
        # The executor's bookkeeping lock, let go while waiting on AWS (parallel
        # submissions); a Gate nobody holds when submissions are made one at a time.
        self.gate = gate or Gate()
        # The start call's adaptive rate, one per service (AWS's quotas are per account).
        self.rates: dict[str, AdaptiveRate] = {}

    def rate(self, service: str) -> AdaptiveRate:
        """The adaptive rate of `service`'s start call (`Platform.submit_rate`)."""
        if service not in self.rates:
            start, ceiling = by_service(service).submit_rate
            self.rates[service] = AdaptiveRate(start, ceiling)
        return self.rates[service]

    def _pause(self, seconds: float) -> bool:
        """`Interrupts.pause`, the gate let go meanwhile."""
        with self.gate.released():
            return self.interrupts.pause(seconds)

    def _call(self, fn: Callable[[], T]) -> T:
        """`Interrupts.call`, the gate let go meanwhile."""
        with self.gate.released():
            return self.interrupts.call(fn)

    # ------------------------------------------------------------ sending

    def submit(self, state: RunState, native: Sequence[RunState]) -> None:
        """Submit one run as a new attempt; `native`: runs in flight that AWS is to
        wait on (dependsOn). The state says what came of it."""
        run = state.planned
        attempt_id = str(uuid.uuid4())
        try:
            request = run.resolved_request(self.env, attempt_id)
        except PolysyncError as exc:
            self._settle(state, RunPhase.FAILED, str(exc))
            return
        if native:
            held = by_service(run.service).with_dependencies(
                request, [str(dep.run_id) for dep in native]
            )
            if held is None:  # the scheduler only hands over edges the request has room for
                raise AssertionError(f"{run.key}: no room for {len(native)} held dependencies")
            request = held
        intent_at = self.clock.now()
        answer_by = intent_at + self.answer_window
        with self.gate.released():  # durable before the call; other runs' writes meanwhile
            self.ledger.intent(self.apply_id, run, attempt_id, intent_at, answer_by)
        provider = self.providers[run.platform]
        run_id = self._send(state, provider, RunRequest(run.api, request), intent_at)
        if run_id is None:
            return
        state.native_after = [dep.planned.key for dep in native]
        self.submitted(state, run_id)

    def submitted(self, state: RunState, run_id: str) -> None:
        """Record the run AWS accepted."""
        # The state first: should the ledger fail to record it, the run is still named.
        state.run_id, state.status, state.submitted_at = run_id, RunPhase.SUBMITTED, time.time()
        # A wait for a free slot is over: from here the run's own states say if it waits.
        state.waiting_since = state.retry_at = None
        with self.gate.released():
            self.ledger.submitted(self.apply_id, state.planned.key, run_id)
        state.message = None
        state.url = self.providers[state.planned.platform].monitor_url(run_id)
        holder = by_service(state.planned.service).title
        native = tuple(state.native_after)
        self.emit(RunSubmitted(state.planned.key, run_id, state.url, native, holder))

    def _send(
        self, state: RunState, provider: RunClient, request: RunRequest, intent_at: float
    ) -> str | None:
        """Submit exactly once. The submit client never retries by itself: a refused
        request (throttling) is sent again after a pause; an ambiguous failure (a 5xx, a
        lost connection) may have taken effect, so AWS is asked for the attempt's
        identity, and only once the settle time since the failed call ended has passed
        with nothing found is the request sent again (same identity: a late first copy
        would show as two runs, reported, never adopted). None: the state says what
        happened."""
        run = state.planned
        failure = ""
        for attempt in range(SUBMIT_ATTEMPTS):
            if attempt:  # a resend: recovery waits from its answer, not the first one's
                answer_by = self.clock.now() + self.answer_window
                with self.gate.released():
                    self.ledger.answer_due(self.apply_id, run.key, answer_by)
            rate = self.rate(run.service)
            if self._pause_for(rate):  # nothing sent: the attempt provably never was
                return self._interrupted_while_unsure(state, failure, False)
            try:
                run_id = self._call(lambda: provider.submit(request))
                rate.accepted()
                return run_id
            except Abandoned as abandoned:
                self.abandoned.append((state, abandoned.call))
                self._unknown(
                    state,
                    "the apply was interrupted while this submission was in flight; apply "
                    "again to find it by its identity",
                )
                return None
            except PolysyncError as exc:
                if getattr(exc, "code", None) in by_service(run.service).busy_codes:
                    self._wait_for_slot(state)
                    return None
                if getattr(exc, "throttled", False):
                    rate.throttled()
                if not (getattr(exc, "throttled", False) or getattr(exc, "ambiguous", False)):
                    self._settle(state, RunPhase.FAILED, str(exc))
                    return None
                failure = str(exc)
                ambiguous = bool(getattr(exc, "ambiguous", False))
            failed_at = time.monotonic()  # the settle time counts from the call's end
            if self._pause(min(0.05 * 2**attempt, 5.0) * (1 + random.random())):
                return self._interrupted_while_unsure(state, failure, ambiguous)
            if not ambiguous:
                continue
            found = self._settled_look(
                run.key, provider, request, intent_at, failed_at + self.settle_seconds
            )
            if self.interrupts.count:
                return self._interrupted_while_unsure(state, failure, ambiguous)
            if found is None:  # AWS could not be asked: never guess, never resubmit
                self._unknown(
                    state,
                    f"a submission failed ({failure}) and AWS could not be asked whether it "
                    "went through; apply again to find it by its identity",
                )
                return None
            if len(found) == 1:
                self.emit(SubmissionFound(run.key, found[0], Lost.FAILED))
                return found[0]
            if len(found) > 1:
                self._ambiguous(state, found)
                return None
            self.emit(SubmissionAbsent(run.key, Lost.FAILED))
        self._settle(state, RunPhase.FAILED, f"gave up after {SUBMIT_ATTEMPTS} attempts: {failure}")
        return None

    def _pause_for(self, rate: AdaptiveRate) -> bool:
        """Wait for the rate's next token, the gate let go; True when interrupted."""
        with self.gate.released():
            return not rate.acquire(self.interrupts.pause)

    def _wait_for_slot(self, state: RunState) -> None:
        """AWS refused to start the run for want of capacity (one of its platform's
        `busy_codes`, e.g. all of a job's concurrent runs are going). Nothing was started,
        so the intent is dropped; the run waits, and is tried again with a back-off, until
        the stall limit or --timeout end it."""
        run = state.planned
        self.ledger.forget(self.apply_id, [run.key])
        now = time.time()
        reason = by_service(run.service).busy_reason(run.values())
        state.message = f"waiting for a free slot ({reason})"
        first = state.waiting_since is None
        state.waiting_since = state.waiting_since or now
        # Back off as the wait grows (about doubling), between SLOT_RETRY and the cap.
        state.retry_at = now + min(max(SLOT_RETRY, now - state.waiting_since), SLOT_RETRY_CAP)
        if first:
            self.emit(SlotWait(run.key, reason))

    def _interrupted_while_unsure(
        self, state: RunState, failure: str, ambiguous: bool
    ) -> str | None:
        """An interrupt during the protocol of a failed submission. None: no run id."""
        if not ambiguous:  # throttled: it provably did not take effect
            self.ledger.forget(self.apply_id, [state.planned.key])
            self._skip(state, INTERRUPTED)
            return None
        self._unknown(
            state,
            f"a submission failed ({failure}) and was not visible in AWS when the apply was "
            "stopped; apply again to find it by its identity or send it once it provably "
            "never reached AWS",
        )
        return None

    # ------------------------------------------------------------ looking submissions up

    def recover(self, state: RunState, record: RunRecord) -> str | None:
        """A submission whose outcome was not recorded (a crash, an interrupt, a lost
        answer): find it in AWS by its attempt's identity. Returns the run id when found
        (re-attach); otherwise None, and the state says what happens next: Pending (it
        provably never reached AWS: submit it) or Unknown (it may exist: never guess)."""
        run, attempt_id, intent_at = state.planned, record.attempt_id, record.intent_at or 0.0
        # The latest moment the lost call could have answered: recorded before its latest
        # send (the crashed process's own timeouts), else this process's; plus a second,
        # the resolution of the Date header that AWS's clock is read from.
        answer_by = (record.answer_by or intent_at + self.answer_window) + 1.0
        if attempt_id is None:
            self._unknown(
                state,
                "a submission recorded by an older polysync without an attempt identity was "
                "interrupted; check the console, then apply with --retry-failed",
                keep_ledger=False,
            )
            return None
        provider = self.providers[run.platform]
        request = RunRequest(run.api, run.resolved_request(None, attempt_id))
        deadline = answer_by + self.settle_seconds  # on AWS's clock
        while True:
            begun = self.clock.now()
            found = self._look_for(provider, request, intent_at, delay=False)
            if found is None:
                self._unknown(
                    state,
                    "an interrupted submission could not be looked up in AWS; apply again to "
                    "find it by its identity",
                )
                return None
            if len(found) == 1:
                self.ledger.submitted(self.apply_id, run.key, found[0])
                self.emit(SubmissionFound(run.key, found[0], Lost.INTERRUPTED))
                return found[0]
            if found:
                self._ambiguous(state, found)
                return None
            # Not seen: it may still appear (a held request, the listings' lag) until the
            # latest moment its call could have ended plus the settle time; only a look
            # begun after that proves it never reached AWS.
            if begun >= deadline:
                break
            wait = max(deadline - self.clock.now(), 0.0)
            self.emit(SettleWait(run.key, Lost.INTERRUPTED))
            if self._pause(wait):
                self._unknown(
                    state,
                    "an interrupted submission was not visible in AWS yet when the apply "
                    "was stopped; apply again to submit it or find it",
                )
                return None
        self.ledger.forget(self.apply_id, [run.key])  # never reached AWS: submit it now
        self.emit(SubmissionAbsent(run.key, Lost.INTERRUPTED))
        return None

    def _settled_look(
        self,
        key: str,
        provider: RunClient,
        request: RunRequest,
        intent_at: float,
        deadline: float,
    ) -> list[str] | None:
        """The runs of an attempt whose answer was lost: looked for until one carries its
        identity, or until a look *begun* after `deadline` (monotonic seconds) finds none.
        A request that timed out or lost its connection may still be acted on after the
        client gave up, so absence before the settle time proves nothing, and neither
        does a look that began before it and answered after. None: AWS could not be
        asked, or an interrupt came."""
        waiting = False
        first = True
        while True:
            begun = time.monotonic()
            found = self._look_for(provider, request, intent_at, delay=first)
            first = False
            if found is None or found or begun >= deadline or self.interrupts.count:
                return found
            if not waiting:
                waiting = True
                self.emit(SettleWait(key, Lost.FAILED))
            if self._pause(deadline - time.monotonic()):
                return None

    def _look_for(
        self, provider: RunClient, request: RunRequest, intent_at: float, *, delay: bool = True
    ) -> list[str] | None:
        """Ask AWS for the runs of this attempt, after the listings' consistency delay; a
        failed look-up is asked again a few times. None: no answer could be had."""
        if delay and self._pause(self.consistency_delay):
            return None
        for attempt in range(LOOKUP_ATTEMPTS):
            try:
                return self._call(lambda: provider.find_submitted(request, intent_at))
            except Abandoned:
                return None
            except Exception:
                if self._pause(min(0.1 * 2**attempt, 5.0)):
                    return None
        return None

    # ------------------------------------------------------------ when it cannot be told

    def _ambiguous(self, state: RunState, candidates: list[str]) -> None:
        self._unknown(
            state,
            f"several runs carry this submission's identity ({', '.join(candidates)}); none "
            "was adopted: check them in the console",
            keep_ledger=False,
        )

    def _unknown(self, state: RunState, message: str, *, keep_ledger: bool = True) -> None:
        """Report a run Unknown. `keep_ledger`: its ledger row stays Submitting with its
        identity, so the next apply looks it up instead of guessing."""
        state.status, state.message, state.finished_at = RunPhase.UNKNOWN, message, time.time()
        if not keep_ledger:
            self.ledger.status(self.apply_id, state.planned.key, state.status, message, False)
        self.emit(RunUnknown(state.planned.key, message))
