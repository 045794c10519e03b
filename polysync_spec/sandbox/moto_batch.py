"""moto's Batch jobs, made to behave as AWS's do (patched in by `lifecycle.install`).

- Every job follows its clock (`lifecycle.batch_view`) instead of finishing at submit
  (moto without Docker), and DescribeJobs answers `container.exitCode` and the
  `isCancelled` / `isTerminated` flags; ListJobs summaries carry the flags too.
- Array jobs: the parent runs no container. Its children `<parent-id>:<index>` do, each
  on its own clock (the outcome's `for_child(index)`), with its own log stream and exit
  code; they start PENDING and are listed by `ListJobs(arrayJobId=…)`, not in their
  queue. The parent is SUBMITTED, PENDING once a child is RUNNABLE, then SUCCEEDED when
  every child did, else FAILED; DescribeJobs gives it `arrayProperties.statusSummary`
  and `size`, and no attempts, log stream or exit code. Terminating it terminates them.
- Logs go where the definition's `containerProperties.logConfiguration` says: with the
  `awslogs` driver (the default) to `awslogs-group` (default /aws/batch/job), stream
  `<awslogs-stream-prefix, default the definition's name>/default/<task id>`, one per
  attempt, named when the attempt reaches RUNNING; with any other driver, nowhere in
  CloudWatch and no `logStreamName`. DescribeJobs returns the `logConfiguration`.
- An attempt's `startedAt` / `stoppedAt` are when it ran by its clock (moto: when it
  was first read, which for an array child nobody polled is its end), and DescribeJobs
  gives the container its definition's `resourceRequirements`, as AWS does.
- SubmitJob takes a definition by name (its latest ACTIVE revision), `name:revision`, or
  ARN with or without a revision (moto fails an ARN without one).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import time
import uuid
from dataclasses import replace
from typing import Any

from polysync_spec.sandbox.lifecycle import (
    BATCH_LOG_GROUP,
    BATCH_RESULTS,
    LIFECYCLES,
    BatchView,
    array_view,
    batch_view,
    finish_time,
    moto_module,
    status_summary,
    write_logs,
)

AWSLOGS = "awslogs"


def log_configuration(job: Any) -> dict[str, Any] | None:
    """The job's container `logConfiguration`, as its definition registered it."""
    config = (job.job_definition.container_properties or {}).get("logConfiguration")
    return dict(config) if isinstance(config, dict) else None


def log_target(job: Any) -> tuple[str, str] | None:
    """(log group, stream prefix) of the awslogs driver; None for any other driver."""
    config = log_configuration(job) or {}
    if config.get("logDriver", AWSLOGS) != AWSLOGS:
        return None
    options = config.get("options") or {}
    group = options.get("awslogs-group") or BATCH_LOG_GROUP
    return str(group), str(options.get("awslogs-stream-prefix") or job.job_definition.name)


def _is_child(job_id: str) -> bool:
    return ":" in job_id


def _view(job_id: str, now: float) -> BatchView:
    clock = LIFECYCLES.clocks[job_id]
    if clock.children:
        return array_view(clock, _child_views(clock.children, now))

    def dependency(dep_id: str) -> tuple[BatchView, float | None] | None:
        if dep_id not in LIFECYCLES.clocks:
            return None
        return _view(dep_id, now), _finished(dep_id)

    view = batch_view(clock, now, dependency)
    if _is_child(job_id) and view.status == "SUBMITTED":
        view = replace(view, status="PENDING")  # children are spawned PENDING
    return view


def _child_views(children: tuple[str, ...], now: float) -> list[BatchView]:
    return [_view(child, now) for child in children if child in LIFECYCLES.clocks]


def _finished(job_id: str) -> float | None:
    clock = LIFECYCLES.clocks.get(job_id)
    if clock is None or not clock.children:
        return finish_time(clock)
    ends = [_finished(child) for child in clock.children]
    return None if any(end is None for end in ends) else max(e for e in ends if e is not None)


