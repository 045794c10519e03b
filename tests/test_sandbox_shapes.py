"""The sandbox's request-shape layer: every rule refuses its documented-invalid request over
the wire and lets the valid neighbour through, and every rule's quote is really in the
installed botocore model, so the table cannot drift from its source."""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.model import OperationModel, ServiceModel, Shape

from polysync_spec.sandbox import shapes
from polysync_spec.sandbox.server import Sandbox

Params = dict[str, Any]
Context = dict[str, str]


@dataclass(frozen=True)
class Case:
    """A rule's invalid request and its valid neighbour (one change apart). `answer` is
    what the backend answers the neighbour: None for success, else the error code moto
    gives once the request got past the layer (e.g. a job that does not exist)."""

    rule: str
    method: str
    invalid: Callable[[Context], Params]
    valid: Callable[[Context], Params]
    answer: str | None = None


def _submit(**extra: Any) -> Callable[[Context], Params]:
    return lambda _c: {
        "jobName": "shape-check",
        "jobQueue": "etl-standard",
        "jobDefinition": "cleanup",
        **extra,
    }


def _fair(**extra: Any) -> Callable[[Context], Params]:
    return _submit(**{"jobQueue": "media-fair-share", "shareIdentifier": "media", **extra})


def _glue_start(**extra: Any) -> Callable[[Context], Params]:
    return lambda _c: {"JobName": "no-such-job", **extra}


def _evaluate(n: int) -> list[dict[str, str]]:
    return [{"onExitCode": str(i), "action": "RETRY"} for i in range(n)]


def _name_cases(
    rule: str, method: str, build: Callable[[Context, str], Params], answer: str | None
) -> list[Case]:
    """A Glue NameString / IdString member: 256 characters vs 255, a newline vs a space."""
    return [
        Case(
            f"{rule}-length",
            method,
            lambda c: build(c, "n" * 256),
            lambda c: build(c, "n" * 255),
            answer,
        ),
        Case(
            f"{rule}-pattern",
            method,
            lambda c: build(c, "two\nlines"),
            lambda c: build(c, "one line"),
            answer,
        ),
    ]


ABSENT = "EntityNotFoundException"
FILTER = {"name": "JOB_NAME", "values": ["shape-check"]}

