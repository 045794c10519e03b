"""The pure part of each platform (`Glue()`, `Batch()`) against hand-built live state:
pre-flight findings with their codes and manifest paths, the exact requests, recorded
values, plan-wide checks, fingerprints, run limits and native dependencies. No sandbox,
no network: every live object is written here."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

import jsonschema
import pytest

from polysync_spec.manifest import codes
from polysync_spec.manifest.models import BatchJob, BatchPlatform, GlueJob, GluePlatform, Run
from polysync_spec.manifest.positions import DocPath
from polysync_spec.providers.base import (
    ATTEMPT_SLOT,
    PlanContext,
    PlannedRequest,
    Resolved,
    RunStatus,
    Tier,
)
from polysync_spec.providers.batch import spec as batch_spec
from polysync_spec.providers.batch.definitions import (
    BatchDefinition,
    BatchLive,
    BatchQueue,
    DefinitionLookup,
)
from polysync_spec.providers.batch.platform import DEPENDS_ON_LIMIT, Batch
from polysync_spec.providers.glue import spec as glue_spec
from polysync_spec.providers.glue.platform import GLUE_ARGUMENTS_LIMIT, Glue, GlueLive
from polysync_spec.providers.glue.spec import GlueDefinition

REGION = "eu-west-1"
AT: DocPath = ("run_plans", "p", "runs", 0)
GLUE_JOB_PATH: DocPath = ("jobs", "etl")
BATCH_JOB_PATH: DocPath = ("jobs", "exp")
ATTEMPT_ARGUMENT = "--polysync-attempt-id"
UUID_LENGTH = 36  # an attempt id as apply fills the slot
SECRET = "s3cr3t-CANARY"

Found = tuple[str, str, str, DocPath | None, bool]  # kind, code, message, path, key
Shape = tuple[str, str, DocPath | None, bool]  # the same without the message


class Sink:
    """A FindingSink that records what it is told."""

    def __init__(self, at: DocPath = AT) -> None:
        self.at: DocPath = at
        self.found: list[Found] = []

    def error(
        self, code: str, message: str, path: DocPath | None = None, *, key: bool = False
    ) -> None:
        self.found.append(("error", code, message, path, key))

    def drift(
        self, code: str, message: str, path: DocPath | None = None, *, key: bool = False
    ) -> None:
        self.found.append(("drift", code, message, path, key))

    def note(
        self, code: str, message: str, path: DocPath | None = None, *, key: bool = False
    ) -> None:
        self.found.append(("note", code, message, path, key))

    def shapes(self) -> list[Shape]:
        return sorted(((k, c, p, key) for k, c, _, p, key in self.found), key=repr)

    def message(self, code: str) -> str:
        messages = [m for _, c, m, _, _ in self.found if c == code]
        assert len(messages) == 1, self.found
        return messages[0]


def _shapes(*shapes: Shape) -> list[Shape]:
    return sorted(shapes, key=repr)


def _run(**fields: Any) -> Run:
    return Run.model_validate({"job": "etl", **fields})


# ================================================================== Glue


def _glue_job(**fields: Any) -> GlueJob:
    return GlueJob.model_validate({"platform": "glue", "external_id": "etl-job", **fields})


def _glue_platform(defaults: dict[str, Any] | None = None) -> GluePlatform:
    return GluePlatform.model_validate({"type": "aws_glue", "region": REGION, "defaults": defaults})


def _glue_plan(
    job: GlueJob,
    definition: GlueDefinition | None,
    *,
    run: Run | None = None,
    defaults: dict[str, Any] | None = None,
) -> tuple[PlannedRequest, Sink]:
    sink = Sink()
    live: GlueLive = {"etl-job": definition} if definition else {}
    planned = Glue().plan_run(run or _run(), job, _glue_platform(defaults), live, sink)
    return planned, sink


SHELL = GlueDefinition(name="etl-job", command_name="pythonshell", max_capacity=0.0625)
SPARK = GlueDefinition(name="etl-job", command_name="glueetl")
WORKERS = {"worker_type": "G.1X", "number_of_workers": 2}


@pytest.mark.parametrize("live", [{}, None, {"etl-job": None}], ids=["absent", "no-live", "none"])
def test_glue_missing_job_is_an_error_at_external_id(live: GlueLive | None) -> None:
    sink = Sink()
    planned = Glue().plan_run(_run(), _glue_job(), _glue_platform(), live, sink)
    assert sink.shapes() == [
        ("error", codes.GLUE_JOB_MISSING, (*GLUE_JOB_PATH, "external_id"), False)
    ]
    message = sink.message(codes.GLUE_JOB_MISSING)
    assert "'etl-job'" in message and REGION in message
    assert planned.live is None
    assert planned.recorded == {}


@pytest.mark.parametrize(
    ("job", "run", "defaults", "definition", "expected", "fragments"),
    [
        pytest.param(
            {"compute": WORKERS},
            {},
            None,
            SHELL,
            [("error", codes.PYTHON_SHELL_WORKERS, (*GLUE_JOB_PATH, "compute"), True)],
            ["Python shell", "worker_type, number_of_workers", "MaxCapacity"],
            id="python-shell-job-workers-error-at-job-compute",
        ),
        pytest.param(
            {},
            {"compute": {"number_of_workers": 3}},
            None,
            SHELL,
            [("error", codes.PYTHON_SHELL_WORKERS, (*AT, "compute"), True)],
            ["cannot be set", "number_of_workers"],
            id="python-shell-run-workers-error-at-run-compute",
        ),
        pytest.param(
            {},
            {},
            WORKERS,
            SHELL,
            [("note", codes.PYTHON_SHELL_DEFAULTS_SKIPPED, GLUE_JOB_PATH, False)],
            ["platform's worker defaults", "not sent"],
            id="python-shell-platform-worker-defaults-note",
        ),
        pytest.param(
            {}, {}, {"timeout_minutes": 10}, SHELL, [], [], id="python-shell-platform-timeout-only"
        ),
        pytest.param({}, {}, WORKERS, SPARK, [], [], id="spark-job-platform-workers-apply"),
        pytest.param({"compute": WORKERS}, {}, None, SPARK, [], [], id="spark-job-workers-allowed"),
        pytest.param(
            {},
            {},
            None,
            GlueDefinition(
                name="etl-job",
                worker_type="G.1X",
                number_of_workers=5,
                glue_version="4.0",
                timeout_minutes=60,
            ),
            [("note", codes.INHERITED_COMPUTE, GLUE_JOB_PATH, False)],
            [
                "from the Glue job definition: worker_type G.1X, number_of_workers 5, "
                "glue_version 4.0, timeout_minutes 60"
            ],
            id="definition-compute-inherited-note",
        ),
        pytest.param(
            {"compute": {"worker_type": "G.2X"}},
            {},
            None,
            GlueDefinition(name="etl-job", worker_type="G.1X", timeout_minutes=60),
            [("note", codes.INHERITED_COMPUTE, GLUE_JOB_PATH, False)],
            ["from the Glue job definition: timeout_minutes 60"],
            id="definition-compute-only-what-the-manifest-leaves",
        ),
        pytest.param(
            {"parameters": {"source": "live"}},
            {},
            None,
            GlueDefinition(
                name="etl-job",
                default_arguments={
                    "--source": "live",
                    "--extra": "x",
                    "--alpha": "a",
                    "--enable-metrics": "true",  # reserved: Glue's own
                    "--JOB_NAME": "etl-job",  # internal: set by Glue
                },
            ),
            [("note", codes.INHERITED_PARAMETERS, GLUE_JOB_PATH, False)],
            ["filled from the job's DefaultArguments: --alpha, --extra"],
            id="default-arguments-fill-note",
        ),
        pytest.param(
            {"parameters": {"source": "live"}},
            {},
            None,
            GlueDefinition(name="etl-job", default_arguments={"--source": "live"}),
            [],
            [],
            id="default-arguments-all-overridden",
        ),
        pytest.param(
            {"parameters": {"mode_x": "a"}},
            {},
            None,
            GlueDefinition(name="etl-job", non_overridable_arguments={"--mode_x": "b"}),
            [("drift", codes.NON_OVERRIDABLE, (*GLUE_JOB_PATH, "parameters", "mode_x"), True)],
            ["'--mode_x'", "NonOverridableArguments", "ignores"],
            id="non-overridable-drift",
        ),
        pytest.param(
            {"parameters": {"token": {"value": SECRET, "secret": True}}},
            {},
            None,
            GlueDefinition(name="etl-job", non_overridable_arguments={"--token": "fixed"}),
            [("drift", codes.NON_OVERRIDABLE, (*GLUE_JOB_PATH, "parameters", "token"), True)],
            ["'--token'"],
            id="non-overridable-drift-for-a-secret-too",
        ),
        pytest.param(
            {"parameters": {"source": "s3://new/"}},
            {},
            None,
            GlueDefinition(name="etl-job", default_arguments={"--source": "s3://old/"}),
            [("drift", codes.DEFAULT_DRIFT, (*GLUE_JOB_PATH, "parameters", "source"), False)],
            ["parameter 'source'", "'s3://new/' in the manifest", "'s3://old/' in the Glue job"],
            id="default-drift",
        ),
        pytest.param(
            {"parameters": {"rows": 500, "dry": False}},
            {},
            None,
            GlueDefinition(name="etl-job", default_arguments={"--rows": "500", "--dry": "false"}),
            [],
            [],
            id="no-drift-when-the-sent-strings-agree",
        ),
        pytest.param(
            {"parameters": {"token": {"value": SECRET, "secret": True}}},
            {},
            None,
            GlueDefinition(name="etl-job", default_arguments={"--token": "other"}),
            [],
            [],
            id="secret-values-are-never-compared",
        ),
        pytest.param(
            {"parameters": {"source": {"value": None}}},
            {},
            None,
            GlueDefinition(
                name="etl-job",
                default_arguments={"--source": "live"},
                non_overridable_arguments={"--source": "live"},
            ),
            [("note", codes.INHERITED_PARAMETERS, GLUE_JOB_PATH, False)],
            ["--source"],
            id="unsent-parameter-is-not-checked",
        ),
    ],
)
def test_glue_plan_run_findings(
    job: dict[str, Any],
    run: dict[str, Any],
    defaults: dict[str, Any] | None,
    definition: GlueDefinition,
    expected: list[Shape],
    fragments: list[str],
) -> None:
    planned, sink = _glue_plan(_glue_job(**job), definition, run=_run(**run), defaults=defaults)
    assert sink.shapes() == _shapes(*expected)
    for fragment in fragments:
        assert fragment in sink.message(expected[0][1])
    assert not [m for _, _, m, _, _ in sink.found if SECRET in m]  # never a secret's value
    assert planned.live == "etl-job"


def test_glue_python_shell_platform_worker_defaults_are_not_sent() -> None:
    planned, _ = _glue_plan(_glue_job(), SHELL, defaults={**WORKERS, "timeout_minutes": 10})
    payload = planned.request.payload
    assert "WorkerType" not in payload and "NumberOfWorkers" not in payload
    assert payload["Timeout"] == 10
    assert not set(planned.request.compute) & {"worker_type", "number_of_workers"}


def _blob_size(value_length: int) -> int:
    """The argument total with one `--blob` of `value_length` ASCII bytes, as sent."""
    return len(ATTEMPT_ARGUMENT) + UUID_LENGTH + len("--blob") + value_length


# The value length that brings the total exactly to Glue's limit.
AT_LIMIT = GLUE_ARGUMENTS_LIMIT - _blob_size(0)


@pytest.mark.parametrize(
    ("job", "definition", "total"),
    [
        pytest.param(
            {"parameters": {"blob": "x" * AT_LIMIT}}, SPARK, None, id="parameter-exactly-at-limit"
        ),
        pytest.param(
            {"parameters": {"blob": "x" * (AT_LIMIT + 1)}},
            SPARK,
            GLUE_ARGUMENTS_LIMIT + 1,
            # With the 13-character slot instead of a 36-character uuid this would fit.
            id="parameter-one-byte-over-counting-the-attempt-uuid",
        ),
        pytest.param(
            {"parameters": {"blob": "é" * ((AT_LIMIT + 1) // 2 + 1)}},
            SPARK,
            _blob_size(2 * ((AT_LIMIT + 1) // 2 + 1)),
            id="utf8-bytes-not-characters",
        ),
        pytest.param(
            {},
            GlueDefinition(name="etl-job", default_arguments={"--blob": "x" * (AT_LIMIT + 1)}),
            GLUE_ARGUMENTS_LIMIT + 1,
            id="default-arguments-count",
        ),
        pytest.param(
            {},
            GlueDefinition(
                name="etl-job", non_overridable_arguments={"--blob": "x" * (AT_LIMIT + 1)}
            ),
            GLUE_ARGUMENTS_LIMIT + 1,
            id="non-overridable-arguments-count",
        ),
        pytest.param(
            {"parameters": {"blob": "short"}},
            GlueDefinition(name="etl-job", default_arguments={"--blob": "x" * (AT_LIMIT + 1)}),
            None,
            id="overridden-default-counts-once-as-sent",
        ),
    ],
)
def test_glue_arguments_limit(
    job: dict[str, Any], definition: GlueDefinition, total: int | None
) -> None:
    _, sink = _glue_plan(_glue_job(**job), definition)
    too_large = [f for f in sink.found if f[1] == codes.GLUE_ARGUMENTS_TOO_LARGE]
    if total is None:
        assert too_large == []
        return
    assert [(kind, path, key) for kind, _, _, path, key in too_large] == [("error", None, False)]
    assert f"total {total} bytes" in too_large[0][2]
    assert str(GLUE_ARGUMENTS_LIMIT) in too_large[0][2]


@pytest.mark.parametrize("max_concurrent_runs", [1, 3])
def test_glue_records_max_concurrent_runs(max_concurrent_runs: int) -> None:
    definition = GlueDefinition(name="etl-job", max_concurrent_runs=max_concurrent_runs)
    planned, _ = _glue_plan(_glue_job(), definition)
    assert planned.recorded == {
        "max_concurrent_runs": Resolved(max_concurrent_runs, Tier.DEFINITION)
    }


@pytest.mark.parametrize("max_retries", [0, 2])
def test_glue_records_the_jobs_automatic_retries(max_retries: int) -> None:
    """Glue retries by the job's MaxRetries, not the manifest's (StartJobRun has none):
    recorded so that the run's limit counts each retry."""
    definition = GlueDefinition(name="etl-job", max_retries=max_retries)
    planned, _ = _glue_plan(_glue_job(), definition)
    recorded = planned.recorded.get("automatic_retries")
    assert recorded == (Resolved(max_retries, Tier.DEFINITION) if max_retries else None)


