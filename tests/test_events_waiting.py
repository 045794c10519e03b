"""Event-driven waiting (README, "Event-driven waiting"): `polysync events setup` makes
the SQS queue, the EventBridge rules and the queue policy; apply with a platform's
`events_queue` learns of run ends from the queue and reads runs only to reconcile."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from polysync_spec import load_project
from polysync_spec.cli import run
from polysync_spec.engine.listen import EventWaiting
from polysync_spec.engine.monitor import PollPolicy
from polysync_spec.errors import ExitCode
from polysync_spec.providers.aws import Sessions
from polysync_spec.providers.clients import event_feeds
from polysync_spec.sandbox.lifecycle import Outcome
from polysync_spec.sandbox.server import Sandbox
from tests.applying import apply_plan, plan_for, statuses
from tests.helpers import write

QUEUE = "polysync-events"
MANIFEST = f"""\
version: 1
platforms:
  glue: {{type: aws_glue, region: us-east-1, events_queue: {QUEUE}}}
  batch: {{type: aws_batch, region: us-east-1, default_job_queue: etl-standard, events_queue: {QUEUE}}}
jobs:
  load: {{platform: glue, external_id: customers-etl}}
  clean: {{platform: batch, external_id: cleanup}}
"""
WAITING_OPERATIONS = frozenset(
    {"DescribeJobs", "ListJobs", "GetJobRun", "GetJobRuns", "ReceiveMessage",
     "DeleteMessageBatch", "DeleteMessage", "GetQueueUrl", "GetQueueAttributes"}
)  # fmt: skip
SUBMISSIONS = frozenset({"SubmitJob", "StartJobRun"})


def _batch_runs(n: int, job: str = "clean") -> str:
    runs = "".join(f"      - {{name: r{i}, job: {job}}}\n" for i in range(n))
    return f"run_plans:\n  p:\n    max_concurrency: {n}\n    runs:\n{runs}"


def _sqs(sandbox: Sandbox) -> Any:
    return boto3.client(
        "sqs",
        endpoint_url=sandbox.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="sandbox",
        aws_secret_access_key="sandbox",
    )


def _events(sandbox: Sandbox) -> Any:
    return boto3.client(
        "events",
        endpoint_url=sandbox.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="sandbox",
        aws_secret_access_key="sandbox",
    )


def _set_up(path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    assert run(["events", "setup", str(path)]) == ExitCode.OK
    return capsys.readouterr().out


def _waiting(sandbox: Sandbox, path: Path, reconcile: float = 300.0) -> EventWaiting:
    project = load_project(path, env={})
    feeds = event_feeds(dict(project.platforms), Sessions(sandbox_url=sandbox.endpoint_url))
    return EventWaiting(feeds, reconcile=reconcile, gather=0.5)


def _calls_while_waiting(sandbox: Sandbox) -> list[str]:
    """The AWS calls from the first submission on, submissions excluded: everything
    apply asked while runs were in flight."""
    records = sandbox.requests()
    first = min(i for i, r in enumerate(records) if r.operation in SUBMISSIONS)
    return [r.operation for r in records[first:] if r.operation not in SUBMISSIONS]


# ---------------------------------------------------------------- setup


def test_setup_creates_queue_rules_and_policy_and_a_second_run_changes_nothing(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, MANIFEST + _batch_runs(1))
    first = _set_up(path, capsys)
    assert "+ SQS queue polysync-events created" in first
    assert "+ EventBridge rule polysync-batch-polysync-events created" in first
    assert "+ EventBridge rule polysync-glue-polysync-events created" in first
    events = _events(sandbox)
    rule = events.describe_rule(Name="polysync-batch-polysync-events")
    assert rule["State"] == "ENABLED"
    pattern = json.loads(rule["EventPattern"])
    assert pattern["source"] == ["aws.batch"]
    assert pattern["detail-type"] == ["Batch Job State Change"]
    assert pattern["detail"]["status"] == ["SUCCEEDED", "FAILED"]
    glue_rule = json.loads(
        events.describe_rule(Name="polysync-glue-polysync-events")["EventPattern"]
    )
    assert glue_rule["detail-type"] == ["Glue Job State Change"]
    targets = events.list_targets_by_rule(Rule="polysync-batch-polysync-events")["Targets"]
    assert [t["Arn"] for t in targets] == ["arn:aws:sqs:us-east-1:123456789012:polysync-events"]
    sqs = _sqs(sandbox)
    url = sqs.get_queue_url(QueueName=QUEUE)["QueueUrl"]
    policy = json.loads(
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"]["Policy"]
    )
    sources = sorted(s["Condition"]["ArnEquals"]["aws:SourceArn"] for s in policy["Statement"])
    assert sources == [
        "arn:aws:events:us-east-1:123456789012:rule/polysync-batch-polysync-events",
        "arn:aws:events:us-east-1:123456789012:rule/polysync-glue-polysync-events",
    ]
    assert {s["Principal"]["Service"] for s in policy["Statement"]} == {"events.amazonaws.com"}

    sandbox.log.clear()
    second = _set_up(path, capsys)
    assert "created" not in second and "updated" not in second
    assert second.count("unchanged") == 8  # queue, rule, target, policy; per platform
    writes = {"CreateQueue", "PutRule", "PutTargets", "SetQueueAttributes"}
    assert not [r.operation for r in sandbox.requests() if r.operation in writes]


def test_setup_dry_run_creates_nothing(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, MANIFEST + _batch_runs(1))
    assert run(["events", "setup", str(path), "--platform", "batch", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "+ SQS queue polysync-events would create" in out
    assert "+ EventBridge rule polysync-batch-polysync-events would create" in out
    writes = {"CreateQueue", "PutRule", "PutTargets", "SetQueueAttributes"}
    assert not [r.operation for r in sandbox.requests() if r.operation in writes]


def test_without_the_queue_policy_the_rule_delivers_nothing(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """As on AWS: EventBridge may send to the queue only as its policy allows."""
    path = write(tmp_path, MANIFEST + _batch_runs(2))
    _set_up(path, capsys)
    sqs = _sqs(sandbox)
    url = sqs.get_queue_url(QueueName=QUEUE)["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": ""})
    plan = plan_for(sandbox, path)
    result, _ = apply_plan(sandbox, plan, tmp_path, events=_waiting(sandbox, path, reconcile=1.0))
    assert statuses(result) == {"r0": "Success", "r1": "Success"}  # by reconcile reads
    answered = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0)
    assert not answered.get("Messages")


# ---------------------------------------------------------------- apply


def test_with_events_a_hundred_runs_are_waited_on_with_fewer_than_50_calls(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    n = 100
    path = write(tmp_path, MANIFEST + _batch_runs(n))
    _set_up(path, capsys)
    # Half fail, each with its own exit code: every run's own end is reported.
    sandbox.script("batch", "cleanup", Outcome(starting_seconds=0.3, running_seconds=1.0))
    plan = plan_for(sandbox, path)
    sandbox.log.clear()
    result, _ = apply_plan(
        sandbox,
        plan,
        tmp_path,
        poll=PollPolicy(minimum=0.05, maximum=0.2),
        events=_waiting(sandbox, path),
    )
    assert result.exit_code is ExitCode.OK
    assert set(statuses(result).values()) == {"Success"}
    assert len([r for r in sandbox.requests() if r.operation == "SubmitJob"]) == n
    waiting = _calls_while_waiting(sandbox)
    assert len(waiting) < 50, waiting
    # One batched read at the start; every end came from the queue.
    assert waiting.count("DescribeJobs") == 1
    assert set(waiting) <= {"DescribeJobs", "ReceiveMessage", "DeleteMessageBatch"}
    assert waiting.count("ReceiveMessage") >= 1
    # ... and the ledger holds each run's end.
    from polysync_spec.engine.ledger import SqliteLedger

    ledger = SqliteLedger(tmp_path / "state.db")
    try:
        recorded = {key: r.status for key, r in ledger.runs(result.apply_id).items()}
    finally:
        ledger.close()
    assert set(recorded.values()) == {"Success"} and len(recorded) == n


def test_without_events_the_same_runs_are_polled_as_before(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, MANIFEST + _batch_runs(3))
    _set_up(path, capsys)
    plan = plan_for(sandbox, path)
    sandbox.log.clear()
    result, _ = apply_plan(sandbox, plan, tmp_path)  # no events: polling
    assert result.exit_code is ExitCode.OK
    operations = {r.operation for r in sandbox.requests()}
    assert "ReceiveMessage" not in operations and "DescribeJobs" in operations


def test_failures_and_cancellations_come_with_aws_s_reason(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, MANIFEST + _batch_runs(2))
    _set_up(path, capsys)
    sandbox.script(
        "batch",
        "cleanup",
        Outcome(result="FAILED", exit_code=3, starting_seconds=0.2, running_seconds=0.3),
    )
    plan = plan_for(sandbox, path)
    sandbox.log.clear()
    result, _ = apply_plan(sandbox, plan, tmp_path, events=_waiting(sandbox, path), log_lines=0)
    assert result.exit_code is ExitCode.RUNS_FAILED
    assert statuses(result) == {"r0": "Failed", "r1": "Failed"}
    assert {s.message for s in result.runs.values()} == {
        "Essential container in task exited (exit code 3)"
    }
    assert _calls_while_waiting(sandbox).count("DescribeJobs") == 1


def test_a_lost_event_is_caught_by_the_reconcile_read(
    sandbox: Sandbox,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from polysync_spec.sandbox import eventbridge

    path = write(tmp_path, MANIFEST + _batch_runs(1))
    _set_up(path, capsys)
    sandbox.script("batch", "cleanup", Outcome(starting_seconds=0.1, running_seconds=0.2))
    plan = plan_for(sandbox, path)
    sandbox.log.clear()
    # The run's end never reaches the queue (events are best effort).
    monkeypatch.setattr(eventbridge, "put_event", lambda *args, **kwargs: None)
    result, _ = apply_plan(sandbox, plan, tmp_path, events=_waiting(sandbox, path, reconcile=1.5))
    assert statuses(result) == {"r0": "Success"}
    waiting = _calls_while_waiting(sandbox)
    assert waiting.count("DescribeJobs") == 2, waiting  # at the start, then the reconcile
    assert waiting.index("ReceiveMessage") < len(waiting) - 1 - waiting[::-1].index("DescribeJobs")


def _event_body(detail_type: str, source: str, detail: dict[str, Any], age: float = 0.0) -> str:
    """A message as an EventBridge rule puts it on an SQS queue: the whole event."""
    import datetime as dt
    import time
    import uuid

    at = dt.datetime.fromtimestamp(time.time() - age, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return json.dumps(
        {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": detail_type,
            "source": source,
            "account": "123456789012",
            "time": at,
            "region": "us-east-1",
            "resources": [],
            "detail": detail,
        }
    )


def _in_queue(sandbox: Sandbox) -> int:
    sqs = _sqs(sandbox)
    url = sqs.get_queue_url(QueueName=QUEUE)["QueueUrl"]
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return sum(int(attributes[name]) for name in names)


def test_duplicate_and_stale_events_are_ignored_and_other_applies_messages_left(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from polysync_spec.engine.events import RunSettled
    from tests.applying import applier_for

    slow = "  slow: {platform: batch, external_id: nightly-export, parameters: {input_path: x, partners: y}}\n"
    runs = "run_plans:\n  p:\n    runs:\n      - {name: quick, job: clean}\n      - {name: long, job: slow}\n"
    path = write(tmp_path, MANIFEST + slow + runs)
    _set_up(path, capsys)
    sandbox.script("batch", "cleanup", Outcome(starting_seconds=0.1, running_seconds=0.2))
    sandbox.script("batch", "nightly-export", Outcome(starting_seconds=0.2, running_seconds=4.0))
    plan = plan_for(sandbox, path)
    applier, ledger, _ = applier_for(sandbox, plan, tmp_path, events=_waiting(sandbox, path))
    sqs = _sqs(sandbox)
    url = sqs.get_queue_url(QueueName=QUEUE)["QueueUrl"]
    told = applier.sink

    def sink(event: Any) -> None:
        told(event)
        if isinstance(event, RunSettled) and event.key == "quick":
            job_id = applier.runs["quick"].run_id
            late = {
                "jobId": job_id,
                "jobName": "Polysync-x",
                "status": "FAILED",
                "statusReason": "late",
            }
            again = {"jobId": job_id, "jobName": "Polysync-x", "status": "SUCCEEDED"}
            other = {"jobId": "not-ours", "jobName": "Polysync-y", "status": "SUCCEEDED"}
            for body in (
                _event_body("Batch Job State Change", "aws.batch", late),
                _event_body("Batch Job State Change", "aws.batch", again),
                _event_body("Batch Job State Change", "aws.batch", other),
                _event_body("Batch Job State Change", "aws.batch", other, age=3600),
            ):
                sqs.send_message(QueueUrl=url, MessageBody=body)

    applier.sink = sink
    try:
        result = applier.run()
        recorded = {key: r.status for key, r in ledger.runs(result.apply_id).items()}
    finally:
        ledger.close()
    assert statuses(result) == {"quick": "Success", "long": "Success"}
    assert recorded == {"quick": "Success", "long": "Success"}
    # This apply's messages were deleted, so was the hour-old one about no run of it;
    # the fresh one about another apply's run is left for that apply.
    assert _in_queue(sandbox) == 1


def test_glue_ends_come_from_events_and_a_failure_is_read_once_more(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A FAILED Glue run may be retried by Glue (a new run): it is read before it is
    recorded; a success is taken from its event."""
    runs = "run_plans:\n  p:\n    runs:\n      - {job: load}\n      - {job: check}\n"
    path = write(
        tmp_path, MANIFEST + "  check: {platform: glue, external_id: orders-quality}\n" + runs
    )
    _set_up(path, capsys)
    sandbox.script("glue", "customers-etl", Outcome(starting_seconds=0.2, running_seconds=0.5))
    sandbox.script(
        "glue",
        "orders-quality",
        Outcome(
            result="FAILED",
            message="null ratio too high",
            starting_seconds=0.2,
            running_seconds=0.5,
        ),
    )
    plan = plan_for(sandbox, path)
    sandbox.log.clear()
    result, _ = apply_plan(sandbox, plan, tmp_path, events=_waiting(sandbox, path), log_lines=0)
    assert statuses(result) == {"load": "Success", "check": "Failed"}
    assert result.runs["check"].message == "null ratio too high"
    reads = [
        (r.operation, r.params.get("JobName"))
        for r in sandbox.requests()
        if r.operation in ("GetJobRun", "GetJobRuns")
    ]
    # One read of each at the start, one more of the failure; none of the success after.
    assert sorted(reads) == [
        ("GetJobRun", "customers-etl"),
        ("GetJobRun", "orders-quality"),
        ("GetJobRun", "orders-quality"),
    ]


