# Over 400 lines: Glue and Batch timelines and the moto patches for them.
"""Realistic run lifecycles for the sandbox: what moto does not do by itself.

moto's Glue job runs jump to SUCCEEDED and its Docker-less Batch jobs finish at submit.
Here every run gets a clock: it goes STARTING → RUNNING → its scripted result (Glue), or
SUBMITTED → PENDING → RUNNABLE → STARTING → RUNNING → result (Batch), in real seconds.
Outcomes are scripted per Glue job name or Batch job-definition name: succeed, fail with a
message or exit code, time out, or get stuck. Stops (BatchStopJobRun, TerminateJob) go
through STOPPING → STOPPED (Glue) or end FAILED with the reason (Batch). A Batch job with
`dependsOn` waits for its dependencies and fails when one fails. With `echo_arguments` a
run repeats what it was started with (Glue Arguments; Batch parameters and environment)
in its error message, status reason and log lines, as jobs and services do.

As on AWS: a failed Glue run of a job with MaxRetries starts a new run (Attempt + 1,
PreviousRunId) while the failed one stays FAILED (`moto_glue.py`); a Batch array parent
runs no container, its children `<parent-id>:<index>` do, and it ends when they all have;
a Batch job logs where its definition's `logConfiguration` says (`moto_batch.py`).

The timelines are pure functions of the clock; `install()` patches them into moto, once.
"""

from __future__ import annotations

import importlib
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

GLUE_RESULTS = frozenset({"SUCCEEDED", "FAILED", "TIMEOUT", "ERROR", "EXPIRED"})
BATCH_RESULTS = frozenset({"SUCCEEDED", "FAILED"})
GLUE_TERMINAL = GLUE_RESULTS | {"STOPPED"}
BATCH_STATES = ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED", "FAILED")
ESSENTIAL_CONTAINER_EXITED = "Essential container in task exited"
STOP_DELAY = 0.3  # seconds a stop spends in STOPPING (Glue) or before FAILED (Batch)
DEPENDENCY_FAILED = "Dependent Job failed"

_DEFAULT_MESSAGES = {
    "FAILED": "Job failed: the sandbox scripted this run to fail",
    "TIMEOUT": "Job run timed out",
    "ERROR": "Internal service error",
    "EXPIRED": "Job run expired before it could start",
}


@dataclass(frozen=True)
class Outcome:
    """How a scripted run behaves. `stuck_in` holds a run in one state for good
    (Glue: WAITING or RUNNING; Batch: RUNNABLE or RUNNING)."""

    result: str = "SUCCEEDED"
    message: str | None = None
    exit_code: int | None = None
    starting_seconds: float = 0.5
    running_seconds: float = 1.0
    stuck_in: str | None = None
    # Lines written to CloudWatch Logs when the run ends (failures get a default set).
    logs: tuple[str, ...] | None = None
    # Repeat the run's arguments in its error message / status reason and log lines: a
    # job that prints its configuration, a service that quotes a bad value. Secret
    # parameters then come back from AWS, which polysync must never show.
    echo_arguments: bool = False
    # Array jobs: the outcomes of particular children, by index; the others follow this one.
    children: tuple[tuple[int, Outcome], ...] = ()
    # Glue: how its automatic retries behave, by attempt (1, 2, ...; the last one repeats;
    # none: as this one), and how long after a failure Glue starts the retry.
    retries: tuple[Outcome, ...] = ()
    retry_after_seconds: float = 0.0

    def for_child(self, index: int) -> Outcome:
        """How the array child at `index` behaves."""
        return next((o for i, o in self.children if i == index), replace(self, children=()))

    def for_attempt(self, attempt: int) -> Outcome:
        """How a Glue run with this `Attempt` (0: the run started, 1..: its retries) behaves."""
        if attempt == 0 or not self.retries:
            return self
        return self.retries[min(attempt, len(self.retries)) - 1]

    def log_lines(self, status: str, arguments: Mapping[str, str] | None = None) -> list[str]:
        echo = [f"arguments: {_arguments_text(arguments)}"] if self.echoes(arguments) else []
        if self.logs is not None:
            return [*echo, *self.logs]
        if status in ("SUCCEEDED",):
            return ["job started", *echo, "job finished"]
        return [
            "job started",
            *echo,
            "reading input partition",
            f"ERROR {self.message or _DEFAULT_MESSAGES.get(self.result, 'the job failed')}",
            "job failed",
        ]

    def echoes(self, arguments: Mapping[str, str] | None) -> bool:
        return self.echo_arguments and bool(arguments)

    def echoed(self, text: str | None, arguments: Mapping[str, str] | None) -> str | None:
        """`text` (an error message or status reason) with the run's arguments appended
        when this outcome echoes them."""
        if not self.echoes(arguments):
            return text
        return f"{text or 'the run'} (arguments: {_arguments_text(arguments)})"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Outcome:
        """From `to_dict`'s shape (JSON over HTTP): `children` maps indexes to outcomes."""
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        if known.get("logs") is not None:
            known["logs"] = tuple(known["logs"])
        children = known.get("children") or {}
        pairs = children.items() if isinstance(children, Mapping) else children
        known["children"] = tuple((int(index), cls._of(child)) for index, child in pairs)
        known["retries"] = tuple(cls._of(retry) for retry in known.get("retries") or ())
        return cls(**known)

    @classmethod
    def _of(cls, value: Outcome | Mapping[str, Any]) -> Outcome:
        return value if isinstance(value, Outcome) else cls.from_dict(value)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(replace(self, children=(), retries=()))
        data["children"] = {str(index): child.to_dict() for index, child in self.children}
        data["retries"] = [retry.to_dict() for retry in self.retries]
        return data


