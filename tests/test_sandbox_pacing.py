"""The sandbox's pacing: the latency and account rate limits benchmarks run under; and
stopping a fixed fault before its calls are used up."""

from __future__ import annotations

import time

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from polysync_spec.sandbox.server import Fault, Pacing, Sandbox


def _client(sandbox: Sandbox, service: str) -> object:
    return boto3.client(
        service,  # type: ignore[call-overload]
        endpoint_url=sandbox.endpoint_url,
        region_name="us-east-1",
        config=Config(retries={"total_max_attempts": 1}),
    )


def test_latency_is_added_to_every_call(sandbox: Sandbox) -> None:
    glue = _client(sandbox, "glue")
    sandbox.pace(Pacing(latency=0.2))
    started = time.perf_counter()
    glue.get_jobs()  # type: ignore[attr-defined]
    assert time.perf_counter() - started >= 0.2


@pytest.mark.parametrize(
    ("service", "call", "code"),
    [
        ("batch", "describe_job_queues", "TooManyRequestsException"),
        ("glue", "get_jobs", "ThrottlingException"),
    ],
)
def test_calls_past_the_rate_limit_are_throttled_as_the_service_throttles(
    sandbox: Sandbox, service: str, call: str, code: str
) -> None:
    client = _client(sandbox, service)
    pacing = Pacing(tps=2, burst=5)
    sandbox.pace(pacing)
    outcomes = []
    for _ in range(10):
        try:
            getattr(client, call)()
            outcomes.append("ok")
        except ClientError as exc:
            outcomes.append(exc.response["Error"]["Code"])
    # five from the bucket, perhaps one refilled while they ran, the rest refused
    assert outcomes[:5] == ["ok"] * 5
    assert outcomes.count(code) >= 4 and set(outcomes) == {"ok", code}
    assert pacing.throttled[service] == outcomes.count(code)
    time.sleep(0.6)  # refilled at 2 a second
    getattr(client, call)()


def test_a_fault_stopped_before_its_calls_are_used_up_fails_no_more_calls(
    sandbox: Sandbox,
) -> None:
    glue = _client(sandbox, "glue")
    fault = Fault("ThrottlingException", "Rate exceeded", 400, times=3)
    sandbox.fail("GetJobs", fault)
    with pytest.raises(ClientError, match="ThrottlingException"):
        glue.get_jobs()  # type: ignore[attr-defined]
    assert fault.times == 2  # the calls not yet failed
    sandbox.fail("GetJobs", None)
    glue.get_jobs()  # type: ignore[attr-defined]
    glue.get_jobs()  # type: ignore[attr-defined]
    assert fault.times == 2
    assert len(sandbox.requests("GetJobs")) == 3
    sandbox.fail("GetJobs", None)  # stopping what is not failing is no error
