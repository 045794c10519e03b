"""Execute a plan: dependency order, concurrency, polling, interrupts, the ledger.

The executor submits each run once its `after` edges allow it, up to `max_concurrency`
in flight, and polls everything in one loop (each provider batches its own reads). A Batch
run that waits for another Batch run's success on the same platform is submitted at once
with a native `dependsOn` on that run's job id, and Batch orders them.

Every submission is recorded in the ledger before and after the AWS call. A run whose
intent was recorded without a run id (the process died mid-submit) is never submitted
again: it is reported Unknown, to be checked in the console.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from polysync_spec.engine.ledger import Ledger
from polysync_spec.engine.model import Plan, PlannedRun, native_edge
from polysync_spec.errors import ExitCode, PolysyncError
from polysync_spec.providers.base import LogTail, RunRequest, RunStatus, StatusReport

PENDING = "Pending"
SUBMITTED = "Submitted"
SKIPPED = "Skipped"
FINAL = frozenset(
    {RunStatus.SUCCESS.value, RunStatus.FAILED.value, RunStatus.CANCELLED.value, SKIPPED}
)
THROTTLING = frozenset(
    {"ThrottlingException", "TooManyRequestsException", "Throttling", "RequestLimitExceeded"}
)
DEPENDENCY_FAILED = "Dependent Job failed"
SUBMIT_ATTEMPTS = 10
LOOKUP_ATTEMPTS = 5
# Seconds of submitting before the runs already in flight are polled again.
SUBMIT_SLICE = 10.0


class Provider(Protocol):
    def submit(self, request: RunRequest) -> str: ...
    def find_submitted(self, request: RunRequest, since: float) -> list[str]: ...
    def poll(self, run_ids: list[str]) -> dict[str, StatusReport]: ...
    def cancel(self, run_ids: list[str]) -> dict[str, str | None]: ...
    def monitor_url(self, run_id: str) -> str: ...
    def log_tail(self, run_id: str, lines: int) -> LogTail: ...


@dataclass
class PollPolicy:
    """Poll intervals back off from `minimum` to `maximum` while nothing changes; any
    change brings them back down. Jitter keeps many appliers from polling in step."""

    minimum: float = 2.0
    maximum: float = 30.0
    factor: float = 1.5
    jitter: float = 0.1

    def next(self, current: float, changed: bool) -> float:
        base = self.minimum if changed else min(self.maximum, current * self.factor)
        return base * (1 + random.uniform(-self.jitter, self.jitter))


@dataclass
class RunState:
    planned: PlannedRun
    status: str = PENDING
    run_id: str | None = None
    message: str | None = None
    url: str | None = None
    state: str | None = None  # the service's own state (RUNNABLE, STOPPING, ...)
    submitted_at: float | None = None
    finished_at: float | None = None
    native_after: list[str] = field(default_factory=list)
    gave_up: bool = False  # past its limit (or the apply's --timeout): no longer waited on
    children: dict[str, int] | None = None  # array jobs: child counts by state

    @property
    def final(self) -> bool:
        return self.status in FINAL

    @property
    def in_flight(self) -> bool:
        return self.run_id is not None and not self.final and not self.gave_up

    def limit_seconds(self) -> float | None:
        """How long the run may take by its own settings: the Glue timeout, or the Batch
        attempt duration times the attempts. None when neither is known."""
        compute = self.planned.compute
        if self.planned.service == "glue":
            minutes = compute.get("timeout_minutes", {}).get("value")
            return float(minutes) * 60 if minutes else None
        duration = compute.get("attempt_duration_seconds", {}).get("value")
        attempts = compute.get("retry_attempts", {}).get("value") or 1
        return float(duration) * attempts if duration else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.planned.key,
            "status": self.status,
            "state": self.state,
            "run_id": self.run_id,
            "url": self.url,
            "message": self.message,
            "submitted_at": self.submitted_at,
            "finished_at": self.finished_at,
        }


@dataclass
class ApplyResult:
    apply_id: str
    runs: dict[str, RunState]
    exit_code: ExitCode
    interrupted: bool = False


Emit = Callable[[str], None]


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
        sleep: Callable[[float], None] = time.sleep,
        cancel_timeout: float = 300.0,
        settle_seconds: float = 60.0,
        timeout: float | None = None,
        grace_seconds: float = 600.0,
        log_lines: int = 30,
        consistency_delay: float = 2.0,
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
        self.sleep = sleep
        self.cancel_timeout = cancel_timeout
        # How long after it was sent a submission must show in AWS's listings: the lag
        # of the listings, plus the time AWS may still act on a request whose answer was
        # lost. Only a submission unseen for that long is sent again.
        self.settle_seconds = settle_seconds
        self.timeout = timeout
        self.grace_seconds = grace_seconds
        self.log_lines = log_lines
        # How long AWS's listings may lag a submission: waited before asking whether an
        # ambiguous submission went through.
        self.consistency_delay = consistency_delay
        self._started = time.time()
        self.runs = {run.key: RunState(run) for run in plan.runs}
        self._interrupts = 0
        self._wake = threading.Event()
        self._failed_first: str | None = None

    # ------------------------------------------------------------ control from signals

    def interrupt(self) -> None:
        """First call: stop (cancel or detach per `on_interrupt`). Second: detach at once."""
        self._interrupts += 1
        self._wake.set()

    # ------------------------------------------------------------ the loop

    def run(self) -> ApplyResult:
        self.ledger.acquire(self.apply_id)
        try:
            self.ledger.begin(self.apply_id, self.plan.to_dict())
            self._restore()
            return self._loop()
        finally:
            self.ledger.release(self.apply_id)

    def _loop(self) -> ApplyResult:
        interval = self.poll_policy.minimum
        while True:
            if self._interrupts:
                return self._stop_for_interrupt()
            more = self._schedule(deadline=time.monotonic() + SUBMIT_SLICE)
            if self.detach and not any(s.status == PENDING for s in self.runs.values()):
                self.emit(
                    f"detached: {sum(s.in_flight for s in self.runs.values())} run(s) continue in AWS"
                )
                return self._result(ExitCode.OK)
            busy = any(s.in_flight or s.status == PENDING for s in self.runs.values())
            if not busy:
                return self._finish()
            if not more:  # else poll at once, between slices of a long submission phase
                self._wake.wait(interval)
                self._wake.clear()
            if self._interrupts:
                continue
            changed = self._poll()
            self._enforce_limits()
            interval = self.poll_policy.next(interval, changed)

    def _restore(self) -> None:
        """Re-attach to runs the ledger knows for this apply identity."""
        for key, record in self.ledger.runs(self.apply_id).items():
            state = self.runs.get(key)
            if state is None:
                continue
            state.run_id = record.run_id
            state.message = record.message
            if record.status == "Submitting" and record.run_id is None:
                if not self._recover(state, record.intent_at or 0.0):
                    continue
                record.status = SUBMITTED
                state.run_id = self.ledger.runs(self.apply_id)[key].run_id
            state.status = record.status if record.status != "Submitting" else SUBMITTED
            if state.run_id:
                state.url = self.providers[state.planned.platform].monitor_url(state.run_id)
            if state.final or state.status == RunStatus.UNKNOWN.value:
                self.emit(f"{key}: {state.status} in an earlier apply, not submitted again")
            else:
                self.emit(f"{key}: re-attached to {state.run_id} ({state.status})")

    def _recover(self, state: RunState, intent_at: float) -> bool:
        """A run whose submission was interrupted before its id was recorded: find it in
        AWS. True when found (re-attach); otherwise the state says what happens next."""
        run = state.planned
        provider = self.providers[run.platform]
        try:
            request = RunRequest(run.api, run.resolved_request(self.env))
            candidates = provider.find_submitted(request, intent_at)
        except Exception as exc:
            return self._unknown(state, f"could not look for an interrupted submission ({exc})")
        if len(candidates) == 1:
            self.ledger.submitted(self.apply_id, run.key, candidates[0])
            self.emit(f"{run.key}: found {candidates[0]} from an interrupted submission")
            return True
        if candidates:
            return self._unknown(
                state, f"an interrupted submission matches several runs: {', '.join(candidates)}"
            )
        wait = intent_at + self.settle_seconds - time.time()
        if wait > 0:
            # AWS's listings may lag a submission: wait until they must show it, then ask
            # once more. Interruptible: a stop here leaves the run Unknown, not submitted.
            self.emit(
                f"{run.key}: an interrupted submission is not visible in AWS yet; waiting "
                f"{wait:.0f} s for AWS's listings to catch up before deciding"
            )
            if self._wake.wait(wait) and self._interrupts:
                return self._unknown(
                    state,
                    "an interrupted submission was not visible in AWS yet when the apply "
                    "was stopped; apply again to submit it or find it",
                )
            return self._recover(state, intent_at)
        self.ledger.forget(self.apply_id, [run.key])  # never reached AWS: submit it now
        self.emit(f"{run.key}: an interrupted submission never reached AWS; submitting it")
        return False

    def _unknown(self, state: RunState, message: str) -> bool:
        state.status, state.message, state.finished_at = (
            RunStatus.UNKNOWN.value,
            message,
            time.time(),
        )
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
            if state.status != PENDING:
                continue
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
            if dep.final or dep.status == RunStatus.UNKNOWN.value:
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
        try:
            request = run.resolved_request(self.env)
        except PolysyncError as exc:
            self._settle(state, RunStatus.FAILED.value, str(exc))
            return
        if native:
            request["dependsOn"] = [
                *request.get("dependsOn", []),
                *({"jobId": self.runs[k].run_id} for k in native),
            ]
        self.ledger.intent(self.apply_id, run)
        intent_at = time.time()
        provider = self.providers[run.platform]
        submitted = self._send(state, provider, RunRequest(run.api, request), intent_at)
        if submitted is None:
            return
        run_id = submitted
        self.ledger.submitted(self.apply_id, run.key, run_id)
        state.run_id, state.status, state.submitted_at = run_id, SUBMITTED, time.time()
        state.native_after = native
        state.url = provider.monitor_url(run_id)
        waits = f" (Batch waits for {', '.join(native)})" if native else ""
        self.emit(f"{run.key}: submitted {run_id}{waits}  {state.url}")

    def _send(
        self, state: RunState, provider: Provider, request: RunRequest, intent_at: float
    ) -> str | None:
        """Submit exactly once. The submit client never retries by itself: a refused
        request (throttling) is sent again after a pause; an ambiguous failure (a 5xx, a
        lost connection) may have taken effect, so AWS is asked first, and only a request
        that provably created nothing is sent again. None: the state says what happened."""
        run = state.planned
        for attempt in range(SUBMIT_ATTEMPTS):
            sent_at = time.time()
            try:
                return provider.submit(request)
            except PolysyncError as exc:
                if getattr(exc, "code", None) == "ConcurrentRunsExceededException":
                    # Another run of the job holds the slot: try again on a later round.
                    self.ledger.forget(self.apply_id, [run.key])
                    return None
                if not (getattr(exc, "throttled", False) or getattr(exc, "ambiguous", False)):
                    self._settle(state, RunStatus.FAILED.value, str(exc))
                    return None
                failure = str(exc)
                ambiguous = bool(getattr(exc, "ambiguous", False))
            self.sleep(min(0.05 * 2**attempt, 5.0) * (1 + random.random()))
            if ambiguous:
                found = self._look_for(provider, request, intent_at)
                wait = sent_at + self.settle_seconds - time.time()
                if found == [] and wait > 0:
                    # A request that timed out or lost its connection may still be acted
                    # on after the client gave up: absence now proves nothing. Resend only
                    # once the listings must show it. Interruptible.
                    self.emit(
                        f"{run.key}: the failed submission is not visible in AWS; waiting "
                        f"{wait:.0f} s before deciding whether to send it again"
                    )
                    if self._wake.wait(wait) and self._interrupts:
                        self._unknown(
                            state,
                            f"a submission failed ({failure}) and was not visible in AWS when "
                            "the apply was stopped; check the console, or apply with "
                            "--retry-failed to send it again",
                        )
                        return None
                    found = self._look_for(provider, request, intent_at)
                if found is None:  # AWS could not be asked: never guess, never resubmit
                    self._unknown(
                        state,
                        f"a submission failed ({failure}) and AWS could not be asked whether it went through",
                    )
                    return None
                if len(found) == 1:
                    self.emit(
                        f"{run.key}: the submission went through despite the error ({found[0]})"
                    )
                    return found[0]
                if len(found) > 1:
                    self._unknown(
                        state, f"a failed submission matches several runs: {', '.join(found)}"
                    )
                    return None
        self._settle(
            state, RunStatus.FAILED.value, f"gave up after {SUBMIT_ATTEMPTS} attempts: {failure}"
        )
        return None

    def _look_for(
        self, provider: Provider, request: RunRequest, intent_at: float
    ) -> list[str] | None:
        """Ask AWS for runs this request created, after the listings' consistency delay;
        a failed look-up is asked again a few times. None: no answer could be had."""
        self.sleep(self.consistency_delay)
        for attempt in range(LOOKUP_ATTEMPTS):
            try:
                return provider.find_submitted(request, intent_at)
            except Exception:
                self.sleep(min(0.1 * 2**attempt, 5.0))
        return None

    def _skip(self, state: RunState, reason: str) -> None:
        run = state.planned
        state.status, state.message, state.finished_at = SKIPPED, reason, time.time()
        self.ledger.skipped(self.apply_id, run, reason)
        self.emit(f"{run.key}: Skipped ({reason})")

    def _settle(self, state: RunState, status: str, message: str | None) -> None:
        state.status, state.message, state.finished_at = status, message, time.time()
        final = status in FINAL
        self.ledger.status(self.apply_id, state.planned.key, status, message, final)
        if status == RunStatus.FAILED.value and self._failed_first is None:
            self._failed_first = state.planned.key
            if self.plan.on_failure == "cancel":
                self._cancel_in_flight(f"on_failure: cancel after '{state.planned.key}' failed")
        suffix = f": {message}" if message else ""
        self.emit(f"{state.planned.key}: {status}{suffix}")
        if status == RunStatus.FAILED.value and state.run_id and self.log_lines > 0:
            self._show_logs(state)

    def _show_logs(self, state: RunState) -> None:
        """The last lines of a failed run's logs, under its failure; never fails the apply."""
        try:
            tail = self.providers[state.planned.platform].log_tail(
                state.run_id or "", self.log_lines
            )
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

    def _poll(self) -> bool:
        changed = False
        by_platform: dict[str, list[RunState]] = {}
        for state in self.runs.values():
            if state.in_flight:
                by_platform.setdefault(state.planned.platform, []).append(state)
        for platform, states in by_platform.items():
            try:
                reports = self.providers[platform].poll([s.run_id for s in states if s.run_id])
            except Exception as exc:  # a failed read is not a failed run: try again later
                kind = "throttled" if _error_code(exc) in THROTTLING else "could not read statuses"
                self.emit(f"{platform}: {kind} ({exc.__class__.__name__}); polling again later")
                continue
            for state in states:
                report = reports.get(state.run_id or "")
                if report is None:
                    continue
                changed |= self._update(state, report)
        return changed

    def _update(self, state: RunState, report: StatusReport) -> bool:
        status: str = report.status.value
        message: str | None
        if (
            status == RunStatus.FAILED.value
            and report.message == DEPENDENCY_FAILED
            and state.native_after
        ):
            status, message = (
                SKIPPED,
                f"{', '.join(state.native_after)} did not succeed (Batch dependsOn)",
            )
        else:
            message = report.message
        children = dict(report.children) if report.children else None
        if status == state.status and report.state == state.state and children == state.children:
            return False
        state.state, state.children = report.state, children
        if status in FINAL:
            self._settle(state, status, message)
            return True
        if status != state.status:
            state.status = status
            self.ledger.status(self.apply_id, state.planned.key, status, message, False)
            if status in (RunStatus.STARTING.value, RunStatus.RUNNING.value):
                self.ledger.started(self.apply_id, state.planned.key)
            shown = f" ({report.state})" if report.state else ""
            self.emit(f"{state.planned.key}: {status}{shown}")
        elif children is not None:
            self.emit(f"{state.planned.key}: {children_text(children)}")
        return True

    def _enforce_limits(self) -> None:
        """No run is waited on forever: past its own limit plus a grace period (or past the
        apply's --timeout) it is reported Unknown with what was last seen."""
        now = time.time()
        apply_over = self.timeout is not None and now - self._started > self.timeout
        for state in self.runs.values():
            if not state.in_flight or state.submitted_at is None:
                continue
            limit = state.limit_seconds()
            elapsed = now - state.submitted_at
            if apply_over:
                reason = f"apply --timeout of {self.timeout:.0f}s reached"
            elif limit is not None and elapsed > limit + self.grace_seconds:
                reason = f"beyond its limit of {limit:.0f}s plus {self.grace_seconds:.0f}s grace"
            else:
                continue
            state.gave_up = True
            last = state.state or state.status
            self._settle(
                state,
                RunStatus.UNKNOWN.value,
                f"still {last} after {elapsed:.0f}s, {reason}; it was not cancelled",
            )

    # ------------------------------------------------------------ interrupts and the end

    def _cancel_in_flight(self, reason: str) -> None:
        by_platform: dict[str, list[str]] = {}
        for state in self.runs.values():
            if state.in_flight and state.run_id:
                by_platform.setdefault(state.planned.platform, []).append(state.run_id)
        for platform, run_ids in by_platform.items():
            results = self.providers[platform].cancel(run_ids)
            for run_id, error in results.items():
                note = f" (refused: {error})" if error else ""
                self.emit(f"cancel {run_id}: {reason}{note}")

    def _stop_for_interrupt(self) -> ApplyResult:
        for state in self.runs.values():
            if state.status == PENDING:
                self._skip(state, "the apply was interrupted")
        if self.on_interrupt == "detach" or self._interrupts > 1:
            self.emit("interrupted: detached, in-flight runs continue in AWS")
            return self._result(ExitCode.INTERRUPTED, interrupted=True)
        self._cancel_in_flight("interrupted")
        deadline = time.monotonic() + self.cancel_timeout
        interval = self.poll_policy.minimum
        while any(s.in_flight for s in self.runs.values()) and time.monotonic() < deadline:
            if self._interrupts > 1:
                self.emit("second interrupt: detached without waiting for the cancellations")
                break
            self._wake.wait(interval)
            self._wake.clear()
            self._poll()
            interval = min(interval * 1.5, 5.0)
        return self._result(ExitCode.INTERRUPTED, interrupted=True)

    def _finish(self) -> ApplyResult:
        bad = [
            s
            for s in self.runs.values()
            if s.status
            in (RunStatus.FAILED.value, RunStatus.CANCELLED.value, RunStatus.UNKNOWN.value)
        ]
        return self._result(ExitCode.RUNS_FAILED if bad else ExitCode.OK)

    def _result(self, code: ExitCode, *, interrupted: bool = False) -> ApplyResult:
        return ApplyResult(self.apply_id, self.runs, code, interrupted)


