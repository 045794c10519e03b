"""Glue's polling cadence: a run is read sparsely while its job's recent runs say it is
far from its end, at every round around and after it, and at every round when nothing
says otherwise. The rule is pure (`cadence.next_read`); over the wire, the reads skipped
are really not made and every run is still reported when it ends."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import boto3
import pytest

from polysync_spec import load_project
from polysync_spec.providers.aws import Sessions
from polysync_spec.providers.base import RunRequest, RunStatus
from polysync_spec.providers.clients import client_for
from polysync_spec.providers.glue import cadence
from polysync_spec.providers.glue.cadence import Seen, next_read
from polysync_spec.providers.glue.client import GlueClient
from polysync_spec.sandbox.lifecycle import Outcome
from polysync_spec.sandbox.moto_glue import age_runs
from polysync_spec.sandbox.server import Sandbox
from tests.conftest import EXAMPLES

# ------------------------------------------------------------------ the rule, pure

# (started, timeout, read_at, recent durations) -> the next read (epoch seconds)
CASES = [
    # no history: every round (the next read is the last one)
    pytest.param(1000, None, 1010, [], 1010, id="no-history"),
    # an hour-long job read 10 s in: the window opens at 2,880 s; the gap is capped at 30 s
    pytest.param(1000, None, 1010, [3600, 3700], 1040, id="long-job-capped-gap"),
    # 60 s runs read at start: the window opens at 48 s; half the time left to it
    pytest.param(1000, None, 1000, [60, 90, 75], 1024, id="half-way-to-the-window"),
    pytest.param(1000, None, 1040, [60], 1044, id="halves-toward-the-window"),
    # a gap no shorter than 5% of the shortest run (3 s for 60 s runs)...
    pytest.param(1000, None, 1044, [60], 1047, id="a-gap-of-at-least-5-pct"),
    # ...and never past the window
    pytest.param(1000, None, 1046, [60], 1048, id="not-past-the-window"),
    # inside the window: every round
    pytest.param(1000, None, 1048, [60], 1048, id="at-the-window"),
    pytest.param(1000, None, 1100, [60], 1100, id="past-the-expected-end"),
    # the shortest recent run decides, not the median
    pytest.param(1000, None, 1000, [600, 20, 600], 1008, id="shortest-run-decides"),
    # the run's own Timeout caps the window: Glue ends it by then
    pytest.param(1000, 60, 1000, [3600], 1030, id="timeout-caps-the-window"),
    pytest.param(1000, 60, 1060, [3600], 1060, id="past-the-timeout"),
]


@pytest.mark.parametrize(("started", "timeout", "read_at", "recent", "expected"), CASES)
def test_next_read(
    started: float, timeout: float | None, read_at: float, recent: list[float], expected: float
) -> None:
    seen = Seen(started, timeout, read_at)
    assert next_read(seen, recent) == pytest.approx(expected)


def test_a_run_never_read_is_due_whatever_the_history() -> None:
    assert next_read(None, [3600]) == 0.0
    assert cadence.due([None, Seen(1000, None, 1000)], [3600], now=1001)


def test_a_job_is_due_when_any_of_its_runs_is() -> None:
    fresh, old = (
        Seen(1000, None, 1000),
        Seen(400, None, 1000),
    )  # 1 h runs; one started 10 min earlier
    assert not cadence.due([fresh], [3600], now=1010)
    assert cadence.due([fresh, Seen(900, None, 975)], [3600], now=1010)  # read 35 s ago
    assert cadence.due([old], [700], now=1000)  # its window (960 s) is open


def _run(state: str, started: float, seconds: float | None) -> dict[str, Any]:
    start = dt.datetime.fromtimestamp(started, dt.UTC)
    job_run: dict[str, Any] = {"JobRunState": state, "StartedOn": start}
    if seconds is not None:
        job_run["CompletedOn"] = start + dt.timedelta(seconds=seconds)
    return job_run


def test_recent_durations_are_successful_finished_runs_newest_first() -> None:
    listing = [
        _run("RUNNING", 5000, None),
        _run("SUCCEEDED", 4000, 61),
        _run("FAILED", 3000, 2),  # a failure's length says nothing of the job's
        _run("STOPPED", 2500, 5),
        *[_run("SUCCEEDED", 2000 - i, 70 + i) for i in range(12)],
    ]
    assert cadence.recent_durations(listing) == [61, *[70 + i for i in range(9)]]


def test_only_a_starting_or_running_run_is_followed_by_the_cadence() -> None:
    running = {**_run("RUNNING", 1000, None), "Timeout": 30}
    assert cadence.seen_of(running, 1005) == Seen(1000, 1800, 1005)
    assert cadence.seen_of(_run("STOPPING", 1000, None), 1005) is None
    assert cadence.seen_of(_run("SUCCEEDED", 1000, 5), 1005) is None
    assert cadence.seen_of({"JobRunState": "RUNNING"}, 1005) is None  # no StartedOn


# ------------------------------------------------------------------ over the wire

JOB = "cadence-etl"


@pytest.fixture
def glue_provider(sandbox: Sandbox) -> GlueClient:
    loaded = load_project(EXAMPLES, env={"ORDERS_API_TOKEN": "t0k3n"})
    provider = client_for("glue_main", loaded.platforms["glue_main"], Sessions())
    assert isinstance(provider, GlueClient)
    return provider


def _job_with_history(sandbox: Sandbox, seconds: float, now: Outcome | None = None) -> None:
    """A job whose three latest runs each succeeded after `seconds` (started long ago);
    its runs from now on behave as `now` (default: as those did)."""
    glue = boto3.client("glue", endpoint_url=sandbox.endpoint_url, region_name="us-east-1")
    glue.create_job(
        Name=JOB, Role="r", Command={"Name": "glueetl", "ScriptLocation": "s3://s/x.py"},
        ExecutionProperty={"MaxConcurrentRuns": 10},
    )  # fmt: skip
    past = Outcome(starting_seconds=0.5, running_seconds=seconds - 0.5)
    sandbox.script("glue", JOB, past)
    for _ in range(3):
        glue.start_job_run(JobName=JOB)
    assert age_runs(JOB, 2 * seconds) == 3
    sandbox.script("glue", JOB, now or past)


def _reads(sandbox: Sandbox) -> int:
    return len(sandbox.requests("GetJobRuns")) + len(sandbox.requests("GetJobRun"))


def _start(glue_provider: GlueClient, count: int = 3) -> list[str]:
    return [glue_provider.submit(RunRequest("StartJobRun", {"JobName": JOB})) for _ in range(count)]


def test_runs_far_from_their_jobs_usual_end_are_not_read_again_at_once(
    glue_provider: GlueClient, sandbox: Sandbox
) -> None:
    _job_with_history(sandbox, 600.0, now=Outcome(stuck_in="RUNNING", starting_seconds=0.1))
    runs = _start(glue_provider)
    sandbox.log.clear()
    first = glue_provider.poll(runs)  # never read: read, and the history learnt
    assert set(first) == set(runs)
    assert {r.state for r in first.values()} <= {"STARTING", "RUNNING"}
    assert glue_provider.runs.recent[JOB] == [pytest.approx(600.0, abs=0.5)] * 3
    assert glue_provider.poll(runs) == {}  # ten minutes from the window: not read again
    assert _reads(sandbox) == 1


def test_each_end_is_still_reported_when_the_cadence_skips_reads(
    glue_provider: GlueClient, sandbox: Sandbox
) -> None:
    _job_with_history(sandbox, 4.0)
    runs = _start(glue_provider)
    ended: dict[str, str | None] = {}
    deadline = time.monotonic() + 60  # the bound of this wait, not a figure under test
    while len(ended) < len(runs) and time.monotonic() < deadline:
        for run_id, report in glue_provider.poll(runs).items():
            if report.status.terminal:
                ended[run_id] = report.state
        time.sleep(0.1)
    assert glue_provider.runs.recent[JOB]  # the cadence was in force
    assert ended == dict.fromkeys(runs, "SUCCEEDED")  # and every end was reported


def test_a_run_asked_to_stop_is_read_at_every_round(
    glue_provider: GlueClient, sandbox: Sandbox
) -> None:
    _job_with_history(sandbox, 600.0, now=Outcome(stuck_in="RUNNING", starting_seconds=0.1))
    runs = _start(glue_provider)
    glue_provider.poll(runs)
    assert glue_provider.poll(runs) == {}
    assert glue_provider.cancel(runs[:1]) == {runs[0]: None}
    after = glue_provider.poll(runs)  # read at once: it ends when stopped, not as usual
    assert after[runs[0]].state == "STOPPING"
    assert after[runs[0]].status is RunStatus.RUNNING
