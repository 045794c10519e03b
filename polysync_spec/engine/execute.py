# Over 400 lines: the apply loop and its interrupts, submissions in parallel and the event queue in one place.
"""Execute a plan: the scheduler's decisions, exactly-once submissions, one polling
loop, interrupts, the ledger.

The scheduler (`engine/schedule.py`) says which run may be submitted and which are
skipped; the submitter (`engine/submission.py`) sends each exactly once; the monitor
(`engine/monitor.py`) polls everything in flight in one loop (each provider batches its
own reads). A run that waits on another run of the same platform, when the platform can
hold that wait itself (`Platform.holds_dependency`), is
submitted at once with a dependency on that run's id, and AWS orders them. What happens is reported as events (`engine/events.py`) to the sink given.

Every AWS call of the loop runs on a thread of its own, so an interrupt is acted on at
once whatever the network does: a hung poll or submission is abandoned (its answer still
recorded if it comes) and the cancellations go out on connections of their own.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from polysync_spec.engine import events as ev
from polysync_spec.engine.calls import Abandoned, Gate, Interrupts, PendingCall
from polysync_spec.engine.ledger import Ledger, LedgerError
from polysync_spec.engine.listen import EventWaiting, Listener
from polysync_spec.engine.model import Plan, RunAction
from polysync_spec.engine.monitor import Limits, Monitor, PollPolicy
from polysync_spec.engine.phase import RunPhase
from polysync_spec.engine.resume import forgotten, view_of
from polysync_spec.engine.runstate import RunState
from polysync_spec.engine.schedule import Scheduler, Skip, SkipReason, Submit, nodes_of
from polysync_spec.engine.submission import Submitter
from polysync_spec.errors import ExitCode
from polysync_spec.manifest.models import OnFailure
from polysync_spec.providers.base import SUBMIT_CONNECTIONS, LogTail, RunClient
from polysync_spec.providers.clock import AwsClock

__all__ = ["ApplyResult", "Executor"]

# Seconds of submitting before the runs already in flight are polled again.
SUBMIT_SLICE = 10.0
# Submissions in flight at once, at most (each also within max_concurrency and its
# service's adaptive rate): enough to reach a 50-a-second quota at a second a call, and
# as many as the submit clients keep connections.
SUBMIT_WORKERS = SUBMIT_CONNECTIONS


@dataclass
class ApplyResult:
    apply_id: str
    runs: dict[str, RunState]
    exit_code: ExitCode
    interrupted: bool = False


class Executor:
    """Applies one plan: `run()` under the ledger's lock, `interrupt()` from a signal.
    `sink` receives every event; it may be set after construction (a live display
    needs `runs`, which the executor makes)."""

    def __init__(
        self,
        plan: Plan,
        providers: Mapping[str, RunClient],
        ledger: Ledger,
        *,
        env: Mapping[str, str],
        poll: PollPolicy | None = None,
        on_interrupt: str = "cancel",
        detach: bool = False,
        max_concurrency: int | None = None,
        sink: ev.Sink = ev.discard,
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
        events: EventWaiting | None = None,
    ) -> None:
        self.plan = plan
        self.apply_id = plan.plan_id
        self.providers = providers
        self.ledger = ledger
        self.poll_policy = poll or PollPolicy()
        self.on_interrupt = on_interrupt
        self.detach = detach
        self.max_concurrency = max_concurrency or plan.max_concurrency
        self.sink = sink
        self.on_failure = OnFailure(plan.on_failure)
        self.cancel_timeout = cancel_timeout
        self.rerun, self.retry_failed = rerun, retry_failed
        self.timeout = timeout
        self.log_lines = log_lines
        # The runs this apply handles: with `--only`, the others are neither submitted,
        # recorded nor cancelled, and their ledger rows are left as they are.
        self.runs = {run.key: RunState(run) for run in plan.selected_runs}
        self.interrupts = Interrupts()
        # The scheduler, the runs' states, the ledger and the sink: one thread at a time.
        self.gate = Gate()
        self._cancelled: set[str] = set()  # runs whose cancel was asked for (by key)
        # Following runs in AWS: shared with status --watch, cancel and logs --follow.
        self.monitor = Monitor(
            self.runs,
            providers,
            ledger,
            self.apply_id,
            sink=self._emit,
            limits=limits,
            timeout=timeout,
            stop=lambda: self.interrupts.count > 0,
        )
        self.monitor.settle = self._settle
        # Event-driven waiting (engine/listen.py): ends from the queues, reads to reconcile.
        self.listener = Listener(self.monitor, events) if events and events.feeds else None
        self.submitter = Submitter(
            self.apply_id,
            providers,
            ledger,
            env=env,
            clock=clock or AwsClock(),  # the sessions' that discovered and submit
            answer_window=answer_window,
            # The listings' lag, plus the time AWS may still act on a request whose answer
            # was lost: at least its own answer window (connect and read timeouts).
            settle_seconds=max(settle_seconds, answer_window + consistency_delay),
            consistency_delay=consistency_delay,
            interrupts=self.interrupts,
            sink=self._emit,
            settle=self._settle,
            skip=self._skip,
            gate=self.gate,
        )
        self.scheduler = self._scheduler()  # built again once the ledger is read

    def _scheduler(self) -> Scheduler:
        """A scheduler starting from the runs' states: what ended in an earlier apply is
        where it starts, not news (a run Failed then does not trigger on_failure)."""
        return Scheduler(
            nodes_of(self.plan),
            max_concurrency=self.max_concurrency,
            on_failure=self.on_failure,
            phases={key: state.status for key, state in self.runs.items()},
        )

    def _emit(self, event: ev.Event) -> None:
        self.sink(event)

    # ------------------------------------------------------------ control from signals

    def interrupt(self) -> None:
        """First call: stop (cancel or detach per `on_interrupt`). Second: detach at once."""
        self.interrupts.interrupt()

    # ------------------------------------------------------------ the loop

    def run(self) -> ApplyResult:
        """Apply the plan under its ledger lock. Raises LockHeld (nothing changed) when
        another apply of the same plan holds it."""
        self.ledger.acquire(self.apply_id)
        try:
            self.ledger.begin(self.apply_id, self.plan.to_dict())
            if self.rerun or self.retry_failed:  # under the lock: a refused apply changes nothing
                records = self.ledger.runs(self.apply_id)
                records = {k: r for k, r in records.items() if k in self.runs}
                again = forgotten(records, rerun=self.rerun, retry_failed=self.retry_failed)
                self.ledger.forget(self.apply_id, again)
            self._restore()
            self.scheduler = self._scheduler()
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

    def _loop(self) -> ApplyResult:
        interval = self.poll_policy.minimum
        while True:
            if self.interrupts.count:
                return self._stop_for_interrupt()
            more = self._schedule(deadline=time.monotonic() + SUBMIT_SLICE)
            if self.interrupts.count:  # during the submissions, the last one included
                return self._stop_for_interrupt()
            if self.detach and not self.scheduler.pending:
                self._emit(ev.Detached(sum(s.in_flight for s in self.runs.values())))
                return self._result(ExitCode.OK)
            busy = self.scheduler.pending or any(s.in_flight for s in self.runs.values())
            if not busy:
                return self._finish()
            if self.listener is not None:  # the queue's long poll is the wait
                if not more and self.listener.pause:
                    self.interrupts.sleep(self.monitor.bounded(self.listener.pause))
                if self.interrupts.count:
                    continue
                # Between slices of submissions, and while a run waits for a free slot,
                # the queue is not waited on longer than a poll interval.
                deferred = any(s.retry_at is not None for s in self.runs.values())
                changed = self.listener.step(interval, most=0.0 if more else None, cap=deferred)
                self._enforce_limits()
                interval = self.poll_policy.next(interval, changed)
                continue
            if not more:  # else poll at once, between slices of a long submission phase
                self.interrupts.sleep(self.monitor.bounded(interval))
            if self.interrupts.count:
                continue
            changed = self.monitor.poll()
            self._enforce_limits()
            interval = self.poll_policy.next(interval, changed, self._youngest_age())

    def _youngest_age(self) -> float | None:
        """Seconds since the most recent submission of a run in flight; None if none."""
        submitted = [s.submitted_at for s in self.runs.values() if s.in_flight and s.submitted_at]
        return time.time() - max(submitted) if submitted else None

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
                run_id = self.submitter.recover(state, record)
                if run_id is None:
                    continue
                state.run_id, state.submitted_at = run_id, time.time()
            if state.run_id:
                state.url = self.providers[state.planned.platform].monitor_url(state.run_id)
            if action is RunAction.SKIP:
                state.status = record.status
                self._emit(ev.EndedEarlier(key, state.status))
                continue
            # In flight, found, or Unknown with a run id: AWS is asked again.
            state.status = (
                RunPhase.SUBMITTED
                if record.status in (RunPhase.SUBMITTING, RunPhase.UNKNOWN)
                else record.status
            )
            self._emit(ev.Reattached(key, state.run_id, record.status))

    # ------------------------------------------------------------ scheduling

    def _schedule(self, deadline: float | None = None) -> bool:
        """Submit what may start now, up to `SUBMIT_WORKERS` submissions at once (each
        within its service's adaptive rate; `max_concurrency` counts a run from the
        moment its submission begins). True when it stopped at `deadline` with runs
        still to submit: a thousand submissions take a while, and the runs already in
        flight must not go unwatched meanwhile. Every submission it began has ended (or
        been abandoned to an interrupt) when it returns."""
        pool = ThreadPoolExecutor(SUBMIT_WORKERS, thread_name_prefix="polysync-submit")
        begun: list[Future[None]] = []
        try:
            with self.gate:
                return self._dispatch(pool, begun, deadline)
        finally:
            pool.shutdown(wait=True)  # the gate is let go: the submissions finish
            for future in begun:
                future.result()  # a worker's error (a ledger that fails) is the apply's

    def _dispatch(
        self, pool: ThreadPoolExecutor, begun: list[Future[None]], deadline: float | None
    ) -> bool:
        for state in self.runs.values():
            self._sync(state)
        running: set[Future[None]] = set()
        while True:
            if len(running) >= SUBMIT_WORKERS:
                self._wait_for_one(running)
                continue
            decision = self.scheduler.next()
            if decision is None:
                if not running:
                    return False
                self._wait_for_one(running)  # its end may free a slot or a dependent
                continue
            state = self.runs[decision.key]
            if isinstance(decision, Skip):
                self._skip(state, decision.reason)
                continue
            if self.interrupts.count:  # Ctrl-C mid-phase: submit nothing more
                return True
            if deadline is not None and begun and time.monotonic() > deadline:
                return True
            # Neither handed out again nor waited on natively until it has a run id;
            # it holds a slot of max_concurrency from now.
            self.scheduler.update(decision.key, RunPhase.SUBMITTING, in_flight=True)
            future = pool.submit(self._submit_one, state, decision)
            begun.append(future)
            running.add(future)

    def _submit_one(self, state: RunState, decision: Submit) -> None:
        """One submission, on a worker thread: its bookkeeping under the gate, its AWS
        calls and waits outside it."""
        with self.gate:
            try:
                self.submitter.submit(state, [self.runs[key] for key in decision.native_after])
            finally:
                self._sync(state)
            failed = self.scheduler.failed_first
            if (
                self.on_failure is OnFailure.CANCEL
                and failed is not None
                and state.in_flight
                and state.planned.key not in self._cancelled
            ):
                # The failure came while this submission was on its way: the run was in
                # flight in all but its id when the others were cancelled.
                reason = ev.CancelReason(ev.CancelCause.ON_FAILURE, failed)
                self.monitor.cancel([state], reason, stop=lambda: self.interrupts.count > 1)

    def _wait_for_one(self, running: set[Future[None]]) -> None:
        """Wait, the gate let go, until a submission in `running` ends."""
        with self.gate.released():
            done, _ = wait(running, return_when=FIRST_COMPLETED)
        running.difference_update(done)
        for future in done:
            future.result()

    def _sync(self, state: RunState) -> None:
        """Tell the scheduler where a run is. The run's state is the truth (the monitor
        and the submitter write it); a run held back by the platform is deferred."""
        key = state.planned.key
        self.scheduler.update(key, state.status, in_flight=state.in_flight)
        if state.status is RunPhase.PENDING and state.retry_at is not None:
            self.scheduler.defer(key, state.retry_at)

    def _skip(self, state: RunState, reason: SkipReason) -> None:
        run = state.planned
        state.status, state.message, state.finished_at = (
            RunPhase.SKIPPED,
            reason.message,
            time.time(),
        )
        self.ledger.skipped(self.apply_id, run, reason.message)
        self._sync(state)
        self._emit(ev.RunSkipped(run.key, reason))

    def _settle(self, state: RunState, status: RunPhase, message: str | None) -> None:
        self.monitor.record(state, status, message)
        first_failure = self.scheduler.failed_first is None
        self._sync(state)
        failed = self.scheduler.failed_first
        if first_failure and failed is not None and self.on_failure is OnFailure.CANCEL:
            self._cancel_in_flight(ev.CancelReason(ev.CancelCause.ON_FAILURE, failed))
        if status is RunPhase.FAILED and state.run_id and self.log_lines > 0:
            self._show_logs(state)

    def _show_logs(self, state: RunState) -> None:
        """The last lines of a failed run's logs, under its failure; never fails the apply."""
        provider = self.providers[state.planned.platform]
        try:
            tail = self.interrupts.call(
                lambda: provider.log_tail(state.run_id or "", self.log_lines)
            )
        except Abandoned:
            return
        except Exception as exc:
            tail = LogTail(note=f"cannot read its logs ({exc.__class__.__name__})")
        if tail.lines or tail.note:
            self._emit(ev.LogTailRead(state.planned.key, tail.lines, tail.source, tail.note))

    # ------------------------------------------------------------ polling

    def _enforce_limits(self) -> None:
        """No run is waited on forever (the monitor's bounds), and neither is a run that
        could not be submitted for want of a free slot: past the stall limit or the
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

    def _cancel_in_flight(self, reason: ev.CancelReason) -> set[str]:
        """Cancel every run in flight, best effort per run (the monitor's cancel): a
        failing or hung cancel is reported and every other run still gets its call.
        Returns the run ids whose cancel AWS accepted."""
        in_flight = [state for state in self.runs.values() if state.in_flight]
        self._cancelled.update(state.planned.key for state in in_flight)
        if not in_flight:
            return set()
        answers = self.monitor.cancel(in_flight, reason, stop=lambda: self.interrupts.count > 1)
        return {run_id for run_id, refusal in answers.items() if refusal is None}

    def _stop_for_interrupt(self) -> ApplyResult:
        for state in self.runs.values():
            self._sync(state)
        for skip in self.scheduler.interrupt():
            self._skip(self.runs[skip.key], skip.reason)
        if self.on_interrupt == "detach" or self.interrupts.count > 1:
            self._emit(ev.DetachedOnInterrupt())
            self._collect_abandoned(cancel=False)
            return self._result(ExitCode.INTERRUPTED, interrupted=True)
        self._emit(
            ev.CancellingOnInterrupt(
                tuple(s.planned.key for s in self.runs.values() if s.in_flight)
                + tuple(state.planned.key for state, _call in self.submitter.abandoned)
            )
        )
        cancelled = self._cancel_in_flight(ev.CancelReason(ev.CancelCause.INTERRUPTED))
        deadline = time.monotonic() + self.cancel_timeout
        interval = self.poll_policy.minimum

        def stop_waiting() -> bool:
            return self.interrupts.count > 1 or time.monotonic() > deadline

        while time.monotonic() < deadline:
            self._collect_abandoned(cancel=True)
            if not any(s.in_flight for s in self.runs.values()) and not self.submitter.abandoned:
                break
            if self.interrupts.count > 1:
                uncancelled = tuple(
                    s.planned.key
                    for s in self.runs.values()
                    if s.in_flight and s.run_id not in cancelled
                )
                self._emit(ev.StoppedWaitingForCancels(uncancelled))
                break
            self.interrupts.sleep(interval)
            self.monitor.poll(stop=stop_waiting)
            interval = min(interval * 1.5, 5.0)
        for state, _call in self.submitter.abandoned:  # no answer: the next apply looks
            self._emit(ev.SubmissionUnanswered(state.planned.key))
        return self._result(ExitCode.INTERRUPTED, interrupted=True)

    def _collect_abandoned(self, *, cancel: bool) -> None:
        """Submissions abandoned by the interrupt that have answered since: a run they
        created is recorded (and cancelled); a failure leaves the ledger's intent, so the
        next apply looks the attempt up by its identity."""
        still: list[tuple[RunState, PendingCall[str]]] = []
        for state, pending in self.submitter.abandoned:
            if not pending.done.is_set():
                still.append((state, pending))
                continue
            if pending.error is None and pending.value:
                state.status = RunPhase.PENDING  # reported Unknown while unanswered
                self.submitter.submitted(state, pending.value)
                if cancel:
                    self.monitor.cancel(
                        [state],
                        ev.CancelReason(ev.CancelCause.INTERRUPTED),
                        stop=lambda: self.interrupts.count > 1,
                    )
            else:  # the ledger keeps the intent: the next apply looks it up
                self._emit(ev.LateSubmissionFailed(state.planned.key, str(pending.error)))
        self.submitter.abandoned = still

    def _finish(self) -> ApplyResult:
        bad = any(s.status.bad for s in self.runs.values())
        return self._result(ExitCode.RUNS_FAILED if bad else ExitCode.OK)

    def _result(self, code: ExitCode, *, interrupted: bool = False) -> ApplyResult:
        return ApplyResult(self.apply_id, self.runs, code, interrupted)
