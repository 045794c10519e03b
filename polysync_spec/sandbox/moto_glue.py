"""moto's Glue job runs, made to behave as AWS's do (patched in by `lifecycle.install`).

- Every run follows its clock (`lifecycle.glue_state`): STARTING → RUNNING → its scripted
  result, STOPPING → STOPPED when stopped.
- GetJobRun answers what AWS answers: `LogGroupName` "/aws-glue/jobs" (moto: "test/log"),
  the run's `Attempt`, `CompletedOn` once it has ended (moto: its start), and the run's
  log lines land in `<group>/error` or `<group>/output` under the run id when it ends.
- Automatic retries are new runs: a run that ends FAILED, of a job whose MaxRetries it
  has not used up, is followed by a run with Attempt + 1 and PreviousRunId = its id
  (`jr_<id>_attempt_<n>`, as AWS names them), started `retry_after_seconds` after the
  failed one ended, with the same arguments and the outcome's `for_attempt`; the failed
  run stays FAILED. Runs that time out are not restarted. Retries are started lazily,
  on the first read of the job's runs once due, with the times they would have had.
- GetJobRuns lists a job's runs newest first, as AWS does (moto: oldest first).
- A run keeps the StartJobRun members moto drops, `ExecutionClass` (the job's when not
  sent) and `JobRunQueuingEnabled` (false when not sent: moto keeps no job-level
  setting), and GetJobRun answers them with the job's `GlueVersion` (moto: always "0.9").
- StartJobRun refuses, with InvalidInputException, what botocore's model documents as
  not allowed for the job (moto takes it): ExecutionClass FLEX on a job that is not a
  Glue 3.0+ `glueetl` job or runs on other workers than G.1X or G.2X, and MaxCapacity
  on a job that is not a Python shell job (Glue 2.0+ "cannot specify a Maximum
  capacity"). A job without a GlueVersion is taken as AWS's default, 6.0.
- A run reports what it ran with and used, as AWS does: `WorkerType`, `NumberOfWorkers`
  and `MaxCapacity` from the job where StartJobRun did not set them (moto: none),
  `ExecutionTime` in whole seconds from RUNNING to its end (0 until it ends; moto: 123),
  and `DPUSeconds` (ExecutionTime x capacity) for a Flex or auto-scaling run only.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

from polysync_spec.sandbox.lifecycle import (
    GLUE_LOG_BASE,
    GLUE_TERMINAL,
    LIFECYCLES,
    Clock,
    glue_end,
    glue_state,
    moto_module,
    write_logs,
)

RETRIED_STATES = frozenset({"FAILED"})
_retry_lock = threading.Lock()
# The StartJobRun members moto's response handler does not pass to its backend, read by
# the patched handler and handed to the patched FakeJob.start_job_run on the same thread.
_REQUEST = threading.local()
KEPT_MEMBERS = ("ExecutionClass", "JobRunQueuingEnabled")


def _utc(epoch: float) -> dt.datetime:
    """moto's datetimes are naive UTC."""
    return dt.datetime.fromtimestamp(epoch, dt.UTC).replace(tzinfo=None)


def spawn_retries(job: Any) -> None:
    """Start the automatic retry of every run of `job` that has failed with retries
    left and has none yet (a retry that has failed by now gets its own, in turn)."""
    glue_models = moto_module("moto.glue.models")
    now = time.monotonic()
    with _retry_lock:
        index = 0
        while index < len(job.job_runs):  # retries appended here are looked at too
            run = job.job_runs[index]
            index += 1
            clock = LIFECYCLES.clocks.get(run.job_run_id)
            if clock is None or clock.retried or clock.attempt >= int(job.max_retries or 0):
                continue
            if glue_state(clock, now)[0] not in RETRIED_STATES:
                continue
            due = glue_end(clock)
            if due is None or now < due + clock.outcome.retry_after_seconds:
                continue
            clock.retried = True
            job.job_runs.append(_retry(glue_models, job, run, clock))