FULL_DEFINITION = GlueDefinition(
    name="etl-job", worker_type="G.1X", number_of_workers=5, glue_version="4.0", timeout_minutes=60
)


@pytest.mark.parametrize(
    ("job", "run", "defaults", "payload"),
    [
        pytest.param(
            {
                "parameters": {"source": "s3://x/", "rows": 5, "flag": True, "_owner": "me"},
                "compute": {"worker_type": "G.2X", "number_of_workers": 10, "timeout_minutes": 120},
            },
            {},
            None,
            {
                "JobName": "etl-job",
                "Arguments": {
                    "--source": "s3://x/",
                    "--rows": "5",
                    "--flag": "true",
                    ATTEMPT_ARGUMENT: ATTEMPT_SLOT,
                },
                "WorkerType": "G.2X",
                "NumberOfWorkers": 10,
                "Timeout": 120,
            },
            id="job-compute-sent",
        ),
        pytest.param(
            {},
            {},
            None,
            {"JobName": "etl-job", "Arguments": {ATTEMPT_ARGUMENT: ATTEMPT_SLOT}},
            id="definition-tier-not-sent",
        ),
        pytest.param(
            {"compute": {"glue_version": "5.0"}, "parameters": {"day": {"value": None}}},
            {"compute": {"number_of_workers": 7}, "parameters": {"day": "mon"}},
            {"timeout_minutes": 15},
            {
                "JobName": "etl-job",
                "Arguments": {
                    ATTEMPT_ARGUMENT: ATTEMPT_SLOT,
                    "--glue-version": "5.0",
                    "--day": "mon",
                },
                "NumberOfWorkers": 7,
                "Timeout": 15,
            },
            id="run-job-platform-tiers-sent-definition-worker-type-not",
        ),
    ],
)
def test_glue_exact_payload(
    job: dict[str, Any],
    run: dict[str, Any],
    defaults: dict[str, Any] | None,
    payload: dict[str, Any],
) -> None:
    planned, _ = _glue_plan(_glue_job(**job), FULL_DEFINITION, run=_run(**run), defaults=defaults)
    assert planned.request.api == "StartJobRun"
    assert dict(planned.request.payload) == payload
    schema = Glue().request_schema({"type": "string"})
    jsonschema.validate(dict(planned.request.payload), schema)


