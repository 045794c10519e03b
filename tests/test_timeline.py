"""The timeline of an apply: a Mermaid Gantt chart with every run's start and end."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from polysync_spec.cli import run
from polysync_spec.engine.ledger import SqliteLedger
from polysync_spec.sandbox.lifecycle import Outcome
from polysync_spec.sandbox.server import Sandbox
from tests.helpers import SANDBOX_PLATFORMS, write

PROJECT = (
    SANDBOX_PLATFORMS
    + """\
jobs:
  load: {platform: glue, external_id: customers-etl}
  clean: {platform: batch, external_id: cleanup}
  check: {platform: glue, external_id: orders-quality}
run_plans:
  p:
    runs:
      - {job: load}
      - {job: check, after: [load]}
      - {job: clean, after: [check]}
"""
)
BAR = re.compile(r"^  (\w+) :(?:(done|crit|active), )?(\w+), (\d+), (\d+)$")


def test_gantt_lists_every_run_of_a_finished_apply_with_start_and_end(
    sandbox: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sandbox.script("glue", "customers-etl", Outcome(starting_seconds=1.1, running_seconds=1.2))
    sandbox.script(
        "glue",
        "orders-quality",
        Outcome(result="FAILED", starting_seconds=0.1, running_seconds=0.2),
    )
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, PROJECT)
    assert (
        run(["apply", str(path), "--auto-approve", "--poll-interval", "0.05", "-o", "markdown"])
        == 3
    )
    document = capsys.readouterr().out
    chart = re.search(r"```mermaid\n(gantt\n.*?)```", document, re.S)
    assert chart is not None
    sections: dict[str, list[tuple[str, int, int]]] = {}
    current = ""
    for line in chart.group(1).splitlines():
        if line.startswith("  section "):
            current = line.removeprefix("  section ")
            sections[current] = []
        elif (bar := BAR.match(line)) is not None:
            sections[current].append((bar.group(1), int(bar.group(4)), int(bar.group(5))))
    ledger = SqliteLedger(tmp_path / ".polysync" / "state.db")
    [(apply_id, _, _)] = ledger.applies()
    records = ledger.runs(apply_id)
    ledger.close()
    assert list(sections) == ["load", "check"]  # clean was skipped: no bar, a table row
    for key, bars in sections.items():
        assert bars[-1][0] == records[key].status
        assert all(start < end for _, start, end in bars)
        assert bars[-1][2] >= int(records[key].finished_at or 0)
    assert ("queued", sections["load"][0][1], sections["load"][0][2]) == sections["load"][
        0
    ]  # it queued >1 s
    assert "| `clean` | Skipped | `-` |" in document
    assert run(["status", apply_id, "-o", "markdown"]) == 0
    assert capsys.readouterr().out == document
