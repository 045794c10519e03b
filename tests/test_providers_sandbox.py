"""Providers against the sandbox over HTTP: boto3 -> botocore validation -> the wire ->
moto with polysync's extensions. Assertions read back what the emulator received."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import boto3
import pytest

from polysync_spec import load_project
from polysync_spec.manifest import Project
from polysync_spec.manifest.models import BatchJob, GlueJob
from polysync_spec.providers.aws import AwsError, Sessions
from polysync_spec.providers.base import RunRequest, RunStatus, StatusReport, Tier
from polysync_spec.providers.batch import spec as batch
from polysync_spec.providers.batch.client import BatchClient
from polysync_spec.providers.clients import client_for
from polysync_spec.providers.glue import spec as glue
from polysync_spec.providers.glue.client import GlueClient
from polysync_spec.providers.glue.importing import imported_parameters
from polysync_spec.sandbox.lifecycle import Outcome
from polysync_spec.sandbox.server import Sandbox
from tests.conftest import EXAMPLES
from tests.helpers import attempt

FAST = Outcome(starting_seconds=0.15, running_seconds=0.2)


@pytest.fixture
def project() -> Project:
    loaded = load_project(EXAMPLES, env={"ORDERS_API_TOKEN": "t0k3n"})
    assert loaded.ok
    return loaded


@pytest.fixture
def glue_provider(project: Project, sandbox: Sandbox) -> GlueClient:
    """Built as the product builds it (the registry): a no-retry client for submissions."""
    provider = client_for("glue_main", project.platforms["glue_main"], Sessions())
    assert isinstance(provider, GlueClient)
    return provider


@pytest.fixture
def batch_provider(project: Project, sandbox: Sandbox) -> BatchClient:
    provider = client_for("batch_main", project.platforms["batch_main"], Sessions())
    assert isinstance(provider, BatchClient)
    return provider


def _client(sandbox: Sandbox, service: str) -> Any:
    return boto3.client(service, endpoint_url=sandbox.endpoint_url, region_name="us-east-1")  # type: ignore[call-overload]


def wait_for(
    poll: Callable[[], StatusReport], until: Callable[[StatusReport], bool], timeout: float = 6.0
) -> StatusReport:
    deadline = time.monotonic() + timeout
    while True:
        report = poll()
        if until(report) or time.monotonic() > deadline:
            return report
        time.sleep(0.05)


def _glue_job(project: Project, name: str) -> GlueJob:
    job = project.jobs[name]
    assert isinstance(job, GlueJob)
    return job


def _batch_job(project: Project, name: str) -> BatchJob:
    job = project.jobs[name]
    assert isinstance(job, BatchJob)
    return job


# ------------------------------------------------------------------ Glue discovery


def test_glue_discovery_imports_default_arguments_without_system_ones(
    glue_provider: GlueClient, sandbox: Sandbox
) -> None:
    found, missing = glue_provider.discover(["orders-etl", "no-such-job"])
    assert missing == ["no-such-job"]
    definition = found["orders-etl"]
    assert (definition.worker_type, definition.number_of_workers, definition.glue_version) == (
        "G.1X",
        5,
        "4.0",
    )
    assert (definition.timeout_minutes, definition.max_concurrent_runs) == (60, 2)
    assert imported_parameters(definition) == {
        "source_path": ("s3://raw/orders/", "string"),
        "target_table": ("lake.orders", "string"),
        "row_limit": (500, "integer"),
    }
    assert [r.params for r in sandbox.requests("BatchGetJobs")] == [
        {"JobNames": ["orders-etl", "no-such-job"]}
    ]


def test_glue_discovery_pages_past_100_jobs(glue_provider: GlueClient, sandbox: Sandbox) -> None:
    client = _client(sandbox, "glue")
    for i in range(150):
        client.create_job(
            Name=f"bulk-{i:03}",
            Role="r",
            Command={"Name": "glueetl", "ScriptLocation": "s3://s/x.py"},
        )
    sandbox.log.clear()
    found, _ = glue_provider.discover()
    assert len(found) == 153
    calls = sandbox.requests("GetJobs")
    assert len(calls) == 2
    assert all(c.params["MaxResults"] == 100 for c in calls)


def test_glue_named_discovery_chunks_batch_get_jobs_by_100(
    glue_provider: GlueClient, sandbox: Sandbox
) -> None:
    names = [f"missing-{i}" for i in range(150)]
    _, missing = glue_provider.discover(names)
    assert missing == names
    assert [len(r.params["JobNames"]) for r in sandbox.requests("BatchGetJobs")] == [100, 50]


# ------------------------------------------------------------------ Glue submit


def test_glue_request_reaches_the_emulator_exactly_as_built(
    project: Project, glue_provider: GlueClient, sandbox: Sandbox
) -> None:
    found, _ = glue_provider.discover(["orders-etl"])
    run = project.run_plans["nightly"].runs[0]
    request = attempt(
        glue.build_request(
            _glue_job(project, "orders_etl"),
            project.platforms["glue_main"],
            run,
            found["orders-etl"],
        )
    )
    run_id = glue_provider.submit(request)
    [received] = sandbox.requests("StartJobRun")
    assert received.params == request.payload
    assert received.params["Arguments"]["--source_path"] == "s3://raw/orders/2026-01-01/"
    assert (
        received.params["NumberOfWorkers"] == 10
        and request.compute["number_of_workers"].tier is Tier.RUN
    )
    assert run_id.startswith("orders-etl/jr_")


def test_glue_definition_tier_is_applied_by_glue_not_sent(
    project: Project, glue_provider: GlueClient, sandbox: Sandbox
) -> None:
    found, _ = glue_provider.discover(["customers-etl"])
    platform = project.platforms["glue_main"].model_copy(update={"defaults": None})
    request = glue.build_request(
        _glue_job(project, "customers_etl"), platform, None, found["customers-etl"]
    )
    run_id = glue_provider.submit(attempt(request))
    [received] = sandbox.requests("StartJobRun")
    assert "WorkerType" not in received.params and "NumberOfWorkers" not in received.params
    job_run = _client(sandbox, "glue").get_job_run(
        JobName="customers-etl", RunId=glue.split_run_id(run_id)[1]
    )["JobRun"]
    assert (job_run["WorkerType"], job_run["NumberOfWorkers"]) == ("G.1X", 2)  # from the definition


def test_glue_max_concurrent_runs_is_enforced_by_the_service(
    project: Project, glue_provider: GlueClient, sandbox: Sandbox
) -> None:
    sandbox.script("glue", "orders-etl", Outcome(stuck_in="RUNNING"))
    request = glue.build_request(_glue_job(project, "orders_etl"), project.platforms["glue_main"])
    glue_provider.submit(attempt(request))
    glue_provider.submit(attempt(request))
    with pytest.raises(AwsError, match="ConcurrentRunsExceededException"):
        glue_provider.submit(attempt(request))


def test_glue_unknown_job_names_the_job_and_region(
    project: Project, glue_provider: GlueClient
) -> None:
    job = _glue_job(project, "orders_etl").model_copy(update={"external_id": "no-such-job"})
    request = glue.build_request(job, project.platforms["glue_main"])
    with pytest.raises(AwsError, match="No Glue job named 'no-such-job' exists in us-east-1"):
        glue_provider.submit(attempt(request))


@pytest.mark.parametrize(
    ("tier", "expected"),
    [(Tier.RUN, 20), (Tier.JOB, 10), (Tier.PLATFORM, 5), (Tier.DEFINITION, 2)],
)
def test_each_compute_tier_as_the_emulator_received_it(
    project: Project, glue_provider: GlueClient, sandbox: Sandbox, tier: Tier, expected: int
) -> None:
    from polysync_spec.manifest.models import GlueCompute, Run, RunCompute

    order = [Tier.RUN, Tier.JOB, Tier.PLATFORM, Tier.DEFINITION]
    present = order[order.index(tier) :]  # the winning tier and every tier below it
    job = _glue_job(project, "customers_etl").model_copy(
        update={"compute": GlueCompute(number_of_workers=10) if Tier.JOB in present else None}
    )
    platform = project.platforms["glue_main"].model_copy(
        update={"defaults": GlueCompute(number_of_workers=5) if Tier.PLATFORM in present else None}
    )
    run = (
        Run(job="customers_etl", compute=RunCompute(number_of_workers=20))
        if Tier.RUN in present
        else None
    )
    found, _ = glue_provider.discover(["customers-etl"])  # the definition says 2 workers
    request = glue.build_request(job, platform, run, found["customers-etl"])
    run_id = glue_provider.submit(attempt(request))
    [received] = sandbox.requests("StartJobRun")
    sent = received.params.get("NumberOfWorkers")
    assert sent == (None if tier is Tier.DEFINITION else expected)
    job_run = _client(sandbox, "glue").get_job_run(
        JobName="customers-etl", RunId=glue.split_run_id(run_id)[1]
    )
    assert job_run["JobRun"]["NumberOfWorkers"] == expected
    assert request.compute["number_of_workers"].tier is tier


# ------------------------------------------------------------------ Glue statuses and cancel


def _start(
    glue_provider: GlueClient, sandbox: Sandbox, outcome: Outcome, job: str = "customers-etl"
) -> str:
    sandbox.script("glue", job, outcome)
    return glue_provider.submit(RunRequest("StartJobRun", {"JobName": job}))


@pytest.mark.parametrize(
    ("result", "status"),
    [
        ("SUCCEEDED", RunStatus.SUCCESS),
        ("FAILED", RunStatus.FAILED),
        ("TIMEOUT", RunStatus.FAILED),
        ("ERROR", RunStatus.FAILED),
        ("EXPIRED", RunStatus.FAILED),
    ],
)
def test_glue_terminal_states_over_the_wire(
    glue_provider: GlueClient, sandbox: Sandbox, result: str, status: RunStatus
) -> None:
    run_id = _start(glue_provider, sandbox, replace(FAST, result=result, message=f"{result} here"))
    # Which short states a poll lands in depends on the machine's load; their order and
    # their mapping do not.
    seen: list[StatusReport] = []

    def poll() -> StatusReport:
        seen.append(glue_provider.poll([run_id])[run_id])
        return seen[-1]

    report = wait_for(poll, lambda r: r.status.terminal)
    assert (report.status, report.state) == (status, result)
    order = ["STARTING", "RUNNING", result]
    states = [str(r.state) for r in seen]
    assert states == sorted(states, key=order.index)
    mapped = {"STARTING": RunStatus.STARTING, "RUNNING": RunStatus.RUNNING, result: status}
    assert all(r.status is mapped[str(r.state)] for r in seen)
    expected = {"SUCCEEDED": None, "TIMEOUT": f"TIMEOUT here. {glue.TIMEOUT_REMEDY}"}
    assert report.message == expected.get(result, f"{result} here")


def test_glue_running_and_waiting_states(glue_provider: GlueClient, sandbox: Sandbox) -> None:
    running = _start(glue_provider, sandbox, Outcome(stuck_in="RUNNING", starting_seconds=0.05))
    report = wait_for(
        lambda: glue_provider.poll([running])[running], lambda r: r.state == "RUNNING"
    )
    assert report.status is RunStatus.RUNNING
    waiting = _start(glue_provider, sandbox, Outcome(stuck_in="WAITING"), job="orders-etl")
    assert glue_provider.poll([waiting])[waiting] == StatusReport(
        RunStatus.STARTING, "WAITING", None, waiting=True
    )


def test_glue_cancel_goes_stopping_then_stopped(
    glue_provider: GlueClient, sandbox: Sandbox
) -> None:
    run_id = _start(glue_provider, sandbox, Outcome(stuck_in="RUNNING", starting_seconds=0.05))
    wait_for(lambda: glue_provider.poll([run_id])[run_id], lambda r: r.state == "RUNNING")
    assert glue_provider.cancel([run_id]) == {run_id: None}
    stopping = glue_provider.poll([run_id])[run_id]
    assert (stopping.state, stopping.status) == ("STOPPING", RunStatus.RUNNING)
    stopped = wait_for(lambda: glue_provider.poll([run_id])[run_id], lambda r: r.status.terminal)
    assert (stopped.state, stopped.status) == ("STOPPED", RunStatus.CANCELLED)
    [call] = sandbox.requests("BatchStopJobRun")
    assert call.params == {"JobName": "customers-etl", "JobRunIds": [glue.split_run_id(run_id)[1]]}


def test_glue_cancel_while_starting(glue_provider: GlueClient, sandbox: Sandbox) -> None:
    run_id = _start(glue_provider, sandbox, Outcome(starting_seconds=5))
    assert glue_provider.cancel([run_id]) == {run_id: None}
    stopped = wait_for(lambda: glue_provider.poll([run_id])[run_id], lambda r: r.status.terminal)
    assert stopped.status is RunStatus.CANCELLED


def test_glue_cancel_reports_per_run_errors_instead_of_raising(
    glue_provider: GlueClient, sandbox: Sandbox
) -> None:
    done = _start(glue_provider, sandbox, FAST)
    wait_for(lambda: glue_provider.poll([done])[done], lambda r: r.status.terminal)
    unknown = "customers-etl/jr_does_not_exist"
    results = glue_provider.cancel([done, unknown])
    assert str(results[done]).startswith("InvalidInputException")
    assert str(results[unknown]).startswith("EntityNotFoundException")


def test_glue_cancel_chunks_by_25_runs(glue_provider: GlueClient, sandbox: Sandbox) -> None:
    client = _client(sandbox, "glue")
    client.create_job(
        Name="wide", Role="r", Command={"Name": "glueetl", "ScriptLocation": "s3://s/x.py"},
        ExecutionProperty={"MaxConcurrentRuns": 100},
    )  # fmt: skip
    run_ids = [
        _start(glue_provider, sandbox, Outcome(stuck_in="RUNNING"), job="wide") for _ in range(30)
    ]
    results = glue_provider.cancel(run_ids)
    assert results == dict.fromkeys(run_ids)
    assert [len(r.params["JobRunIds"]) for r in sandbox.requests("BatchStopJobRun")] == [25, 5]


def test_glue_polls_many_runs_of_a_job_with_one_get_job_runs_page(
    glue_provider: GlueClient, sandbox: Sandbox
) -> None:
    client = _client(sandbox, "glue")
    client.create_job(
        Name="wide", Role="r", Command={"Name": "glueetl", "ScriptLocation": "s3://s/x.py"},
        ExecutionProperty={"MaxConcurrentRuns": 500},
    )  # fmt: skip
    older = [_start(glue_provider, sandbox, FAST, job="wide") for _ in range(400)]
    ours = [
        _start(glue_provider, sandbox, Outcome(stuck_in="RUNNING"), job="wide") for _ in range(5)
    ]
    few = _start(glue_provider, sandbox, Outcome(stuck_in="RUNNING"))
    sandbox.log.clear()
    reports = glue_provider.poll([*ours, few])
    assert set(reports) == {*ours, few}
    assert not any(r.status.terminal for r in reports.values())
    # newest first: the five recent runs are on the first page of the 406
    assert [r.params["MaxResults"] for r in sandbox.requests("GetJobRuns")] == [200]
    assert [r.params["JobName"] for r in sandbox.requests("GetJobRun")] == ["customers-etl"]
    # runs pushed past the two pages a poll of three may read are read one by one
    sandbox.log.clear()
    reports = glue_provider.poll(older[:3])
    assert set(reports) == set(older[:3])
    assert len(sandbox.requests("GetJobRuns")) == 2
    assert len(sandbox.requests("GetJobRun")) == 3


# ------------------------------------------------------------------ Batch discovery


def test_batch_discovery_keeps_the_highest_active_revision(
    batch_provider: BatchClient,
) -> None:
    found = batch_provider.discover()
    assert {name: d.revision for name, d in found.items()} == {
        "nightly-export": 3,
        "thumbnails": 2,
        "cleanup": 1,
    }
    export = found["nightly-export"]
    assert export.placeholders == {"input_path", "partners"}
    assert export.parameters == {"input_path": "s3://exports/in/"}
    assert export.reference == "nightly-export:3"


def test_batch_discovery_by_name_and_past_100_definitions(
    batch_provider: BatchClient, sandbox: Sandbox
) -> None:
    client = _client(sandbox, "batch")
    for i in range(120):
        client.register_job_definition(
            jobDefinitionName=f"bulk-{i:03}", type="container",
            containerProperties={"image": "x", "vcpus": 1, "memory": 128},
        )  # fmt: skip
    sandbox.log.clear()
    assert len(batch_provider.discover()) == 123
    pages = sandbox.requests("DescribeJobDefinitions")
    assert [p.params.get("nextToken") for p in pages] == [None, "100"]  # 126 revisions, 2 pages
    assert all(p.params["maxResults"] == 100 and p.params["status"] == "ACTIVE" for p in pages)
    named = batch_provider.discover(["thumbnails", "bulk-007"])
    assert {n: d.revision for n, d in named.items()} == {"thumbnails": 2, "bulk-007": 1}


def test_batch_revisions_are_described_alone_100_a_call(
    batch_provider: BatchClient, sandbox: Sandbox
) -> None:
    """`jobDefinitions` "can't be used with other parameters": no maxResults beside it."""
    arns = [
        d["jobDefinitionArn"]
        for d in _client(sandbox, "batch").describe_job_definitions(
            jobDefinitionName="nightly-export"
        )["jobDefinitions"]
    ]
    absent = [f"{arns[0].rsplit(':', 1)[0]}-gone:{i}" for i in range(1, 120)]
    sandbox.log.clear()
    found = batch_provider.revisions([*arns, *absent])
    assert {d.reference for d in found.values()} == {f"nightly-export:{n}" for n in (1, 2, 3)}
    calls = sandbox.requests("DescribeJobDefinitions")
    assert [sorted(c.params) for c in calls] == [["jobDefinitions"], ["jobDefinitions"]]
    assert [len(c.params["jobDefinitions"]) for c in calls] == [100, 22]


def test_batch_queues_report_state_and_fair_share(batch_provider: BatchClient) -> None:
    queues = batch_provider.queues(["etl-standard", "media-fair-share", "nope"])
    assert set(queues) == {"etl-standard", "media-fair-share"}
    assert queues["media-fair-share"].fair_share and not queues["etl-standard"].fair_share
    assert queues["etl-standard"].usable


# ------------------------------------------------------------------ Batch submit, statuses, cancel


def test_batch_request_reaches_the_emulator_exactly_as_built(
    project: Project, batch_provider: BatchClient, sandbox: Sandbox
) -> None:
    request = attempt(
        batch.build_request(_batch_job(project, "nightly_export"), project.platforms["batch_main"])
    )
    job_id = batch_provider.submit(request)
    [received] = sandbox.requests("SubmitJob")
    assert received.params == request.payload
    described = _client(sandbox, "batch").describe_jobs(jobs=[job_id])["jobs"][0]
    assert described["jobName"] == request.payload["jobName"]
    assert described["parameters"]["partners"] == '["acme","globex"]'


def test_batch_missing_queue_and_definition_carry_the_documented_remedy(
    project: Project, batch_provider: BatchClient
) -> None:
    job = _batch_job(project, "cleanup")
    no_queue = batch.build_request(
        job.model_copy(update={"job_queue": "no-such-queue"}), project.platforms["batch_main"]
    )
    with pytest.raises(
        AwsError, match="on the job attribute / platform default does not exist in this region"
    ):
        batch_provider.submit(attempt(no_queue))
    no_def = batch.build_request(
        job.model_copy(update={"external_id": "no-such-def"}), project.platforms["batch_main"]
    )
    with pytest.raises(AwsError, match="at least one revision has status ACTIVE"):
        batch_provider.submit(attempt(no_def))


def _submit(project: Project, provider: BatchClient, sandbox: Sandbox, outcome: Outcome) -> str:
    sandbox.script("batch", "cleanup", outcome)
    request = batch.build_request(_batch_job(project, "cleanup"), project.platforms["batch_main"])
    return provider.submit(attempt(request))


def test_batch_success_and_in_flight_states(
    project: Project, batch_provider: BatchClient, sandbox: Sandbox
) -> None:
    job_id = _submit(
        project, batch_provider, sandbox, Outcome(starting_seconds=0.5, running_seconds=0.3)
    )
    seen: list[tuple[str | None, RunStatus]] = []

    def record() -> StatusReport:
        report = batch_provider.poll([job_id])[job_id]
        if not seen or seen[-1][0] != report.state:
            seen.append((report.state, report.status))
        return report

    final = wait_for(record, lambda r: r.status.terminal)
    assert final.status is RunStatus.SUCCESS
    states = [str(state) for state, _ in seen]
    # Polling may miss a short state on a loaded machine: what was seen follows Batch's
    # lifecycle in order and ends SUCCEEDED; every state before is a run in flight.
    lifecycle = ["SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED"]
    assert states[-1] == "SUCCEEDED" and len(states) >= 2
    assert states == sorted(states, key=lifecycle.index)
    assert all(status is RunStatus.RUNNING for state, status in seen if state != "SUCCEEDED")


@pytest.mark.parametrize(
    ("outcome", "message"),
    [
        # AWS's reason for any container that ends non-zero hides its exit code.
        (
            replace(FAST, result="FAILED", exit_code=137),
            "Essential container in task exited (exit code 137)",
        ),
        (
            replace(FAST, result="FAILED", message="CannotPullContainerError: pull access denied"),
            "CannotPullContainerError: pull access denied",
        ),
    ],
)
def test_batch_failures_carry_reason_or_exit_code(
    project: Project,
    batch_provider: BatchClient,
    sandbox: Sandbox,
    outcome: Outcome,
    message: str,
) -> None:
    job_id = _submit(project, batch_provider, sandbox, outcome)
    report = wait_for(lambda: batch_provider.poll([job_id])[job_id], lambda r: r.status.terminal)
    assert (report.status, report.message) == (RunStatus.FAILED, message)


@pytest.mark.parametrize(("stuck_in", "starting"), [("RUNNABLE", 0.1), ("RUNNING", 0.1)])
def test_batch_cancel_in_queued_and_running_states(
    project: Project,
    batch_provider: BatchClient,
    sandbox: Sandbox,
    stuck_in: str,
    starting: float,
) -> None:
    job_id = _submit(
        project, batch_provider, sandbox, Outcome(stuck_in=stuck_in, starting_seconds=starting)
    )
    wait_for(lambda: batch_provider.poll([job_id])[job_id], lambda r: r.state == stuck_in)
    assert batch_provider.cancel([job_id]) == {job_id: None}
    report = wait_for(lambda: batch_provider.poll([job_id])[job_id], lambda r: r.status.terminal)
    assert (report.status, report.message) == (RunStatus.CANCELLED, "Cancelled by Polysync")
    [call] = sandbox.requests("TerminateJobs")
    assert call.params == {"jobs": [job_id], "reason": "Cancelled by Polysync"}


@pytest.mark.parametrize(
    "reason",
    ["Cancelled by operator", "Canceled via console", "Terminated", "Job terminated by user"],
)
def test_batch_jobs_stopped_for_any_documented_reason_are_cancelled(
    project: Project, batch_provider: BatchClient, sandbox: Sandbox, reason: str
) -> None:
    job_id = _submit(
        project, batch_provider, sandbox, Outcome(stuck_in="RUNNING", starting_seconds=0.05)
    )
    _client(sandbox, "batch").terminate_job(jobId=job_id, reason=reason)
    report = wait_for(lambda: batch_provider.poll([job_id])[job_id], lambda r: r.status.terminal)
    assert (report.status, report.message) == (RunStatus.CANCELLED, reason)


def test_batch_polling_batches_100_ids_per_describe_jobs(
    project: Project, batch_provider: BatchClient, sandbox: Sandbox
) -> None:
    sandbox.script("batch", "cleanup", Outcome(stuck_in="RUNNING"))
    request = batch.build_request(_batch_job(project, "cleanup"), project.platforms["batch_main"])
    ids = [batch_provider.submit(attempt(request)) for _ in range(250)]
    sandbox.log.clear()
    reports = batch_provider.poll([*ids, "no-such-job-id"])
    assert len(reports) == 251 and reports["no-such-job-id"].status is RunStatus.UNKNOWN
    assert [len(r.params["jobs"]) for r in sandbox.requests("DescribeJobs")] == [100, 100, 51]


def test_batch_native_depends_on_waits_for_its_dependency(
    project: Project, batch_provider: BatchClient, sandbox: Sandbox
) -> None:
    first = _submit(
        project, batch_provider, sandbox, Outcome(starting_seconds=0.3, running_seconds=0.3)
    )
    job = _batch_job(project, "cleanup").model_copy(update={"depends_on": None})
    request = attempt(batch.build_request(job, project.platforms["batch_main"]))
    second = batch_provider.submit(
        RunRequest("SubmitJob", {**request.payload, "dependsOn": [{"jobId": first}]})
    )
    assert batch_provider.poll([second])[second].state == "PENDING"
    done = wait_for(lambda: batch_provider.poll([second])[second], lambda r: r.status.terminal)
    assert done.status is RunStatus.SUCCESS


@pytest.mark.parametrize("service", ["glue", "batch"])
def test_a_submission_that_fails_with_a_server_error_is_sent_once_and_flagged_ambiguous(
    project: Project,
    glue_provider: GlueClient,
    batch_provider: BatchClient,
    sandbox: Sandbox,
    service: str,
) -> None:
    """botocore would retry a 5xx; for a submission that may already have taken effect the
    provider must not, and must say the outcome is ambiguous (the executor then asks AWS)."""
    from polysync_spec.sandbox.server import Fault

    operation = "StartJobRun" if service == "glue" else "SubmitJob"
    sandbox.fail(
        operation, Fault("InternalServerError", "Internal error", 500, times=1, after=True)
    )
    request = attempt(
        glue.build_request(_glue_job(project, "customers_etl"), project.platforms["glue_main"])
        if service == "glue"
        else batch.build_request(_batch_job(project, "cleanup"), project.platforms["batch_main"])
    )
    provider: Any = glue_provider if service == "glue" else batch_provider
    with pytest.raises(AwsError) as raised:
        provider.submit(request)
    assert raised.value.ambiguous and not raised.value.throttled
    assert len(sandbox.requests(operation)) == 1
    assert len(provider.find_submitted(request, time.time() - 5)) == 1  # it did take effect