# ------------------------------------------------------------------ Glue plan-wide


def _glue_context(
    runs: list[tuple[int, str, str]],
    *,
    max_concurrency: int = 4,
    ordered: bool = False,
    asked: list[list[str]] | None = None,
) -> PlanContext:
    """Runs as (index in the run plan, run key, Glue job name); `ordered`: `after` edges
    chain them, so at most one may go at a time."""
    platform = _glue_platform()
    entries = [
        (index, _run(name=key), _glue_job(external_id=name), platform) for index, key, name in runs
    ]

    def largest_unordered(keys: list[str]) -> list[str]:
        if asked is not None:
            asked.append(list(keys))
        return keys[:1] if ordered else list(keys)

    return PlanContext("p", entries, max_concurrency, largest_unordered)


def _glue_findings(
    context: PlanContext, jobs: Mapping[str, GlueDefinition | None]
) -> list[tuple[DocPath, str, str]]:
    return list(Glue().plan_findings(context, {"glue": jobs}))


ONE_SLOT = {"etl-job": GlueDefinition(name="etl-job", max_concurrent_runs=1)}
TWO_SLOTS = {"etl-job": GlueDefinition(name="etl-job", max_concurrent_runs=2)}


@pytest.mark.parametrize(
    ("runs", "options", "jobs", "expected_index"),
    [
        pytest.param(
            [(0, "a", "etl-job"), (1, "b", "etl-job")], {}, ONE_SLOT, 1, id="two-unordered-one-slot"
        ),
        pytest.param(
            [(0, "a", "etl-job"), (3, "b", "etl-job")],
            {},
            ONE_SLOT,
            3,
            id="path-is-the-run-plan-index",
        ),
        pytest.param(
            [(0, "a", "etl-job"), (1, "b", "etl-job"), (2, "c", "etl-job")],
            {},
            TWO_SLOTS,
            2,
            id="three-unordered-two-slots",
        ),
        pytest.param(
            [(0, "a", "etl-job"), (1, "b", "etl-job")],
            {"ordered": True},
            ONE_SLOT,
            None,
            id="ordered-by-after",
        ),
        pytest.param(
            [(0, "a", "etl-job"), (1, "b", "etl-job")],
            {"max_concurrency": 1},
            ONE_SLOT,
            None,
            id="max-concurrency-1",
        ),
        pytest.param(
            [(0, "a", "etl-job"), (1, "b", "etl-job")], {}, TWO_SLOTS, None, id="within-slots"
        ),
        pytest.param(
            [(0, "a", "etl-job"), (1, "b", "etl-job"), (2, "c", "etl-job")],
            {"max_concurrency": 2},
            TWO_SLOTS,
            None,
            id="max-concurrency-caps-at-slots",
        ),
        pytest.param([(0, "a", "etl-job")], {}, ONE_SLOT, None, id="single-run"),
        pytest.param(
            [(0, "a", "etl-job"), (1, "b", "other-job")],
            {},
            {**ONE_SLOT, "other-job": GlueDefinition(name="other-job")},
            None,
            id="different-glue-jobs",
        ),
        pytest.param(
            [(0, "a", "etl-job"), (1, "b", "etl-job")], {}, {}, None, id="job-missing-no-check"
        ),
    ],
)
def test_glue_plan_findings_concurrency(
    runs: list[tuple[int, str, str]],
    options: dict[str, Any],
    jobs: Mapping[str, GlueDefinition | None],
    expected_index: int | None,
) -> None:
    findings = _glue_findings(_glue_context(runs, **options), jobs)
    if expected_index is None:
        assert findings == []
        return
    assert [(path, code) for path, code, _ in findings] == [
        (("run_plans", "p", "runs", expected_index), codes.GLUE_CONCURRENCY)
    ]
    message = findings[0][2]
    slots = jobs["etl-job"]
    assert slots is not None
    assert f"may start {len(runs)} runs of Glue job 'etl-job'" in message
    assert f"({', '.join(key for _, key, _ in runs)})" in message
    assert f"MaxConcurrentRuns is {slots.max_concurrent_runs}" in message


