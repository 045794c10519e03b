"""Glue's StartJobRun options beyond workers and timeout: `execution_class`,
`job_run_queuing`, `notify_delay_after`, `security_configuration`, `max_capacity`, and
`glue_version` (`auto`, retired versions).

Each option: its boundaries offline on each compute tier (the last valid value passes, the
first invalid one fails with its code at its position), the checks plan makes against the
live job, and the exact StartJobRun the sandbox receives on apply."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import boto3
import pytest

import polysync_spec
from polysync_spec import load_project, validate
from polysync_spec.engine.ledger import SqliteLedger
from polysync_spec.errors import ExitCode
from polysync_spec.manifest import codes
from polysync_spec.manifest.models import GlueJob, GluePlatform, Run
from polysync_spec.manifest.positions import DocPath
from polysync_spec.providers.aws import Sessions
from polysync_spec.providers.base import ATTEMPT_SLOT, Resolved, Tier
from polysync_spec.providers.glue import spec as glue_spec
from polysync_spec.providers.glue.platform import Glue
from polysync_spec.providers.glue.rules import ATTEMPT_ARGUMENT
from polysync_spec.providers.glue.spec import GlueDefinition
from polysync_spec.providers.glue.versions import SOURCE, SUPPORTED, retired
from polysync_spec.render.events import text_sink
from polysync_spec.render.plan import text as plan_text
from polysync_spec.sandbox import shapes
from polysync_spec.sandbox.lifecycle import Outcome
from polysync_spec.sandbox.server import Sandbox
from tests.helpers import GLUE_BASE, attempt, plan_glue_run, write, write_marked

# ================================================================== validate


@dataclasses.dataclass(frozen=True)
class Boundary:
    """`manifest` with `{value}` (and `«at»` where the finding points), the last valid
    value, the first invalid one, and the code the latter reports."""

    id: str
    manifest: str
    valid: str
    invalid: str
    code: str

    def text(self, value: str) -> str:
        return self.manifest.replace("{value}", value)


RUN_PLAN = "run_plans:\n  p:\n    runs:\n      - job: etl\n"


def _tiers(option: str, compute: str) -> list[tuple[str, str]]:
    """The manifest with `compute` (a flow mapping's inside) at the job, the run and the
    platform's defaults: (tier, manifest)."""
    platform = GLUE_BASE.replace(
        "    region: us-east-1\n", f"    region: us-east-1\n    defaults: {{{compute}}}\n"
    )
    return [
        ("job", GLUE_BASE + f"    compute: {{{compute}}}\n"),
        ("run", GLUE_BASE + RUN_PLAN + f"        compute: {{{compute}}}\n"),
        ("platform", platform),
    ]


def _each_tier(option: str, compute: str, valid: str, invalid: str, code: str) -> list[Boundary]:
    return [
        Boundary(f"{option}-{tier}", manifest, valid, invalid, code)
        for tier, manifest in _tiers(option, compute)
    ]


BOUNDARIES: list[Boundary] = [
    *_each_tier(
        "execution-class-enum",
        "execution_class: «at»{value}",
        "FLEX",
        "FLEXIBLE",
        codes.GLUE_EXECUTION_CLASS,
    ),
    *_each_tier(
        "execution-class-standard",
        "execution_class: «at»{value}",
        "STANDARD",
        "standard",
        codes.GLUE_EXECUTION_CLASS,
    ),
    *_each_tier(
        "flex-worker-type",
        "execution_class: FLEX, worker_type: «at»{value}",
        "G.2X",
        "G.4X",
        codes.GLUE_FLEX,
    ),
    *_each_tier(
        "flex-worker-type-g1x",
        "execution_class: FLEX, worker_type: «at»{value}",
        "G.1X",
        "G.025X",
        codes.GLUE_FLEX,
    ),
    *_each_tier(
        "job-run-queuing-type",
        "job_run_queuing: «at»{value}",
        "true",
        '"true"',
        codes.GLUE_JOB_RUN_QUEUING,
    ),
    *_each_tier(
        "notify-delay-after-min",
        "notify_delay_after: «at»{value}",
        "1",
        "0",
        codes.GLUE_NOTIFY_DELAY,
    ),
    *_each_tier(
        "security-configuration-length",
        "security_configuration: «at»{value}",
        "s" * 255,
        "s" * 256,
        codes.GLUE_SECURITY_CONFIGURATION,
    ),
    *_each_tier(
        "security-configuration-empty",
        "security_configuration: «at»{value}",
        '"s"',
        '""',
        codes.GLUE_SECURITY_CONFIGURATION,
    ),
    *_each_tier(
        "security-configuration-one-line",
        "security_configuration: «at»{value}",
        '"a\\tb"',
        '"a\\nb"',
        codes.GLUE_SECURITY_CONFIGURATION,
    ),
    *_each_tier(
        "max-capacity-python-shell-small",
        "max_capacity: «at»{value}",
        "0.0625",
        "0.125",
        codes.GLUE_MAX_CAPACITY,
    ),
    *_each_tier(
        "max-capacity-python-shell-one",
        "max_capacity: «at»{value}",
        "1",
        "2",
        codes.GLUE_MAX_CAPACITY,
    ),
    Boundary(
        "max-capacity-with-workers-job",
        GLUE_BASE + "    compute: {max_capacity: «at»1, {value}}\n",
        "timeout_minutes: 5",
        "number_of_workers: 2",
        codes.GLUE_MAX_CAPACITY_WITH_WORKERS,
    ),
    Boundary(
        "max-capacity-with-workers-run-over-job",
        GLUE_BASE
        + "    compute: {max_capacity: 1}\n"
        + RUN_PLAN
        + "        compute: {{value}: «at»G.1X}\n",
        "glue_version",
        "worker_type",
        codes.GLUE_MAX_CAPACITY_WITH_WORKERS,
    ),
    *_each_tier(
        "glue-version-retired",
        'glue_version: «at»"{value}"',
        "3.0",
        "2.0",
        codes.GLUE_VERSION_RETIRED,
    ),
    *_each_tier(
        "glue-version-retired-1.0",
        'glue_version: «at»"{value}"',
        "auto",
        "1.0",
        codes.GLUE_VERSION_RETIRED,
    ),
    *_each_tier(
        "glue-version-retired-0.9",
        'glue_version: «at»"{value}"',
        "4.0",
        "0.9",
        codes.GLUE_VERSION_RETIRED,
    ),
]


@pytest.mark.parametrize("case", BOUNDARIES, ids=[c.id for c in BOUNDARIES])
def test_last_valid_value_passes(tmp_path: Path, case: Boundary) -> None:
    path, _ = write_marked(tmp_path, case.text(case.valid))
    assert [d for d in validate(path, env={}) if d.is_error] == []


@pytest.mark.parametrize("case", BOUNDARIES, ids=[c.id for c in BOUNDARIES])
def test_first_invalid_value_fails_at_its_position(tmp_path: Path, case: Boundary) -> None:
    path, marks = write_marked(tmp_path, case.text(case.invalid))
    found = [(d.code, d.position) for d in validate(path, env={}) if d.is_error]
    assert found == [(case.code, marks["at"])]


@pytest.mark.parametrize("case", BOUNDARIES, ids=[c.id for c in BOUNDARIES])
def test_what_validate_accepts_the_sandbox_accepts(tmp_path: Path, case: Boundary) -> None:
    """The request built at the last valid value is one AWS's documented shapes take."""
    path, _ = write_marked(tmp_path, case.text(case.valid))
    project = load_project(path, env={})
    assert project.ok, project.diagnostics
    job = project.jobs["etl"]
    assert isinstance(job, GlueJob)
    runs = [None, *(run for plan in project.run_plans.values() for run in plan.runs)]
    for run in runs:
        request = attempt(glue_spec.build_request(job, project.platforms["glue"], run))
        assert shapes.check("glue", request.api, dict(request.payload)) is None, request.payload


def test_a_retired_version_names_its_replacement_and_source(tmp_path: Path) -> None:
    path = write(tmp_path, GLUE_BASE + '    compute: {glue_version: "2.0"}\n')
    [finding] = validate(path, env={})
    assert finding.code == codes.GLUE_VERSION_RETIRED
    assert "retired on 2026-04-01" in finding.message
    assert "5.0 (Spark and Ray jobs) or 3.0 (Python shell jobs)" in finding.message
    assert SOURCE in finding.message


def test_the_versions_file_lists_supported_and_retired_versions() -> None:
    assert SOURCE.startswith("https://docs.aws.amazon.com/glue/")
    assert {"3.0", "4.0", "5.0"} <= set(SUPPORTED)
    for version in ("0.9", "1.0", "2.0"):
        gone = retired(version)
        assert gone is not None and gone.end_of_life.isoformat() == "2026-04-01"
        assert gone.replacement("glueetl") in SUPPORTED
        assert gone.replacement("pythonshell") in SUPPORTED
    assert [v for v in SUPPORTED if retired(v)] == []
    assert retired("auto") is None and retired(None) is None


def test_a_version_is_retired_only_from_its_end_of_life() -> None:
    import datetime as dt

    assert retired("2.0", today=dt.date(2026, 3, 31)) is None
    assert retired("2.0", today=dt.date(2026, 4, 1)) is not None


def test_platform_defaults_may_hold_max_capacity_and_workers(tmp_path: Path) -> None:
    """MaxCapacity for the platform's Python shell jobs, workers for the others: the
    job's own choice wins, so this is no error."""
    text = GLUE_BASE.replace(
        "    region: us-east-1\n",
        "    region: us-east-1\n    defaults: {worker_type: G.1X, max_capacity: 0.0625}\n",
    )
    path = write(tmp_path, text + "    compute: {max_capacity: 1}\n")
    assert validate(path, env={}) == []
    project = load_project(path, env={})
    job = project.jobs["etl"]
    assert isinstance(job, GlueJob)
    request = glue_spec.build_request(job, project.platforms["glue"])
    assert request.payload["MaxCapacity"] == 1.0
    assert "WorkerType" not in request.payload


def test_flex_at_the_platform_and_a_worker_type_at_the_run(tmp_path: Path) -> None:
    text = GLUE_BASE.replace(
        "    region: us-east-1\n", "    region: us-east-1\n    defaults: {execution_class: FLEX}\n"
    )
    path, marks = write_marked(
        tmp_path, text + RUN_PLAN + "        compute: {worker_type: «at»G.8X}\n"
    )
    found = [(d.code, d.position) for d in validate(path, env={}) if d.is_error]
    assert found == [(codes.GLUE_FLEX, marks["at"])]


# ================================================================== plan (pure)

AT: DocPath = ("run_plans", "p", "runs", 0)


class Sink:
    """A FindingSink that records (kind, code, path, message)."""

    def __init__(self) -> None:
        self.at: DocPath = AT
        self.found: list[tuple[str, str, DocPath | None, str]] = []

    def error(self, code: str, message: str, path: DocPath | None = None, **_: Any) -> None:
        self.found.append(("error", code, path, message))

    def drift(self, code: str, message: str, path: DocPath | None = None, **_: Any) -> None:
        self.found.append(("drift", code, path, message))

    def note(self, code: str, message: str, path: DocPath | None = None, **_: Any) -> None:
        self.found.append(("note", code, path, message))


def _plan(
    compute: dict[str, Any], definition: GlueDefinition, where: str = "job"
) -> tuple[dict[str, Any], list[tuple[str, str, DocPath | None]], Sink]:
    sink = Sink()
    planned = plan_glue_run(compute, definition, where, sink)
    found = [
        (kind, code, path) for kind, code, path, _ in sink.found if code != codes.INHERITED_COMPUTE
    ]
    return dict(planned.request.payload), found, sink


def _live(command: str, version: str | None = "4.0", worker: str | None = None) -> GlueDefinition:
    return GlueDefinition(
        name="etl-job", command_name=command, glue_version=version, worker_type=worker
    )


def _at(where: str, key: str) -> DocPath:
    return {
        "job": ("jobs", "etl", "compute", key),
        "run": (*AT, "compute", key),
        "platform": ("platforms", "glue", "defaults", key),
    }[where]


@pytest.mark.parametrize("where", ["job", "run", "platform"])
def test_flex_on_a_spark_etl_job_of_glue_3_on_g1x_is_sent(where: str) -> None:
    payload, found, _ = _plan({"execution_class": "FLEX"}, _live("glueetl", "3.0", "G.1X"), where)
    assert payload["ExecutionClass"] == "FLEX"
    assert found == []


@pytest.mark.parametrize("where", ["job", "run"])
def test_flex_on_a_python_shell_job_is_a_plan_error(where: str) -> None:
    _, found, _ = _plan({"execution_class": "FLEX"}, _live("pythonshell", "3.0"), where)
    assert found == [("error", codes.GLUE_FLEX_FOR_JOB, _at(where, "execution_class"))]


def test_a_platform_flex_default_is_not_sent_to_a_python_shell_job() -> None:
    payload, found, _ = _plan({"execution_class": "FLEX"}, _live("pythonshell", "3.0"), "platform")
    assert "ExecutionClass" not in payload
    assert found == []


@pytest.mark.parametrize(
    ("worker", "expected"),
    [
        ("G.2X", []),
        (
            "G.4X",
            [("error", codes.GLUE_FLEX_FOR_JOB, ("jobs", "etl", "compute", "execution_class"))],
        ),
    ],
)
def test_flex_against_the_live_jobs_worker_type(worker: str, expected: list[Any]) -> None:
    _, found, _ = _plan({"execution_class": "FLEX"}, _live("glueetl", "4.0", worker))
    assert found == expected


@pytest.mark.parametrize("where", ["job", "run"])
def test_max_capacity_on_a_python_shell_job_is_sent(where: str) -> None:
    payload, found, _ = _plan({"max_capacity": 1}, _live("pythonshell", "3.0"), where)
    assert payload["MaxCapacity"] == 1.0
    assert found == []


@pytest.mark.parametrize("where", ["job", "run"])
def test_max_capacity_on_a_spark_job_is_a_plan_error(where: str) -> None:
    _, found, _ = _plan({"max_capacity": 0.0625}, _live("glueetl", "4.0"), where)
    assert found == [("error", codes.GLUE_MAX_CAPACITY_FOR_JOB, _at(where, "max_capacity"))]


def test_a_platform_max_capacity_default_is_skipped_for_a_spark_job() -> None:
    payload, found, _ = _plan({"max_capacity": 1}, _live("glueetl", "4.0"), "platform")
    assert "MaxCapacity" not in payload
    assert found == [("note", codes.MAX_CAPACITY_DEFAULT_SKIPPED, ("jobs", "etl"))]


@pytest.mark.parametrize(
    ("command", "replacement"), [("glueetl", "5.0"), ("pythonshell", "3.0"), ("glueray", "5.0")]
)
def test_a_live_job_on_a_retired_version_is_a_plan_error(command: str, replacement: str) -> None:
    _, found, sink = _plan({}, _live(command, "2.0"))
    assert found == [("error", codes.GLUE_JOB_VERSION_RETIRED, ("jobs", "etl", "external_id"))]
    message = sink.found[0][3]
    assert f"use Glue version {replacement} " in message and "2026-04-01" in message


def test_glue_version_auto_is_the_live_jobs() -> None:
    payload, found, _ = _plan(
        {"glue_version": "auto", "worker_type": "G.4X"}, _live("glueetl", "2.0")
    )
    assert "--glue-version" not in payload["Arguments"]
    assert ("error", codes.GLUE_JOB_VERSION_RETIRED, ("jobs", "etl", "external_id")) in found
    job = GlueJob.model_validate(
        {"platform": "glue", "external_id": "etl-job", "compute": {"glue_version": "auto"}}
    )
    platform = GluePlatform.model_validate(
        {"type": "aws_glue", "region": "us-east-1", "defaults": {"glue_version": "4.0"}}
    )
    compute = glue_spec.resolve_compute(job, platform, None, _live("glueetl", "5.0"))
    assert compute["glue_version"] == Resolved("5.0", Tier.DEFINITION)
    assert "glue_version" not in glue_spec.resolve_compute(job, platform)


@pytest.mark.parametrize("where", ["job", "run", "platform"])
def test_each_option_is_shown_with_its_tier(where: str) -> None:
    compute = {
        "execution_class": "STANDARD",
        "job_run_queuing": True,
        "notify_delay_after": 30,
        "security_configuration": "sec",
    }
    payload, found, _ = _plan(compute, _live("glueetl"), where)
    assert found == []
    job = GlueJob.model_validate(
        {
            "platform": "glue",
            "external_id": "etl-job",
            **({"compute": compute} if where == "job" else {}),
        }
    )
    platform = GluePlatform.model_validate(
        {
            "type": "aws_glue",
            "region": "us-east-1",
            **({"defaults": compute} if where == "platform" else {}),
        }
    )
    run = Run.model_validate({"job": "etl", **({"compute": compute} if where == "run" else {})})
    request = glue_spec.build_request(job, platform, run, _live("glueetl"))
    assert {k: (v.value, v.tier.value) for k, v in request.compute.items() if k in compute} == {
        k: (v, where) for k, v in compute.items()
    }
    assert payload["NotificationProperty"] == {"NotifyDelayAfter": 30}


# ================================================================== the wire

WIRE = """\
version: 1
platforms:
  glue:
    type: aws_glue
    region: us-east-1
    defaults: {security_configuration: platform-sec, worker_type: G.1X}
jobs:
  etl:
    platform: glue
    external_id: orders-etl
    compute: {execution_class: FLEX, notify_delay_after: 45}
  quality:
    platform: glue
    external_id: orders-quality
    compute: {max_capacity: 1, job_run_queuing: false}
run_plans:
  nightly:
    runs:
      - job: etl
        compute: {job_run_queuing: true, glue_version: auto}
      - job: quality
        compute: {security_configuration: run-sec}
"""


def _glue(sandbox: Sandbox) -> Any:
    return boto3.client(
        "glue",
        region_name="us-east-1",
        endpoint_url=sandbox.endpoint_url,
        aws_access_key_id="sandbox",
        aws_secret_access_key="sandbox",
    )


def _security_configurations(sandbox: Sandbox, *names: str) -> None:
    for name in names:
        _glue(sandbox).create_security_configuration(
            Name=name, EncryptionConfiguration={"S3Encryption": [{"S3EncryptionMode": "SSE-S3"}]}
        )


def _plan_of(sandbox: Sandbox, tmp_path: Path, text: str) -> Any:
    path = write(tmp_path, text)
    project = polysync_spec.load_project(path, env={})
    sessions = Sessions(sandbox_url=sandbox.endpoint_url)
    return polysync_spec.make_plan(project, None, sessions, manifest_path=str(path))


def _applied(sandbox: Sandbox, tmp_path: Path, text: str) -> tuple[Any, list[dict[str, Any]]]:
    _security_configurations(sandbox, "platform-sec", "run-sec")
    path = write(tmp_path, text)
    sandbox.script("glue", "orders-quality", Outcome(starting_seconds=0.1, running_seconds=0.1))
    assert [d for d in validate(path, env={}) if d.is_error] == []
    project = polysync_spec.load_project(path, env={})
    sessions = Sessions(sandbox_url=sandbox.endpoint_url)
    plan = polysync_spec.make_plan(project, None, sessions, manifest_path=str(path))
    assert not plan.has_errors, plan.all_findings()
    ledger = SqliteLedger(tmp_path / "state.db")
    try:
        result = polysync_spec.apply(
            plan, project, sessions, ledger, env={}, sink=text_sink(lambda _: None)
        )
    finally:
        ledger.close()
    assert result.exit_code is ExitCode.OK
    sent = []
    for request in sandbox.requests("StartJobRun"):
        params = dict(request.params)
        arguments = dict(params["Arguments"])
        assert len(arguments.pop(ATTEMPT_ARGUMENT)) == 36  # the attempt's uuid
        params["Arguments"] = arguments
        sent.append(params)
    return plan, sorted(sent, key=lambda p: p["JobName"])


def test_each_option_reaches_the_emulator_exactly(sandbox: Sandbox, tmp_path: Path) -> None:
    plan, sent = _applied(sandbox, tmp_path, WIRE)
    assert sent == [
        {
            "JobName": "orders-etl",
            "Arguments": {},
            "WorkerType": "G.1X",
            "ExecutionClass": "FLEX",
            "JobRunQueuingEnabled": True,
            "SecurityConfiguration": "platform-sec",
            "NotificationProperty": {"NotifyDelayAfter": 45},
        },
        {
            "JobName": "orders-quality",
            "Arguments": {},
            "JobRunQueuingEnabled": False,
            "SecurityConfiguration": "run-sec",
            "MaxCapacity": 1.0,
        },
    ]
    # What the emulator kept of the run, as GetJobRun answers it on AWS.
    [etl_run] = _glue(sandbox).get_job_runs(JobName="orders-etl")["JobRuns"]
    assert {
        k: etl_run.get(k) for k in ("ExecutionClass", "JobRunQueuingEnabled", "GlueVersion")
    } == {
        "ExecutionClass": "FLEX",
        "JobRunQueuingEnabled": True,
        "GlueVersion": "4.0",
    }
    assert etl_run["NotificationProperty"] == {"NotifyDelayAfter": 45}
    assert etl_run["SecurityConfiguration"] == "platform-sec"
    shown = {run.key: run.compute for run in plan.runs}
    assert shown["etl"]["execution_class"] == {"value": "FLEX", "tier": "job"}
    assert shown["etl"]["job_run_queuing"] == {"value": True, "tier": "run"}
    assert shown["etl"]["glue_version"] == {"value": "4.0", "tier": "definition"}
    assert shown["etl"]["security_configuration"] == {"value": "platform-sec", "tier": "platform"}
    assert shown["quality"]["max_capacity"] == {"value": 1.0, "tier": "job"}
    assert "worker_type" not in shown["quality"]  # the platform's, not for Python shell
    text = plan_text(plan)
    assert "execution_class FLEX (job)" in text
    assert "notify_delay_after 45 (job)" in text
    assert "security_configuration run-sec (run)" in text
    assert "job_run_queuing true (run)" in text
    assert "max_capacity 1.0 (job)" in text


def test_a_python_shell_capacity_of_a_sixteenth_dpu(sandbox: Sandbox, tmp_path: Path) -> None:
    text = WIRE.replace("max_capacity: 1,", "max_capacity: 0.0625,")
    _, sent = _applied(sandbox, tmp_path, text)
    assert sent[1]["MaxCapacity"] == 0.0625


def test_a_security_configuration_glue_does_not_have_stops_plan(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    _security_configurations(sandbox, "platform-sec")
    text = WIRE.replace("{security_configuration: run-sec}", "{security_configuration: «at»gone}")
    path, marks = write_marked(tmp_path, text)
    project = polysync_spec.load_project(path, env={})
    plan = polysync_spec.make_plan(
        project, None, Sessions(sandbox_url=sandbox.endpoint_url), manifest_path=str(path)
    )
    found = [(f.code, f.position) for f in plan.all_findings() if f.is_error]
    assert found == [(codes.GLUE_SECURITY_CONFIGURATION_MISSING, marks["at"])]
    asked = sorted(r.params["Name"] for r in sandbox.requests("GetSecurityConfiguration"))
    assert asked == ["gone", "platform-sec"]  # once each


def test_a_denied_security_configuration_lookup_is_not_an_error(
    sandbox: Sandbox, tmp_path: Path, as_iam_user: Any, caplog: pytest.LogCaptureFixture
) -> None:
    as_iam_user(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": ["glue:BatchGetJobs"], "Resource": "*"}],
        }
    )
    path = write(tmp_path, WIRE)
    project = polysync_spec.load_project(path, env={})
    # Sessions() takes the IAM user's keys from the environment (AWS_ENDPOINT_URL: the sandbox).
    plan = polysync_spec.make_plan(project, None, Sessions(), manifest_path=str(path))
    assert [f for f in plan.all_findings() if f.is_error] == []
    assert "glue:GetSecurityConfiguration is denied" in caplog.text
    assert len(sandbox.requests("GetSecurityConfiguration")) == 1  # denied once, not again


def test_iam_grants_get_security_configuration_only_when_runs_send_one() -> None:
    from polysync_spec.providers.permissions import Command

    with_one = Glue().grants(
        Command.PLAN, "us-east-1", "123456789012", {"job": {"j"}, "security_configuration": {"s"}}
    )
    without = Glue().grants(Command.PLAN, "us-east-1", "123456789012", {"job": {"j"}})
    assert [g.actions for g in with_one] == [
        ("glue:BatchGetJobs", "glue:GetJobRuns"),
        ("glue:GetSecurityConfiguration",),
    ]
    assert [g.actions for g in without] == [("glue:BatchGetJobs", "glue:GetJobRuns")]
    assert with_one[1].resources == ("*",)


def test_a_live_job_on_a_retired_version_stops_plan(sandbox: Sandbox, tmp_path: Path) -> None:
    _glue(sandbox).create_job(
        Name="old-etl",
        Role="r",
        Command={"Name": "glueetl", "ScriptLocation": "s3://s/x.py"},
        GlueVersion="2.0",
    )
    text = GLUE_BASE.replace("external_id: etl-job", "external_id: old-etl") + RUN_PLAN
    plan = _plan_of(sandbox, tmp_path, text)
    [finding] = [f for f in plan.all_findings() if f.is_error]
    assert finding.code == codes.GLUE_JOB_VERSION_RETIRED
    assert "use Glue version 5.0" in finding.message
    assert sandbox.requests("StartJobRun") == []


def test_runs_with_queuing_are_not_counted_against_max_concurrent_runs(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """orders-etl takes 2 runs at once: a third would be refused, unless queued."""
    runs = "".join(f"      - {{name: r{i}, job: etl}}\n" for i in range(3))
    base = GLUE_BASE.replace("external_id: etl-job", "external_id: orders-etl")
    plan_text_ = "run_plans:\n  p:\n    runs:\n" + runs
    sessions = Sessions(sandbox_url=sandbox.endpoint_url)

    def codes_of(text: str) -> list[str]:
        path = write(tmp_path, text)
        project = polysync_spec.load_project(path, env={})
        plan = polysync_spec.make_plan(project, None, sessions, manifest_path=str(path))
        return [f.code for f in plan.all_findings() if f.is_error]

    assert codes_of(base + plan_text_) == [codes.GLUE_CONCURRENCY]
    queued = base + "    compute: {job_run_queuing: true}\n" + plan_text_
    assert codes_of(queued) == []


def test_the_attempt_slot_is_filled_before_the_wire() -> None:
    """The wire tests strip the marker argument: it is the attempt slot until apply."""
    job = GlueJob.model_validate({"platform": "glue", "external_id": "etl-job"})
    platform = GluePlatform.model_validate({"type": "aws_glue", "region": "us-east-1"})
    request = glue_spec.build_request(job, platform)
    assert request.payload["Arguments"] == {ATTEMPT_ARGUMENT: ATTEMPT_SLOT}


@pytest.mark.parametrize(
    ("job", "members", "refused"),
    [
        ("orders-quality", {"ExecutionClass": "FLEX"}, "command type glueetl"),
        ("orders-etl", {"ExecutionClass": "FLEX", "WorkerType": "G.4X"}, "G.1X or G.2X"),
        ("orders-etl", {"MaxCapacity": 1.0}, "cannot specify a Maximum capacity"),
        ("orders-etl", {"ExecutionClass": "FLEX"}, None),
        ("orders-quality", {"MaxCapacity": 1.0}, None),
    ],
)
def test_the_sandbox_refuses_what_aws_documents_for_the_job(
    sandbox: Sandbox, job: str, members: dict[str, Any], refused: str | None
) -> None:
    """What plan's PS724 and PS725 refuse, the emulator refuses too (not kinder than AWS)."""
    from botocore.exceptions import ClientError

    if refused is None:
        assert _glue(sandbox).start_job_run(JobName=job, **members)["JobRunId"]
        return
    with pytest.raises(ClientError) as caught:
        _glue(sandbox).start_job_run(JobName=job, **members)
    assert caught.value.response["Error"]["Code"] == "InvalidInputException"
    assert refused in caught.value.response["Error"]["Message"]
