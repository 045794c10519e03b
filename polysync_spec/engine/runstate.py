"""One run as the engine follows it: its phase, its run id, what AWS last said, and the
times that bound every wait on it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from polysync_spec.engine.model import PlannedRun
from polysync_spec.engine.phase import RunPhase

# Glue's own default timeout when the job sets none: 2,880 minutes up to Glue 4.0, 480
# from 5.0 (StartJobRun's Timeout documentation).
GLUE_DEFAULT_TIMEOUT_MINUTES = 2880
GLUE_5_DEFAULT_TIMEOUT_MINUTES = 480


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
    retry_at: float | None = None  # a refused submission (no free slot) goes again then
    children: dict[str, int] | None = None  # array jobs: child counts by state

    @property
    def final(self) -> bool:
        return self.status.final

    @property
    def in_flight(self) -> bool:
        return self.run_id is not None and not self.final and not self.gave_up

    def limit_seconds(self) -> float | None:
        """How long the run may take by its own settings, in seconds: the Glue timeout
        (Glue's default when the job sets none), or the Batch attempt duration (from the
        manifest or the definition) times the attempts. None when Batch knows none."""
        compute = self.planned.compute

        def value(key: str) -> Any:
            return (compute.get(key) or {}).get("value")

        if self.planned.service == "glue":
            minutes = value("timeout_minutes")
            if not minutes:
                version = str(value("glue_version") or "")
                five = version[:1].isdigit() and int(version.split(".", maxsplit=1)[0]) >= 5
                minutes = GLUE_5_DEFAULT_TIMEOUT_MINUTES if five else GLUE_DEFAULT_TIMEOUT_MINUTES
            return float(minutes) * 60
        duration = value("attempt_duration_seconds")
        attempts = value("retry_attempts") or 1
        return float(duration) * int(attempts) if duration else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.planned.key,
            "status": self.status,
            "state": self.state,
            "run_id": self.run_id,
            "url": self.url,
            "message": self.message,
            "submitted_at": self.submitted_at,
            "finished_at": self.finished_at,
        }