def test_glue_plan_findings_asks_about_the_runs_of_each_job() -> None:
    asked: list[list[str]] = []
    context = _glue_context(
        [(0, "a", "etl-job"), (1, "x", "other-job"), (2, "b", "etl-job"), (3, "y", "other-job")],
        asked=asked,
        ordered=True,
    )
    jobs = {"etl-job": ONE_SLOT["etl-job"], "other-job": GlueDefinition(name="other-job")}
    assert _glue_findings(context, jobs) == []
    assert sorted(asked) == [["a", "b"], ["x", "y"]]


# ================================================================== Batch

ARN = "arn:aws:batch:eu-west-1:123456789012"
DEF3 = BatchDefinition(
    name="export",
    revision=3,
    arn=f"{ARN}:job-definition/export:3",
    status="ACTIVE",
    placeholders=frozenset({"input"}),
)


def _queue(
    name: str = "q", state: str = "ENABLED", status: str = "VALID", fair: bool = False
) -> BatchQueue:
    policy = f"{ARN}:scheduling-policy/fair" if fair else None
    return BatchQueue(name, f"{ARN}:job-queue/{name}", state, status, policy)


def _batch_job(**fields: Any) -> BatchJob:
    return BatchJob.model_validate(
        {
            "platform": "batch",
            "external_id": "export",
            "parameters": {"input": "s3://in/"},
            **fields,
        }
    )


BATCH_PLATFORM = BatchPlatform.model_validate(
    {"type": "aws_batch", "region": REGION, "default_job_queue": "q"}
)