def _retry(glue_models: Any, job: Any, run: Any, clock: Clock) -> Any:
    ended = glue_end(clock)
    assert ended is not None  # a FAILED run has ended
    started = ended + clock.outcome.retry_after_seconds
    attempt = clock.attempt + 1
    first_id = run.job_run_id.rsplit("_attempt_", 1)[0]
    retry = glue_models.FakeJobRun(
        job_name=job.name,
        job_run_id=run.job_run_id,  # moto's name for PreviousRunId
        arguments=dict(run.arguments or {}),
        allocated_capacity=run.allocated_capacity,
        max_capacity=run.max_capacity,
        timeout=run.timeout,
        worker_type=run.worker_type,
        notification_property=run.notification_property,
        security_configuration=run.security_configuration,
        number_of_workers=run.number_of_workers,
    )
    retry.polysync_members = dict(getattr(run, "polysync_members", {}))
    retry.job_run_id = f"{first_id}_attempt_{attempt}"
    retry.started_on = _utc(clock.wall(started))
    first = LIFECYCLES.clocks.get(first_id)
    base = first.outcome if first is not None else clock.outcome
    LIFECYCLES.start(
        retry.job_run_id,
        base.for_attempt(attempt),
        region=clock.region,
        arguments=clock.arguments,
        at=started,
        attempt=attempt,
    )
    return retry


# Jobs created without a GlueVersion "default to Glue 6.0" (CreateJob GlueVersion).
DEFAULT_GLUE_VERSION = (6, 0)


def _version(job: Any) -> tuple[int, int]:
    parts = str(job.glue_version or "").split(".")
    if len(parts) >= 2 and parts[0].isdecimal() and parts[1].isdecimal():
        return int(parts[0]), int(parts[1])
    return DEFAULT_GLUE_VERSION  # none, or `auto`: a current version


def refused_start(job: Any, params: dict[str, Any]) -> str | None:
    """Why Glue refuses this StartJobRun of `job` (botocore's StartJobRun documentation),
    or None."""
    command = (job.command or {}).get("Name")
    if params.get("ExecutionClass") == "FLEX":
        worker = params.get("WorkerType") or job.worker_type
        if command != "glueetl" or _version(job) < (3, 0):
            return (
                "Only jobs with Glue version 3.0 and above and command type glueetl will be "
                "allowed to set ExecutionClass to FLEX."
            )
        if worker not in (None, "G.1X", "G.2X"):
            return "Flexible job runs are supported for G.1X or G.2X worker types only."
    capacity = params.get("MaxCapacity") is not None
    if capacity and command != "pythonshell" and _version(job) >= (2, 0):
        return "For Glue version 2.0+ jobs, you cannot specify a Maximum capacity."
    return None


# DPUs per worker (AWS Glue Developer Guide, "AWS Glue worker types").
_DPU = {"Standard": 1.0, "G.025X": 0.25, "G.1X": 1.0, "G.2X": 2.0, "G.4X": 4.0, "G.8X": 8.0}


def _capacity(run: Any, result: dict[str, Any]) -> None:
    """What the run runs with, as AWS reports it: moto copies the job's settings where
    StartJobRun set none, but answers null members AWS leaves out, and no ExecutionClass."""
    for member in ("WorkerType", "NumberOfWorkers", "MaxCapacity", "AllocatedCapacity"):
        if result.get(member) is None:
            result.pop(member, None)
    job = getattr(run, "polysync_job", None)
    execution_class = getattr(run, "execution_class", None) or getattr(job, "execution_class", None)
    if execution_class:
        result["ExecutionClass"] = execution_class


def _usage(run: Any, result: dict[str, Any], clock: Clock, ended: float | None) -> None:
    """ExecutionTime of an ended run, and DPUSeconds where AWS reports it (Flex, auto
    scaling)."""
    if ended is None:
        return
    running_from = clock.created + clock.outcome.starting_seconds
    seconds = max(0, round(ended - running_from))
    result["ExecutionTime"] = seconds
    arguments = run.arguments or {}  # moto merged the job's DefaultArguments in
    scaling = str(arguments.get("--enable-auto-scaling", "")).lower() == "true"
    if result.get("ExecutionClass") != "FLEX" and not scaling:
        return
    dpus = result.get("MaxCapacity") or (
        _DPU.get(str(result.get("WorkerType")), 1.0) * int(result.get("NumberOfWorkers") or 0)
    )
    result["DPUSeconds"] = float(seconds * dpus)