def _flags(job: Any) -> tuple[bool, bool]:
    """(isCancelled, isTerminated): stopped before it started, or while it ran."""
    clock = LIFECYCLES.clocks.get(job.job_id)
    if clock is None or clock.stopped_at is None or not job.job_stopped:
        return False, False
    if clock.children:
        started = any(child.attempts for child in job._child_jobs or [])
    else:
        natural_end = finish_time(clock)
        if natural_end is not None and clock.stopped_at >= natural_end:
            return False, False  # it had ended by itself
        started = bool(job.attempts)
    return not started, started


def _sync(job: Any, view: BatchView) -> None:
    """Keep moto's own fields (attempts, log stream, exit code, reason) in step."""
    clock = LIFECYCLES.clocks[job.job_id]
    now = dt.datetime.now()
    if clock.children:  # an array parent: no attempt, no container
        if view.status in BATCH_RESULTS and not job.job_stopped:
            job.job_stopped, job.job_stopped_at = True, now
            if view.reason:
                job.job_stopped_reason = view.reason
        return
    if view.started and not job.attempts:
        job.job_started_at = _scripted(clock, 0, now)
        job.log_stream_name = None
        job._start_attempt()
    target = log_target(job)
    reached_running = view.status == "RUNNING" or view.status in BATCH_RESULTS
    if view.started and reached_running and target and not job.log_stream_name:
        # A stream per attempt: `<prefix>/default/<ECS task id>` (no ':' is allowed in
        # a stream name, so a child's job id cannot be part of it).
        job.log_stream_name = f"{target[1]}/default/{uuid.uuid4().hex}"
        job.latest_attempt["container"]["logStreamName"] = job.log_stream_name
    if view.status == "RUNNABLE" and view.reason:
        job.job_stopped_reason = view.reason  # moto's statusReason
    if view.status in BATCH_RESULTS and not job.job_stopped:
        if not clock.logged and job.log_stream_name and target:
            clock.logged = True
            lines = clock.outcome.log_lines(view.status, clock.arguments)
            write_logs(clock.region, target[0], job.log_stream_name, lines)
        job.job_stopped, job.job_stopped_at = True, _scripted(clock, 1, now)
        job.exit_code = view.exit_code
        if view.reason:
            job.job_stopped_reason = view.reason
        if job.latest_attempt is not None:
            if view.exit_code is not None:
                job.latest_attempt["container"]["exitCode"] = view.exit_code
            if view.reason:
                job.latest_attempt["statusReason"] = view.reason
        job._stop_attempt()


def _scripted(clock: Any, which: int, now: dt.datetime) -> dt.datetime:
    """When the job's attempt started running (`which` 0) or stopped (1) by its clock;
    `now` (the moment seen) for a job whose times shifted: it waited on dependencies,
    or was stopped."""
    end = finish_time(clock)
    if clock.depends_on or clock.stopped_at is not None or end is None:
        return now
    at = clock.created + clock.outcome.starting_seconds if which == 0 else end
    return dt.datetime.fromtimestamp(clock.wall(at))


def _array_properties(job: Any, *, summary: bool) -> dict[str, Any] | None:
    clock = LIFECYCLES.clocks.get(job.job_id)
    if clock is not None and clock.children:
        properties: dict[str, Any] = {"size": len(clock.children)}
        if summary:
            views = _child_views(clock.children, time.monotonic())
            properties["statusSummary"] = status_summary(views)
        return properties
    index = (job.array_properties or {}).get("index")
    return {"index": index} if index is not None else None


def _get_job_definition(self: Any, identifier: str) -> Any:
    """A definition as SubmitJob resolves it: ARN with a revision, `name:revision`, or a
    name or ARN without one (the latest ACTIVE revision)."""
    found = self.get_job_definition_by_arn(identifier)
    if found is not None:
        return found
    tail = identifier
    if identifier.startswith("arn:"):
        if "job-definition/" not in identifier:
            return None
        tail = identifier.split("job-definition/", 1)[1]
    name, sep, revision = tail.partition(":")
    if sep:
        return (
            self.get_job_definition_by_name_revision(name, revision) if revision.isdigit() else None
        )
    active = [d for d in self._job_definitions.values() if d.name == name and d.status == "ACTIVE"]
    return max(active, key=lambda d: d.revision, default=None)


