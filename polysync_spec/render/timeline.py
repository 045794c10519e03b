"""An apply as a timeline: a Mermaid Gantt chart (queued, running, result per run) and a
summary table, in Markdown for `$GITHUB_STEP_SUMMARY` or a pull-request comment."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from polysync_spec.engine.ledger import RunRecord
from polysync_spec.engine.phase import RunPhase
from polysync_spec.render import cost


def _id(index: int, part: str) -> str:
    return f"{part}{index}"


def _tag(phase: RunPhase) -> str:
    """Mermaid's bar style: done for a success, critical for what counts against the
    apply, active for a run still going."""
    if phase is RunPhase.SUCCESS:
        return "done"
    return "crit" if phase.bad else "active"


def gantt(apply_id: str, runs: Mapping[str, RunRecord], now: float) -> str:
    """Each run: a `queued` bar from submit to first seen running, then a bar named by its
    result until it ended (or until `now`, for a run still going). Skipped runs have none."""
    lines = ["gantt", f"  title apply {apply_id}", "  dateFormat X", "  axisFormat %H:%M:%S"]
    for index, (key, record) in enumerate(runs.items()):
        if record.submitted_at is None:
            continue
        end = record.finished_at or now
        started = record.started_at or record.submitted_at
        lines.append(f"  section {key}")
        if started > record.submitted_at:
            lines.append(
                f"  queued :{_id(index, 'q')}, {int(record.submitted_at)}, {max(int(started), int(record.submitted_at) + 1)}"
            )
        tag = _tag(record.status)
        begin = int(started)
        lines.append(
            f"  {record.status} :{tag}, {_id(index, 'r')}, {begin}, {max(int(end), begin + 1)}"
        )
    return "\n".join(lines) + "\n"


def markdown(
    apply_id: str,
    runs: Mapping[str, RunRecord],
    now: float,
    costs: Mapping[str, Mapping[str, Any] | None] | None = None,
) -> str:
    """The chart and a table of the runs, each with what it used (priced at its plan's
    prices, `costs` by run key, where it has them)."""
    rows = ["| run | status | run id | used | message |", "|---|---|---|---|---|"]
    for key, record in runs.items():
        message = (record.message or "").replace("|", "\\|").replace("\n", " ")
        used = cost.actual(record.usage, (costs or {}).get(key))
        rows.append(
            f"| `{key}` | {record.status} | `{record.run_id or '-'}` | {used} | {message} |"
        )
    return "\n".join(
        [
            f"### polysync apply `{apply_id}`",
            "",
            "```mermaid",
            gantt(apply_id, runs, now).rstrip(),
            "```",
            "",
            *rows,
            "",
        ]
    )