def test_a_missing_queue_stops_apply_before_anything_is_submitted(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, MANIFEST + _batch_runs(1))
    code = run(["apply", str(path), "--auto-approve", "--state", str(tmp_path / "s.db")])
    assert code == ExitCode.ERROR
    err = capsys.readouterr().err
    assert "SQS queue 'polysync-events': GetQueueUrl" in err
    assert "polysync events setup" in err
    assert "Traceback" not in err
    assert not [r for r in sandbox.requests() if r.operation in SUBMISSIONS]


def test_interrupt_with_events_on_cancels_runs_in_flight(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    from tests.applying import submissions

    path = write(tmp_path, MANIFEST + _batch_runs(2))
    _set_up(path, capsys)
    sandbox.script("batch", "cleanup", Outcome(stuck_in="RUNNING", starting_seconds=0.05))
    env = {**os.environ, "AWS_ENDPOINT_URL": sandbox.endpoint_url, "COLUMNS": "200"}
    process = subprocess.Popen(
        [sys.executable, "-m", "polysync_spec", "apply", str(path), "--auto-approve",
         "--poll-interval", "0.1", "--state", str(tmp_path / "s.db")],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while len(submissions(sandbox)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    while not sandbox.requests("ReceiveMessage") and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # in the queue's long poll
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert process.returncode == ExitCode.INTERRUPTED, err
    [terminate] = sandbox.requests("TerminateJobs")  # both runs in one bulk call
    assert (len(terminate.params["jobs"]), terminate.params["reason"]) == (
        2,
        "Cancelled by Polysync",
    )
    summary = {line.split()[0]: line.split()[1] for line in out.splitlines()[-2:]}
    assert summary == {"r0": "Cancelled", "r1": "Cancelled"}


def test_setup_and_apply_work_with_exactly_the_policy_polysync_iam_prints(
    sandbox: Sandbox,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    as_iam_user: Any,
) -> None:
    path = write(tmp_path, MANIFEST + _batch_runs(2))
    sandbox.script("batch", "cleanup", Outcome(starting_seconds=0.1, running_seconds=0.2))
    argv = ["iam", str(path), "--account-id", "123456789012"]
    assert run([*argv, "-c", "plan", "-c", "apply", "-c", "events"]) == 0
    policy = json.loads(capsys.readouterr().out)
    queue_statements = [s for s in policy["Statement"] if s["Sid"].endswith("EventQueue")]
    assert [s["Sid"] for s in queue_statements] == ["ApplyEventQueue", "EventsEventQueue"]
    assert queue_statements[0]["Action"] == [
        "sqs:DeleteMessage",
        "sqs:GetQueueUrl",
        "sqs:ReceiveMessage",
    ]
    as_iam_user(policy)
    # The policy covers the platforms the run plans use: here the Batch one.
    assert run(["events", "setup", str(path), "-p", "batch"]) == 0, capsys.readouterr().err
    capsys.readouterr()
    code = run(
        ["apply", str(path), "--auto-approve", "--poll-interval", "0.05",
         "--state", str(tmp_path / "s.db")]
    )  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert sandbox.requests("ReceiveMessage")
    # Without the queue's permissions, the queue is refused by name before any submission.
    sandbox.enforce_iam(False)
    keep = ("Plan", "Apply")
    without = {
        **policy,
        "Statement": [
            s
            for s in policy["Statement"]
            if s["Sid"].startswith(keep) and s["Sid"] != "ApplyEventQueue"
        ],
    }
    as_iam_user(without)
    sandbox.log.clear()
    code = run(["apply", str(path), "--auto-approve", "--rerun", "--state", str(tmp_path / "s.db")])
    err = capsys.readouterr().err
    assert code == ExitCode.ERROR
    assert "sqs:GetQueueUrl" in err
    assert not [r for r in sandbox.requests() if r.operation in SUBMISSIONS]


def test_an_events_queue_that_is_no_sqs_queue_name_is_an_error_at_its_position(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(
        tmp_path,
        "version: 1\nplatforms:\n  batch:\n    type: aws_batch\n    region: us-east-1\n"
        "    events_queue: my.queue.fifo\n",
    )
    assert run(["validate", str(path)]) == ExitCode.ERROR
    out = capsys.readouterr().out
    assert out.startswith(f"{path}:6:19: error PS103: 'events_queue' is not valid")
    assert "expected an SQS queue name" in out


def test_a_platform_without_a_queue_is_polled_at_its_interval_beside_one_with_events(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = MANIFEST.replace(f", events_queue: {QUEUE}}}\n  batch", "}\n  batch", 1)
    assert "glue: {type: aws_glue, region: us-east-1}" in manifest
    runs = "run_plans:\n  p:\n    runs:\n      - {job: load}\n      - {job: clean}\n"
    path = write(tmp_path, manifest + runs)
    _set_up(path, capsys)
    sandbox.script("glue", "customers-etl", Outcome(starting_seconds=0.2, running_seconds=2.5))
    sandbox.script("batch", "cleanup", Outcome(starting_seconds=0.2, running_seconds=2.5))
    plan = plan_for(sandbox, path)
    sandbox.log.clear()
    result, _ = apply_plan(
        sandbox,
        plan,
        tmp_path,
        poll=PollPolicy(minimum=0.3, maximum=0.3, jitter=0.0),
        events=_waiting(sandbox, path),
    )
    assert statuses(result) == {"load": "Success", "clean": "Success"}
    waiting = _calls_while_waiting(sandbox)
    assert waiting.count("DescribeJobs") == 1  # the Batch run's end came from its event
    # Glue is polled at its interval (about 10 reads over its 2.7 s), not in a busy loop.
    assert 2 <= waiting.count("GetJobRun") <= 30, waiting.count("GetJobRun")
    assert waiting.count("ReceiveMessage") <= 30, waiting.count("ReceiveMessage")


def test_a_glue_failure_glue_retries_is_followed_to_the_retry_s_end(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Glue sends FAILED for the first attempt and then the retry's own events (a new
    run id): the run polysync started ends with its retry, not with the failure."""
    glue = boto3.client(
        "glue", endpoint_url=sandbox.endpoint_url, region_name="us-east-1",
        aws_access_key_id="sandbox", aws_secret_access_key="sandbox",
    )  # fmt: skip
    glue.create_job(
        Name="retrying",
        Role="r",
        Command={"Name": "glueetl", "ScriptLocation": "s3://s/x.py"},
        MaxRetries=1,
    )
    quick = Outcome(starting_seconds=0.2, running_seconds=0.4)
    sandbox.script(
        "glue", "retrying", Outcome(result="FAILED", message="boom", starting_seconds=0.2,
                                    running_seconds=0.4, retries=(quick,))
    )  # fmt: skip
    runs = "  retry: {platform: glue, external_id: retrying}\nrun_plans:\n  p:\n    runs:\n      - {job: retry}\n"
    path = write(tmp_path, MANIFEST + runs)
    _set_up(path, capsys)
    plan = plan_for(sandbox, path)
    result, _ = apply_plan(sandbox, plan, tmp_path, events=_waiting(sandbox, path), log_lines=0)
    assert statuses(result) == {"retry": "Success"}
    assert result.runs["retry"].message == "retry attempt 1"


# ---------------------------------------------------------------- the events, pure


@pytest.mark.parametrize(
    ("service", "detail_type", "detail", "expected"),
    [
        ("batch", "Batch Job State Change", {"jobId": "j1", "status": "SUCCEEDED"},
         ("j1", "Success", None, False, None)),
        ("batch", "Batch Job State Change",
         {"jobId": "j1", "status": "FAILED", "statusReason": "Cancelled by Polysync"},
         ("j1", "Cancelled", None, False, "Cancelled by Polysync")),
        ("batch", "Batch Job State Change",
         {"jobId": "j1", "status": "FAILED", "arrayProperties": {"size": 3, "statusSummary": {"FAILED": 1}}},
         ("j1", "Failed", None, True, None)),
        ("batch", "Batch Job State Change", {"jobId": "p:3", "status": "FAILED"},
         ("p:3", "Failed", "p", False, None)),
        ("batch", "Batch Job State Change", {"jobId": "j1", "status": "RUNNING"},
         ("j1", "Running", None, False, None)),
        ("glue", "Glue Job State Change",
         {"jobName": "etl", "jobRunId": "jr_1", "state": "SUCCEEDED", "message": "Job run succeeded"},
         ("etl/jr_1", "Success", None, False, None)),
        ("glue", "Glue Job State Change",
         {"jobName": "etl", "jobRunId": "jr_1", "state": "FAILED", "message": "boom"},
         ("etl/jr_1", "Failed", None, True, "boom")),
        ("glue", "Glue Job State Change",
         {"jobName": "etl", "jobRunId": "jr_1_attempt_2", "state": "SUCCEEDED"},
         ("etl/jr_1_attempt_2", "Success", "etl/jr_1", True, None)),
        ("glue", "Glue Job State Change", {"jobName": "etl", "jobRunId": "jr_1", "state": "STOPPED"},
         ("etl/jr_1", "Cancelled", None, False, None)),
    ],
)  # fmt: skip
def test_an_event_names_its_run_and_its_end(
    service: str, detail_type: str, detail: dict[str, Any], expected: tuple[Any, ...]
) -> None:
    from polysync_spec.providers.registry import by_service

    event = by_service(service).run_event(detail_type, detail)
    assert event is not None
    run_id, status, owner, confirm, message = expected
    assert (event.run_id, event.report.status, event.owner, event.confirm) == (
        run_id,
        status,
        owner,
        confirm,
    )
    if message is not None:
        assert event.report.message == message


def test_events_that_are_not_about_a_run_are_none() -> None:
    from polysync_spec.providers.eventqueue.feed import parse
    from polysync_spec.providers.registry import by_service

    assert by_service("batch").run_event("Batch Service Job State Change", {"jobId": "j"}) is None
    assert by_service("glue").run_event("Glue Job State Change", {"state": "FAILED"}) is None
    assert parse("not json") == (None, None)
    body = _event_body("Glue Crawler State Change", "aws.glue", {"crawlerName": "c"})
    event, happened = parse(body)
    assert event is None and happened is not None
    assert parse(_event_body("EC2 Instance State-change Notification", "aws.ec2", {}))[0] is None


def test_a_glue_timeout_event_carries_the_product_document_s_remedy() -> None:
    from polysync_spec.providers.registry import by_service

    event = by_service("glue").run_event(
        "Glue Job State Change",
        {"jobName": "etl", "jobRunId": "jr_1", "state": "TIMEOUT", "message": "Job run timed out"},
    )
    assert event is not None and event.final and not event.confirm
    assert event.report.message is not None
    assert event.report.message.startswith("Job run timed out. Run reaches TIMEOUT")


def test_rule_names_fit_eventbridge_s_64_characters() -> None:
    from polysync_spec.providers.eventqueue.names import rule_name

    assert rule_name("polysync-events", "batch") == "polysync-batch-polysync-events"
    long_names = {rule_name("q" * n + str(n), "batch") for n in range(40, 79)}
    assert all(len(name) <= 64 for name in long_names)
    assert len(long_names) == 39  # distinct queues, distinct rules


def test_events_keep_flowing_when_another_sandbox_of_the_process_stops(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Found by the full suite: a command's own sandbox, stopping, stopped the process-
    wide event watcher under the session's sandbox, and apply waited on its queue until
    the test's timeout."""
    from polysync_spec.sandbox import eventbridge

    with Sandbox():
        pass  # a second sandbox in the process comes and goes
    assert eventbridge.EMITTER._thread is not None and eventbridge.EMITTER._thread.is_alive()
    path = write(tmp_path, MANIFEST + _batch_runs(2))
    _set_up(path, capsys)
    sandbox.script("batch", "cleanup", Outcome(starting_seconds=0.05, running_seconds=0.1))
    plan = plan_for(sandbox, path)
    result, _ = apply_plan(sandbox, plan, tmp_path, events=_waiting(sandbox, path), timeout=60)
    assert statuses(result) == {"r0": "Success", "r1": "Success"}
