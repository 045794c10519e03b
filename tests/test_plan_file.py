"""Plan files read back by `show` and `apply`: the published schema, what it refuses (with
the JSON path, exit 1, before anything is sent), and secrets an edited file may not read.

The edited-plan cases are issue 17's: each once gave "internal error", waited for ever,
crashed after a submission, or sent another environment variable's value to AWS.
"""

from __future__ import annotations

import contextlib
import copy
import json
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click
import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from polysync_spec.cli import apply as cli_apply
from polysync_spec.cli import plan as cli_plan
from polysync_spec.cli import run
from polysync_spec.cli.group import cli
from polysync_spec.engine.planfile import PlanFileError, read_plan_file
from polysync_spec.engine.planschema import plan_schema
from polysync_spec.errors import PolysyncError
from polysync_spec.providers.aws import Sessions
from polysync_spec.sandbox.server import Sandbox, apply_outcomes
from tests.conftest import EXAMPLES, ROOT
from tests.helpers import SANDBOX_PLATFORMS, write

SCHEMA_FILE = ROOT / "schemas" / "polysync-plan.schema.json"
CANARY = "CANARY-aws-secret-key-4f1e"
MANIFESTS = (
    SANDBOX_PLATFORMS
    + """\
jobs:
  load:
    platform: glue
    external_id: customers-etl
    parameters:
      token: {value: "${env.LOAD_TOKEN}", secret: true}
      day: "2026-01-01"
  clean: {platform: batch, external_id: cleanup}
run_plans:
  p:
    runs:
      - {job: load}
      - {job: clean, after: [load]}
"""
)


def _submissions(sandbox: Sandbox) -> list[Any]:
    return [*sandbox.requests("StartJobRun"), *sandbox.requests("SubmitJob")]


_SESSIONS: dict[str, Sessions] = {}


def _sessions(sandbox: Sandbox) -> Sessions:
    """Sessions shared by this module's tests: botocore reads its service models once per
    session, which would otherwise be most of each test's time."""
    return _SESSIONS.setdefault(sandbox.endpoint_url, Sessions(sandbox_url=sandbox.endpoint_url))


