"""A mixed Glue and Batch run plan for the reliability trials, and the emulator's view of
what it submitted: the truth every trial checks the tool against."""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from polysync_spec.providers.batch.spec import JOB_NAME_PREFIX
from polysync_spec.providers.glue.rules import ATTEMPT_ARGUMENT
from polysync_spec.sandbox.server import Recorded, Sandbox
from tests.helpers import SANDBOX_PLATFORMS, write

GLUE_JOB = "wide"
BATCH_DEFINITION = "cleanup"
BATCH_STATES: tuple[Any, ...] = (
    "SUBMITTED",
    "PENDING",
    "RUNNABLE",
    "STARTING",
    "RUNNING",
    "SUCCEEDED",
    "FAILED",
)


def mixed_plan(tmp_path: Path, runs: int, *, max_concurrency: int, chained: int = 0) -> Path:
    """`runs` runs, half Glue (`g<i>`), half Batch (`b<i>`), each with its own parameter
    value, so the emulator's records say which run of the plan a submission belongs to.
    The first `chained` Batch runs wait for the Glue run of the same index."""
    half = runs // 2
    lines = [f"      - {{name: g{i}, job: wide, parameters: {{index: {i}}}}}" for i in range(half)]
    for i in range(runs - half):
        after = f", after: [g{i}]" if i < chained else ""
        lines.append(
            f"      - {{name: b{i}, job: clean, parameters: {{older_than_days: {i}}}{after}}}"
        )
    return write(
        tmp_path,
        SANDBOX_PLATFORMS
        + "jobs:\n  wide: {platform: glue, external_id: wide, parameters: {index: 0}}\n"
        "  clean: {platform: batch, external_id: cleanup, parameters: {older_than_days: 0}}\n"
        f"run_plans:\n  p:\n    max_concurrency: {max_concurrency}\n    on_failure: continue\n"
        "    runs:\n" + "\n".join(lines) + "\n",
    )


def create_wide_job(sandbox: Sandbox) -> None:
    glue = boto3.client("glue", endpoint_url=sandbox.endpoint_url, region_name="us-east-1")
    glue.create_job(
        Name=GLUE_JOB, Role="r", Command={"Name": "glueetl", "ScriptLocation": "s3://s/x.py"},
        ExecutionProperty={"MaxConcurrentRuns": 1000},
    )  # fmt: skip


def submissions(sandbox: Sandbox) -> Counter[str]:
    """How many times each run of the plan was submitted, as the emulator saw it."""
    seen: Counter[str] = Counter()
    # A request cut short by a SIGKILL arrives with a body that does not parse (params
    # None): the service cannot act on it, and the emulator's own records agree.
    for request in sandbox.requests("StartJobRun"):
        if request.params is not None:
            seen[f"g{request.params['Arguments']['--index']}"] += 1
    for request in sandbox.requests("SubmitJob"):
        if request.params is not None:
            seen[f"b{request.params['parameters']['older_than_days']}"] += 1
    return seen


def held(sandbox: Sandbox) -> Counter[str]:
    """How many runs the emulator holds for each run of the plan (`g<i>`, `b<i>`), read
    from the runs' own arguments and parameters: under faults, requests that failed are
    not runs, and only what exists counts."""
    glue = boto3.client("glue", endpoint_url=sandbox.endpoint_url, region_name="us-east-1")
    batch = boto3.client("batch", endpoint_url=sandbox.endpoint_url, region_name="us-east-1")
    counts: Counter[str] = Counter()
    for page in glue.get_paginator("get_job_runs").paginate(JobName=GLUE_JOB):
        for run in page["JobRuns"]:
            counts[f"g{run['Arguments']['--index']}"] += 1
    ids = [key for key in emulator_runs(sandbox) if "/" not in key]  # Batch job ids
    for start in range(0, len(ids), 100):
        for job in batch.describe_jobs(jobs=ids[start : start + 100])["jobs"]:
            counts[f"b{job['parameters']['older_than_days']}"] += 1
    return counts


@dataclass(frozen=True)
class EmulatorRun:
    """One run the emulator holds: its polysync run id, the run of the plan it belongs to
    (`g<i>`, `b<i>`), the attempt identity it carries (None: it carries none) and its
    state in the service's words."""

    run_id: str
    key: str
    identity: str | None
    state: str


