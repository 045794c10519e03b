"""Runs at a glance: the table and the JSON document that end an apply, and an array
job's children."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from polysync_spec.engine.execute import ApplyResult
from polysync_spec.engine.runstate import RunState
from polysync_spec.redact import mask


def summary_table(runs: Mapping[str, RunState]) -> str:
    rows = [("run", "status", "run id", "message")]
    for key, state in runs.items():
        # Masked before it is cut: a secret cut in half would no longer be recognised.
        message = mask(state.message or "")[:80]
        rows.append((key, state.status, state.run_id or "-", message))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [
        "  ".join(cell.ljust(widths[i]) if i < 3 else cell for i, cell in enumerate(row)).rstrip()
        for row in rows
    ]
    return "\n".join(lines)


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
