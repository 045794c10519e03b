"""Runs at a glance: the table and the JSON document that end an apply, and an array
job's children."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from polysync_spec.engine.execute import ApplyResult
from polysync_spec.engine.runstate import RunState
from polysync_spec.redact import mask
from polysync_spec.render import cost

MESSAGE_WIDTH = 80  # characters of a message in the summary table


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def summary_table(runs: Mapping[str, RunState]) -> str:
    """The table that ends an apply: each run's status, run id, what it used (priced at
    its plan's prices where it has them) and AWS's message."""
    rows = [("run", "status", "run id", "used", "message")]
    for key, state in runs.items():
        # Masked before it is cut: a secret cut in half would no longer be recognised.
        # Cut with an ellipsis: a message cut at "it was" read as its opposite (the whole
        # message is in the lines above and in `polysync status`).
        message = _cut(mask(state.message or ""), MESSAGE_WIDTH)
        used = cost.actual(state.usage, state.planned.cost)
        rows.append((key, state.status, state.run_id or "-", used, message))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [
        "  ".join(cell.ljust(widths[i]) if i < 4 else cell for i, cell in enumerate(row)).rstrip()
        for row in rows
    ]
    return "\n".join(lines)


def total_line(runs: Mapping[str, RunState]) -> str | None:
    """`used in all: $0.02 (...)`: the runs' usage added up; None when none reported."""
    usages = [state.usage for state in runs.values() if state.usage]
    if not usages:
        return None
    total: dict[str, float] = {}
    for usage in usages:
        for unit, amount in usage.items():
            total[unit] = total.get(unit, 0.0) + amount
    costs = [state.cost_usd() for state in runs.values() if state.usage]
    priced_part = (
        f"{cost.usd(sum(c for c in costs if c is not None))} priced"
        + ("" if all(c is not None for c in costs) else ", the rest without a price")
        if any(c is not None for c in costs)
        else "no price"
    )
    return f"used in all: {cost.usage_text(total)} ({priced_part})"


def result_document(result: ApplyResult) -> dict[str, Any]:
    """The apply's `--output json` document (README: Output)."""
    return {
        "version": 1,
        "apply_id": result.apply_id,
        "exit_code": int(result.exit_code),
        "interrupted": result.interrupted,
        "runs": [state.to_dict() for state in result.runs.values()],
    }


def children_text(children: Mapping[str, int]) -> str:
    """`37/50 succeeded, 2 failed, 11 running`: an array job's children at a glance."""
    total = sum(children.values())
    parts = [f"{children.get('SUCCEEDED', 0)}/{total} succeeded"]
    if children.get("FAILED"):
        parts.append(f"{children['FAILED']} failed")
    active = sum(children.get(s, 0) for s in ("STARTING", "RUNNING"))
    if active:
        parts.append(f"{active} running")
    waiting = sum(children.get(s, 0) for s in ("SUBMITTED", "PENDING", "RUNNABLE"))
    if waiting:
        parts.append(f"{waiting} waiting")
    return ", ".join(parts)
