"""Execute a plan: dependency order, concurrency, polling, interrupts, the ledger.

The executor submits each run once its `after` edges allow it, up to `max_concurrency`
in flight, and polls everything in one loop (each provider batches its own reads). A Batch
run that waits for another Batch run's success on the same platform is submitted at once
with a native `dependsOn` on that run's job id, and Batch orders them.

Exactly once: every submission attempt has an identity of its own (a uuid4), written to
the ledger with the intent before the AWS call and carried by the request (the Batch job
name, the Glue marker argument). A submission whose answer was lost (a crash, a timeout,
a 5xx) is looked up by that identity only; it is sent again only once AWS must show it
and does not, and a run that is not provably this attempt's is never adopted.

Every AWS call of the loop runs on a thread of its own, so an interrupt is acted on at
once whatever the network does: a hung poll or submission is abandoned (its answer still
recorded if it comes) and the cancellations go out on connections of their own.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from polysync_spec.engine.ledger import Ledger, LedgerError, RunRecord
from polysync_spec.engine.model import LedgerView, Plan, PlannedRun, RunAction, native_edge
from polysync_spec.engine.monitor import (
    Abandoned,
    Emit,
    Limits,
    Monitor,
    PendingCall,
    PollPolicy,
    Provider,
    RunState,
    call,
    children_text,
)
from polysync_spec.engine.phase import RunPhase
from polysync_spec.errors import ExitCode, PolysyncError
from polysync_spec.providers.base import LogTail, RunRequest
from polysync_spec.providers.clock import AwsClock
from polysync_spec.redact import mask

__all__ = [
    "Applier",
    "ApplyResult",
    "PollPolicy",
    "RunState",
    "children_text",
    "read_ledger",
    "summary_table",
    "view_of",
]

T = TypeVar("T")
SUBMIT_ATTEMPTS = 10
LOOKUP_ATTEMPTS = 5
# Seconds of submitting before the runs already in flight are polled again.
SUBMIT_SLICE = 10.0
# A Glue StartJobRun refused for want of a free slot (MaxConcurrentRuns) is tried again
# after this many seconds, doubling up to the cap.
SLOT_RETRY = 5.0
SLOT_RETRY_CAP = 60.0


@dataclass
class ApplyResult:
    apply_id: str
    runs: dict[str, RunState]
    exit_code: ExitCode
    interrupted: bool = False


class Applier:
    def __init__(
        self,
        plan: Plan,
        providers: Mapping[str, Provider],
        ledger: Ledger,
        *,
        env: Mapping[str, str],
        poll: PollPolicy | None = None,
        on_interrupt: str = "cancel",
        detach: bool = False,
        max_concurrency: int | None = None,
        emit: Emit = print,
        cancel_timeout: float = 300.0,
        settle_seconds: float = 60.0,
        timeout: float | None = None,
        limits: Limits | None = None,
        log_lines: int = 30,
        consistency_delay: float = 2.0,
        answer_window: float = 30.0,
        rerun: bool = False,
        retry_failed: bool = False,
        clock: AwsClock | None = None,
    ) -> None:
        self.plan = plan
        self.apply_id = plan.plan_id
        self.providers = providers
        self.ledger = ledger
        self.env = env
        self.poll_policy = poll or PollPolicy()
        self.on_interrupt = on_interrupt
        self.detach = detach
        self.max_concurrency = max_concurrency or plan.max_concurrency
        self.emit = emit
        self.cancel_timeout = cancel_timeout
        # How long after a failed submission ended it must show in AWS's listings: the
        # listings' lag, plus the time AWS may still act on a request whose answer was
        # lost, which is at least the submission's own answer window (its connect and
        # read timeouts) and a margin. Only a submission unseen for that long is sent
        # again.
        self.settle_seconds = max(settle_seconds, answer_window + consistency_delay)
        # Seconds from a send to the latest moment its answer can come.
        self.answer_window = answer_window
        self.rerun, self.retry_failed = rerun, retry_failed
        # AWS's clock (the sessions' that discovered and submit), for recovery windows.
        self.clock = clock or AwsClock()
        self.timeout = timeout
        self.log_lines = log_lines
        # How long AWS's listings may lag a submission: waited before asking whether an
        # ambiguous submission went through.
        self.consistency_delay = consistency_delay
        self.runs = {run.key: RunState(run) for run in plan.runs}
        self._interrupts = 0
        # Following runs in AWS: shared with status --watch, cancel and logs --follow.
        self.monitor = Monitor(
            self.runs,
            providers,
            ledger,
            self.apply_id,
            emit=self._emit,
            limits=limits,
            timeout=timeout,
            stop=lambda: self._interrupts > 0,
        )
        self.monitor.settle = self._settle
        self._wake = threading.Event()
        self._failed_first: str | None = None
        # Submissions left unanswered by an interrupt: (run, attempt id, the call).
        self._abandoned: list[tuple[RunState, PendingCall[str]]] = []

    def _emit(self, line: str) -> None:
        self.emit(line)  # late-bound: the CLI sets `emit` after construction

    # ------------------------------------------------------------ control from signals

    def interrupt(self) -> None:
        """First call: stop (cancel or detach per `on_interrupt`). Second: detach at once."""
        self._interrupts += 1
        self._wake.set()

    # ------------------------------------------------------------ the loop

    def run(self) -> ApplyResult:
        """Apply the plan under its ledger lock. Raises LockHeld (nothing changed) when
        another apply of the same plan holds it."""
        self.ledger.acquire(self.apply_id)
        try:
            self.ledger.begin(self.apply_id, self.plan.to_dict())
            self._reset_runs()  # only under the lock: a refused apply changes nothing
            self._restore()
            return self._loop()
        except LedgerError as exc:
            # Nothing more can be recorded, so nothing more is submitted; what is in AWS
            # already is named, so that it can be followed or cancelled by hand.
            going = [
                f"{s.planned.key} ({s.run_id})"
                for s in self.runs.values()
                if s.run_id and not s.final
            ]
            tail = f"; runs in AWS the ledger may not hold: {', '.join(going)}" if going else ""
            raise LedgerError(f"{exc}{tail}") from None
        finally:
            with contextlib.suppress(LedgerError):
                self.ledger.release(self.apply_id)

    def _reset_runs(self) -> None:
        """--rerun forgets every run of this apply, --retry-failed those that did not
        succeed; each is submitted again as a new attempt, with a new identity. A
        submission whose outcome is unknown is never forgotten: it is looked up first."""
        if not (self.rerun or self.retry_failed):
            return
        again = [
            key
            for key, record in self.ledger.runs(self.apply_id).items()
            if record.status is not RunPhase.SUBMITTING and (self.rerun or record.status.retryable)
        ]
        self.ledger.forget(self.apply_id, again)

    # ------------------------------------------------------------ calls that never block

    def _call(self, fn: Callable[[], T], *, stop: Callable[[], bool] | None = None) -> T:
        """Run one AWS call on its own thread and wait for it; raise Abandoned when
        `stop()` (default: an interrupt) turns true first. Signals reach this thread at
        once: nothing here blocks in a socket."""
        return call(fn, stop or (lambda: self._interrupts > 0))

    def _pause(self, seconds: float) -> bool:
        """Wait `seconds`, or less when interrupted; True when an interrupt came."""
        if seconds > 0 and not self._interrupts:
            self._wake.wait(seconds)
        return self._interrupts > 0

    def _loop(self) -> ApplyResult:
        interval = self.poll_policy.minimum
        while True:
            if self._interrupts:
                return self._stop_for_interrupt()
            more = self._schedule(deadline=time.monotonic() + SUBMIT_SLICE)
            if self._interrupts:  # during the submissions, the last one included
                return self._stop_for_interrupt()
            if self.detach and not any(s.status is RunPhase.PENDING for s in self.runs.values()):
                self.emit(
                    f"detached: {sum(s.in_flight for s in self.runs.values())} run(s) continue in AWS"
                )
                return self._result(ExitCode.OK)
            busy = any(s.in_flight or s.status is RunPhase.PENDING for s in self.runs.values())
            if not busy:
                return self._finish()
            if not more:  # else poll at once, between slices of a long submission phase
                self._wake.wait(self.monitor.bounded(interval))
                self._wake.clear()
            if self._interrupts:
                continue
            changed = self.monitor.poll()
            self._enforce_limits()
            interval = self.poll_policy.next(interval, changed)

    def _restore(self) -> None:
        """Re-attach to runs the ledger knows for this apply identity; look up by their
        identity the submissions whose outcome is not known."""
        for key, record in self.ledger.runs(self.apply_id).items():
            state = self.runs.get(key)
            if state is None:
                continue
            state.run_id = record.run_id
            state.message = record.message
            state.submitted_at, state.started_at = record.submitted_at, record.started_at
            action = view_of(record, rerun=False, retry_failed=False).action
            if action is RunAction.LOOK_UP:
                run_id = self._recover(state, record)
                if run_id is None:
                    continue
                state.run_id, state.submitted_at = run_id, time.time()
            if state.run_id:
                state.url = self.providers[state.planned.platform].monitor_url(state.run_id)
            if action is RunAction.SKIP:
                state.status = record.status
                self.emit(
                    f"{key}: {state.status} in an earlier apply, not submitted again"
                    f"{_hint(state.status)}"
                )
                continue
            # In flight, found, or Unknown with a run id: AWS is asked again.
            state.status = (
                RunPhase.SUBMITTED
                if record.status in (RunPhase.SUBMITTING, RunPhase.UNKNOWN)
                else record.status
            )
            self.emit(f"{key}: re-attached to {state.run_id} ({record.status})")

    def _recover(self, state: RunState, record: RunRecord) -> str | None:
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
                self.emit(f"{run.key}: found {found[0]} from an interrupted submission")
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
            self.emit(
                f"{run.key}: an interrupted submission is not visible in AWS yet; waiting for "
                "AWS's listings to catch up before deciding"
            )
            if self._pause(wait):
                self._unknown(
                    state,
                    "an interrupted submission was not visible in AWS yet when the apply "
                    "was stopped; apply again to submit it or find it",
                )
                return None
        self.ledger.forget(self.apply_id, [run.key])  # never reached AWS: submit it now
        self.emit(f"{run.key}: an interrupted submission never reached AWS; submitting it")
        return None

    def _ambiguous(self, state: RunState, candidates: list[str]) -> None:
        self._unknown(
            state,
            f"several runs carry this submission's identity ({', '.join(candidates)}); none "
            "was adopted: check them in the console",
            keep_ledger=False,
        )

    def _unknown(self, state: RunState, message: str, *, keep_ledger: bool = True) -> bool:
        """Report a run Unknown. `keep_ledger`: its ledger row stays Submitting with its
        identity, so the next apply looks it up instead of guessing."""
        state.status, state.message, state.finished_at = (
            RunPhase.UNKNOWN,
            message,
            time.time(),
        )
        if not keep_ledger:
            self.ledger.status(self.apply_id, state.planned.key, state.status, message, False)
        self.emit(f"{state.planned.key}: Unknown ({message})")
        return False

    # ------------------------------------------------------------ scheduling

    def _schedule(self, deadline: float | None = None) -> bool:
        """Submit what may start now. True when it stopped at `deadline` with runs still
        to submit: a thousand submissions take a while, and the runs already in flight
        must not go unwatched meanwhile."""
        stopping = self.plan.on_failure in ("stop", "cancel") and self._failed_first is not None
        in_flight = sum(s.in_flight for s in self.runs.values())
        submitted = 0
        for state in self.runs.values():
            if state.status is not RunPhase.PENDING:
                continue
            if state.retry_at is not None and time.time() < state.retry_at:
                continue  # waiting for a free slot
            if stopping:
                self._skip(
                    state, f"on_failure: {self.plan.on_failure} after '{self._failed_first}' failed"
                )
                continue
            verdict, native = self._readiness(state)
            if verdict == "skip":
                continue
            if verdict == "wait":
                continue
            if in_flight >= self.max_concurrency:
                return False
            if self._interrupts:  # Ctrl-C mid-phase: submit nothing more
                return True
            if deadline is not None and submitted and time.monotonic() > deadline:
                return True
            self._submit(state, native)
            in_flight += state.in_flight
            submitted += 1
        return False

    def _readiness(self, state: RunState) -> tuple[str, list[str]]:
        native: list[str] = []
        for edge in state.planned.after:
            dep = self.runs[edge["run"]]
            if dep.status.ended:
                if not _condition_met(edge["on"], dep.status):
                    self._skip(
                        state,
                        f"'{dep.planned.key}' ended {dep.status}; this run needs it {edge['on']}",
                    )
                    return "skip", []
                continue
            if edge["on"] == "succeeded" and self._native_possible(state.planned, dep):
                native.append(dep.planned.key)
                continue
            return "wait", []
        return "ready", native

    def _native_possible(self, run: PlannedRun, dep: RunState) -> bool:
        return (
            native_edge(
                run.service, run.platform, dep.planned.service, dep.planned.platform, "succeeded"
            )
            and dep.run_id is not None
            and len(run.request.get("dependsOn", [])) + 1 <= 20  # Batch's limit
        )

    def _submit(self, state: RunState, native: list[str]) -> None:
        run = state.planned
        attempt_id = str(uuid.uuid4())
        try:
            request = run.resolved_request(self.env, attempt_id)
        except PolysyncError as exc:
            self._settle(state, RunPhase.FAILED, str(exc))
            return
        if native:
            request["dependsOn"] = [
                *request.get("dependsOn", []),
                *({"jobId": self.runs[k].run_id} for k in native),
            ]
        intent_at = self.clock.now()
        answer_by = intent_at + self.answer_window
        self.ledger.intent(self.apply_id, run, attempt_id, intent_at, answer_by)
        provider = self.providers[run.platform]
        run_id = self._send(state, provider, RunRequest(run.api, request), intent_at)
        if run_id is None:
            return
        state.native_after = native
        self._submitted(state, run_id)

    def _submitted(self, state: RunState, run_id: str) -> None:
        # The state first: should the ledger fail to record it, the run is still named.
        state.run_id, state.status, state.submitted_at = run_id, RunPhase.SUBMITTED, time.time()
        # A wait for a free slot is over: from here the run's own states say if it waits.
        state.waiting_since = state.retry_at = None
        self.ledger.submitted(self.apply_id, state.planned.key, run_id)
        state.message = None
        state.url = self.providers[state.planned.platform].monitor_url(run_id)
        native = state.native_after
        waits = f" (Batch waits for {', '.join(native)})" if native else ""
        self.emit(f"{state.planned.key}: submitted {run_id}{waits}  {state.url}")

    def _send(
        self, state: RunState, provider: Provider, request: RunRequest, intent_at: float
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
                self.ledger.answer_due(self.apply_id, run.key, answer_by)
            try:
                return self._call(lambda: provider.submit(request))
            except Abandoned as abandoned:
                self._abandoned.append((state, abandoned.call))
                self._unknown(
                    state,
                    "the apply was interrupted while this submission was in flight; apply "
                    "again to find it by its identity",
                )
                return None
            except PolysyncError as exc:
                if getattr(exc, "code", None) == "ConcurrentRunsExceededException":
                    self._wait_for_slot(state)
                    return None
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
            if self._interrupts:
                return self._interrupted_while_unsure(state, failure, ambiguous)
            if found is None:  # AWS could not be asked: never guess, never resubmit
                self._unknown(
                    state,
                    f"a submission failed ({failure}) and AWS could not be asked whether it "
                    "went through; apply again to find it by its identity",
                )
                return None
            if len(found) == 1:
                self.emit(f"{run.key}: the submission went through despite the error ({found[0]})")
                return found[0]
            if len(found) > 1:
                self._ambiguous(state, found)
                return None
            self.emit(f"{run.key}: the failed submission never reached AWS; sending it again")
        self._settle(state, RunPhase.FAILED, f"gave up after {SUBMIT_ATTEMPTS} attempts: {failure}")
        return None

    def _wait_for_slot(self, state: RunState) -> None:
        """Glue refused the run: MaxConcurrentRuns runs of the job are going. Nothing was
        started, so the intent is dropped; the run waits, and is tried again with a
        back-off, until the stall limit or --timeout end it."""
        run = state.planned
        self.ledger.forget(self.apply_id, [run.key])
        now = time.time()
        limit = (run.compute.get("max_concurrent_runs") or {}).get("value")
        state.message = "waiting for a free slot" + (
            f" (MaxConcurrentRuns {limit})" if limit else " (MaxConcurrentRuns reached)"
        )
        first = state.waiting_since is None
        state.waiting_since = state.waiting_since or now
        # Back off as the wait grows (about doubling), between SLOT_RETRY and the cap.
        state.retry_at = now + min(max(SLOT_RETRY, now - state.waiting_since), SLOT_RETRY_CAP)
        if first:
            self.emit(f"{run.key}: {state.message}")

    def _interrupted_while_unsure(
        self, state: RunState, failure: str, ambiguous: bool
    ) -> str | None:
        """An interrupt during the protocol of a failed submission. None: no run id."""
        if not ambiguous:  # throttled: it provably did not take effect
            self.ledger.forget(self.apply_id, [state.planned.key])
            self._skip(state, "the apply was interrupted")
            return None
        self._unknown(
            state,
            f"a submission failed ({failure}) and was not visible in AWS when the apply was "
            "stopped; apply again to find it by its identity or send it once it provably "
            "never reached AWS",
        )
        return None

    def _settled_look(
        self,
        key: str,
        provider: Provider,
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
            if found is None or found or begun >= deadline or self._interrupts:
                return found
            if not waiting:
                waiting = True
                self.emit(
                    f"{key}: the failed submission is not visible in AWS; waiting for the "
                    "settle time before deciding whether to send it again"
                )
            if self._pause(deadline - time.monotonic()):
                return None

    def _look_for(
        self, provider: Provider, request: RunRequest, intent_at: float, *, delay: bool = True
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

    def _skip(self, state: RunState, reason: str) -> None:
        run = state.planned
        state.status, state.message, state.finished_at = RunPhase.SKIPPED, reason, time.time()
        self.ledger.skipped(self.apply_id, run, reason)
        self.emit(f"{run.key}: Skipped ({reason})")

    def _settle(self, state: RunState, status: RunPhase, message: str | None) -> None:
        self.monitor.record(state, status, message)
        if status == RunPhase.FAILED and self._failed_first is None:
            self._failed_first = state.planned.key
            if self.plan.on_failure == "cancel":
                self._cancel_in_flight(f"on_failure: cancel after '{state.planned.key}' failed")
        if status == RunPhase.FAILED and state.run_id and self.log_lines > 0:
            self._show_logs(state)

    def _show_logs(self, state: RunState) -> None:
        """The last lines of a failed run's logs, under its failure; never fails the apply."""
        provider = self.providers[state.planned.platform]
        try:
            tail = self._call(lambda: provider.log_tail(state.run_id or "", self.log_lines))
        except Abandoned:
            return
        except Exception as exc:
            tail = LogTail(note=f"cannot read its logs ({exc.__class__.__name__})")
        if tail.lines:
            block = "\n".join(f"    | {line}" for line in tail.lines)
            self.emit(
                f"{state.planned.key}: last {len(tail.lines)} log line(s) from {tail.source}:\n{block}"
            )
        elif tail.note:
            self.emit(f"{state.planned.key}: (no logs: {tail.note})")

    # ------------------------------------------------------------ polling

    def _enforce_limits(self) -> None:
        """No run is waited on forever (the monitor's bounds), and neither is a run that
        could not be submitted for want of a free Glue slot: past the stall limit or the
        --timeout it ends Failed, never having started, with the reason."""
        self.monitor.enforce_limits()
        now = time.time()
        for state in self.runs.values():
            if state.status is not RunPhase.PENDING or state.waiting_since is None:
                continue
            waited = now - state.waiting_since
            if self.monitor.timed_out:
                why = f"the --timeout of {self.timeout:.0f}s was reached"
            elif waited > self.monitor.limits.stall:
                why = f"the stall limit of {self.monitor.limits.stall:.0f}s was reached"
            else:
                continue
            state.retry_at = None
            self._settle(state, RunPhase.FAILED, f"never started: {state.message}; {why}")

    # ------------------------------------------------------------ interrupts and the end

    def _cancel_in_flight(self, reason: str) -> None:
        """Cancel every run in flight, best effort per run (the monitor's cancel): a
        failing or hung cancel is reported and every other run still gets its call."""
        in_flight = [state for state in self.runs.values() if state.in_flight]
        if in_flight:
            self.monitor.cancel(
                in_flight,
                reason,
                stop=lambda: self._interrupts > 1,
            )

    def _stop_for_interrupt(self) -> ApplyResult:
        for state in self.runs.values():
            if state.status is RunPhase.PENDING:
                self._skip(state, "the apply was interrupted")
        if self.on_interrupt == "detach" or self._interrupts > 1:
            self.emit("interrupted: detached, in-flight runs continue in AWS")
            self._collect_abandoned(cancel=False)
            return self._result(ExitCode.INTERRUPTED, interrupted=True)
        self._cancel_in_flight("interrupted")
        deadline = time.monotonic() + self.cancel_timeout
        interval = self.poll_policy.minimum

        def stop_waiting() -> bool:
            return self._interrupts > 1 or time.monotonic() > deadline

        while time.monotonic() < deadline:
            self._collect_abandoned(cancel=True)
            if not any(s.in_flight for s in self.runs.values()) and not self._abandoned:
                break
            if self._interrupts > 1:
                self.emit("second interrupt: detached without waiting for the cancellations")
                break
            self._wake.wait(interval)
            self._wake.clear()
            self.monitor.poll(stop=stop_waiting)
            interval = min(interval * 1.5, 5.0)
        for state, _call in self._abandoned:  # still no answer: the next apply looks it up
            self.emit(
                f"{state.planned.key}: its submission got no answer before the apply stopped; "
                "apply again to find it by its identity (it was not cancelled)"
            )
        return self._result(ExitCode.INTERRUPTED, interrupted=True)

    def _collect_abandoned(self, *, cancel: bool) -> None:
        """Submissions abandoned by the interrupt that have answered since: a run they
        created is recorded (and cancelled); a failure leaves the ledger's intent, so the
        next apply looks the attempt up by its identity."""
        still: list[tuple[RunState, PendingCall[str]]] = []
        for state, pending in self._abandoned:
            if not pending.done.is_set():
                still.append((state, pending))
                continue
            if pending.error is None and pending.value:
                state.status = RunPhase.PENDING  # reported Unknown while unanswered
                self._submitted(state, pending.value)
                if cancel:
                    self.monitor.cancel([state], "interrupted", stop=lambda: self._interrupts > 1)
            else:  # the ledger keeps the intent: the next apply looks it up
                self.emit(
                    f"{state.planned.key}: its submission failed after the interrupt "
                    f"({pending.error}); apply again to find it by its identity"
                )
        self._abandoned = still

    def _finish(self) -> ApplyResult:
        bad = any(s.status.bad for s in self.runs.values())
        return self._result(ExitCode.RUNS_FAILED if bad else ExitCode.OK)

    def _result(self, code: ExitCode, *, interrupted: bool = False) -> ApplyResult:
        return ApplyResult(self.apply_id, self.runs, code, interrupted)


