"""Which files a directory of manifests is: `validate` (and every command) with the
default path skips hidden directories, environments, package trees and YAML files that
are not polysync manifests, and says how many files it skipped."""

from __future__ import annotations

from pathlib import Path

import pytest

from polysync_spec.cli import run
from polysync_spec.manifest.loader import is_manifest_text, load_path
from tests.helpers import GLUE_BASE, write

COMPOSE = 'version: "3.8"\nservices:\n  web: {image: nginx}\n'
BROKEN = "a: [\n"  # read as a manifest, this would be a YAML syntax error


def _repository(root: Path) -> None:
    """A repository as teams have them: manifests next to other tools' YAML."""
    write(root, GLUE_BASE + "run_plans:\n  p:\n    runs: [{job: etl}]\n", "polysync/main.yaml")
    write(root, COMPOSE, "docker-compose.yml")
    write(root, "site_name: docs\nnav: []\n", "mkdocs.yml")
    write(root, "extends: default\n", "config/yamllint.yaml")
    for directory in (".git", ".venv/lib", ".tox/py", "env/lib", "node_modules/pkg", "__pycache__"):
        write(root, BROKEN, f"{directory}/broken.yaml")
    (root / "env" / "pyvenv.cfg").write_text("home = /usr/bin\n")  # a venv not named .venv


def test_validate_with_no_path_skips_what_is_not_a_manifest_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _repository(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("POLYSYNC_PATH", raising=False)
    assert run(["validate"]) == 0
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        "skipped 3 YAML files that are not polysync manifests (config/yamllint.yaml, "
        "docker-compose.yml, mkdocs.yml)",
        "1 file valid, no problems",
    ]


def test_the_note_names_three_files_and_counts_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _repository(tmp_path)
    for name in ("a", "b"):
        write(tmp_path, "key: value\n", f"other/{name}.yaml")
    assert run(["validate", str(tmp_path)]) == 0
    assert capsys.readouterr().err.splitlines()[0] == (
        "skipped 5 YAML files that are not polysync manifests (config/yamllint.yaml, "
        "docker-compose.yml, mkdocs.yml, …)"
    )


def test_a_file_named_on_the_command_line_is_always_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, COMPOSE, "docker-compose.yml")
    assert run(["validate", str(path)]) == 1
    out = capsys.readouterr().out
    assert "docker-compose.yml:1:10: error PS105" in out


def test_a_file_with_polysync_sections_but_no_version_is_still_a_manifest(
    tmp_path: Path,
) -> None:
    write(tmp_path, GLUE_BASE.replace("version: 1\n", ""), "main.yaml")
    write(tmp_path, "job:\n  etl2: {platform: glue}\n", "typo.yaml")  # `jobs` misspelt
    loaded = load_path(tmp_path)
    assert [Path(d.path).name for d in loaded.documents] == ["main.yaml", "typo.yaml"]
    assert loaded.skipped == []


@pytest.mark.parametrize(
    ("text", "manifest"),
    [
        ("version: 1\n", True),
        ("version: 2  # not supported: its error stands\n", True),
        ('version: "3.8"\nservices: {}\n', False),  # docker-compose
        ("jobs:\n  etl: {}\n", True),
        ("run_plan:\n  p: {}\n", True),  # a misspelt section
        ("'platforms':\n  glue: {}\n", True),
        ("name: CI\non: push\n", False),
        ("volumes: {}\nnetworks: {}\n", False),
        ("{version: 1}\n", True),  # flow style: keys not visible, read it
        ("- a list\n", False),  # a list has no sections (found by a fresh tester)
        ("- hosts: all\n  tasks: []\n", False),  # an Ansible playbook
        ("# playbook\n---\n- hosts: all\n", False),
        ("jobs:\n- etl\n", True),  # a list below a section is the section's problem
        ("", True),  # empty: read, and reported as such
    ],
)
def test_which_yaml_text_is_a_manifest(text: str, manifest: bool) -> None:
    assert is_manifest_text(text) is manifest