def sent_identity(request: Recorded) -> tuple[str, str | None] | None:
    """(run of the plan, attempt identity) that a StartJobRun or SubmitJob request carried;
    None for a request cut short by a SIGKILL (its body does not parse)."""
    params = request.params
    if params is None:
        return None
    if request.operation == "StartJobRun":
        arguments = params["Arguments"]
        return f"g{arguments['--index']}", arguments.get(ATTEMPT_ARGUMENT)
    name = str(params["jobName"])
    identity = name[len(JOB_NAME_PREFIX) :] if name.startswith(JOB_NAME_PREFIX) else None
    return f"b{params['parameters']['older_than_days']}", identity


def emulator_attempts(sandbox: Sandbox) -> list[EmulatorRun]:
    """Every run the emulator holds, with the attempt identity it carries: the Glue
    marker argument, the Batch job name."""
    glue = boto3.client("glue", endpoint_url=sandbox.endpoint_url, region_name="us-east-1")
    batch = boto3.client("batch", endpoint_url=sandbox.endpoint_url, region_name="us-east-1")
    found: list[EmulatorRun] = []
    for page in glue.get_paginator("get_job_runs").paginate(JobName=GLUE_JOB):
        for run in page["JobRuns"]:
            arguments = run["Arguments"]
            found.append(
                EmulatorRun(
                    f"{GLUE_JOB}/{run['Id']}",
                    f"g{arguments['--index']}",
                    arguments.get(ATTEMPT_ARGUMENT),
                    run["JobRunState"],
                )
            )
    ids = [key for key in emulator_runs(sandbox) if "/" not in key]  # Batch job ids
    for start in range(0, len(ids), 100):
        for job in batch.describe_jobs(jobs=ids[start : start + 100])["jobs"]:
            name = str(job["jobName"])
            identity = name[len(JOB_NAME_PREFIX) :] if name.startswith(JOB_NAME_PREFIX) else None
            key = f"b{job['parameters']['older_than_days']}"
            found.append(EmulatorRun(job["jobId"], key, identity, job["status"]))
    return found


def emulator_runs(sandbox: Sandbox) -> dict[str, str]:
    """Every run the emulator holds, by polysync run id: its state in the service's words."""
    glue = boto3.client("glue", endpoint_url=sandbox.endpoint_url, region_name="us-east-1")
    batch = boto3.client("batch", endpoint_url=sandbox.endpoint_url, region_name="us-east-1")
    states: dict[str, str] = {}
    for page in glue.get_paginator("get_job_runs").paginate(JobName=GLUE_JOB):
        for run in page["JobRuns"]:
            states[f"{GLUE_JOB}/{run['Id']}"] = run["JobRunState"]
    for status in BATCH_STATES:
        listed = batch.list_jobs(jobQueue="etl-standard", jobStatus=status)["jobSummaryList"]
        for job in listed:
            states[job["jobId"]] = job["status"]
    return states


def cli_env(sandbox: Sandbox) -> dict[str, str]:
    return {**os.environ, **sandbox.env(), "PYTHONUNBUFFERED": "1"}


def apply_command(path: Path, state: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "polysync_spec", "apply", str(path), "--auto-approve",
        "--poll-interval", "0.05", "--state", str(state), *extra,
    ]  # fmt: skip


def ledger_view(out: str) -> dict[str, tuple[str, str]]:
    """`polysync status APPLY_ID` lines: key -> (status, run id)."""
    rows: dict[str, tuple[str, str]] = {}
    for line in out.splitlines():
        key, status, run_id, *_ = [*line.split(), "-"]
        rows[key] = (status, run_id)
    return rows


def only_apply(out: str) -> str:
    """The apply id from `polysync status` (one apply in the ledger)."""
    lines = out.splitlines()
    assert len(lines) == 1, out
    return lines[0].split()[0]


def record(trial: str, **figures: Any) -> None:
    """Append one trial's figures to $RELIABILITY_REPORT (JSON lines), when set: the
    source of the figures in RELIABILITY.md."""
    target = os.environ.get("RELIABILITY_REPORT")
    if target:
        with open(target, "a", encoding="utf-8") as out:
            out.write(json.dumps({"trial": trial, **figures}) + "\n")
