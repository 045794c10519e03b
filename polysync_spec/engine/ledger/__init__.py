"""The state ledger: every submission recorded before and after the AWS call.

An apply is identified by its plan id (a digest of what it submits). Its runs are rows
keyed by (apply id, run key): the intent is written before SubmitJob / StartJobRun and the
run id right after, so a re-run re-attaches to runs in flight, skips finished ones, and a
crash between the two writes is detectable (an intent without a run id).

SQLite at `.polysync/state.db` by default; each write is its own transaction, so a
SIGKILL loses at most the write in progress. A lock row per apply id keeps two processes
from applying the same plan at once; `polysync unlock` removes a stale one.

What is written passes the redaction layer (`polysync_spec.redact`): a run's message is
often AWS's text, which may echo a secret argument, and the ledger outlives the process.
"""

from __future__ import annotations

from typing import Any

from polysync_spec.engine.ledger.base import (
    Ledger,
    LedgerError,
    LockHeld,
    RunRecord,
    holder_is_gone,
)
from polysync_spec.engine.ledger.s3 import S3Ledger
from polysync_spec.engine.ledger.sqlite import DEFAULT_PATH, SqliteLedger

__all__ = [
    "DEFAULT_PATH",
    "Ledger",
    "LedgerError",
    "LockHeld",
    "RunRecord",
    "S3Ledger",
    "SqliteLedger",
    "holder_is_gone",
    "open_ledger",
]


def open_ledger(state: str, s3_client: Any = None) -> Ledger:
    """`--state`: a SQLite file path, or s3://bucket/prefix (with an S3 client)."""
    if state.startswith("s3://"):
        return S3Ledger(state, s3_client)
    return SqliteLedger(state)
