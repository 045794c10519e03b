"""State-change events, as AWS Batch and AWS Glue send them to EventBridge.

moto routes an event put on its default bus to the targets of the matching rules (SQS
among them), but nothing in moto emits the services' own events, and moto delivers to a
queue whatever its policy says. Here:
- a watcher thread (`Emitter`) follows every Batch job and Glue run the sandbox has
  started (their clocks, `lifecycle.py`) and, when one changes state, puts the event the
  service would: Batch "Batch Job State Change" for every change after submission, with
  the DescribeJobs job as `detail` (AWS Batch User Guide, "Job state change events");
  Glue "Glue Job State Change" for SUCCEEDED, FAILED, TIMEOUT and STOPPED, with
  `{jobName, severity, state, jobRunId, message}` (AWS Glue Developer Guide, "Automating
  AWS Glue with EventBridge"). It only looks while some rule exists, so the sandbox
  costs nothing more without one;
- a rule delivers only while ENABLED, and to an SQS queue only when the queue's policy
  allows `events.amazonaws.com` `sqs:SendMessage` from the rule's ARN (Amazon
  EventBridge User Guide, "Using resource-based policies", Amazon SQS permissions):
  otherwise the event is dropped, as EventBridge drops it (a failed invocation).
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from polysync_spec.sandbox.lifecycle import LIFECYCLES, glue_state, moto_module

ACCOUNT_ID = "123456789012"
TICK = 0.05  # seconds between looks
# States after which a run changes no more: it is not looked at again.
ENDED = frozenset({"SUCCEEDED", "FAILED", "TIMEOUT", "STOPPED", "ERROR", "EXPIRED"})
GLUE_EVENT_STATES = {
    "SUCCEEDED": ("INFO", "Job run succeeded"),
    "FAILED": ("ERROR", None),
    "TIMEOUT": ("ERROR", "Job run timed out"),
    "STOPPED": ("INFO", "Job run stopped"),
}


class Emitter:
    """Puts the services' state-change events on EventBridge as runs change state."""

    def __init__(self) -> None:
        self.seen: dict[str, str] = {}  # run id -> the state last told
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.lock = threading.Lock()

        # Moto's state, and so this emitter, is process-wide while sandboxes come and go
        # (a test's session sandbox beside a command's own): the watcher runs while any
        # sandbox of the process does. Stopping it with the first sandbox to stop left
        # the others without events (their appliers waited on the queue for ever).
        self._users = 0
        self._users_lock = threading.Lock()

    def start(self) -> None:
        with self._users_lock:
            self._users += 1
            if self._thread is not None:
                return
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="sandbox-events", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        with self._users_lock:
            self._users = max(0, self._users - 1)
            if self._users or self._thread is None:
                return
            self._stop.set()
            self._thread.join(timeout=5)
            self._thread = None

    def reset(self) -> None:
        with self.lock:
            self.seen.clear()

    def _run(self) -> None:
        while not self._stop.wait(TICK):
            try:
                self.tick()
            except Exception:  # moto's objects changed under us (a reset): look again
                continue

    def tick(self) -> None:
        """One look at every run; an event for each that changed state since the last."""
        regions = _regions_with_rules()
        if not regions:
            return
        with self.lock:
            for region in regions:
                _start_glue_retries(region)
            for run_id, clock in list(LIFECYCLES.clocks.items()):
                if clock.region in regions and self.seen.get(run_id) not in ENDED:
                    self._look(run_id, clock)

    def _look(self, run_id: str, clock: Any) -> None:
        if run_id.startswith("jr_"):
            self._glue(run_id, clock)
        else:
            self._batch(run_id, clock)

    def _batch(self, job_id: str, clock: Any) -> None:
        from polysync_spec.sandbox import moto_batch

        # The clock says whether anything changed; only then is the job described (which
        # also brings moto's fields up to date, as a DescribeJobs would).
        if moto_batch._view(job_id, time.monotonic()).status == self.seen.get(job_id):
            return
        backend = moto_module("moto.batch.models").batch_backends[ACCOUNT_ID][clock.region]
        job = backend._jobs.get(job_id)
        if job is None:
            return
        detail = job.describe()
        status = str(detail.get("status"))
        before = self.seen.get(job_id)
        self.seen[job_id] = status
        if (before is None and status == "SUBMITTED") or before == status:
            return  # "Events aren't created for the initial job submission"
        put_event(
            clock.region,
            "aws.batch",
            "Batch Job State Change",
            detail,
            [str(detail.get("jobArn") or "")],
        )

    def _glue(self, run_id: str, clock: Any) -> None:
        state, message = glue_state(clock, time.monotonic())
        if self.seen.get(run_id) == state:
            return
        self.seen[run_id] = state
        if state not in GLUE_EVENT_STATES:
            return
        job_name = _glue_job_of(clock.region, run_id)
        if job_name is None:
            return
        severity, default = GLUE_EVENT_STATES[state]
        detail = {
            "jobName": job_name,
            "severity": severity,
            "state": state,
            "jobRunId": run_id,
            "message": message or default or state,
        }
        put_event(clock.region, "aws.glue", "Glue Job State Change", detail, [])