def _error_code(exc: BaseException) -> str | None:
    """The AWS error code of a polysync or botocore exception, if it has one."""
    code = getattr(exc, "code", None)
    if isinstance(code, str):
        return code
    response: Any = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code")) or None
    return None


def _condition_met(condition: str, status: str) -> bool:
    if condition == "succeeded":
        return status == RunStatus.SUCCESS.value
    if condition == "failed":
        return status in (RunStatus.FAILED.value, RunStatus.UNKNOWN.value)
    return True  # completed: any end, skipped included


def children_text(children: Mapping[str, int]) -> str:
    """`37/50 succeeded, 2 failed, 11 running`: an array job's children at a glance."""
    total = sum(children.values())
    parts = [f"{children.get('SUCCEEDED', 0)}/{total} succeeded"]
    if children.get("FAILED"):
        parts.append(f"{children['FAILED']} failed")
    active = sum(children.get(s, 0) for s in ("STARTING", "RUNNING"))
    if active:
        parts.append(f"{active} running")
    waiting = sum(children.get(s, 0) for s in ("SUBMITTED", "PENDING", "RUNNABLE"))
    if waiting:
        parts.append(f"{waiting} waiting")
    return ", ".join(parts)


def summary_table(runs: Mapping[str, RunState]) -> str:
    rows = [("run", "status", "run id", "message")]
    for key, state in runs.items():
        rows.append((key, state.status, state.run_id or "-", (state.message or "")[:80]))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [
        "  ".join(cell.ljust(widths[i]) if i < 3 else cell for i, cell in enumerate(row)).rstrip()
        for row in rows
    ]
    return "\n".join(lines)