CASES: list[Case] = [
    # ---------------------------------------------------------------- Batch
    Case(
        "describe-job-definitions-exclusive",
        "describe_job_definitions",
        lambda c: {"jobDefinitions": [c["arn"]], "maxResults": 100},
        lambda c: {"jobDefinitions": [c["arn"]]},
    ),
    Case(
        "describe-job-definitions-count",
        "describe_job_definitions",
        lambda _c: {"jobDefinitions": [f"absent:{i}" for i in range(1, 102)]},
        lambda _c: {"jobDefinitions": [f"absent:{i}" for i in range(1, 101)]},
    ),
    Case(
        "describe-job-definitions-revision",
        "describe_job_definitions",
        lambda _c: {"jobDefinitions": ["cleanup"]},
        lambda _c: {"jobDefinitions": ["cleanup:1"]},
    ),
    Case(
        "describe-job-definitions-max-results",
        "describe_job_definitions",
        lambda _c: {"status": "ACTIVE", "maxResults": 101},
        lambda _c: {"status": "ACTIVE", "maxResults": 100},
    ),
    Case(
        "describe-job-queues-count",
        "describe_job_queues",
        lambda _c: {"jobQueues": [f"q{i}" for i in range(101)]},
        lambda _c: {"jobQueues": [f"q{i}" for i in range(100)]},
    ),
    Case(
        "describe-job-queues-max-results",
        "describe_job_queues",
        lambda _c: {"maxResults": 101},
        lambda _c: {"maxResults": 100},
    ),
    Case(
        "describe-jobs-count",
        "describe_jobs",
        lambda c: {"jobs": [c["job"]] + [f"absent-{i}" for i in range(100)]},
        lambda c: {"jobs": [c["job"]] + [f"absent-{i}" for i in range(99)]},
    ),
    Case(
        "list-jobs-one-of",
        "list_jobs",
        lambda c: {"jobQueue": "etl-standard", "arrayJobId": c["job"]},
        lambda _c: {"jobQueue": "etl-standard"},
    ),
    Case(
        "list-jobs-status-with-filters",
        "list_jobs",
        lambda _c: {"jobQueue": "etl-standard", "jobStatus": "RUNNING", "filters": [FILTER]},
        lambda _c: {
            "jobQueue": "etl-standard",
            "jobStatus": "RUNNING",
            "filters": [{"name": "SHARE_IDENTIFIER", "values": ["media"]}],
        },
    ),
    Case(
        "list-jobs-filters-on-children",
        "list_jobs",
        lambda c: {"arrayJobId": c["job"], "filters": [FILTER]},
        lambda c: {"arrayJobId": c["job"]},
    ),
    Case(
        "list-jobs-one-filter",
        "list_jobs",
        lambda _c: {
            "jobQueue": "etl-standard",
            "filters": [FILTER, {"name": "JOB_DEFINITION", "values": ["cleanup"]}],
        },
        lambda _c: {"jobQueue": "etl-standard", "filters": [FILTER]},
    ),
    Case(
        "list-jobs-max-results-min",
        "list_jobs",
        lambda _c: {"jobQueue": "etl-standard", "maxResults": 0},
        lambda _c: {"jobQueue": "etl-standard", "maxResults": 1},
    ),
    Case(
        "list-jobs-max-results",
        "list_jobs",
        lambda _c: {"jobQueue": "etl-standard", "jobStatus": "RUNNING", "maxResults": 1001},
        lambda _c: {"jobQueue": "etl-standard", "jobStatus": "RUNNING", "maxResults": 1000},
    ),
    Case(
        "list-jobs-max-results-filters",
        "list_jobs",
        lambda _c: {"jobQueue": "etl-standard", "filters": [FILTER], "maxResults": 101},
        lambda _c: {"jobQueue": "etl-standard", "filters": [FILTER], "maxResults": 100},
    ),
    Case(
        "list-jobs-status-enum",
        "list_jobs",
        lambda _c: {"jobQueue": "etl-standard", "jobStatus": "CANCELLED"},
        lambda _c: {"jobQueue": "etl-standard", "jobStatus": "FAILED"},
    ),
    Case(
        "submit-job-name-length",
        "submit_job",
        _submit(jobName="j" * 129),
        _submit(jobName="j" * 128),
    ),
    Case(
        "submit-job-name-characters",
        "submit_job",
        _submit(jobName="-job"),
        _submit(jobName="Job-1_a"),
    ),
    Case(
        "submit-job-share-identifier",
        "submit_job",
        _fair(shareIdentifier="media-team"),
        _fair(shareIdentifier="media*"),
    ),
    Case(
        "submit-job-priority",
        "submit_job",
        _fair(schedulingPriorityOverride=10000),
        _fair(schedulingPriorityOverride=9999),
    ),
    Case(
        "submit-job-array-size",
        "submit_job",
        _submit(arrayProperties={"size": 1}),
        _submit(arrayProperties={"size": 2}),
    ),
    Case(
        "submit-job-depends-on-count",
        "submit_job",
        lambda c: _submit(dependsOn=[{"jobId": c["job"]}] * 21)(c),
        lambda c: _submit(dependsOn=[{"jobId": c["job"]}] * 20)(c),
    ),
    Case(
        "submit-job-depends-on-type",
        "submit_job",
        lambda c: _submit(dependsOn=[{"jobId": c["job"], "type": "ALL"}])(c),
        lambda c: _submit(dependsOn=[{"jobId": c["job"], "type": "N_TO_N"}])(c),
    ),
    Case(
        "submit-job-retry-attempts",
        "submit_job",
        _submit(retryStrategy={"attempts": 11}),
        _submit(retryStrategy={"attempts": 10}),
    ),
    Case(
        "submit-job-evaluate-on-exit-count",
        "submit_job",
        _submit(retryStrategy={"attempts": 2, "evaluateOnExit": _evaluate(6)}),
        _submit(retryStrategy={"attempts": 2, "evaluateOnExit": _evaluate(5)}),
    ),
    Case(
        "submit-job-evaluate-on-exit-attempts",
        "submit_job",
        _submit(retryStrategy={"evaluateOnExit": _evaluate(1)}),
        _submit(retryStrategy={"attempts": 2, "evaluateOnExit": _evaluate(1)}),
    ),
    Case(
        "submit-job-attempt-duration",
        "submit_job",
        _submit(timeout={"attemptDurationSeconds": 59}),
        _submit(timeout={"attemptDurationSeconds": 60}),
    ),
    Case("submit-job-tags-count", "submit_job", _submit(tags={}), _submit(tags={"team": "data"})),
    Case(
        "submit-job-tag-key-length",
        "submit_job",
        _submit(tags={"k" * 129: "v"}),
        _submit(tags={"k" * 128: "v"}),
    ),
    Case(
        "submit-job-tag-value-length",
        "submit_job",
        _submit(tags={"k": "v" * 257}),
        _submit(tags={"k": "v" * 256}),
    ),
    Case(
        "terminate-job-reason-length",
        "terminate_job",
        lambda c: {"jobId": c["job"], "reason": "r" * 1025},
        lambda c: {"jobId": c["job"], "reason": "r" * 1024},
    ),
    *(
        case
        for verb in ("terminate", "cancel")
        for case in (
            Case(
                f"{verb}-jobs-count",
                f"{verb}_jobs",
                lambda c: {"jobs": [c["job"]] * 51, "reason": "r"},
                lambda c: {"jobs": [c["job"]] * 50, "reason": "r"},
            ),
            Case(
                f"{verb}-jobs-reason-length",
                f"{verb}_jobs",
                lambda c: {"jobs": [c["job"]], "reason": "r" * 1025},
                lambda c: {"jobs": [c["job"]], "reason": "r" * 1024},
            ),
        )
    ),
    # ---------------------------------------------------------------- Glue
    Case(
        "get-jobs-max-results",
        "get_jobs",
        lambda _c: {"MaxResults": 1001},
        lambda _c: {"MaxResults": 1000},
    ),
    *_name_cases("batch-get-jobs-name", "batch_get_jobs", lambda _c, n: {"JobNames": [n]}, None),
    *_name_cases("start-job-run-name", "start_job_run", lambda _c, n: {"JobName": n}, ABSENT),
    *_name_cases(
        "start-job-run-retried-id",
        "start_job_run",
        lambda _c, n: {"JobName": "no-such-job", "JobRunId": n},
        ABSENT,
    ),
    *_name_cases(
        "start-job-run-security",
        "start_job_run",
        lambda _c, n: {"JobName": "no-such-job", "SecurityConfiguration": n},
        ABSENT,
    ),
    Case(
        "start-job-run-timeout",
        "start_job_run",
        _glue_start(Timeout=10080),
        _glue_start(Timeout=10079),
        ABSENT,
    ),
    Case(
        "start-job-run-worker-type",
        "start_job_run",
        _glue_start(WorkerType="G.3X"),
        _glue_start(WorkerType="G.025X"),
        ABSENT,
    ),
    Case(
        "start-job-run-execution-class",
        "start_job_run",
        _glue_start(ExecutionClass="FAST"),
        _glue_start(ExecutionClass="FLEX"),
        ABSENT,
    ),
    Case(
        "start-job-run-session-policy",
        "start_job_run",
        _glue_start(ExecutionRoleSessionPolicy="p" * 2049),
        _glue_start(ExecutionRoleSessionPolicy="p" * 2048),
        ABSENT,
    ),
    Case(
        "start-job-run-max-capacity-with-workers",
        "start_job_run",
        _glue_start(MaxCapacity=2.0, NumberOfWorkers=2),
        _glue_start(MaxCapacity=2.0),
        ABSENT,
    ),
    Case(
        "start-job-run-allocated-capacity",
        "start_job_run",
        _glue_start(AllocatedCapacity=1),
        _glue_start(AllocatedCapacity=2),
        ABSENT,
    ),
    *_name_cases(
        "get-job-run-name", "get_job_run", lambda c, n: {"JobName": n, "RunId": c["run"]}, ABSENT
    ),
    *_name_cases(
        "get-job-run-id", "get_job_run", lambda _c, n: {"JobName": "orders-etl", "RunId": n}, ABSENT
    ),
    *_name_cases("get-job-runs-name", "get_job_runs", lambda _c, n: {"JobName": n}, ABSENT),
    Case(
        "get-job-runs-max-results",
        "get_job_runs",
        lambda _c: {"JobName": "orders-etl", "MaxResults": 201},
        lambda _c: {"JobName": "orders-etl", "MaxResults": 200},
    ),
    *_name_cases(
        "batch-stop-job-run-name",
        "batch_stop_job_run",
        lambda c, n: {"JobName": n, "JobRunIds": [c["run"]]},
        None,
    ),
    Case(
        "batch-stop-job-run-count",
        "batch_stop_job_run",
        lambda c: {"JobName": "orders-etl", "JobRunIds": [c["run"]] * 26},
        lambda c: {"JobName": "orders-etl", "JobRunIds": [c["run"]] * 25},
    ),
    *_name_cases(
        "batch-stop-job-run-id",
        "batch_stop_job_run",
        lambda _c, n: {"JobName": "orders-etl", "JobRunIds": [n]},
        None,
    ),
]

