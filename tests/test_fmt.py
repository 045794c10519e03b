"""`polysync fmt`: canonical indentation, comments and quotes kept, idempotent, --check."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from polysync_spec.cli import run
from polysync_spec.manifest.fmt import format_text
from tests.conftest import EXAMPLES

MESSY = """\
# yaml-language-server: $schema=../schemas/polysync.schema.json
version: 1
jobs:
    orders:    # the nightly load
        platform: glue
        external_id: 'orders-etl'
        parameters: {day: "2026-01-01", rows: 10}
        after_list:
          -   a
          - b   # second
"""
CANONICAL = """\
# yaml-language-server: $schema=../schemas/polysync.schema.json
version: 1
jobs:
  orders: # the nightly load
    platform: glue
    external_id: 'orders-etl'
    parameters: {day: "2026-01-01", rows: 10}
    after_list:
      - a
      - b # second
"""


def _comments_folded(text: str) -> str:
    # ruamel keeps an end-of-line comment at its original column; where it lands is not
    # the point, that it stays on its line is.
    return re.sub(r" +#", " #", text)


def test_format_normalises_indentation_and_keeps_comments_and_quotes() -> None:
    assert _comments_folded(format_text(MESSY)) == CANONICAL


def test_format_is_idempotent() -> None:
    once = format_text(MESSY)
    assert format_text(once) == once


def test_the_examples_are_already_canonical(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["fmt", "--check", str(EXAMPLES)]) == 0


def test_check_reports_and_changes_nothing_then_fmt_writes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(MESSY)
    assert run(["fmt", "--check", str(tmp_path)]) == 1
    assert capsys.readouterr().out == f"would reformat {path}\n"
    assert path.read_text() == MESSY
    assert run(["fmt", str(tmp_path)]) == 0
    assert _comments_folded(path.read_text()) == CANONICAL
    assert run(["fmt", "--check", str(tmp_path)]) == 0


def test_broken_yaml_is_reported_with_a_position_not_rewritten(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "m.yaml"
    path.write_text("version: 1\njobs: {a: [1, 2}\n")
    assert run(["fmt", str(tmp_path)]) == 1
    assert f"{path}:2:" in capsys.readouterr().err
    assert path.read_text() == "version: 1\njobs: {a: [1, 2}\n"
