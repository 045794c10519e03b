"""What both ledgers share: the run record, the protocol, the lock holder, and the
errors that name the ledger and what to do."""

from __future__ import annotations

import json
import logging
import os
import re
import socket
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from polysync_spec import redact
from polysync_spec.engine.model import PlannedRun
from polysync_spec.engine.phase import RunPhase
from polysync_spec.errors import PolysyncError

log = logging.getLogger("polysync_spec.engine.ledger")  # one logger for both ledgers
_HOLDER = re.compile(r"^pid (\d+) on (.+)$")


def holder_is_gone(holder: str) -> bool:
    """True when `holder` names a process of this host that no longer runs."""
    match = _HOLDER.match(holder)
    if not match or match.group(2) != socket.gethostname():
        return False
    try:
        os.kill(int(match.group(1)), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class LockHeld(PolysyncError):
    """Another apply of the same plan holds the lock."""


class LedgerError(PolysyncError):
    """The ledger cannot be read or written: the message names the file and what to do."""


def _masked(text: str | None) -> str | None:
    return None if text is None else redact.mask(text)


def _ledger_error(path: Path | str, exc: BaseException) -> LedgerError:
    text = str(exc)
    if "readonly" in text or "read-only" in text or isinstance(exc, PermissionError):
        advice = "make it writable, or point --state at a writable place"
    elif any(word in text for word in ("not a database", "malformed", "corrupt", "damaged")):
        advice = (
            "it is damaged: move it aside (polysync then starts a new one) and check the "
            "runs it recorded in the AWS console"
        )
    elif str(path).startswith("s3://"):
        advice = "check the bucket, the prefix and the credentials' S3 permissions"
    else:
        advice = "check the file and its directory"
    return LedgerError(f"the ledger {path} cannot be used ({text}): {advice}")


@dataclass
class RunRecord:
    key: str
    platform: str
    service: str
    region: str
    run_id: str | None
    status: RunPhase
    message: str | None
    intent_at: float | None
    submitted_at: float | None
    finished_at: float | None
    started_at: float | None = None  # first seen Starting or Running
    # The submission attempt's identity (carried by the request: a job name, a marker),
    # with the intent before the AWS call; a new attempt (--rerun, --retry-failed) has a
    # new one. intent_at is on AWS's clock; answer_by (AWS's clock too) is when the
    # submission's answer was due (its client's read timeout): the settle time after a
    # lost answer counts from there, whichever process recovers it.
    attempt_id: str | None = None
    answer_by: float | None = None
    # What the run used once it ended, in billing units (`providers.cost`, e.g.
    # {"DPU-hours": 0.42}); None when unknown (or recorded before ledgers kept it).
    usage: dict[str, float] | None = None

    def __post_init__(self) -> None:
        # Read back as a plain string; a value outside RunPhase is a damaged ledger
        # (ValueError, which both ledgers report as such).
        self.status = RunPhase(self.status)
        if isinstance(self.usage, str):  # SQLite keeps it as JSON text
            self.usage = json.loads(self.usage)
        if self.usage is not None and not (
            isinstance(self.usage, dict)
            and all(isinstance(v, int | float) for v in self.usage.values())
        ):
            raise ValueError(f"usage {self.usage!r} is not a map of numbers")

    @classmethod
    def new(
        cls,
        run: PlannedRun,
        status: RunPhase,
        *,
        message: str | None = None,
        intent_at: float | None = None,
        finished_at: float | None = None,
        attempt_id: str | None = None,
        answer_by: float | None = None,
    ) -> RunRecord:
        return cls(
            run.key,
            run.platform,
            run.service,
            run.region,
            None,
            status,
            message,
            intent_at,
            None,
            finished_at,
            attempt_id=attempt_id,
            answer_by=answer_by,
        )


class Ledger(Protocol):
    """What the executor and the commands need of a ledger; SQLite and S3 both provide it."""

    def acquire(self, apply_id: str) -> str: ...
    def release(self, apply_id: str) -> bool: ...
    def begin(self, apply_id: str, plan: dict[str, Any]) -> None: ...
    def intent(
        self,
        apply_id: str,
        run: PlannedRun,
        attempt_id: str,
        at: float,
        answer_by: float | None = None,
    ) -> None: ...
    def answer_due(self, apply_id: str, key: str, answer_by: float) -> None: ...
    def submitted(self, apply_id: str, key: str, run_id: str) -> None: ...
    def status(
        self, apply_id: str, key: str, status: RunPhase, message: str | None, terminal: bool
    ) -> None: ...
    def started(self, apply_id: str, key: str) -> None: ...
    def usage(self, apply_id: str, key: str, usage: dict[str, float]) -> None: ...
    def skipped(self, apply_id: str, run: PlannedRun, reason: str) -> None: ...
    def forget(self, apply_id: str, keys: list[str]) -> None: ...
    def runs(self, apply_id: str) -> dict[str, RunRecord]: ...
    def plan(self, apply_id: str) -> dict[str, Any] | None: ...
    def applies(self) -> list[tuple[str, str, float]]: ...
    def find_run(self, run_id: str) -> tuple[str, RunRecord] | None: ...
    def together(self) -> AbstractContextManager[None]:
        """The writes made inside share one commit where the store has commits (a poll
        round's status changes: one fsync, not one per run)."""
        ...

    def close(self) -> None: ...
