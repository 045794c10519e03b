"""Following runs in AWS: the one status engine of apply, status --watch, cancel and logs.

It reads every run in flight with one batched call per platform, tolerates throttling and
failed reads (a failed read is never a failed run), maps what AWS says to the run's state
and the ledger, and bounds every wait:

- a run AWS's reads do not return is Unknown only after the vanish grace (reads may lag a
  submission);
- a run still waiting to start (Batch SUBMITTED / PENDING / RUNNABLE, Glue WAITING, or a
  free Glue slot) beyond the stall limit is given up, with the reason AWS gives;
- a running run past its own limit (the Glue timeout; the Batch attempt duration, from
  the manifest or the definition, times the attempts) plus a grace period is given up;
- `timeout` (apply --timeout, status --watch --timeout) bounds everything.

A run given up is reported Unknown with what was last seen, and is not cancelled.
Cancellation is best effort per run: each gets its call (retried on throttling and server
errors), failures are reported per run, and the caller learns which were confirmed.

Every AWS call runs on a thread of its own (`call`), so that an interrupt is acted on at
once whatever the network does.
"""

from __future__ import annotations

import functools
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from polysync_spec.engine.ledger import Ledger
from polysync_spec.engine.model import PlannedRun
from polysync_spec.engine.phase import RunPhase
from polysync_spec.providers.base import LogTail, Refusal, RunRequest, RunStatus, StatusReport

T = TypeVar("T")

THROTTLING = frozenset(
    {"ThrottlingException", "TooManyRequestsException", "Throttling", "RequestLimitExceeded"}
)
DEPENDENCY_FAILED = "Dependent Job failed"
# The services' states of a run that has not started yet.
WAITING_STATES = frozenset({"SUBMITTED", "PENDING", "RUNNABLE", "WAITING"})
# Seconds between two checks of a call in flight for an interrupt.
CALL_CHECK = 0.05
CANCEL_ATTEMPTS = 3


class Provider(Protocol):
    """What the engine needs of a platform (providers/glue.py, providers/batch.py)."""

    def submit(self, request: RunRequest) -> str: ...
    def find_submitted(self, request: RunRequest, since: float) -> list[str]: ...
    def poll(self, run_ids: list[str]) -> dict[str, StatusReport]: ...
    def cancel(self, run_ids: list[str]) -> dict[str, Refusal | None]: ...
    def monitor_url(self, run_id: str) -> str: ...
    def log_tail(self, run_id: str, lines: int) -> LogTail: ...


class Abandoned(Exception):
    """An AWS call was left running on its thread: an interrupt (or a deadline) came
    first. `call` still receives its answer."""

    def __init__(self, call: PendingCall[Any]) -> None:
        super().__init__("abandoned")
        self.call = call


class PendingCall(Generic[T]):
    """One AWS call on a daemon thread of its own (a hung call never blocks the process's
    exit), with its result or exception once it has answered."""

    def __init__(self, fn: Callable[[], T]) -> None:
        self._fn = fn
        self.done = threading.Event()
        self.value: T | None = None
        self.error: BaseException | None = None
        threading.Thread(target=self._run, name="polysync-aws-call", daemon=True).start()

    def _run(self) -> None:
        try:
            self.value = self._fn()
        except BaseException as exc:  # handed to the waiting thread, which decides
            self.error = exc
        finally:
            self.done.set()

    def result(self) -> T:
        if self.error is not None:
            raise self.error
        return self.value  # type: ignore[return-value]


def call(fn: Callable[[], T], stop: Callable[[], bool]) -> T:
    """Run one AWS call on its own thread and wait for it; raise Abandoned when `stop()`
    turns true first. Signals reach the waiting thread at once: it never blocks in a
    socket."""
    pending = PendingCall(fn)
    while not pending.done.wait(CALL_CHECK):
        if stop():
            raise Abandoned(pending)
    return pending.result()


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


@dataclass(frozen=True)
class Limits:
    """The bounds of every wait on a run, in seconds."""

    grace: float = 600.0  # past a run's own limit before it is given up
    stall: float = 3600.0  # waiting to start (RUNNABLE, WAITING, a free slot)
    vanish: float = 120.0  # not returned by AWS's reads
    # The longest a run is waited on when neither the manifest nor AWS gives it a limit
    # (a Batch job whose definition has no timeout).
    unbounded: float = 24 * 3600.0


# Glue's own default timeout when the job sets none: 2,880 minutes up to Glue 4.0, 480
# from 5.0 (StartJobRun's Timeout documentation).
GLUE_DEFAULT_TIMEOUT_MINUTES = 2880
GLUE_5_DEFAULT_TIMEOUT_MINUTES = 480