def _arguments_text(arguments: Mapping[str, str] | None) -> str:
    return ", ".join(f"{key}={value}" for key, value in sorted((arguments or {}).items()))


@dataclass
class Clock:
    created: float  # time.monotonic() when the run began
    outcome: Outcome
    stopped_at: float | None = None
    stop_reason: str | None = None
    depends_on: tuple[str, ...] = ()
    region: str = "us-east-1"
    logged: bool = False  # end-of-run log lines written
    # What the run was started with (Glue Arguments; Batch parameters and environment).
    arguments: dict[str, str] = field(default_factory=dict)
    # Glue: the run's Attempt (0, or n for the n-th automatic retry) and whether the
    # retry after it has been started.
    attempt: int = 0
    retried: bool = False
    # Batch array parent: its children's job ids (it runs no container of its own).
    children: tuple[str, ...] = ()
    # time.time() - time.monotonic() when the clock began: turns its times into dates.
    wall_offset: float = field(default_factory=lambda: time.time() - time.monotonic())

    def wall(self, at: float) -> float:
        """The epoch seconds of monotonic time `at`."""
        return at + self.wall_offset


def glue_state(clock: Clock, now: float) -> tuple[str, str | None]:
    """(JobRunState, ErrorMessage) of a Glue run at time `now`."""
    out = clock.outcome
    natural_end = (
        None if out.stuck_in else clock.created + out.starting_seconds + out.running_seconds
    )
    if clock.stopped_at is not None and (natural_end is None or clock.stopped_at < natural_end):
        return ("STOPPING", None) if now < clock.stopped_at + STOP_DELAY else ("STOPPED", None)
    elapsed = now - clock.created
    if out.stuck_in == "WAITING":
        return "WAITING", None
    if elapsed < out.starting_seconds:
        return "STARTING", None
    if out.stuck_in or natural_end is None or now < natural_end:
        return "RUNNING", None
    if out.result == "SUCCEEDED":
        return "SUCCEEDED", None
    return out.result, out.echoed(out.message or _DEFAULT_MESSAGES.get(out.result), clock.arguments)


def glue_end(clock: Clock) -> float | None:
    """When a Glue run ended or ends (monotonic): its stop, or its natural end; None for
    a run stuck for good."""
    out = clock.outcome
    natural = None if out.stuck_in else clock.created + out.starting_seconds + out.running_seconds
    if clock.stopped_at is not None and (natural is None or clock.stopped_at < natural):
        return clock.stopped_at + STOP_DELAY
    return natural


@dataclass(frozen=True)
class BatchView:
    status: str
    reason: str | None = None
    exit_code: int | None = None
    started: bool = False


Dependency = Callable[[str], tuple[BatchView, float | None] | None]


def batch_view(clock: Clock, now: float, dependency: Dependency = lambda _id: None) -> BatchView:
    """The state of a Batch job at `now`. `dependency(job_id)` answers a dependency's
    state and the time it finished (None for a job the sandbox did not start)."""
    out = clock.outcome
    start = clock.created
    for dep_id in clock.depends_on:
        found = dependency(dep_id)
        if found is None:
            continue
        dep, finished = found
        if dep.status == "FAILED":
            return BatchView("FAILED", DEPENDENCY_FAILED)
        if dep.status != "SUCCEEDED":
            return _stopped_or(clock, now, BatchView("PENDING"))
        start = max(start, finished or start)
    elapsed = now - start
    queue = out.starting_seconds
    if out.stuck_in == "RUNNABLE":
        # AWS says why a job waits (e.g. "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY - …",
        # "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT - …") in its statusReason.
        natural = (
            BatchView("SUBMITTED")
            if elapsed < queue * 0.1
            else BatchView("RUNNABLE", out.echoed(out.message, clock.arguments))
        )
        return _stopped_or(clock, now, natural)
    if elapsed < queue * 0.1:
        natural = BatchView("SUBMITTED")
    elif elapsed < queue * 0.2:
        natural = BatchView("PENDING")
    elif elapsed < queue * 0.8:
        natural = BatchView("RUNNABLE")
    elif elapsed < queue:
        natural = BatchView("STARTING", started=True)
    elif out.stuck_in == "RUNNING" or elapsed < queue + out.running_seconds:
        natural = BatchView("RUNNING", started=True)
    elif out.result == "SUCCEEDED":
        natural = BatchView("SUCCEEDED", None, 0, started=True)
    else:
        # AWS says "Essential container in task exited" for any container that ends
        # non-zero; the exit code is only in container.exitCode.
        reason = out.echoed(out.message or ESSENTIAL_CONTAINER_EXITED, clock.arguments)
        natural = BatchView(
            "FAILED", reason, out.exit_code if out.exit_code is not None else 1, True
        )
    return _stopped_or(clock, now, natural)


