"""Fetch the live objects one run plan touches: each platform's client takes a snapshot of
what its runs use, with the fewest calls its APIs allow (see each client's `snapshot`)."""

from __future__ import annotations

from collections.abc import Callable

from polysync_spec.engine.live import LiveState
from polysync_spec.manifest.models import Run
from polysync_spec.manifest.project import Project
from polysync_spec.providers.base import PlatformClient


def discover_live(
    project: Project, run_plan: str, clients: Callable[[str], PlatformClient]
) -> LiveState:
    """The snapshot of every platform `run_plan` uses; `clients` gives a platform's client
    by name (`providers.clients.clients_of`). Raises `AwsError` when a read fails."""
    by_platform: dict[str, list[tuple[Run, object]]] = {}
    for run in project.run_plans[run_plan].runs:
        job = project.jobs[run.job]
        by_platform.setdefault(job.platform, []).append((run, job))
    live = LiveState()
    for name in sorted(by_platform):
        live.platforms[name] = clients(name).snapshot(project.platforms[name], by_platform[name])
    return live
