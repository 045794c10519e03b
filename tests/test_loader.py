"""Manifest sets: directories, merging by section, duplicates across files, ignores."""

from __future__ import annotations

import os
from pathlib import Path

from polysync_spec.errors import Position
from polysync_spec.manifest import load_project, validate
from tests.helpers import write


def test_sections_merge_across_files_recursively(tmp_path: Path) -> None:
    write(tmp_path, "version: 1\nplatforms:\n  glue: {type: aws_glue, region: us-east-1}\n")
    write(tmp_path, "jobs:\n  a: {platform: glue, external_id: a}\n", "jobs/a.yml")
    write(tmp_path, "jobs:\n  b: {platform: glue, external_id: b}\n", "jobs/deep/b.yaml")
    project = load_project(tmp_path, env={})
    assert project.ok
    assert sorted(project.jobs) == ["a", "b"]


def test_name_defined_twice_cites_both_places(tmp_path: Path) -> None:
    write(
        tmp_path, "version: 1\nplatforms:\n  glue: {type: aws_glue, region: us-east-1}\n", "a.yaml"
    )
    write(tmp_path, "platforms:\n\n  glue: {type: aws_glue, region: us-west-2}\n", "b.yaml")
    [dup] = [d for d in validate(tmp_path, env={}) if d.code == "PS106"]
    assert dup.position == Position(str(tmp_path / "b.yaml"), 3, 3)
    assert dup.related == (Position(str(tmp_path / "a.yaml"), 3, 3),)
    assert str(tmp_path / "a.yaml") + ":3:3" in dup.message


def test_positions_point_into_the_file_that_defines_the_entry(tmp_path: Path) -> None:
    write(
        tmp_path, "version: 1\nplatforms:\n  glue: {type: aws_glue, region: us-east-1}\n", "a.yaml"
    )
    write(
        tmp_path,
        "jobs:\n  a:\n    platform: glue\n    external_id: a\n    retry_attempts: 3\n",
        "z.yaml",
    )
    [d] = validate(tmp_path, env={})
    assert (d.code, d.position) == ("PS100", Position(str(tmp_path / "z.yaml"), 5, 5))


def test_polysyncignore_and_hidden_entries_are_skipped(tmp_path: Path) -> None:
    write(tmp_path, "version: 1\n")
    write(tmp_path, "not: a manifest\n", "ci/workflow.yml")
    write(tmp_path, "not: a manifest\n", ".github/workflows/x.yml")
    write(tmp_path, "not: a manifest\n", ".hidden.yaml")
    write(tmp_path, "not: a manifest\n", "drafts/one.yaml")
    (tmp_path / ".polysyncignore").write_text("# comment\nci/\ndrafts/*.yaml\n")
    assert validate(tmp_path, env={}) == []


def test_a_directory_without_manifests_is_an_error(tmp_path: Path) -> None:
    [d] = validate(tmp_path, env={})
    assert d.code == "PS001" and d.is_error


def test_a_missing_path_is_an_error(tmp_path: Path) -> None:
    [d] = validate(tmp_path / "nope.yaml", env={})
    assert d.code == "PS001"


def test_symlink_loop_in_a_manifest_directory_terminates(tmp_path: Path) -> None:
    write(tmp_path, "version: 1\n")
    os.symlink(tmp_path, tmp_path / "loop")
    diagnostics = validate(tmp_path, env={})
    assert [d.code for d in diagnostics] == ["PS002"]
    assert not diagnostics[0].is_error


def test_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    lines = ["version: 1", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    write(tmp_path, "\n".join(lines) + "\n")
    codes = [d.code for d in validate(tmp_path, env={})]
    assert "PS008" in codes


def test_deep_nesting_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "version: 1\nvariables: " + "[" * 200 + "]" * 200 + "\n")
    codes = [d.code for d in validate(tmp_path, env={})]
    assert "PS008" in codes


def test_unquoted_dates_stay_the_text_the_user_wrote(tmp_path: Path) -> None:
    write(tmp_path, "version: 1\nvariables:\n  day: {default: 2026-01-01}\n")
    project = load_project(tmp_path, env={})
    assert project.variables == {"day": "2026-01-01"}


def test_scalars_follow_yaml_1_2_core(tmp_path: Path) -> None:
    from polysync_spec.manifest.loader import parse_text

    text = (
        "a: yes\nb: on\nc: 0o17\nd: 017\ne: 0x1F\nf: 1e3\ng: .inf\nh: ~\ni: 'true'\n"
        "j: True\nk: 2026-01-01\nl: 1_000\nm: !custom 5\n"
    )
    document = parse_text(text, "t.yaml", [])
    assert document is not None
    assert document.data == {
        "a": "yes", "b": "on", "c": 15, "d": 17, "e": 31, "f": 1000.0, "g": float("inf"),
        "h": None, "i": "true", "j": True, "k": "2026-01-01", "l": "1_000", "m": "5",
    }  # fmt: skip


def test_the_on_key_of_an_after_edge_is_not_a_boolean(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "version: 1\nplatforms: {g: {type: aws_glue, region: us-east-1}}\n"
        "jobs: {j: {platform: g, external_id: x}}\n"
        "run_plans:\n  p:\n    runs:\n      - {name: a, job: j}\n"
        "      - {name: b, job: j, after: [{run: a, on: failed}]}\n",
    )
    project = load_project(path, env={})
    assert project.ok
    assert project.run_plans["p"].runs[1].after[0].on.value == "failed"


def test_merge_keys_and_anchors_share_defaults(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "version: 1\nplatforms:\n  g: &glue {type: aws_glue, region: us-east-1}\n"
        "  h:\n    <<: *glue\n    region: eu-west-1\n",
    )
    project = load_project(path, env={})
    assert project.ok
    assert project.platforms["h"].region == "eu-west-1"
    assert project.platforms["h"].type == "aws_glue"


def test_loading_pauses_the_cyclic_gc_and_restores_it_as_it_was(tmp_path: Path) -> None:
    import gc

    from polysync_spec.manifest import validate
    from polysync_spec.manifest.project import gc_paused

    path = tmp_path / "m.yaml"
    path.write_text("version: 1\n", encoding="utf-8")
    with gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    validate(path, env={})
    assert gc.isenabled()
    gc.disable()
    try:
        validate(path, env={})
        assert not gc.isenabled()  # a caller's choice is kept
    finally:
        gc.enable()
    path.write_bytes(b"\xff\xfe")  # a failing load restores it too
    validate(path, env={})
    assert gc.isenabled()