def _start_glue_retries(region: str) -> None:
    """Glue starts a failed run's retry by itself; the sandbox starts them on reads
    (`moto_glue.spawn_retries`), so while events are watched it reads for Glue."""
    from polysync_spec.sandbox import moto_glue

    backend = moto_module("moto.glue.models").glue_backends[ACCOUNT_ID][region]
    for job in list(backend.jobs.values()):
        if int(job.max_retries or 0) > 0:
            moto_glue.spawn_retries(job)


def _glue_job_of(region: str, run_id: str) -> str | None:
    backend = moto_module("moto.glue.models").glue_backends[ACCOUNT_ID][region]
    for job in list(backend.jobs.values()):
        if any(run.job_run_id == run_id for run in job.job_runs):
            return str(job.name)
    return None


def _regions_with_rules() -> set[str]:
    backends = moto_module("moto.events.models").events_backends
    regions: set[str] = set()
    for region, backend in list(backends.get(ACCOUNT_ID, {}).items()):
        buses = getattr(backend, "event_buses", {})
        if any(bus.rules for bus in list(buses.values())):
            regions.add(region)
    return regions


def put_event(
    region: str, source: str, detail_type: str, detail: Any, resources: list[str]
) -> None:
    """Put one event on the default bus of `region`, as the service does."""
    backend = moto_module("moto.events.models").events_backends[ACCOUNT_ID][region]
    backend.put_events(
        [
            {
                "Source": source,
                "DetailType": detail_type,
                "Detail": json.dumps(detail, default=str),
                "Resources": [r for r in resources if r],
            }
        ]
    )


def _allows(policy: Any, rule_arn: str) -> bool:
    """Whether a queue policy lets EventBridge rule `rule_arn` send messages."""
    try:
        document = json.loads(policy) if isinstance(policy, str) else policy
    except ValueError:
        return False
    statements = (document or {}).get("Statement") or []
    if isinstance(statements, dict):
        statements = [statements]
    for statement in statements:
        principal = statement.get("Principal") or {}
        services = principal.get("Service") if isinstance(principal, dict) else principal
        services = [services] if isinstance(services, str) else list(services or [])
        actions = statement.get("Action") or []
        actions = [actions] if isinstance(actions, str) else list(actions)
        if statement.get("Effect") != "Allow" or "events.amazonaws.com" not in services:
            continue
        if not any(a.lower() in ("sqs:sendmessage", "sqs:*", "*") for a in actions):
            continue
        condition = statement.get("Condition") or {}
        sources = [
            v
            for test in ("ArnEquals", "ArnLike", "StringEquals")
            for v in _values((condition.get(test) or {}).get("aws:SourceArn"))
        ]
        if not condition or rule_arn in sources:
            return True
    return False


def _values(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


_PATCHED: list[bool] = []


def patch() -> None:
    """Rules deliver only while ENABLED, and to a queue only as its policy allows."""
    if _PATCHED:
        return
    _PATCHED.append(True)
    events_models = moto_module("moto.events.models")
    rule_class = events_models.Rule
    original_send = rule_class.send_to_targets
    original_sqs = rule_class._send_to_sqs_queue

    def send_to_targets(self: Any, event: Any, transform_input: bool = True) -> None:
        if self.state != "ENABLED":
            return
        original_send(self, event, transform_input)

    def send_to_sqs_queue(self: Any, resource_id: str, event: Any, group_id: Any = None) -> None:
        sqs = moto_module("moto.sqs.models").sqs_backends[self.account_id][self.region_name]
        queue = sqs.queues.get(resource_id)
        if queue is None or not _allows(queue.policy, self.arn):
            return  # EventBridge's delivery fails: the event never reaches the queue
        original_sqs(self, resource_id, event, group_id)

    rule_class.send_to_targets = send_to_targets
    rule_class._send_to_sqs_queue = send_to_sqs_queue


EMITTER = Emitter()
