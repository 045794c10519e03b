"""Where a run is in an apply: one closed set, shared by the engine, the ledger, the
commands that follow runs, and every renderer.

`RunStatus` (providers/base.py) is what a provider reads from AWS: Starting, Running and
the three results, or Unknown. A run of an apply has phases AWS never reports: Pending
(not submitted yet), Submitting (the ledger's intent, before the answer), Submitted
(accepted, not yet read back) and Skipped (never submitted: its conditions, on_failure,
an interrupt). `RunPhase` is the union, with the same strings, so the ledger's rows and
every JSON document read as before; `RunPhase.of` lifts a provider's status.
"""

from __future__ import annotations

import enum

from polysync_spec.providers.base import RunStatus


class RunPhase(enum.StrEnum):
    PENDING = "Pending"
    SUBMITTING = "Submitting"
    SUBMITTED = "Submitted"
    STARTING = "Starting"
    RUNNING = "Running"
    SUCCESS = "Success"
    FAILED = "Failed"
    CANCELLED = "Cancelled"
    UNKNOWN = "Unknown"
    SKIPPED = "Skipped"

    @classmethod
    def of(cls, status: RunStatus) -> RunPhase:
        """The phase of a run that a provider reports in `status`."""
        return cls(status.value)

    @property
    def final(self) -> bool:
        """The run has ended for good: nothing in AWS changes it any more. Unknown is not
        final: the run may still be going (a later apply or `status --watch` asks again)."""
        return self in _FINAL

    @property
    def ended(self) -> bool:
        """Final, or Unknown: `after` conditions are judged on it (README: `failed` means
        Failed or Unknown)."""
        return self in _FINAL or self is RunPhase.UNKNOWN

    @property
    def active(self) -> bool:
        """Accepted by AWS and not ended: what a dependency AWS holds can wait on."""
        return self in (RunPhase.SUBMITTED, RunPhase.STARTING, RunPhase.RUNNING)

    @property
    def bad(self) -> bool:
        """Counts against the apply: exit code 3 of every command that follows runs."""
        return self in (RunPhase.FAILED, RunPhase.CANCELLED, RunPhase.UNKNOWN)

    @property
    def retryable(self) -> bool:
        """What `--retry-failed` submits again. Not Unknown: such a run may still be going
        in AWS (it is re-attached and asked about again); `--rerun` submits everything."""
        return self in (RunPhase.FAILED, RunPhase.CANCELLED, RunPhase.SKIPPED)


_FINAL = frozenset({RunPhase.SUCCESS, RunPhase.FAILED, RunPhase.CANCELLED, RunPhase.SKIPPED})
