"""Every StartJobRun and SubmitJob constraint polysync checks offline, on both sides of
its boundary: the last valid value passes, the first invalid one fails with its code at
its position. The README's "Request constraints checked offline" names these cases.

validate's constraints are manifests (`«at»` marks where the finding points); plan's are
the platforms' pure pre-flight checks against a hand-built live job. Whatever validate
accepts, the sandbox (which refuses the request shapes AWS documents as invalid) accepts
too."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest

from polysync_spec import load_project, validate
from polysync_spec.manifest import codes
from polysync_spec.manifest.models import (
    BatchJob,
    BatchPlatform,
    GlueJob,
    Run,
)
from polysync_spec.manifest.positions import DocPath
from polysync_spec.providers.batch import spec as batch_spec
from polysync_spec.providers.batch.definitions import (
    BatchDefinition,
    BatchLive,
    BatchQueue,
    DefinitionLookup,
)
from polysync_spec.providers.batch.platform import Batch
from polysync_spec.providers.glue import spec as glue_spec
from polysync_spec.providers.glue.spec import GlueDefinition
from polysync_spec.providers.glue.workers import WORKER_MIN_VERSION
from polysync_spec.sandbox import shapes
from tests.conftest import ROOT
from tests.helpers import BATCH_BASE, GLUE_BASE, attempt, plan_glue_run, write_marked

# ================================================================== validate


@dataclasses.dataclass(frozen=True)
class Boundary:
    """One constraint: `manifest` with `{value}` (and `«at»` where the finding points),
    the last valid value and the first invalid one, and the code the latter reports."""

    id: str
    manifest: str
    valid: str
    invalid: str
    code: str

    def text(self, value: str) -> str:
        return self.manifest.replace("{value}", value)


def _glue(lines: str) -> str:
    return GLUE_BASE + lines


def _batch(lines: str) -> str:
    return BATCH_BASE + lines


GLUE_NAME = GLUE_BASE.replace("external_id: etl-job", "external_id: «at»{value}")
BATCH_DEFINITION = BATCH_BASE.replace("external_id: export", "external_id: «at»{value}")
RUN_PLAN = "run_plans:\n  p:\n    runs:\n      - job: {job}\n"


def _version_cases() -> list[Boundary]:
    """Each worker type at the first Glue version AWS documents for it, and the release
    before it. The releases before 3.0 are retired: that, not the worker type, is their
    finding (PS321), at the version."""
    before = {(3, 0): "2.0", (4, 0): "3.0"}
    cases = []
    for worker, ((major, minor), _) in WORKER_MIN_VERSION.items():
        retired = (major, minor) == (3, 0)
        worker_at, version_at = ("", "«at»") if retired else ("«at»", "")
        cases.append(
            Boundary(
                f"glue-{worker}-needs-glue-{major}.{minor}",
                _glue(
                    f"    compute: {{worker_type: {worker_at}{worker}, "
                    f'glue_version: {version_at}"{{value}}"}}\n'
                ),
                f"{major}.{minor}",
                before[(major, minor)],
                codes.GLUE_VERSION_RETIRED if retired else codes.GLUE_WORKER_VERSION,
            )
        )
    return cases


def _tags(count: int) -> str:
    return ", ".join(f"k{i}: v" for i in range(count))


BOUNDARIES: list[Boundary] = [
    # ------------------------------------------------------------ Glue StartJobRun
    Boundary("glue-job-name-length", GLUE_NAME, "n" * 255, "n" * 256, codes.GLUE_JOB_NAME),
    Boundary("glue-job-name-empty", GLUE_NAME, '"n"', '""', codes.GLUE_JOB_NAME),
    Boundary(
        "glue-job-name-control-character",
        GLUE_NAME,
        '"a\\u0020b"',
        '"a\\u001fb"',
        codes.GLUE_JOB_NAME,
    ),
    Boundary("glue-job-name-tab", GLUE_NAME, '"a\\tb"', '"a\\nb"', codes.GLUE_JOB_NAME),
    Boundary(
        "glue-job-name-noncharacter", GLUE_NAME, '"a\\uFFFDb"', '"a\\uFFFEb"', codes.GLUE_JOB_NAME
    ),
    Boundary(
        "glue-worker-type-enum",
        _glue("    compute: {worker_type: «at»{value}}\n"),
        "G.8X",
        "G.3X",
        codes.GLUE_WORKER_TYPE,
    ),
    Boundary(
        "glue-number-of-workers-min",
        _glue("    compute: {number_of_workers: «at»{value}}\n"),
        "1",
        "0",
        codes.GLUE_NUMBER_OF_WORKERS,
    ),
    Boundary(
        "glue-timeout-min",
        _glue("    compute: {timeout_minutes: «at»{value}}\n"),
        "1",
        "0",
        codes.GLUE_TIMEOUT,
    ),
    Boundary(
        "glue-timeout-max",
        _glue("    compute: {timeout_minutes: «at»{value}}\n"),
        "10079",
        "10080",
        codes.GLUE_TIMEOUT,
    ),
    Boundary(
        "glue-run-timeout-max",
        _glue(RUN_PLAN.format(job="etl") + "        compute: {timeout_minutes: «at»{value}}\n"),
        "10079",
        "10080",
        codes.GLUE_TIMEOUT,
    ),
    Boundary(
        "glue-platform-timeout-max",
        GLUE_BASE.replace(
            "    region: us-east-1\n",
            "    region: us-east-1\n    defaults: {timeout_minutes: «at»{value}}\n",
        ),
        "10079",
        "10080",
        codes.GLUE_TIMEOUT,
    ),
    Boundary(
        "glue-version-length",
        _glue('    compute: {glue_version: «at»"{value}"}\n'),
        "4." + "0" * 253,
        "4." + "0" * 254,
        codes.GLUE_VERSION_NOT_STRING,
    ),
    Boundary(
        "glue-version-pattern",
        _glue('    compute: {glue_version: «at»"{value}"}\n'),
        "auto",
        "4",
        codes.GLUE_VERSION_NOT_STRING,
    ),
    *_version_cases(),
    Boundary(
        "glue-argument-key-equals",
        _glue("    parameters: {«at»'{value}': v}\n"),
        "a-b",
        "a=b",
        codes.GLUE_ARGUMENT_KEY,
    ),
    Boundary(
        "glue-argument-key-collision",
        _glue("    parameters: {path: a, «at»'{value}': b}\n"),
        "--path2",
        "--path",
        codes.GLUE_ARGUMENT_KEY,
    ),
    Boundary(
        "glue-internal-argument",
        _glue("    parameters: {«at»'{value}': v}\n"),
        "JOB_NAME_",
        "JOB_NAME",
        codes.GLUE_INTERNAL_ARGUMENT,
    ),
    Boundary(
        "glue-attempt-argument",
        _glue("    parameters: {«at»'{value}': v}\n"),
        "polysync-attempt",
        "polysync-attempt-id",
        codes.GLUE_INTERNAL_ARGUMENT,
    ),
    # ------------------------------------------------------------ Batch SubmitJob
    Boundary(
        "batch-job-queue-length",
        _batch("    job_queue: «at»{value}\n"),
        "q" * 128,
        "q" * 129,
        codes.BATCH_JOB_QUEUE,
    ),
    Boundary(
        "batch-job-queue-characters",
        _batch("    job_queue: «at»'{value}'\n"),
        "etl_high-1",
        "etl.high",
        codes.BATCH_JOB_QUEUE,
    ),
    Boundary(
        "batch-job-queue-arn",
        _batch("    job_queue: «at»'{value}'\n"),
        "arn:aws:batch:us-east-1:123456789012:job-queue/etl",
        "arn:aws:batch:us-east-1:123456789012:job-definition/etl",
        codes.BATCH_JOB_QUEUE,
    ),
    Boundary(
        "batch-default-job-queue",
        BATCH_BASE.replace("default_job_queue: q", "default_job_queue: «at»'{value}'"),
        "q",
        "",
        codes.BATCH_JOB_QUEUE,
    ),
    Boundary(
        "batch-run-job-queue",
        _batch(RUN_PLAN.format(job="exp") + "        compute: {job_queue: «at»'{value}'}\n"),
        "q2",
        "q 2",
        codes.BATCH_JOB_QUEUE,
    ),
    Boundary(
        "batch-job-definition-name-length",
        BATCH_DEFINITION,
        "d" * 128,
        "d" * 129,
        codes.BATCH_EXTERNAL_ID,
    ),
    Boundary(
        "batch-job-definition-revision",
        BATCH_DEFINITION,
        "export:1",
        "export:0",
        codes.BATCH_EXTERNAL_ID,
    ),
    Boundary("batch-job-definition-empty", BATCH_DEFINITION, "e", "''", codes.BATCH_EXTERNAL_ID),
    Boundary(
        "batch-share-identifier-length",
        _batch("    share_identifier: «at»'{value}'\n"),
        "s" * 255,
        "s" * 256,
        codes.BATCH_SHARE_IDENTIFIER,
    ),
    Boundary(
        "batch-share-identifier-asterisk",
        _batch("    share_identifier: «at»'{value}'\n"),
        "team*",
        "team**",
        codes.BATCH_SHARE_IDENTIFIER,
    ),
    Boundary(
        "batch-share-identifier-characters",
        _batch("    share_identifier: «at»'{value}'\n"),
        "team1",
        "team-1",
        codes.BATCH_SHARE_IDENTIFIER,
    ),
    Boundary(
        "batch-priority-min",
        _batch("    scheduling_priority_override: «at»{value}\n"),
        "0",
        "-1",
        codes.BATCH_PRIORITY,
    ),
    Boundary(
        "batch-priority-max",
        _batch("    scheduling_priority_override: «at»{value}\n"),
        "9999",
        "10000",
        codes.BATCH_PRIORITY,
    ),
    Boundary(
        "batch-array-size-min",
        _batch("    array_size: «at»{value}\n"),
        "2",
        "1",
        codes.BATCH_ARRAY_SIZE,
    ),
    Boundary(
        "batch-array-size-max",
        _batch("    array_size: «at»{value}\n"),
        "10000",
        "10001",
        codes.BATCH_ARRAY_SIZE,
    ),
    Boundary(
        "batch-run-array-size-max",
        _batch(RUN_PLAN.format(job="exp") + "        compute: {array_size: «at»{value}}\n"),
        "10000",
        "10001",
        codes.BATCH_ARRAY_SIZE,
    ),
    Boundary(
        "batch-depends-on-count",
        _batch("    depends_on: «at»[{value}]\n"),
        ", ".join(["{job_id: j}"] * 20),
        ", ".join(["{job_id: j}"] * 21),
        codes.BATCH_DEPENDS_ON,
    ),
    Boundary(
        "batch-depends-on-type-enum",
        _batch("    array_size: 2\n    depends_on: [{job_id: j, type: «at»{value}}]\n"),
        "N_TO_N",
        "n_to_n",
        codes.BATCH_DEPENDS_ON,
    ),
    Boundary(
        "batch-typed-dependency-needs-an-array-job",
        _batch("{value}    depends_on: [{job_id: j, type: «at»SEQUENTIAL}]\n"),
        "    array_size: 2\n",
        "",
        codes.BATCH_TYPED_DEPENDENCY,
    ),
    Boundary(
        "batch-typed-dependency-every-run-an-array",
        _batch(
            "    depends_on: [{job_id: j, type: «at»N_TO_N}]\n"
            + RUN_PLAN.format(job="exp")
            + "        compute: {value}\n"
        ),
        "{array_size: 2}",
        "{retry_attempts: 2}",
        codes.BATCH_TYPED_DEPENDENCY,
    ),
    Boundary(
        "batch-retry-attempts-min",
        _batch("    retry_attempts: «at»{value}\n"),
        "1",
        "0",
        codes.BATCH_RETRY_ATTEMPTS,
    ),
    Boundary(
        "batch-retry-attempts-max",
        _batch("    retry_attempts: «at»{value}\n"),
        "10",
        "11",
        codes.BATCH_RETRY_ATTEMPTS,
    ),
    Boundary(
        "batch-attempt-duration-min",
        _batch("    attempt_duration_seconds: «at»{value}\n"),
        "60",
        "59",
        codes.BATCH_ATTEMPT_DURATION,
    ),
    Boundary(
        "batch-tags-count-min",
        _batch("    tags: «at»{{value}}\n"),
        "k: v",
        "",
        codes.BATCH_TAG,
    ),
    Boundary(
        "batch-tags-count-max",
        _batch("    tags: «at»{{value}}\n"),
        _tags(50),
        _tags(51),
        codes.BATCH_TAG,
    ),
    Boundary(
        "batch-tag-key-length",
        _batch("    tags: {«at»'{value}': v}\n"),
        "k" * 128,
        "k" * 129,
        codes.BATCH_TAG,
    ),
    Boundary(
        "batch-tag-key-empty",
        _batch("    tags: {«at»'{value}': v}\n"),
        "k",
        "",
        codes.BATCH_TAG,
    ),
    Boundary(
        "batch-tag-key-reserved-prefix",
        _batch("    tags: {«at»'{value}': v}\n"),
        "aws-owner",
        "aws:owner",
        codes.BATCH_TAG,
    ),
    Boundary(
        "batch-tag-value-length",
        _batch("    tags: {k: «at»'{value}'}\n"),
        "v" * 256,
        "v" * 257,
        codes.BATCH_TAG,
    ),
]


def test_the_readme_table_names_every_case() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Request constraints checked offline", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"`([a-z0-9.-]+)`", section))
    version = re.compile(r"^glue-.+-needs-glue-\d+\.\d+$")
    missing = [c.id for c in BOUNDARIES if c.id not in named and not version.match(c.id)]
    assert not missing, f"README's request constraints do not name {missing}"
    assert "`glue-<type>-needs-glue-<version>` (10 cases)" in section
    assert len([c for c in BOUNDARIES if version.match(c.id)]) == 10


@pytest.mark.parametrize("case", BOUNDARIES, ids=[c.id for c in BOUNDARIES])
def test_last_valid_value_passes(tmp_path: Path, case: Boundary) -> None:
    path, _ = write_marked(tmp_path, case.text(case.valid))
    found = [d for d in validate(path, env={}) if d.is_error]
    assert found == []


@pytest.mark.parametrize("case", BOUNDARIES, ids=[c.id for c in BOUNDARIES])
def test_first_invalid_value_fails_at_its_position(tmp_path: Path, case: Boundary) -> None:
    path, marks = write_marked(tmp_path, case.text(case.invalid))
    found = [(d.code, d.position) for d in validate(path, env={}) if d.is_error]
    assert found == [(case.code, marks["at"])]


@pytest.mark.parametrize("case", BOUNDARIES, ids=[c.id for c in BOUNDARIES])
def test_what_validate_accepts_the_sandbox_accepts(tmp_path: Path, case: Boundary) -> None:
    """Each request built from a manifest at its last valid value is one the sandbox
    (AWS's documented shapes) takes."""
    path, _ = write_marked(tmp_path, case.text(case.valid))
    project = load_project(path, env={})
    assert project.ok, project.diagnostics
    for request in _requests(project):
        filled = attempt(request)
        service = "glue" if filled.api == glue_spec.START_JOB_RUN else "batch"
        assert shapes.check(service, filled.api, dict(filled.payload)) is None, filled.payload


def _requests(project: Any) -> list[Any]:
    runs: list[Run | None] = [None]
    runs += [run for plan in project.run_plans.values() for run in plan.runs]
    requests = []
    for run in runs:
        for name, job in project.jobs.items():
            if run is not None and run.job != name:
                continue
            platform = project.platforms[job.platform]
            if isinstance(job, GlueJob):
                requests.append(glue_spec.build_request(job, platform, run))
            else:
                requests.append(batch_spec.build_request(job, platform, run))
    return requests


# ================================================================== plan

AT: DocPath = ("run_plans", "p", "runs", 0)


class Sink:
    """A FindingSink that records (kind, code, path)."""

    def __init__(self) -> None:
        self.at: DocPath = AT
        self.found: list[tuple[str, str, DocPath | None]] = []

    def error(self, code: str, message: str, path: DocPath | None = None, **_: Any) -> None:
        self.found.append(("error", code, path))

    def drift(self, code: str, message: str, path: DocPath | None = None, **_: Any) -> None:
        self.found.append(("drift", code, path))

    def note(self, code: str, message: str, path: DocPath | None = None, **_: Any) -> None:
        self.found.append(("note", code, path))


def _glue_findings(
    compute: dict[str, Any], definition: GlueDefinition, where: str = "job"
) -> list[tuple[str, str, DocPath | None]]:
    sink = Sink()
    plan_glue_run(compute, definition, where, sink)
    return [f for f in sink.found if f[0] != "note"]


JOB_WORKER: DocPath = ("jobs", "etl", "compute", "worker_type")
WORKER_FOR_JOB = codes.GLUE_WORKER_FOR_JOB


def _live_job(command: str, version: str | None = None) -> GlueDefinition:
    return GlueDefinition(name="etl-job", command_name=command, glue_version=version)


@pytest.mark.parametrize(
    ("compute", "definition", "where", "expected"),
    [
        pytest.param({"worker_type": "Z.2X"}, _live_job("glueray", "4.0"), "job", [], id="ray-z2x"),
        pytest.param(
            {"worker_type": "Z.2X"},
            _live_job("glueetl", "4.0"),
            "job",
            [("error", WORKER_FOR_JOB, JOB_WORKER)],
            id="z2x-on-a-spark-job",
        ),
        pytest.param(
            {"worker_type": "G.1X"},
            _live_job("glueray", "4.0"),
            "run",
            [("error", WORKER_FOR_JOB, (*AT, "compute", "worker_type"))],
            id="spark-worker-on-a-ray-job-at-the-run",
        ),
        pytest.param(
            {"worker_type": "G.1X"},
            _live_job("glueray", "4.0"),
            "platform",
            [("error", WORKER_FOR_JOB, ("platforms", "glue", "defaults", "worker_type"))],
            id="platform-default-worker-on-a-ray-job",
        ),
        pytest.param(
            {"worker_type": "G.025X"},
            _live_job("gluestreaming", "3.0"),
            "job",
            [],
            id="g025x-streaming",
        ),
        pytest.param(
            {"worker_type": "G.025X"},
            _live_job("glueetl", "3.0"),
            "job",
            [("error", WORKER_FOR_JOB, JOB_WORKER)],
            id="g025x-on-a-batch-spark-job",
        ),
        pytest.param(
            {"worker_type": "G.4X"},
            _live_job("glueetl", "3.0"),
            "job",
            [],
            id="g4x-job-version-3.0",
        ),
        pytest.param(
            {"worker_type": "G.4X"},
            _live_job("glueetl", "2.0"),
            "job",
            [("error", codes.GLUE_JOB_VERSION_RETIRED, ("jobs", "etl", "external_id"))],
            id="g4x-job-version-2.0-is-retired",
        ),
        pytest.param(
            {"worker_type": "G.16X"},
            _live_job("glueetl", "4.0"),
            "job",
            [],
            id="g16x-job-version-4.0",
        ),
        pytest.param(
            {"worker_type": "G.16X"},
            _live_job("glueetl", "3.0"),
            "job",
            [("error", WORKER_FOR_JOB, JOB_WORKER)],
            id="g16x-job-version-3.0",
        ),
        pytest.param(
            {"worker_type": "G.4X", "glue_version": "3.0"},
            _live_job("glueetl", "2.0"),
            "job",
            # The manifest's version is sent as an argument: the job's own still decides.
            [("error", codes.GLUE_JOB_VERSION_RETIRED, ("jobs", "etl", "external_id"))],
            id="a-manifest-glue-version-is-validates-to-check",
        ),
        pytest.param(
            {"worker_type": "G.4X"}, _live_job("glueetl", "auto"), "job", [], id="auto-version"
        ),
        pytest.param(
            {"worker_type": "G.1X"},
            _live_job("pythonshell"),
            "job",
            [("error", codes.PYTHON_SHELL_WORKERS, ("jobs", "etl", "compute"))],
            id="python-shell-is-ps710-not-ps716",
        ),
    ],
)
def test_glue_worker_type_fits_the_live_job(
    compute: dict[str, Any],
    definition: GlueDefinition,
    where: str,
    expected: list[tuple[str, str, DocPath]],
) -> None:
    assert _glue_findings(compute, definition, where) == expected


ARN = "arn:aws:batch:us-east-1:123456789012"


def _batch_findings(
    job: dict[str, Any], definition: BatchDefinition, *, fair: bool = False
) -> list[tuple[str, str, DocPath | None]]:
    model = BatchJob.model_validate({"platform": "batch", "external_id": "export", **job})
    platform = BatchPlatform.model_validate(
        {"type": "aws_batch", "region": "us-east-1", "default_job_queue": "q"}
    )
    policy = f"{ARN}:scheduling-policy/fair" if fair else None
    live = BatchLive(
        definitions={"export": DefinitionLookup("export", definition)},
        queues={"q": BatchQueue("q", f"{ARN}:job-queue/q", "ENABLED", "VALID", policy)},
    )
    sink = Sink()
    Batch().plan_run(Run(job="exp"), model, platform, live, sink)
    return sink.found


def _definition(tags: int = 0, propagate: bool | None = None, first: int = 100) -> BatchDefinition:
    return BatchDefinition(
        name="export",
        revision=3,
        arn=f"{ARN}:job-definition/export:3",
        status="ACTIVE",
        tags={f"d{i}": "v" for i in range(first, first + tags)},
        propagate_tags=propagate,
    )


def _job_tags(count: int) -> dict[str, str]:
    return {f"d{i}": "v" for i in range(count)}


JOB_TAGS: DocPath = ("jobs", "exp", "tags")


@pytest.mark.parametrize(
    ("job", "definition", "expected"),
    [
        pytest.param(
            {"tags": _job_tags(30), "propagate_tags": True},
            _definition(tags=20),
            [],
            id="fifty-combined-tags",
        ),
        pytest.param(
            {"tags": _job_tags(30), "propagate_tags": True},
            _definition(tags=21),
            [("error", codes.PROPAGATED_TAGS, JOB_TAGS)],
            id="fifty-one-combined-tags",
        ),
        pytest.param(
            {"tags": _job_tags(30), "propagate_tags": True},
            _definition(tags=40, first=10),
            [],
            id="a-key-both-set-counts-once",
        ),
        pytest.param(
            {"tags": _job_tags(30)},
            _definition(tags=21, propagate=True),
            [("error", codes.PROPAGATED_TAGS, JOB_TAGS)],
            id="the-definition-propagates",
        ),
        pytest.param(
            {"tags": _job_tags(30), "propagate_tags": False},
            _definition(tags=21, propagate=True),
            [],
            id="the-job-turns-propagation-off",
        ),
        pytest.param(
            {"tags": _job_tags(30)}, _definition(tags=21), [], id="no-propagation-no-limit"
        ),
    ],
)
def test_batch_propagated_tags(
    job: dict[str, Any], definition: BatchDefinition, expected: list[Any]
) -> None:
    assert _batch_findings(job, definition) == expected


@pytest.mark.parametrize(
    ("job", "fair", "expected"),
    [
        pytest.param(
            {"scheduling_priority_override": 5},
            False,
            [
                (
                    "drift",
                    codes.PRIORITY_WITHOUT_FAIR_SHARE,
                    ("jobs", "exp", "scheduling_priority_override"),
                )
            ],
            id="priority-on-a-fifo-queue",
        ),
        pytest.param(
            {"scheduling_priority_override": 5, "share_identifier": "team"},
            True,
            [],
            id="priority-on-a-fair-share-queue",
        ),
        pytest.param({}, False, [], id="no-priority"),
    ],
)
def test_batch_priority_only_affects_fair_share_queues(
    job: dict[str, Any], fair: bool, expected: list[Any]
) -> None:
    assert _batch_findings(job, _definition(), fair=fair) == expected
