"""${var...}, ${env...}, ${target}, --var typing, targets and their positions."""

from __future__ import annotations

from pathlib import Path

import pytest

from polysync_spec import load_project, validate
from polysync_spec.errors import Position
from polysync_spec.manifest.interpolate import deep_merge
from polysync_spec.manifest.models import GlueJob
from tests.helpers import write

PROJECT = """\
version: 1
variables:
  day: {default: "2026-01-01"}
  workers: {default: 4}
  flag: {default: false}
  ratio: {type: number}
platforms:
  glue:
    type: aws_glue
    region: us-east-1
jobs:
  etl:
    platform: glue
    external_id: etl-${target}
    parameters:
      path: s3://raw/${var.day}/
      flag: ${var.flag}
      token: {value: "${env.TOKEN}", secret: true}
      literal: "cost: $${HOME}"
    compute:
      number_of_workers: ${var.workers}
targets:
  dev:
    variables: {workers: 2}
    platforms:
      glue: {region: us-west-2, auth: {method: profile, profile: dev}}
"""


def _job(tmp_path: Path, **kwargs: object) -> GlueJob:
    project = load_project(write(tmp_path, PROJECT), env={"TOKEN": "s3cr3t"}, **kwargs)  # type: ignore[arg-type]
    assert project.ok, project.diagnostics
    job = project.jobs["etl"]
    assert isinstance(job, GlueJob)
    return job


def test_whole_reference_keeps_its_type_and_partial_reference_renders(tmp_path: Path) -> None:
    job = _job(tmp_path)
    assert job.compute is not None and job.compute.number_of_workers == 4
    assert job.parameters["path"].value == "s3://raw/2026-01-01/"
    assert job.parameters["flag"].value is False
    assert job.parameters["token"].value == "s3cr3t"
    assert job.parameters["literal"].value == "cost: ${HOME}"
    assert job.external_id == "etl-default"


def test_cli_vars_are_converted_to_the_declared_type(tmp_path: Path) -> None:
    job = _job(tmp_path, cli_vars={"workers": "12", "day": "2026-11-21", "flag": "true"})
    assert job.compute is not None and job.compute.number_of_workers == 12
    assert job.parameters["path"].value == "s3://raw/2026-11-21/"
    assert job.parameters["flag"].value is True


@pytest.mark.parametrize(("name", "value"), [("workers", "ten"), ("flag", "yes"), ("ratio", "x")])
def test_cli_var_of_the_wrong_type_is_an_error(tmp_path: Path, name: str, value: str) -> None:
    path = write(tmp_path, PROJECT)
    codes = [d.code for d in validate(path, cli_vars={name: value}, env={})]
    assert "PS207" in codes


def test_cli_var_that_is_not_declared_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, PROJECT)
    [d] = validate(path, cli_vars={"dya": "x"}, env={})
    assert d.code == "PS205" and "did you mean 'day'" in d.message


def test_target_overlays_platforms_and_variables(tmp_path: Path) -> None:
    project = load_project(write(tmp_path, PROJECT), target="dev", env={"TOKEN": "t"})
    assert project.ok
    glue = project.platforms["glue"]
    assert glue.region == "us-west-2"
    assert glue.auth.method == "profile"
    job = project.jobs["etl"]
    assert isinstance(job, GlueJob) and job.compute is not None
    assert job.compute.number_of_workers == 2
    assert job.external_id == "etl-dev"


def test_findings_from_an_overlay_point_into_the_target(tmp_path: Path) -> None:
    path = write(tmp_path, PROJECT.replace("{region: us-west-2,", "{region: us_west_2,"))
    [d] = [d for d in validate(path, env={}) if d.code == "PS110"]
    assert d.position == Position(str(path), 26, 22)
    assert d.message.endswith("(with --target dev)")


def test_unknown_target_is_an_error_naming_the_targets(tmp_path: Path) -> None:
    [d] = validate(write(tmp_path, PROJECT), target="prod", env={})
    assert d.code == "PS204" and "dev" in d.message


def test_unset_env_is_silent_in_validate_unless_required(tmp_path: Path) -> None:
    path = write(tmp_path, PROJECT)
    assert validate(path, env={}) == []
    [d] = validate(path, env={}, require_env=True)
    assert d.code == "PS202" and d.is_error and d.position == Position(str(path), 18, 22)


def test_unset_env_is_an_error_where_values_are_needed(tmp_path: Path) -> None:
    project = load_project(write(tmp_path, PROJECT), env={})
    assert [d.code for d in project.errors] == ["PS202"]


def test_env_values_never_appear_in_messages(tmp_path: Path) -> None:
    text = PROJECT.replace("number_of_workers: ${var.workers}", "number_of_workers: ${env.TOKEN}")
    project = load_project(write(tmp_path, text), env={"TOKEN": "CANARY-7f3a"})
    assert project.errors
    assert all("CANARY" not in d.message for d in project.diagnostics)


def test_changing_auth_method_in_an_overlay_replaces_the_auth_block() -> None:
    base = {"auth": {"method": "web_identity", "role_arn": "arn", "token": {"source": "azure"}}}
    merged = deep_merge(base, {"auth": {"method": "profile", "profile": "dev"}})
    assert merged == {"auth": {"method": "profile", "profile": "dev"}}
    same = deep_merge(base, {"auth": {"session_name": "x"}})
    assert same["auth"]["role_arn"] == "arn" and same["auth"]["session_name"] == "x"