def patch() -> None:
    glue_models = moto_module("moto.glue.models")
    glue_responses = moto_module("moto.glue.responses")
    glue_exceptions = moto_module("moto.glue.exceptions")
    fake_job, fake_job_run = glue_models.FakeJob, glue_models.FakeJobRun
    original_response = glue_responses.GlueResponse.start_job_run

    def start_job_run_response(self: Any) -> Any:
        try:
            job = self.glue_backend.get_job(self._get_param("JobName"))
        except glue_exceptions.EntityNotFoundException:
            job = None  # moto's own handler answers a missing job
        if job is not None:
            refusal = refused_start(
                job,
                {k: self._get_param(k) for k in ("ExecutionClass", "MaxCapacity", "WorkerType")},
            )
            if refusal is not None:
                raise glue_exceptions.InvalidInputException("StartJobRun", refusal)
        _REQUEST.members = {k: self._get_param(k) for k in KEPT_MEMBERS}
        try:
            return original_response(self)
        finally:
            _REQUEST.members = {}

    original_start = fake_job.start_job_run
    original_get_run = fake_job.get_job_run
    original_status = fake_job_run.status
    original_as_dict = fake_job_run.as_dict

    def start_job_run(self: Any, *args: Any, **kwargs: Any) -> str:
        spawn_retries(self)  # a retry holds a slot of MaxConcurrentRuns too
        run_id: str = original_start(self, *args, **kwargs)
        region = self.backend.region_name
        started = next((r for r in self.job_runs if r.job_run_id == run_id), None)
        if started is not None:
            sent = getattr(_REQUEST, "members", {})
            started.polysync_members = {
                "GlueVersion": self.glue_version,
                "ExecutionClass": sent.get("ExecutionClass") or self.execution_class,
                "JobRunQueuingEnabled": bool(sent.get("JobRunQueuingEnabled")),
            }
            started.polysync_job = self
        arguments = {str(k): str(v) for k, v in (getattr(started, "arguments", None) or {}).items()}
        outcome = LIFECYCLES.outcome_for("glue", self.name).for_attempt(0)
        LIFECYCLES.start(run_id, outcome, region=region, arguments=arguments)
        return run_id

    def get_job_run(self: Any, run_id: str) -> Any:
        spawn_retries(self)
        return original_get_run(self, run_id)

    def get_job_runs(self: Any) -> list[Any]:
        spawn_retries(self)
        for job_run in self.job_runs:
            job_run.advance()
        # Newest first by start; a retry started late still sorts by its own start.
        order = {id(run): i for i, run in enumerate(self.job_runs)}
        return sorted(self.job_runs, key=lambda r: (r.started_on, order[id(r)]), reverse=True)

    def status_get(self: Any) -> str | None:
        clock = LIFECYCLES.clocks.get(self.job_run_id)
        if clock is None:
            return original_status.fget(self)  # type: ignore[no-any-return]
        return glue_state(clock, time.monotonic())[0]

    def status_set(self: Any, value: str) -> None:
        original_status.fset(self, value)

    def as_dict(self: Any) -> dict[str, Any]:
        result: dict[str, Any] = original_as_dict(self)
        result["LogGroupName"] = GLUE_LOG_BASE
        _capacity(self, result)
        for member, value in getattr(self, "polysync_members", {}).items():
            if value is None:
                result.pop(member, None)
            else:
                result[member] = value
        clock = LIFECYCLES.clocks.get(self.job_run_id)
        if clock is None:
            return result
        result["ExecutionTime"] = 0
        state, message = glue_state(clock, time.monotonic())
        result["JobRunState"] = state
        result["Attempt"] = clock.attempt
        if message:
            result["ErrorMessage"] = message
        if state not in GLUE_TERMINAL:
            result.pop("CompletedOn", None)
            return result
        ended = glue_end(clock)
        if ended is not None:
            result["CompletedOn"] = result["LastModifiedOn"] = _utc(clock.wall(ended))
        _usage(self, result, clock, ended)
        if not clock.logged:
            clock.logged = True
            group = f"{GLUE_LOG_BASE}/error" if state != "SUCCEEDED" else f"{GLUE_LOG_BASE}/output"
            lines = clock.outcome.log_lines(state, clock.arguments)
            write_logs(clock.region, group, self.job_run_id, lines)
        return result

    glue_responses.GlueResponse.start_job_run = start_job_run_response
    fake_job.start_job_run = start_job_run
    fake_job.get_job_run = get_job_run
    fake_job.get_job_runs = get_job_runs
    fake_job_run.status = property(status_get, status_set)
    fake_job_run.as_dict = as_dict


def age_runs(job_name: str, seconds: float, region: str = "us-east-1") -> int:
    """Move every run of Glue job `job_name` `seconds` into the past, as if each had
    been started that much earlier: its clock (so its state and CompletedOn follow) and
    its StartedOn. How benchmarks and tests give a job a history of finished runs without
    waiting for them. Returns how many runs were moved."""
    backend = moto_module("moto.glue.models").glue_backends["123456789012"][region]
    job = backend.jobs[job_name]
    for run in job.job_runs:
        clock = LIFECYCLES.clocks.get(run.job_run_id)
        if clock is not None:
            clock.created -= seconds
        run.started_on -= dt.timedelta(seconds=seconds)
        run.modified_on = run.started_on
    return len(job.job_runs)