@pytest.fixture
def planned(sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The plan file of MANIFESTS, as `plan --out` writes it, parsed."""
    from polysync_spec.cli.plan import make_plan_for
    from polysync_spec.render.plan import json_document

    monkeypatch.setenv("LOAD_TOKEN", "load-token")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", CANARY)  # what an edit would reach for
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, MANIFESTS)
    _, plan = make_plan_for(str(path), None, None, (), _sessions(sandbox))
    sandbox.log.clear()
    document: dict[str, Any] = json.loads(json_document(plan))
    return document


def _edited(tmp_path: Path, document: Any) -> str:
    out = tmp_path / "edited.json"
    out.write_text(json.dumps(document) if not isinstance(document, str) else document)
    return str(out)


# ------------------------------------------------------------------ the published schema


def test_the_committed_plan_schema_is_current(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["schema", "--plan"]) == 0
    printed = capsys.readouterr().out
    assert json.loads(SCHEMA_FILE.read_text(encoding="utf-8")) == plan_schema()
    assert printed == SCHEMA_FILE.read_text(encoding="utf-8"), (
        "run: polysync schema --plan > schemas/polysync-plan.schema.json"
    )


def test_every_plan_polysync_writes_fits_the_published_schema(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Checked with a stock Draft 2020-12 validator, as any other tool would check it.
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA_FILE.read_text()))
    validator.check_schema(validator.schema)
    monkeypatch.setenv("ORDERS_API_TOKEN", "t")
    monkeypatch.chdir(tmp_path)
    written = [json.loads((ROOT / "tests" / "golden" / "plan-nightly.json").read_text())]
    for run_plan in ("nightly", "backfill"):
        assert run(["plan", str(EXAMPLES), "-r", run_plan, "--out", f"{run_plan}.json"]) == 0
        written.append(json.loads((tmp_path / f"{run_plan}.json").read_text()))
    for document in written:
        assert list(validator.iter_errors(document)) == []
        assert read_plan_file(_edited(tmp_path, document)).plan_id == document["id"]


# ------------------------------------------------------------------ edited plan files


def _set(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], Any]:
    def edit(document: dict[str, Any]) -> Any:
        node = document
        for segment in path[:-1]:
            node = node[segment]
        node[path[-1]] = value
        return document

    return edit


EDITS: list[tuple[str, Callable[[dict[str, Any]], Any], str]] = [
    ("top_level_list", lambda d: [d], "$: must be an object, got a list"),
    ("deep_nesting", lambda d: "[" * 100_000 + "]" * 100_000, "nested too deeply"),
    (
        "huge_integer",
        lambda d: json.dumps({**d, "max_concurrency": 0}).replace(
            '"max_concurrency": 0', '"max_concurrency": ' + "9" * 5000
        ),
        "is not a valid plan file: a number is too long",
    ),
    (
        "max_concurrency_string",
        _set(("max_concurrency",), "4"),
        "$.max_concurrency: must be an integer, got a string",
    ),
    (  # once made apply wait for ever
        "max_concurrency_zero",
        _set(("max_concurrency",), 0),
        "$.max_concurrency: must be at least 1, got 0",
    ),
    (  # once crashed apply after the first run was submitted
        "compute_string",
        _set(("runs", 1, "compute"), "x"),
        "$.runs[1].compute: must be an object, got a string",
    ),
    (
        "compute_value_retyped",
        _set(("runs", 0, "compute", "timeout_minutes"), {"value": "x", "tier": "run"}),
        "$.runs[0].compute.timeout_minutes.value: must be an integer, got a string",
    ),
    (
        "integer_with_a_fraction",
        _set(("max_concurrency",), 4.0),
        "$.max_concurrency: must be an integer, got a number with a fraction",
    ),
    (
        "secret_in_a_top_level_member",
        _set(("runs", 0, "request", "JobName"), {"$env": "AWS_SECRET_ACCESS_KEY"}),
        "$.runs[0].request.JobName: must be a string, got an object",
    ),
    (
        "unknown_request_member",
        _set(("runs", 1, "request", "containerOverrides"), {"command": ["sh"]}),
        "$.runs[1].request: unknown key 'containerOverrides'",
    ),
    (
        "request_of_the_other_service",
        _set(("runs", 0, "service"), "batch"),
        '$.runs[0].api: must be "SubmitJob"',
    ),
    (
        "after_an_unknown_run",
        _set(("runs", 1, "after", 0, "run"), "nope"),
        "$.runs[1].after[0].run: 'nope' is not a run of this plan",
    ),
    (
        "after_cycle",
        _set(("runs", 0, "after"), [{"run": "clean", "on": "completed"}]),
        "$.runs: the after edges form a cycle (load -> clean -> load)",
    ),
    (
        "duplicate_run_key",
        _set(("runs", 1, "key"), "load"),
        "$.runs[1].key: run key 'load' is also the key of $.runs[0]",
    ),
]


@pytest.mark.parametrize(("edit", "message"), [e[1:] for e in EDITS], ids=[e[0] for e in EDITS])
def test_an_edited_plan_file_is_refused_with_its_json_path_before_anything_is_sent(
    sandbox: Sandbox,
    planned: dict[str, Any],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    edit: Callable[[dict[str, Any]], Any],
    message: str,
) -> None:
    edited = _edited(tmp_path, edit(planned))
    for command in (["apply", edited, "--auto-approve"], ["show", edited]):
        assert run(command) == 1
        err = capsys.readouterr().err
        assert message in err, err
        assert "internal error" not in err and "Traceback" not in err
    assert _submissions(sandbox) == []
    assert sandbox.requests() == []  # not even a read: refused before AWS was asked


@pytest.mark.parametrize(
    ("slot", "name", "message"),
    [
        (  # another variable in a secret's slot
            ("Arguments", "--token"),
            "AWS_SECRET_ACCESS_KEY",
            '$.runs[0].request.Arguments["--token"]: reads environment variable '
            "AWS_SECRET_ACCESS_KEY, but the manifests take this secret from LOAD_TOKEN",
        ),
        (  # a declared secret's variable in a slot that is not secret
            ("Arguments", "--day"),
            "LOAD_TOKEN",
            '$.runs[0].request.Arguments["--day"]: reads environment variable LOAD_TOKEN, '
            "but the manifests mark no secret here",
        ),
        (
            ("Arguments", "--extra"),
            "AWS_SECRET_ACCESS_KEY",
            '$.runs[0].request.Arguments["--extra"]: reads environment variable '
            "AWS_SECRET_ACCESS_KEY, but the manifests mark no secret here",
        ),
    ],
)
def test_a_plan_file_may_read_only_the_secrets_its_manifests_declare_there(
    sandbox: Sandbox,
    planned: dict[str, Any],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    slot: tuple[str, str],
    name: str,
    message: str,
) -> None:
    planned["runs"][0]["request"][slot[0]][slot[1]] = {"$env": name}
    edited = _edited(tmp_path, planned)
    assert run(["apply", edited, "--auto-approve"]) == 1
    out, err = capsys.readouterr()
    assert message in err and "nothing was submitted" in err, err
    assert _submissions(sandbox) == []
    assert CANARY not in out + err and "load-token" not in out + err
    assert not any(CANARY in json.dumps(r.params) for r in sandbox.requests())


def test_a_plan_file_whose_platform_is_not_in_its_manifests_is_refused(
    sandbox: Sandbox, planned: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    planned["runs"][1]["platform"] = "elsewhere"
    assert run(["apply", _edited(tmp_path, planned), "--auto-approve"]) == 1
    err = capsys.readouterr().err
    assert "$.runs[1].platform: the manifests have no platform 'elsewhere'" in err
    planned["runs"][1]["platform"] = "glue"  # a Batch request on the Glue platform
    assert run(["apply", _edited(tmp_path, planned), "--auto-approve"]) == 1
    assert "$.runs[1].service: platform 'glue' does not run batch jobs" in capsys.readouterr().err
    assert sandbox.requests() == []


def test_the_unedited_plan_file_applies(
    sandbox: Sandbox, planned: dict[str, Any], tmp_path: Path
) -> None:
    """The control for the refusals above: the same file, untouched, goes through."""
    apply_outcomes({"default": {"starting_seconds": 0.0, "running_seconds": 0.0}})
    edited = _edited(tmp_path, planned)
    assert run(["apply", edited, "--auto-approve", "--poll-interval", "0.05"]) == 0
    [glue] = sandbox.requests("StartJobRun")
    assert glue.params["Arguments"]["--token"] == "load-token"
    assert len(sandbox.requests("SubmitJob")) == 1


def test_a_plan_file_is_bounded_in_size(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    huge = tmp_path / "plan.json"
    with huge.open("wb") as stream:
        stream.truncate(65 * 1024 * 1024)  # sparse: nothing to write, nothing read
    assert run(["show", str(huge)]) == 1
    assert "file is 68157440 bytes; plan files are limited to 67108864 bytes" in (
        capsys.readouterr().err
    )


# ------------------------------------------------------------------ the schema is what the code accepts


JSON_VALUES: list[Any] = [
    None, True, 0, 1, -1, 4.0, 2.5, "", "x", "glue", "batch", "SubmitJob", "StartJobRun",
    "load", "clean", "succeeded", "run", "LOAD_TOKEN", [], {}, ["x"], {"$env": "LOAD_TOKEN"},
    {"$env": "AWS_SECRET_ACCESS_KEY"}, {"value": 1, "tier": "run"}, {"run": "load", "on": "failed"},
]  # fmt: skip


def _paths(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*path, key)
            yield from _paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield (*path, index)
            yield from _paths(value, (*path, index))


@st.composite
def edited_documents(draw: st.DrawFn, document: dict[str, Any]) -> dict[str, Any]:
    """The plan document with one to three edits: a key dropped or added, a value
    replaced by another JSON value, a list item duplicated."""
    edited = copy.deepcopy(document)
    for _ in range(draw(st.integers(1, 3))):
        paths = list(_paths(edited))
        path = paths[draw(st.integers(0, len(paths) - 1))]
        parent = edited
        for segment in path[:-1]:
            parent = parent[segment]
        op = draw(st.sampled_from(["drop", "replace", "replace", "add", "duplicate"]))
        if op == "drop":
            del parent[path[-1]]
        elif op == "replace":
            parent[path[-1]] = copy.deepcopy(draw(st.sampled_from(JSON_VALUES)))
        elif op == "add" and isinstance(parent, dict):
            parent[draw(st.sampled_from(["extra", "$env", "tier", "dependsOn", "key"]))] = (
                copy.deepcopy(draw(st.sampled_from(JSON_VALUES)))
            )
        elif op == "duplicate" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[path[-1]]))
    return edited


def _command(argv: list[str]) -> None:
    """As `polysync` runs a command, minus its catch-all: any exception other than the
    tool's own errors fails the test (it would print "internal error")."""
    with contextlib.suppress(
        PolysyncError, click.ClickException, click.exceptions.Exit, click.Abort
    ):
        cli.main(args=argv, standalone_mode=False)


def test_what_the_schema_accepts_show_and_apply_handle(
    sandbox: Sandbox,
    planned: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Edited plan files, each either refused by the reader (and then by the published
    schema or the checks the module names) or shown and applied without an internal
    error. The reader accepts nothing the published schema refuses."""
    apply_outcomes({"default": {"starting_seconds": 0.0, "running_seconds": 0.0}})

    @contextlib.contextmanager
    def sessions(_use_sandbox: bool, **_options: Any) -> Iterator[Sessions]:
        yield _sessions(sandbox)

    monkeypatch.setattr(cli_plan, "aws_sessions", sessions)
    monkeypatch.setattr(cli_apply, "aws_sessions", sessions)
    published = jsonschema.Draft202012Validator(json.loads(SCHEMA_FILE.read_text()))
    tally: Counter[str] = Counter()

    @settings(
        max_examples=80,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(edited_documents(planned))
    def check(document: dict[str, Any]) -> None:
        directory = Path(tempfile.mkdtemp(prefix="planfile-"))
        try:
            path = _edited(directory, document)
            refusal = None
            try:
                read_plan_file(path)
            except PlanFileError as exc:
                refusal = str(exc)
            tally["refused" if refusal else "accepted"] += 1
            if refusal is None:
                assert published.is_valid(document)
            else:
                assert "$" in refusal  # names the JSON path
            for output in ("text", "json", "markdown", "github"):
                _command(["show", path, "-o", output])
            state = str(directory / "state.db")
            _command(["apply", path, "--auto-approve", "--state", state, "--poll-interval", "0.05"])
        finally:
            shutil.rmtree(directory, ignore_errors=True)
            capsys.readouterr()

    check()
    assert tally["accepted"] >= 10 and tally["refused"] >= 10, tally
