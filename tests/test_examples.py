"""The example project validates clean, matches the committed schema, and the committed
schema is what `polysync schema` prints."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from polysync_spec import load_project, validate
from polysync_spec.errors import Diagnostic
from polysync_spec.manifest.loader import parse_text
from polysync_spec.schema import manifest_schema
from tests.conftest import EXAMPLES, ROOT

SCHEMA_FILE = ROOT / "schemas" / "polysync.schema.json"
EXAMPLE_FILES = sorted(
    # The parts below examples/: a checkout under a directory named `ci` (as CI's may
    # be) must not drop every file.
    p
    for p in EXAMPLES.rglob("*.yaml")
    if not {"invalid", "ci"} & set(p.relative_to(EXAMPLES).parts)
)


def _load(path: Path) -> Any:
    problems: list[Diagnostic] = []
    document = parse_text(path.read_text(encoding="utf-8"), str(path), problems)
    assert document is not None, problems
    return document.data


def test_examples_produce_zero_diagnostics_without_env() -> None:
    assert validate(EXAMPLES, env={}) == []


def test_examples_produce_zero_diagnostics_with_env_required_and_set() -> None:
    assert validate(EXAMPLES, env={"ORDERS_API_TOKEN": "t0k3n"}, require_env=True) == []


@pytest.mark.parametrize("target", ["dev", "prod"])
def test_examples_validate_for_each_target(target: str) -> None:
    assert validate(EXAMPLES, target=target, env={}) == []


def test_example_project_is_realistic() -> None:
    project = load_project(EXAMPLES, env={"ORDERS_API_TOKEN": "t"})
    kinds = {type(p).__name__ for p in project.platforms.values()}
    assert kinds == {"GluePlatform", "BatchPlatform"}
    job_kinds = [type(j).__name__ for j in project.jobs.values()]
    assert job_kinds.count("GlueJob") >= 2 and job_kinds.count("BatchJob") >= 2
    assert len(project.run_plans) >= 2
    assert project.targets


def test_committed_schema_equals_generated() -> None:
    committed = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert committed == manifest_schema(), "run: polysync schema > schemas/polysync.schema.json"


def test_committed_schema_is_a_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(json.loads(SCHEMA_FILE.read_text()))


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_example_file_validates_against_committed_schema(path: Path) -> None:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    jsonschema.validate(_load(path), schema, cls=jsonschema.Draft202012Validator)


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_example_file_carries_a_schema_line_that_resolves(path: Path) -> None:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    prefix = "# yaml-language-server: $schema="
    assert first.startswith(prefix)
    assert (path.parent / first[len(prefix) :]).resolve() == SCHEMA_FILE.resolve()


def test_schema_rejects_what_validate_rejects() -> None:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    document = {
        "version": 1,
        "jobs": {"exp": {"platform": "b", "external_id": "x", "retry_attempts": 11}},
    }
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, schema)


def test_schema_accepts_a_reference_where_a_number_goes() -> None:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    document = {
        "version": 1,
        "jobs": {
            "e": {"platform": "g", "external_id": "x", "compute": {"number_of_workers": "${var.n}"}}
        },
    }
    jsonschema.validate(document, schema)


def test_manifest_reference_is_current() -> None:
    from polysync_spec.reference import reference_markdown

    committed = (ROOT / "docs" / "manifest-reference.md").read_text(encoding="utf-8")
    assert committed == reference_markdown() + "\n", (
        "run: polysync schema --reference > docs/manifest-reference.md"
    )


def test_manifest_reference_covers_every_model_field() -> None:
    from polysync_spec.reference import SECTIONS

    text = (ROOT / "docs" / "manifest-reference.md").read_text(encoding="utf-8")
    for _heading, model, _where in SECTIONS:
        for field in model.model_fields:
            assert f"| `{field}` |" in text, f"{model.__name__}.{field} is missing"