def view_of(record: RunRecord | None, *, rerun: bool, retry_failed: bool) -> LedgerView:
    """What apply does with a run given its ledger record: the one rule that `plan`
    shows and `apply` follows."""
    if record is None:
        return LedgerView(RunAction.SUBMIT)
    if record.status is RunPhase.SUBMITTING and record.run_id is None:
        # Never forgotten, whatever the flags: it may exist in AWS.
        return LedgerView(RunAction.LOOK_UP, record.status)
    if rerun or (retry_failed and record.status.retryable):
        return LedgerView(RunAction.SUBMIT, record.status, record.run_id)
    if record.status == RunPhase.UNKNOWN and record.run_id:
        return LedgerView(RunAction.REATTACH, record.status, record.run_id)  # ask AWS again
    if record.status.ended:
        return LedgerView(RunAction.SKIP, record.status, record.run_id)
    return LedgerView(RunAction.REATTACH, record.status, record.run_id)


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
                dep = views.get(edge["run"])
                if (
                    dep is not None
                    and dep.action is RunAction.SKIP
                    and dep.status is not None
                    and not _condition_met(edge["on"], dep.status)
                ):
                    reason = f"'{edge['run']}' ended {dep.status}; this run needs it {edge['on']}"
                    views[run.key] = LedgerView(RunAction.SKIP, RunPhase.SKIPPED, None, reason)
                    changed = True
                    break
    plan.ledger = views


