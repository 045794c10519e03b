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

The timelines are pure functions of the clock; `install()` patches them into moto, once.
"""

from __future__ import annotations

import importlib
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

GLUE_RESULTS = frozenset({"SUCCEEDED", "FAILED", "TIMEOUT", "ERROR", "EXPIRED"})
BATCH_RESULTS = frozenset({"SUCCEEDED", "FAILED"})
GLUE_TERMINAL = GLUE_RESULTS | {"STOPPED"}
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
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        if known.get("logs") is not None:
            known["logs"] = tuple(known["logs"])
        return cls(**known)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _arguments_text(arguments: Mapping[str, str] | None) -> str:
    return ", ".join(f"{key}={value}" for key, value in sorted((arguments or {}).items()))


@dataclass
class Clock:
    created: float
    outcome: Outcome
    stopped_at: float | None = None
    stop_reason: str | None = None
    depends_on: tuple[str, ...] = ()
    region: str = "us-east-1"
    logged: bool = False  # end-of-run log lines written
    # What the run was started with (Glue Arguments; Batch parameters and environment).
    arguments: dict[str, str] = field(default_factory=dict)


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
        reason = out.echoed(
            out.message
            or ("Essential container in task exited" if out.exit_code is None else None),
            clock.arguments,
        )
        natural = BatchView(
            "FAILED", reason, out.exit_code if out.exit_code is not None else 1, True
        )
    return _stopped_or(clock, now, natural)


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
    ) -> None:
        with self.lock:
            self.clocks[run_id] = Clock(
                time.monotonic(),
                outcome,
                depends_on=depends_on,
                region=region,
                arguments=dict(arguments or {}),
            )

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
GLUE_LOG_BASE = "/aws-glue/jobs"
BATCH_LOG_GROUP = "/aws/batch/job"


def write_logs(region: str, group: str, stream: str, lines: list[str]) -> None:
    """Put `lines` in CloudWatch Logs as the service would have written them."""
    logs = _module("moto.logs.models").logs_backends["123456789012"][region]
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
    with _install_lock:
        if "moto" in _INSTALLED:
            return
        _patch_glue()
        _patch_batch()
        _INSTALLED.add("moto")


def _module(name: str) -> Any:
    # Patching is untyped by nature: moto's classes are handled as Any here, and only here.
    return importlib.import_module(name)


def _patch_glue() -> None:
    glue_models = _module("moto.glue.models")

    original_start = glue_models.FakeJob.start_job_run
    original_status = glue_models.FakeJobRun.status
    original_as_dict = glue_models.FakeJobRun.as_dict

    def start_job_run(self: Any, *args: Any, **kwargs: Any) -> str:
        run_id: str = original_start(self, *args, **kwargs)
        region = self.backend.region_name
        started = next((r for r in self.job_runs if r.job_run_id == run_id), None)
        arguments = {str(k): str(v) for k, v in (getattr(started, "arguments", None) or {}).items()}
        LIFECYCLES.start(
            run_id, LIFECYCLES.outcome_for("glue", self.name), region=region, arguments=arguments
        )
        return run_id

    def status_get(self: Any) -> str | None:
        clock = LIFECYCLES.clocks.get(self.job_run_id)
        if clock is None:
            return original_status.fget(self)  # type: ignore[no-any-return]
        return glue_state(clock, time.monotonic())[0]

    def status_set(self: Any, value: str) -> None:
        original_status.fset(self, value)

    def as_dict(self: Any) -> dict[str, Any]:
        result: dict[str, Any] = original_as_dict(self)
        clock = LIFECYCLES.clocks.get(self.job_run_id)
        if clock is not None:
            state, message = glue_state(clock, time.monotonic())
            result["JobRunState"] = state
            result["LogGroupName"] = GLUE_LOG_BASE
            if message:
                result["ErrorMessage"] = message
            if state not in GLUE_TERMINAL:
                result.pop("CompletedOn", None)
            elif not clock.logged:
                clock.logged = True
                group = (
                    f"{GLUE_LOG_BASE}/error" if state != "SUCCEEDED" else f"{GLUE_LOG_BASE}/output"
                )
                lines = clock.outcome.log_lines(state, clock.arguments)
                write_logs(clock.region, group, self.job_run_id, lines)
        return result

    def get_job_runs(self: Any) -> list[Any]:
        # AWS lists a job's runs newest first (moto: oldest first).
        for job_run in self.job_runs:
            job_run.advance()
        return list(reversed(self.job_runs))

    glue_models.FakeJob.get_job_runs = get_job_runs
    glue_models.FakeJob.start_job_run = start_job_run
    glue_models.FakeJobRun.status = property(status_get, status_set)
    glue_models.FakeJobRun.as_dict = as_dict


def _patch_batch() -> None:
    import datetime as dt

    batch_models = _module("moto.batch.models")
    simple_models = _module("moto.batch_simple.models")

    original_status = batch_models.Job.status
    original_terminate = batch_models.Job.terminate
    original_describe = batch_models.Job.describe

    def describe(self: Any) -> dict[str, Any]:
        # moto's full description replaces `container`, losing the exit code it reports
        # in the short form; real DescribeJobs returns it once the job has stopped.
        result: dict[str, Any] = original_describe(self)
        if self.job_stopped and self.exit_code is not None:
            result.setdefault("container", {})["exitCode"] = self.exit_code
        # DescribeJobs says whether a job was cancelled (stopped before it started) or
        # terminated (stopped while it ran); moto does not.
        clock = LIFECYCLES.clocks.get(self.job_id)
        natural_end = finish_time(clock)
        stopped = (
            clock is not None
            and clock.stopped_at is not None
            and self.job_stopped
            and (natural_end is None or clock.stopped_at < natural_end)
        )
        started = bool(self.attempts)
        result["isCancelled"] = bool(stopped and not started)
        result["isTerminated"] = bool(stopped and started)
        return result

    def mark_started(self: Any, job: Any) -> None:
        # Docker-less Batch would finish the job right here; register a clock instead.
        self.backend._jobs[job.job_id] = job
        depends = tuple(d.get("jobId", "") for d in (job.depends_on or []))
        outcome = LIFECYCLES.outcome_for("batch", job.job_definition.name)
        arguments = {str(k): str(v) for k, v in (job.parameters or {}).items()}
        for variable in (job.container_overrides or {}).get("environment") or []:
            arguments[str(variable.get("name", ""))] = str(variable.get("value", ""))
        LIFECYCLES.start(
            job.job_id, outcome, depends, region=job.backend.region_name, arguments=arguments
        )

    def status_get(self: Any) -> str | None:
        clock = LIFECYCLES.clocks.get(self.job_id)
        if clock is None:
            return original_status.fget(self)  # type: ignore[no-any-return]
        view = _view(self.job_id, time.monotonic())
        _sync(self, view)
        return view.status

    def status_set(self: Any, value: str) -> None:
        original_status.fset(self, value)

    def terminate(self: Any, reason: str) -> None:
        original_terminate(self, reason)
        LIFECYCLES.stop(self.job_id, reason)
        for child in self._child_jobs or []:
            original_terminate(child, reason)
            LIFECYCLES.stop(child.job_id, reason)

    def _view(job_id: str, now: float) -> BatchView:
        def dependency(dep_id: str) -> tuple[BatchView, float | None] | None:
            if dep_id not in LIFECYCLES.clocks:
                return None
            return _view(dep_id, now), finish_time(LIFECYCLES.clocks[dep_id])

        return batch_view(LIFECYCLES.clocks[job_id], now, dependency)

    def _sync(job: Any, view: BatchView) -> None:
        """Keep moto's own fields (attempts, exit code, reason) in step with the view."""
        if view.started and not job.attempts:
            job.job_started_at = dt.datetime.now()
            job.log_stream_name = job._stream_name
            job._start_attempt()
        if view.status == "RUNNABLE" and view.reason:
            job.job_stopped_reason = view.reason  # moto's statusReason
        if view.status in BATCH_RESULTS and not job.job_stopped:
            clock = LIFECYCLES.clocks[job.job_id]
            if not clock.logged and job.log_stream_name:
                clock.logged = True
                write_logs(
                    clock.region,
                    BATCH_LOG_GROUP,
                    job.log_stream_name,
                    clock.outcome.log_lines(view.status, clock.arguments),
                )
            job.job_stopped = True
            job.job_stopped_at = dt.datetime.now()
            job.exit_code = view.exit_code
            if view.reason:
                job.job_stopped_reason = view.reason
            if job.latest_attempt is not None and view.exit_code is not None:
                job.latest_attempt["container"]["exitCode"] = view.exit_code
            job._stop_attempt()

    simple_models.BatchSimpleBackend._mark_job_as_finished = (
        lambda self, include_start_attempt, job: mark_started(self, job)
    )
    batch_models.Job.status = property(status_get, status_set)
    batch_models.Job.terminate = terminate
    batch_models.Job.describe = describe
