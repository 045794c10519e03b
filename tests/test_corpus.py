"""Every invalid manifest in tests/corpus/invalid reports exactly the findings its header
names (`# expect: CODE line:col`, one line each), and nothing else."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from polysync_spec import validate
from tests.conftest import CORPUS, EXAMPLES

EXPECT = re.compile(rb"^# expect: (PS\d{3}) (\d+):(\d+)$", re.MULTILINE)
CASES = sorted((CORPUS / "invalid").glob("*.yaml")) + sorted((EXAMPLES / "invalid").glob("*.yaml"))


def _expected(path: Path) -> list[tuple[str, int, int]]:
    found = EXPECT.findall(path.read_bytes())
    return sorted((code.decode(), int(line), int(col)) for code, line, col in found)


def test_corpus_is_large_enough() -> None:
    assert len(list((CORPUS / "invalid").glob("*.yaml"))) >= 60


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_invalid_manifest_reports_exact_code_and_position(case: Path) -> None:
    expected = _expected(case)
    assert expected, f"{case.name} has no '# expect:' header"
    found = sorted(
        (d.code, d.position.line, d.position.column)
        for d in validate(case, env={})
        if d.position is not None
    )
    assert found == expected


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_every_corpus_finding_has_a_position_and_a_message(case: Path) -> None:
    for diagnostic in validate(case, env={}):
        assert diagnostic.position is not None
        assert diagnostic.position.path == str(case)
        assert diagnostic.message
        assert "Input should be" not in diagnostic.message


def test_one_bad_value_does_not_hide_the_other_problems_of_its_job() -> None:
    codes = {d.code for d in validate(EXAMPLES / "invalid" / "common-mistakes.yaml", env={})}
    assert {"PS303", "PS305", "PS311"} <= codes  # three problems of one Glue job
    assert {"PS402", "PS405", "PS407"} <= codes  # three problems of one Batch job


def test_a_misspelt_job_named_by_after_is_one_error_pointing_at_the_job() -> None:
    found = validate(CORPUS / "invalid" / "run_job_typo_named_by_after.yaml", env={})
    assert [(d.code, d.message) for d in found] == [
        ("PS503", "job 'oders_etl' is not defined (did you mean 'orders_etl'?)")
    ]
