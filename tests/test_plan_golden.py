"""The three plan renderers on the example project, against golden files.

Regenerate after an intended change with `UPDATE_GOLDEN=1 pytest tests/test_plan_golden.py`
and review the diff like any other code change.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from polysync_spec.cli import run
from polysync_spec.sandbox.server import Sandbox
from tests.conftest import EXAMPLES, ROOT

GOLDEN = Path(__file__).parent / "golden"
# Glue's LastModifiedOn is the one value that changes from run to run.
_TIMESTAMP = re.compile(r'"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00"')


@pytest.mark.parametrize(
    ("run_plan", "output", "suffix"),
    [
        ("nightly", "text", "txt"),
        ("nightly", "json", "json"),
        ("nightly", "markdown", "md"),
        ("backfill", "text", "txt"),
    ],
)
def test_plan_output_matches_golden(
    sandbox: Sandbox,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    run_plan: str,
    output: str,
    suffix: str,
) -> None:
    monkeypatch.setenv("ORDERS_API_TOKEN", "never-printed")
    monkeypatch.chdir(ROOT)
    code = run(["plan", os.path.relpath(EXAMPLES, ROOT), "-r", run_plan, "-o", output, "--sandbox"])
    assert code == 0
    printed = _TIMESTAMP.sub('"<LastModifiedOn>"', capsys.readouterr().out)
    golden = GOLDEN / f"plan-{run_plan}.{suffix}"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(printed, encoding="utf-8")
    assert printed == golden.read_text(encoding="utf-8")


def test_plan_github_annotations(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORDERS_API_TOKEN", "never-printed")
    monkeypatch.chdir(ROOT)
    assert run(["plan", "examples", "-r", "nightly", "-o", "github", "--sandbox"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert (
        "::warning file=examples/jobs/glue.yaml,line=11,col=18,title=PS713::parameter 'row_limit' is '1000' in the manifest but '500' in the Glue job's DefaultArguments"
        in lines
    )
    assert lines[-1] == "::notice title=polysync plan::5 runs to start, 3 drift, 0 errors"
    assert all(line.startswith(("::warning ", "::notice ", "::error ")) for line in lines)