def _live(
    definition: BatchDefinition | None = DEF3,
    *,
    reference: str = "export",
    queues: dict[str, BatchQueue | None] | None = None,
    **lookup: Any,
) -> BatchLive:
    return BatchLive(
        definitions={reference: DefinitionLookup(reference, definition, **lookup)},
        queues={"q": _queue()} if queues is None else queues,
    )


def _batch_plan(
    job: BatchJob, live: BatchLive | None, run: Run | None = None
) -> tuple[PlannedRequest, Sink]:
    sink = Sink()
    planned = Batch().plan_run(run or Run(job="exp"), job, BATCH_PLATFORM, live, sink)
    return planned, sink


def test_batch_clean_plan_has_no_findings_and_names_the_resolved_revision() -> None:
    planned, sink = _batch_plan(_batch_job(), _live())
    assert sink.found == []
    assert planned.live == "export -> export:3"
    assert planned.recorded == {}
    assert dict(planned.request.payload) == {
        "jobName": f"Polysync-{ATTEMPT_SLOT}",
        "jobQueue": "q",
        "jobDefinition": "export",
        "parameters": {"input": "s3://in/"},
    }
    jsonschema.validate(dict(planned.request.payload), Batch().request_schema({"type": "string"}))


@pytest.mark.parametrize(
    ("external_id", "live", "label", "expected", "fragments"),
    [
        pytest.param(
            "export:3",
            _live(reference="export:3", pinned=True, pinned_status="ACTIVE"),
            "export:3",
            [],
            [],
            id="pinned-active",
        ),
        pytest.param(
            "export:2",
            _live(None, reference="export:2", pinned=True, pinned_status="INACTIVE"),
            None,
            [("error", codes.PINNED_REVISION, (*BATCH_JOB_PATH, "external_id"), False)],
            ["revision 2 of job definition 'export' is INACTIVE"],
            id="pinned-inactive",
        ),
        pytest.param(
            "export:9",
            _live(None, reference="export:9", pinned=True, pinned_status=None),
            None,
            [("error", codes.PINNED_REVISION, (*BATCH_JOB_PATH, "external_id"), False)],
            ["revision 9 of job definition 'export' does not exist"],
            id="pinned-missing",
        ),
        pytest.param(
            f"{ARN}:job-definition/export:2",
            _live(
                None,
                reference=f"{ARN}:job-definition/export:2",
                pinned=True,
                pinned_status="INACTIVE",
            ),
            None,
            [("error", codes.PINNED_REVISION, (*BATCH_JOB_PATH, "external_id"), False)],
            ["revision 2 of job definition 'export' is INACTIVE"],
            id="pinned-arn-inactive",
        ),
        pytest.param(
            "export",
            _live(None),
            None,
            [("error", codes.DEFINITION_NOT_ACTIVE, (*BATCH_JOB_PATH, "external_id"), False)],
            ["'export' has no ACTIVE revision in eu-west-1"],
            id="bare-name-no-active-revision",
        ),
        pytest.param(
            "export",
            BatchLive(queues={"q": _queue()}),
            None,
            [("error", codes.DEFINITION_NOT_ACTIVE, (*BATCH_JOB_PATH, "external_id"), False)],
            ["'export' has no ACTIVE revision"],
            id="not-in-the-snapshot",
        ),
        pytest.param(
            "export",
            None,
            None,
            _shapes(
                ("error", codes.DEFINITION_NOT_ACTIVE, (*BATCH_JOB_PATH, "external_id"), False),
                ("error", codes.QUEUE_MISSING, ("platforms", "batch", "default_job_queue"), False),
            ),
            ["'export'"],
            id="no-live-at-all",
        ),
    ],
)
def test_batch_definition_resolution(
    external_id: str,
    live: BatchLive | None,
    label: str | None,
    expected: list[Shape],
    fragments: list[str],
) -> None:
    planned, sink = _batch_plan(_batch_job(external_id=external_id), live)
    assert planned.live == label
    assert sink.shapes() == _shapes(*expected)
    for fragment in fragments:
        assert fragment in sink.message(expected[0][1])


PLATFORM_QUEUE: DocPath = ("platforms", "batch", "default_job_queue")