def array_view(clock: Clock, children: list[BatchView]) -> BatchView:
    """An array parent's state from its children's: it only enters SUBMITTED, PENDING
    (once any child is RUNNABLE), then SUCCEEDED when every child did, else FAILED. A
    parent that was stopped ends with the stop's reason; it never started a container."""
    if children and all(child.status in BATCH_RESULTS for child in children):
        failed = any(child.status == "FAILED" for child in children)
        if clock.stopped_at is not None and failed:
            return BatchView("FAILED", clock.stop_reason or "Terminated")
        return BatchView("FAILED" if failed else "SUCCEEDED")
    if any(child.status not in ("SUBMITTED", "PENDING") for child in children):
        return BatchView("PENDING")
    return BatchView("SUBMITTED")


def status_summary(children: list[BatchView]) -> dict[str, int]:
    """arrayProperties.statusSummary: how many children are in each state."""
    summary = dict.fromkeys(BATCH_STATES, 0)
    for child in children:
        summary[child.status] += 1
    return summary


def _stopped_or(clock: Clock, now: float, natural: BatchView) -> BatchView:
    if clock.stopped_at is None or natural.status in BATCH_RESULTS:
        return natural
    if now < clock.stopped_at + STOP_DELAY:
        return natural
    return BatchView("FAILED", clock.stop_reason or "Terminated", None, natural.started)


def finish_time(clock: Clock | None) -> float | None:
    if clock is None or clock.outcome.stuck_in:
        return None
    return clock.created + clock.outcome.starting_seconds + clock.outcome.running_seconds


@dataclass
class Lifecycles:
    """Scripted outcomes and the clock of every run the sandbox has started."""

    default: Outcome = field(default_factory=Outcome)
    glue: dict[str, Outcome] = field(default_factory=dict)
    batch: dict[str, Outcome] = field(default_factory=dict)
    clocks: dict[str, Clock] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def outcome_for(self, service: str, name: str) -> Outcome:
        table = self.glue if service == "glue" else self.batch
        return table.get(name, self.default)

    def start(
        self,
        run_id: str,
        outcome: Outcome,
        depends_on: tuple[str, ...] = (),
        region: str = "us-east-1",
        arguments: Mapping[str, str] | None = None,
        *,
        at: float | None = None,
        attempt: int = 0,
        children: tuple[str, ...] = (),
    ) -> Clock:
        """Start the clock of a run (at `at`, monotonic, default now)."""
        with self.lock:
            clock = Clock(
                time.monotonic() if at is None else at,
                outcome,
                depends_on=depends_on,
                region=region,
                arguments=dict(arguments or {}),
                attempt=attempt,
                children=children,
            )
            self.clocks[run_id] = clock
            return clock

    def stop(self, run_id: str, reason: str | None = None) -> bool:
        with self.lock:
            clock = self.clocks.get(run_id)
            if clock is None or clock.stopped_at is not None:
                return False
            clock.stopped_at = time.monotonic()
            clock.stop_reason = reason
            return True

    def reset(self) -> None:
        with self.lock:
            self.clocks.clear()
            self.glue.clear()
            self.batch.clear()
            self.default = Outcome()

    def set_default(self, outcome: Outcome) -> None:
        self.default = outcome


LIFECYCLES = Lifecycles()
GLUE_LOG_BASE = "/aws-glue/jobs"  # GetJobRun's LogGroupName on AWS (moto says "test/log")
BATCH_LOG_GROUP = "/aws/batch/job"  # the awslogs driver's group unless awslogs-group says


def write_logs(region: str, group: str, stream: str, lines: list[str]) -> None:
    """Put `lines` in CloudWatch Logs as the service would have written them."""
    logs = moto_module("moto.logs.models").logs_backends["123456789012"][region]
    if group not in logs.groups:
        logs.create_log_group(group, {})
    if stream not in logs.groups[group].streams:
        logs.create_log_stream(group, stream)
    now = int(time.time() * 1000)
    events = [{"timestamp": now + i, "message": line} for i, line in enumerate(lines)]
    logs.put_log_events(group, stream, events)


_INSTALLED: set[str] = set()
_install_lock = threading.Lock()


def install() -> None:
    """Patch moto's Glue job runs and Batch jobs to follow `LIFECYCLES`. Idempotent."""
    from polysync_spec.sandbox import moto_batch, moto_glue

    with _install_lock:
        if "moto" in _INSTALLED:
            return
        moto_glue.patch()
        moto_batch.patch()
        _INSTALLED.add("moto")


def moto_module(name: str) -> Any:
    """A moto module. Patching is untyped by nature: moto's classes are handled as Any
    in the patches, and only there."""
    return importlib.import_module(name)
