"""One run as the engine follows it: its phase, its run id, what AWS last said, and the
times that bound every wait on it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from polysync_spec.engine.model import PlannedRun
from polysync_spec.engine.phase import RunPhase
from polysync_spec.providers.cost import priced
from polysync_spec.providers.registry import by_service


@dataclass
class RunState:
    """One run as the engine follows it."""

    planned: PlannedRun
    status: RunPhase = RunPhase.PENDING
    run_id: str | None = None
    message: str | None = None
    url: str | None = None
    state: str | None = None  # the service's own state (RUNNABLE, STOPPING, ...)
    submitted_at: float | None = None
    started_at: float | None = None  # first seen Starting or Running
    finished_at: float | None = None
    native_after: list[str] = field(default_factory=list)
    gave_up: bool = False  # past a limit (or the --timeout): no longer waited on
    unseen_since: float | None = None  # AWS's reads have not returned it since then
    waiting_since: float | None = None  # waiting to start (or for a free slot) since
    held: bool = False  # AWS holds it for its dependencies (`StatusReport.held`)
    retry_at: float | None = None  # a refused submission (no free slot) goes again then
    children: dict[str, int] | None = None  # array jobs: child counts by state
    # What the run used once it ended, in billing units (`providers.cost`); None: unknown.
    usage: dict[str, float] | None = None

    @property
    def final(self) -> bool:
        return self.status.final

    def waiting_on(self, runs: Mapping[str, RunState]) -> tuple[str, ...]:
        """The upstream runs (keys) AWS holds this run for, while it does: those of
        `runs` (the apply's) not yet succeeded, else all of them (AWS's lag)."""
        if not self.held or self.final:
            return ()
        going = tuple(
            key
            for key in self.native_after
            if key not in runs or runs[key].status is not RunPhase.SUCCESS
        )
        return going or tuple(self.native_after)

    @property
    def in_flight(self) -> bool:
        return self.run_id is not None and not self.final and not self.gave_up

    def limit_seconds(self) -> float | None:
        """How long the run may take by its own settings, in seconds (its platform's
        `run_limit_seconds`); None when AWS knows no limit."""
        return by_service(self.planned.service).run_limit_seconds(self.planned.values())

    def cost_usd(self) -> float | None:
        """The run's usage at the prices its plan held; None without either."""
        if not self.usage or not self.planned.cost:
            return None
        return priced(self.usage, self.planned.cost.get("prices") or {})

    def to_dict(self) -> dict[str, Any]:
        cost = self.cost_usd()
        return {
            "key": self.planned.key,
            "status": self.status,
            "state": self.state,
            "run_id": self.run_id,
            "url": self.url,
            "message": self.message,
            "submitted_at": self.submitted_at,
            "finished_at": self.finished_at,
            "usage": self.usage,
            "cost_usd": None if cost is None else round(cost, 4),
        }