@pytest.mark.parametrize(
    ("job", "run", "queues", "expected", "fragments"),
    [
        pytest.param(
            {},
            {},
            {},
            [("error", codes.QUEUE_MISSING, PLATFORM_QUEUE, False)],
            ["job queue 'q' does not exist in eu-west-1"],
            id="queue-missing",
        ),
        pytest.param(
            {},
            {},
            {"q": None},
            [("error", codes.QUEUE_MISSING, PLATFORM_QUEUE, False)],
            ["'q' does not exist"],
            id="queue-looked-up-and-absent",
        ),
        pytest.param(
            {},
            {},
            {"q": _queue(state="DISABLED")},
            [("error", codes.QUEUE_UNUSABLE, PLATFORM_QUEUE, False)],
            ["'q' is DISABLED/VALID", "ENABLED, VALID"],
            id="queue-disabled",
        ),
        pytest.param(
            {},
            {},
            {"q": _queue(status="INVALID")},
            [("error", codes.QUEUE_UNUSABLE, PLATFORM_QUEUE, False)],
            ["'q' is ENABLED/INVALID"],
            id="queue-invalid",
        ),
        pytest.param(
            {"job_queue": "jq"},
            {},
            {"q": _queue()},
            [("error", codes.QUEUE_MISSING, (*BATCH_JOB_PATH, "job_queue"), False)],
            ["'jq'"],
            id="job-queue-path",
        ),
        pytest.param(
            {"job_queue": "jq"},
            {"compute": {"job_queue": "rq"}},
            {"jq": _queue("jq")},
            [("error", codes.QUEUE_MISSING, (*AT, "compute", "job_queue"), False)],
            ["'rq'"],
            id="run-queue-path",
        ),
        pytest.param(
            {},
            {},
            {"q": _queue(fair=True)},
            [("error", codes.FAIR_SHARE_WITHOUT_SHARE, PLATFORM_QUEUE, False)],
            ["'q' has a fair-share scheduling policy", "set share_identifier"],
            id="fair-share-without-share-identifier",
        ),
        pytest.param(
            {"share_identifier": "media"},
            {},
            {"q": _queue(fair=True)},
            [],
            [],
            id="fair-share-with-share-identifier",
        ),
        pytest.param(
            {"share_identifier": "media"},
            {},
            {"q": _queue()},
            [("error", codes.SHARE_WITHOUT_FAIR_SHARE, PLATFORM_QUEUE, False)],
            ["share_identifier is set but job queue 'q' has no fair-share"],
            id="share-identifier-on-fifo-queue",
        ),
        pytest.param(
            {},
            {"compute": {"share_identifier": "media"}},
            {"q": _queue()},
            [("error", codes.SHARE_WITHOUT_FAIR_SHARE, PLATFORM_QUEUE, False)],
            ["share_identifier is set"],
            id="run-share-identifier-on-fifo-queue",
        ),
        pytest.param(
            {},
            {},
            {"q": _queue(state="DISABLED", fair=True)},
            _shapes(
                ("error", codes.QUEUE_UNUSABLE, PLATFORM_QUEUE, False),
                ("error", codes.FAIR_SHARE_WITHOUT_SHARE, PLATFORM_QUEUE, False),
            ),
            ["'q' is DISABLED/VALID"],
            id="disabled-fair-share-queue-both",
        ),
    ],
)
def test_batch_queue_checks(
    job: dict[str, Any],
    run: dict[str, Any],
    queues: dict[str, BatchQueue | None],
    expected: list[Shape],
    fragments: list[str],
) -> None:
    _, sink = _batch_plan(
        _batch_job(**job), _live(queues=queues), Run.model_validate({"job": "exp", **run})
    )
    assert sink.shapes() == _shapes(*expected)
    for fragment in fragments:
        assert fragment in sink.message(expected[0][1])


def _definition(**fields: Any) -> BatchDefinition:
    return BatchDefinition(
        **{"name": "export", "revision": 3, "arn": DEF3.arn, "status": "ACTIVE", **fields}
    )


@pytest.mark.parametrize(
    ("job", "run", "definition", "expected", "fragments"),
    [
        pytest.param(
            {"parameters": {"input": "s3://in/", "extra": "x"}},
            {},
            _definition(placeholders=frozenset({"input"})),
            [("drift", codes.NO_PLACEHOLDER, (*BATCH_JOB_PATH, "parameters", "extra"), True)],
            ["parameter 'extra' has no Ref::extra placeholder in export:3"],
            id="parameter-without-placeholder",
        ),
        pytest.param(
            {"parameters": {"input": "s3://in/", "extra": {"value": None}}},
            {"parameters": {"extra": "y"}},
            _definition(placeholders=frozenset({"input"})),
            [("drift", codes.NO_PLACEHOLDER, (*AT, "parameters", "extra"), True)],
            ["Ref::extra"],
            id="run-parameter-without-placeholder-at-the-run",
        ),
        pytest.param(
            {"parameters": {"input": "s3://in/", "token": {"value": SECRET, "secret": True}}},
            {},
            _definition(placeholders=frozenset({"input"})),
            [("drift", codes.NO_PLACEHOLDER, (*BATCH_JOB_PATH, "parameters", "token"), True)],
            ["'token'"],
            id="secret-parameter-without-placeholder",
        ),
        pytest.param(
            {},
            {},
            _definition(placeholders=frozenset({"input", "day", "area"})),
            [("drift", codes.PLACEHOLDER_UNSET, BATCH_JOB_PATH, False)],
            ["Ref::area, Ref::day of export:3 has no value", "literal text"],
            id="placeholder-without-value",
        ),
        pytest.param(
            {},
            {},
            _definition(
                placeholders=frozenset({"input", "day"}), parameters={"day": "mon", "b": "1"}
            ),
            [("note", codes.INHERITED_PARAMETERS, BATCH_JOB_PATH, False)],
            ["filled from export:3's defaults: b, day"],
            id="definition-defaults-fill",
        ),
        pytest.param(
            {"parameters": {"input": "s3://new/"}},
            {},
            _definition(placeholders=frozenset({"input"}), parameters={"input": "s3://old/"}),
            [("drift", codes.DEFAULT_DRIFT, (*BATCH_JOB_PATH, "parameters", "input"), False)],
            ["'s3://new/' in the manifest but 's3://old/' in export:3"],
            id="default-drift",
        ),
        pytest.param(
            {"parameters": {"days": 14}},
            {},
            _definition(placeholders=frozenset({"days"}), parameters={"days": "14"}),
            [],
            [],
            id="no-drift-when-the-sent-strings-agree",
        ),
        pytest.param(
            {"parameters": {"token": {"value": SECRET, "secret": True}}},
            {},
            _definition(placeholders=frozenset({"token"}), parameters={"token": "other"}),
            [],
            [],
            id="secret-values-are-never-compared",
        ),
    ],
)
def test_batch_definition_checks(
    job: dict[str, Any],
    run: dict[str, Any],
    definition: BatchDefinition,
    expected: list[Shape],
    fragments: list[str],
) -> None:
    _, sink = _batch_plan(
        _batch_job(**job), _live(definition), Run.model_validate({"job": "exp", **run})
    )
    assert sink.shapes() == _shapes(*expected)
    for fragment in fragments:
        assert fragment in sink.message(expected[0][1])


