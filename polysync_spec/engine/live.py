"""A snapshot of the live AWS objects a run plan touches: the planner's only input from AWS.

Discovery (`engine/discovery.py`) fills it, one entry per platform the run plan uses,
each the platform client's own `snapshot`; the planner hands each to its platform's
`plan_run` and never calls AWS.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class LiveState:
    """Platform name -> what that platform's client found (its own snapshot type)."""

    platforms: dict[str, Any] = field(default_factory=dict)

    def of(self, platform: str) -> Any:
        """The snapshot of one platform; None when nothing was discovered for it."""
        return self.platforms.get(platform)