def patch() -> None:
    batch_models = moto_module("moto.batch.models")
    simple_models = moto_module("moto.batch_simple.models")
    job_class = batch_models.Job

    original_status = job_class.status
    original_terminate = job_class.terminate
    original_describe = job_class.describe
    original_short = job_class.describe_short

    # moto's DescribeJobs iterates over every job while a concurrent SubmitJob adds one
    # ("dictionary changed size during iteration", a 500): AWS serves both at once.
    jobs_lock = threading.Lock()
    backend_class = batch_models.BatchBackend
    original_describe_jobs = backend_class.describe_jobs

    def describe_jobs(self: Any, *args: Any, **kwargs: Any) -> Any:
        with jobs_lock:
            return original_describe_jobs(self, *args, **kwargs)

    backend_class.describe_jobs = describe_jobs

    def mark_started(simple: Any, job: Any) -> None:
        # Docker-less Batch would finish the job right here; register a clock instead.
        with jobs_lock:
            simple.backend._jobs[job.job_id] = job
        properties = job.array_properties or {}
        index, size = properties.get("index"), properties.get("size")
        outcome = LIFECYCLES.outcome_for("batch", job.job_definition.name)
        if index is not None:
            outcome = outcome.for_child(int(index))
            with contextlib.suppress(ValueError):  # children are listed by arrayJobId
                job.job_queue.jobs.remove(job)
        depends = tuple(d.get("jobId", "") for d in (job.depends_on or []))
        arguments = {str(k): str(v) for k, v in (job.parameters or {}).items()}
        for variable in (job.container_overrides or {}).get("environment") or []:
            arguments[str(variable.get("name", ""))] = str(variable.get("value", ""))
        children = tuple(f"{job.job_id}:{i}" for i in range(int(size))) if size else ()
        LIFECYCLES.start(
            job.job_id,
            outcome,
            depends,
            region=job.backend.region_name,
            arguments=arguments,
            children=children,
        )

    def status_get(self: Any) -> str | None:
        if self.job_id not in LIFECYCLES.clocks:
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

    def describe(self: Any) -> dict[str, Any]:
        result: dict[str, Any] = original_describe(self)
        container = result.get("container")
        config = log_configuration(self)
        if isinstance(container, dict) and config is not None:
            container["logConfiguration"] = config
        requirements = (self.job_definition.container_properties or {}).get("resourceRequirements")
        if isinstance(container, dict) and requirements:
            container["resourceRequirements"] = list(requirements)
        clock = LIFECYCLES.clocks.get(self.job_id)
        if clock is not None and clock.children:
            # An array parent started no container: nothing of one is reported.
            if isinstance(container, dict):
                container.pop("logStreamName", None)
                container.pop("exitCode", None)
            result["attempts"] = []
            result["status"] = self.status
        elif self.job_stopped and self.exit_code is not None:
            # moto's full description replaces `container`, losing the exit code it
            # reports in the short form; real DescribeJobs returns it once stopped.
            result.setdefault("container", {})["exitCode"] = self.exit_code
        properties = _array_properties(self, summary=True)
        if properties is not None:
            result["arrayProperties"] = properties
        result["isCancelled"], result["isTerminated"] = _flags(self)
        return result

    def describe_short(self: Any) -> dict[str, Any]:
        result: dict[str, Any] = original_short(self)
        properties = _array_properties(self, summary=True)
        if properties is not None:
            result["arrayProperties"] = properties
        result["isCancelled"], result["isTerminated"] = _flags(self)
        return result

    simple_models.BatchSimpleBackend._mark_job_as_finished = (
        lambda self, include_start_attempt, job: mark_started(self, job)
    )
    batch_models.BatchBackend.get_job_definition = _get_job_definition
    job_class.status = property(status_get, status_set)
    job_class.terminate = terminate
    job_class.describe = describe
    job_class.describe_short = describe_short