def resubmit_flag(status: str | None) -> str:
    """The apply flag that submits again a run an earlier apply ended with `status`
    (the rule `_reset_runs` follows; plan shows it)."""
    return "--retry-failed" if status and RunPhase(status).retryable else "--rerun"


def _hint(status: RunPhase) -> str:
    """Which apply flag submits a run that an earlier apply ended with `status`."""
    if status.retryable:
        return " (apply --retry-failed submits it again)"
    if status == RunPhase.UNKNOWN:
        return " (check it in the console; apply --rerun starts every run afresh)"
    return " (apply --rerun starts every run afresh)"


def _condition_met(condition: str, status: str) -> bool:
    if condition == "succeeded":
        return status == RunPhase.SUCCESS
    if condition == "failed":
        return status in (RunPhase.FAILED, RunPhase.UNKNOWN)
    return True  # completed: any end, skipped included


def summary_table(runs: Mapping[str, RunState]) -> str:
    rows = [("run", "status", "run id", "message")]
    for key, state in runs.items():
        # Masked before it is cut: a secret cut in half would no longer be recognised.
        message = mask(state.message or "")[:80]
        rows.append((key, state.status, state.run_id or "-", message))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [
        "  ".join(cell.ljust(widths[i]) if i < 3 else cell for i, cell in enumerate(row)).rstrip()
        for row in rows
    ]
    return "\n".join(lines)