RULES = {rule.id: rule for rule in shapes.RULES}


def test_every_rule_has_exactly_one_case() -> None:
    ids = [case.rule for case in CASES]
    assert len(ids) == len(set(ids))
    assert set(ids) == set(RULES)
    assert len(RULES) == len(shapes.RULES)  # rule ids are unique


def _client(sandbox: Sandbox, service: str) -> Any:
    return boto3.client(  # type: ignore[call-overload]
        service,
        endpoint_url=sandbox.endpoint_url,
        region_name="us-east-1",
        config=Config(retries={"total_max_attempts": 1}),
    )


@pytest.fixture
def context(sandbox: Sandbox) -> Context:
    """One Batch job and one Glue run to point requests at, and a definition ARN."""
    batch, glue = _client(sandbox, "batch"), _client(sandbox, "glue")
    job = batch.submit_job(jobName="context", jobQueue="etl-standard", jobDefinition="cleanup")
    [definition] = batch.describe_job_definitions(jobDefinitionName="cleanup")["jobDefinitions"]
    run = glue.start_job_run(JobName="orders-etl")["JobRunId"]
    sandbox.log.clear()
    return {"job": job["jobId"], "arn": definition["jobDefinitionArn"], "run": run}


@pytest.mark.parametrize("case", CASES, ids=[case.rule for case in CASES])
def test_the_layer_refuses_the_documented_invalid_shape_and_takes_its_neighbour(
    sandbox: Sandbox, context: Context, case: Case
) -> None:
    rule = RULES[case.rule]
    client = _client(sandbox, rule.service)
    operation = getattr(client, case.method)
    invalid = case.invalid(context)
    expected = shapes.check(rule.service, rule.operation, invalid)
    assert expected is not None and expected.rule is rule  # the case targets its own rule

    with pytest.raises(ClientError) as refused:
        operation(**invalid)
    response = refused.value.response
    assert refused.value.operation_name == rule.operation
    assert response["ResponseMetadata"]["HTTPStatusCode"] == rule.status
    assert response["Error"]["Code"] == rule.code
    assert response["Error"]["Message"] == expected.message
    [received] = sandbox.requests(rule.operation)
    assert received.params == invalid  # it went over the wire as sent

    valid = case.valid(context)
    assert shapes.check(rule.service, rule.operation, valid) is None
    if case.answer is None:
        operation(**valid)
    else:  # past the layer: the backend's own answer (the object does not exist)
        with pytest.raises(ClientError) as answered:
            operation(**valid)
        assert answered.value.response["Error"]["Code"] == case.answer