@pytest.mark.parametrize(
    ("job", "recorded", "note"),
    [
        pytest.param(
            {},
            {
                "retry_attempts": Resolved(3, Tier.DEFINITION),
                "attempt_duration_seconds": Resolved(600, Tier.DEFINITION),
            },
            "from export:3: retry_attempts 3, attempt_duration_seconds 600",
            id="both-from-definition",
        ),
        pytest.param(
            {"retry_attempts": 2},
            {"attempt_duration_seconds": Resolved(600, Tier.DEFINITION)},
            "from export:3: attempt_duration_seconds 600",
            id="manifest-retries-win",
        ),
        pytest.param(
            {"retry_attempts": 2, "attempt_duration_seconds": 120},
            {},
            None,
            id="manifest-sets-both",
        ),
    ],
)
def test_batch_definition_limits_are_recorded_not_sent(
    job: dict[str, Any], recorded: dict[str, Resolved], note: str | None
) -> None:
    definition = _definition(
        placeholders=frozenset({"input"}), attempt_duration_seconds=600, retry_attempts=3
    )
    planned, sink = _batch_plan(_batch_job(**job), _live(definition))
    assert planned.recorded == recorded
    payload = planned.request.payload
    assert payload.get("retryStrategy") == (
        {"attempts": job["retry_attempts"]} if "retry_attempts" in job else None
    )
    assert ("timeout" in payload) == ("attempt_duration_seconds" in job)
    if note is None:
        assert sink.found == []
    else:
        assert sink.shapes() == [("note", codes.INHERITED_COMPUTE, BATCH_JOB_PATH, False)]
        assert sink.message(codes.INHERITED_COMPUTE) == note


def test_batch_definition_checks_wait_for_a_definition() -> None:
    """Without a resolved revision there are no placeholders to check against."""
    _, sink = _batch_plan(
        _batch_job(parameters={"input": "x", "extra": "y"}), _live(None, queues={"q": _queue()})
    )
    assert [code for _, code, *_ in sink.found] == [codes.DEFINITION_NOT_ACTIVE]


# ================================================================== both platforms


@pytest.mark.parametrize(
    ("compute", "seconds"),
    [
        pytest.param({"timeout_minutes": 30}, 1800.0, id="timeout"),
        pytest.param({"timeout_minutes": 30, "glue_version": "5.0"}, 1800.0, id="timeout-wins"),
        pytest.param({"glue_version": "4.0"}, 2880 * 60.0, id="glue-4-default"),
        pytest.param({"glue_version": "3.0"}, 2880 * 60.0, id="glue-3-default"),
        pytest.param({"glue_version": "5.0"}, 480 * 60.0, id="glue-5-default"),
        pytest.param({"glue_version": "10.0"}, 480 * 60.0, id="glue-10-default"),
        pytest.param({}, 2880 * 60.0, id="no-version"),
        pytest.param(
            {"glue_version": "5x.0"},
            2880 * 60.0,
            id="non-numeric-major",
        ),
        # Each automatic retry (the job's MaxRetries) is a new run with the same timeout.
        pytest.param({"timeout_minutes": 30, "automatic_retries": 2}, 3 * 1800.0, id="retries"),
        pytest.param({"timeout_minutes": 30, "automatic_retries": 0}, 1800.0, id="no-retries"),
    ],
)
def test_glue_run_limit_seconds(compute: dict[str, Any], seconds: float) -> None:
    assert Glue().run_limit_seconds(compute) == seconds


@pytest.mark.parametrize(
    ("compute", "seconds"),
    [
        pytest.param(
            {"attempt_duration_seconds": 600, "retry_attempts": 3}, 1800.0, id="x-attempts"
        ),
        pytest.param({"attempt_duration_seconds": 600}, 600.0, id="one-attempt"),
        pytest.param({"retry_attempts": 3}, None, id="no-duration"),
        pytest.param({}, None, id="none"),
    ],
)
def test_batch_run_limit_seconds(compute: dict[str, Any], seconds: float | None) -> None:
    assert Batch().run_limit_seconds(compute) == seconds


@pytest.mark.parametrize(
    ("platform", "condition", "held"),
    [
        pytest.param(Batch(), "succeeded", True, id="batch-succeeded"),
        pytest.param(Batch(), "failed", False, id="batch-failed"),
        pytest.param(Batch(), "completed", False, id="batch-completed"),
        pytest.param(Glue(), "succeeded", False, id="glue-succeeded"),
        pytest.param(Glue(), "failed", False, id="glue-failed"),
        pytest.param(Glue(), "completed", False, id="glue-completed"),
    ],
)
def test_holds_dependency(platform: Glue | Batch, condition: str, held: bool) -> None:
    assert platform.holds_dependency(condition) is held


def _ids(count: int, prefix: str = "job") -> list[str]:
    return [f"{prefix}-{i}" for i in range(count)]


EXISTING = [{"jobId": "old-0", "type": "SEQUENTIAL"}, {"jobId": "old-1"}]


@pytest.mark.parametrize(
    ("existing", "count", "fits"),
    [
        pytest.param([], 1, True, id="one"),
        pytest.param([], DEPENDS_ON_LIMIT, True, id="exactly-20"),
        pytest.param([], DEPENDS_ON_LIMIT + 1, False, id="21-over"),
        pytest.param(EXISTING, DEPENDS_ON_LIMIT - 2, True, id="job-depends-on-plus-18"),
        pytest.param(EXISTING, DEPENDS_ON_LIMIT - 1, False, id="job-depends-on-plus-19-over"),
    ],
)
def test_batch_with_dependencies(existing: list[dict[str, str]], count: int, fits: bool) -> None:
    request: dict[str, Any] = {"jobName": "n", "jobQueue": "q", "jobDefinition": "export"}
    if existing:
        request["dependsOn"] = list(existing)
    before = {k: (list(v) if isinstance(v, list) else v) for k, v in request.items()}
    held = Batch().with_dependencies(request, _ids(count))
    assert request == before  # never changed in place
    if not fits:
        assert held is None
        return
    assert held is not None
    assert held["dependsOn"] == [*existing, *({"jobId": i} for i in _ids(count))]
    assert len(held["dependsOn"]) <= DEPENDS_ON_LIMIT
    assert {k: v for k, v in held.items() if k != "dependsOn"} == {
        k: v for k, v in request.items() if k != "dependsOn"
    }