@dataclass
class RunState:
    """One run as the engine follows it."""

    planned: PlannedRun
    status: RunPhase = RunPhase.PENDING
    run_id: str | None = None
    message: str | None = None
    url: str | None = None
    state: str | None = None  # the service's own state (RUNNABLE, STOPPING, ...)
    submitted_at: float | None = None
    started_at: float | None = None  # first seen Starting or Running
    finished_at: float | None = None
    native_after: list[str] = field(default_factory=list)
    gave_up: bool = False  # past a limit (or the --timeout): no longer waited on
    unseen_since: float | None = None  # AWS's reads have not returned it since then
    waiting_since: float | None = None  # waiting to start (or for a free slot) since
    retry_at: float | None = None  # a refused submission (no free slot) goes again then
    children: dict[str, int] | None = None  # array jobs: child counts by state

    @property
    def final(self) -> bool:
        return self.status.final

    @property
    def in_flight(self) -> bool:
        return self.run_id is not None and not self.final and not self.gave_up

    def limit_seconds(self) -> float | None:
        """How long the run may take by its own settings, in seconds: the Glue timeout
        (Glue's default when the job sets none), or the Batch attempt duration (from the
        manifest or the definition) times the attempts. None when Batch knows none."""
        compute = self.planned.compute

        def value(key: str) -> Any:
            return (compute.get(key) or {}).get("value")

        if self.planned.service == "glue":
            minutes = value("timeout_minutes")
            if not minutes:
                version = str(value("glue_version") or "")
                five = version[:1].isdigit() and int(version.split(".", maxsplit=1)[0]) >= 5
                minutes = GLUE_5_DEFAULT_TIMEOUT_MINUTES if five else GLUE_DEFAULT_TIMEOUT_MINUTES
            return float(minutes) * 60
        duration = value("attempt_duration_seconds")
        attempts = value("retry_attempts") or 1
        return float(duration) * int(attempts) if duration else None

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


Emit = Callable[[str], None]


def error_code(exc: BaseException) -> str | None:
    """The AWS error code of a polysync or botocore exception, if it has one."""
    code = getattr(exc, "code", None)
    if isinstance(code, str):
        return code
    response: Any = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code")) or None
    return None


class Monitor:
    """Follows `runs` in AWS and writes what it learns to the ledger.

    `settle(state, status, message)` is called when a run reaches an end (Success,
    Failed, Cancelled, Skipped, or Unknown when given up); the default records it.
    `stop()` says when a call in flight is abandoned (an interrupt)."""

    def __init__(
        self,
        runs: Mapping[str, RunState],
        providers: Mapping[str, Provider],
        ledger: Ledger,
        apply_id: str,
        *,
        emit: Emit,
        limits: Limits | None = None,
        timeout: float | None = None,
        stop: Callable[[], bool] = lambda: False,
    ) -> None:
        self.runs = runs
        self.providers = providers
        self.ledger = ledger
        self.apply_id = apply_id
        self.emit = emit
        self.limits = limits or Limits()
        self.timeout = timeout
        self.started = time.time()
        self.stop = stop
        self.settle: Callable[[RunState, RunPhase, str | None], None] = self.record

    # ------------------------------------------------------------ reading

    def poll(self, stop: Callable[[], bool] | None = None) -> bool:
        """Read every run in flight, one batched call per platform; True when anything
        changed. `stop`: when a call in flight is abandoned (default: the monitor's)."""
        changed = False
        by_platform: dict[str, list[RunState]] = {}
        for state in self.runs.values():
            if state.in_flight:
                by_platform.setdefault(state.planned.platform, []).append(state)
        for platform, states in by_platform.items():
            provider = self.providers[platform]
            run_ids = [s.run_id for s in states if s.run_id]
            try:
                reports = call(functools.partial(provider.poll, run_ids), stop or self.stop)
            except Abandoned:
                return changed
            except Exception as exc:  # a failed read is not a failed run: try again later
                kind = "throttled" if error_code(exc) in THROTTLING else "could not read statuses"
                self.emit(f"{platform}: {kind} ({exc.__class__.__name__}); polling again later")
                continue
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
        if status is RunPhase.FAILED and message == DEPENDENCY_FAILED and state.native_after:
            status = RunPhase.SKIPPED
            message = f"{', '.join(state.native_after)} did not succeed (Batch dependsOn)"
        children = dict(report.children) if report.children else None
        if (
            status == state.status
            and report.state == state.state
            and children == state.children
            and message == state.message
        ):
            return False
        now = time.time()
        waiting = report.state in WAITING_STATES
        if waiting and state.waiting_since is None:
            state.waiting_since = state.submitted_at or now
        elif not waiting:
            state.waiting_since = None
        state.state, state.children = report.state, children
        if status.final:
            self.settle(state, status, message)
            return True
        running = status in (RunPhase.STARTING, RunPhase.RUNNING)
        if running and not waiting and state.started_at is None:
            state.started_at = now
            self.ledger.started(self.apply_id, state.planned.key)
        if status != state.status or message != state.message:
            state.status, state.message = status, message
            self.ledger.status(self.apply_id, state.planned.key, status, message, False)
            shown = f" ({report.state}{': ' + message if message else ''})" if report.state else ""
            self.emit(f"{state.planned.key}: {status}{shown}")
        elif children is not None:
            self.emit(f"{state.planned.key}: {children_text(children)}")
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
        """The default end of a run: its state, the ledger, one line."""
        state.status, state.message, state.finished_at = status, message, time.time()
        self.ledger.status(self.apply_id, state.planned.key, status, message, status.final)
        suffix = f": {message}" if message else ""
        self.emit(f"{state.planned.key}: {status}{suffix}")

    # ------------------------------------------------------------ cancelling

    def cancel(
        self, states: Iterable[RunState], reason: str, stop: Callable[[], bool] | None = None
    ) -> dict[str, Refusal | None]:
        """Cancel each run (BatchStopJobRun / TerminateJob), best effort: a throttled or
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
        self, platform: str, run_ids: list[str], reason: str, stop: Callable[[], bool]
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
            refusal = results.get(run_id)
            note = f" (refused: {refusal})" if refusal else ""
            self.emit(f"cancel {run_id}: {reason}{note}")
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