# ------------------------------------------------------------------ the table against its source


def _text(documentation: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", documentation)).split())


def _shape_at(operation: OperationModel, path: str) -> Shape:
    shape: Any = operation.input_shape
    for step in path.split("."):
        if step == "[]":
            shape = shape.member
        elif step == "{}":
            shape = shape.key
        elif step == "*":
            shape = shape.value
        else:
            shape = shape.members[step]
    assert isinstance(shape, Shape)
    return shape


@functools.cache
def _model(service: str) -> ServiceModel:
    return botocore.session.get_session().get_service_model(service)


def _operation(rule: shapes.Rule) -> OperationModel:
    return _model(rule.service).operation_model(rule.operation)


def _numbers(value: float) -> set[str]:
    return {f"{value:g}", f"{value:,.0f}", *(["one"] if value == 1 else [])}


@pytest.mark.parametrize("rule", shapes.RULES, ids=[rule.id for rule in shapes.RULES])
def test_the_rule_is_what_the_installed_model_says(rule: shapes.Rule) -> None:
    operation = _operation(rule)
    if rule.member:  # the constrained member exists in the request shape
        _shape_at(operation, rule.member)
    for name in rule.others:
        _shape_at(operation, name)
    assert (rule.status, rule.code) == shapes.SERVICE_ERRORS[rule.service]
    assert rule.code in {error.name for error in operation.error_shapes}

    if rule.origin == "documentation":
        source = _shape_at(operation, rule.source) if rule.source else None
        documentation = source.documentation if source is not None else operation.documentation
        assert " ".join(rule.quote.split()) in _text(documentation)
        # The numbers the rule enforces are the quote's ("less than N": at most N - 1).
        for bound in (rule.low, rule.high):
            if bound is None:
                continue
            spelled = _numbers(bound)
            if bound == rule.high and "less than" in rule.quote:
                spelled = _numbers(bound + 1)
            assert any(text in rule.quote for text in spelled), (bound, rule.quote)
        return

    shape = _shape_at(operation, rule.source)
    assert rule.quote.startswith(f"{shape.name}: ")
    metadata = shape.metadata
    if rule.kind in ("count", "length", "range"):
        assert metadata.get("max") == rule.high
        assert rule.low is None or metadata.get("min") == rule.low
    elif rule.kind == "pattern":
        assert metadata.get("pattern") == shapes.GLUE_SINGLE_LINE_MODEL
        assert metadata["pattern"] in rule.quote
    elif rule.kind == "enum":
        assert sorted(metadata.get("enum", ())) == sorted(rule.values)
    else:
        pytest.fail(f"a {rule.kind} rule cannot come from a shape")


# The operations the tool calls on Glue and Batch (grep the providers for `client.`).
TOOL_OPERATIONS = {
    "batch": (
        "DescribeJobDefinitions",
        "DescribeJobQueues",
        "DescribeJobs",
        "ListJobs",
        "SubmitJob",
        "TerminateJob",
        "TerminateJobs",
    ),
    "glue": (
        "GetJobs",
        "BatchGetJobs",
        "StartJobRun",
        "GetJobRun",
        "GetJobRuns",
        "BatchStopJobRun",
    ),
}


def _constrained(shape: Shape, path: str, depth: int = 0) -> Iterator[str]:
    """Member paths (top level and one step into lists and maps) whose shape holds a
    constraint botocore does not check: a maximum, an enum or a pattern."""
    metadata = shape.metadata
    if path and ({"max", "enum", "pattern"} & set(metadata)):
        yield path
    if depth > 1:
        return
    prefix = f"{path}." if path else ""
    if shape.type_name == "structure" and depth == 0:
        for name, member in shape.members.items():  # type: ignore[attr-defined]
            yield from _constrained(member, name, depth + 1)
    elif shape.type_name == "list":
        yield from _constrained(shape.member, f"{prefix}[]", depth + 1)  # type: ignore[attr-defined]
    elif shape.type_name == "map":
        yield from _constrained(shape.key, f"{prefix}{{}}", depth + 1)  # type: ignore[attr-defined]
        yield from _constrained(shape.value, f"{prefix}*", depth + 1)  # type: ignore[attr-defined]


def _input(service: str, operation: str) -> Shape:
    shape = _model(service).operation_model(operation).input_shape
    assert shape is not None
    return shape


def test_every_shape_constraint_of_the_tools_operations_has_a_rule() -> None:
    covered = {(r.service, r.operation, r.member) for r in shapes.RULES}
    missing = [
        (service, name, path)
        for service, operations in TOOL_OPERATIONS.items()
        for name in operations
        for path in _constrained(_input(service, name), "")
        if (service, name, path) not in covered
    ]
    assert missing == []


def test_the_rules_check_every_value_at_their_path() -> None:
    """A list's second item, a map's second key: not only the first."""
    tags = {"ok": "v", "k" * 129: "v"}
    refusal = shapes.check("batch", "SubmitJob", {"jobName": "a", "tags": tags})
    assert refusal is not None and refusal.rule.id == "submit-job-tag-key-length"
    refusal = shapes.check("glue", "BatchStopJobRun", {"JobName": "j", "JobRunIds": ["a", "b\n"]})
    assert refusal is not None and refusal.rule.id == "batch-stop-job-run-id-pattern"
    assert (
        shapes.check("glue", "BatchStopJobRun", {"JobName": "j", "JobRunIds": ["a", "b"]}) is None
    )