@pytest.mark.parametrize("count", [1, 2])
def test_glue_never_holds_dependencies(count: int) -> None:
    assert Glue().with_dependencies({"JobName": "etl-job"}, _ids(count)) is None


MODIFIED = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("live", "stamp"),
    [
        pytest.param(
            {"etl-job": GlueDefinition(name="etl-job", last_modified=MODIFIED)},
            "2026-01-02T03:04:05+00:00",
            id="last-modified",
        ),
        pytest.param({"etl-job": GlueDefinition(name="etl-job")}, "present", id="present"),
        pytest.param({}, "missing", id="missing"),
        pytest.param(None, "missing", id="no-live"),
    ],
)
def test_glue_fingerprints(live: GlueLive | None, stamp: str) -> None:
    assert Glue().fingerprints(_glue_job(), _glue_platform(), live) == {
        f"glue:{REGION}:job/etl-job": stamp
    }


DEFINITION_KEY = f"batch:{REGION}:job-definition/export"


@pytest.mark.parametrize(
    ("live", "prints"),
    [
        pytest.param(
            _live(queues={"q": _queue(), "fs": _queue("fs", fair=True)}),
            {
                DEFINITION_KEY: DEF3.arn,
                f"batch:{REGION}:job-queue/q": "ENABLED/VALID/fifo",
                f"batch:{REGION}:job-queue/fs": "ENABLED/VALID/fair-share",
            },
            id="present",
        ),
        pytest.param(
            _live(None, queues={"q": None, "d": _queue("d", state="DISABLED", status="INVALID")}),
            {
                DEFINITION_KEY: "missing",
                f"batch:{REGION}:job-queue/q": "missing",
                f"batch:{REGION}:job-queue/d": "DISABLED/INVALID/fifo",
            },
            id="missing",
        ),
        pytest.param(None, {DEFINITION_KEY: "missing"}, id="no-live"),
    ],
)
def test_batch_fingerprints(live: BatchLive | None, prints: dict[str, str]) -> None:
    assert Batch().fingerprints(_batch_job(), BATCH_PLATFORM, live) == prints


@pytest.mark.parametrize(
    ("platform", "field", "name"),
    [
        pytest.param(Glue(), ("Arguments", "--api_token"), "api_token", id="glue-prefixed"),
        pytest.param(Glue(), ("Arguments", "plain"), "plain", id="glue-unprefixed"),
        pytest.param(Batch(), ("parameters", "api_token"), "api_token", id="batch"),
        pytest.param(Batch(), ("parameters", "--odd"), "--odd", id="batch-keeps-dashes"),
    ],
)
def test_parameter_name(platform: Glue | Batch, field: tuple[str, str], name: str) -> None:
    assert platform.parameter_name(field) == name


# ------------------------------------------------------------------ status edges
# (the full tables are in test_providers_pure.py; these are the cases it leaves out)


@pytest.mark.parametrize(
    ("map_status", "read", "status", "state", "message"),
    [
        pytest.param(
            glue_spec.map_status,
            {"JobRunState": "EXPIRED"},
            RunStatus.FAILED,
            "EXPIRED",
            "job run expired before it could start",
            id="glue-expired-default-message",
        ),
        pytest.param(
            glue_spec.map_status,
            {"JobRunState": "EXPIRED", "ErrorMessage": "queue wait exceeded"},
            RunStatus.FAILED,
            "EXPIRED",
            "queue wait exceeded",
            id="glue-expired-own-message-wins",
        ),
        pytest.param(
            glue_spec.map_status,
            {"JobRunState": 7},
            RunStatus.UNKNOWN,
            None,
            None,
            id="glue-non-text-state",
        ),
        pytest.param(glue_spec.map_status, None, RunStatus.UNKNOWN, None, None, id="glue-no-run"),
        pytest.param(
            batch_spec.map_status,
            {"status": "FAILED", "isCancelled": False, "isTerminated": True},
            RunStatus.CANCELLED,
            "FAILED",
            None,
            id="batch-one-flag-of-two-set",
        ),
        pytest.param(
            batch_spec.map_status,
            {"status": "FAILED", "statusReason": "Cancelled by Polysync", "isCancelled": False},
            RunStatus.FAILED,
            "FAILED",
            "Cancelled by Polysync",
            id="batch-false-flag-beats-own-marker",
        ),
        pytest.param(
            batch_spec.map_status,
            {"status": 3},
            RunStatus.UNKNOWN,
            None,
            None,
            id="batch-non-text-status",
        ),
        pytest.param(batch_spec.map_status, None, RunStatus.UNKNOWN, None, None, id="batch-no-job"),
    ],
)
def test_status_edges(
    map_status: Callable[[Mapping[str, Any] | None], Any],
    read: Mapping[str, Any] | None,
    status: RunStatus,
    state: str | None,
    message: str | None,
) -> None:
    report = map_status(read)
    assert (report.status, report.state, report.message) == (status, state, message)


def test_batch_array_job_reports_its_children() -> None:
    summary = {"SUCCEEDED": 3, "RUNNING": 2}
    report = batch_spec.map_status(
        {"status": "RUNNING", "arrayProperties": {"statusSummary": summary, "size": 5}}
    )
    assert report.children == summary
    assert batch_spec.map_status({"status": "RUNNING"}).children is None
