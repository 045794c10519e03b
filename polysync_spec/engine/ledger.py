"""The state ledger: every submission recorded before and after the AWS call.

An apply is identified by its plan id (a digest of what it submits). Its runs are rows
keyed by (apply id, run key): the intent is written before SubmitJob / StartJobRun and the
run id right after, so a re-run re-attaches to runs in flight, skips finished ones, and a
crash between the two writes is detectable (an intent without a run id).

SQLite at `.polysync/state.db` by default; each write is its own transaction, so a
SIGKILL loses at most the write in progress. A lock row per apply id keeps two processes
from applying the same plan at once; `polysync unlock` removes a stale one.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from polysync_spec.engine.model import PlannedRun
from polysync_spec.errors import PolysyncError

DEFAULT_PATH = Path(".polysync") / "state.db"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS applies (
    id TEXT PRIMARY KEY,
    run_plan TEXT NOT NULL,
    target TEXT,
    manifest_path TEXT NOT NULL,
    plan TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    apply_id TEXT NOT NULL,
    key TEXT NOT NULL,
    platform TEXT NOT NULL,
    service TEXT NOT NULL,
    region TEXT NOT NULL,
    run_id TEXT,
    status TEXT NOT NULL,
    message TEXT,
    intent_at REAL,
    submitted_at REAL,
    finished_at REAL,
    PRIMARY KEY (apply_id, key)
);
CREATE TABLE IF NOT EXISTS locks (
    apply_id TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    acquired_at REAL NOT NULL
);
"""


class LockHeld(PolysyncError):
    """Another apply of the same plan holds the lock."""


@dataclass
class RunRecord:
    key: str
    platform: str
    service: str
    region: str
    run_id: str | None
    status: str
    message: str | None
    intent_at: float | None
    submitted_at: float | None
    finished_at: float | None


class SqliteLedger:
    def __init__(self, path: str | os.PathLike[str] = DEFAULT_PATH) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Autocommit: every statement is durable on its own (no half-written apply).
        self._db = sqlite3.connect(
            self.path, isolation_level=None, timeout=30, check_same_thread=False
        )
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    # ------------------------------------------------------------ locks

    def acquire(self, apply_id: str) -> str:
        """Take the apply's lock or raise LockHeld naming the holder; returns the lock id."""
        holder = f"pid {os.getpid()} on {socket.gethostname()}"
        try:
            self._db.execute(
                "INSERT INTO locks (apply_id, holder, acquired_at) VALUES (?, ?, ?)",
                (apply_id, holder, time.time()),
            )
        except sqlite3.IntegrityError:
            row = self._db.execute(
                "SELECT holder, acquired_at FROM locks WHERE apply_id = ?", (apply_id,)
            ).fetchone()
            since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(row[1])) if row else "?"
            raise LockHeld(
                f"apply {apply_id} is locked by {row[0] if row else 'another process'} since "
                f"{since}; if that process is gone, run: polysync unlock {apply_id}"
            ) from None
        return apply_id

    def release(self, apply_id: str) -> bool:
        cursor = self._db.execute("DELETE FROM locks WHERE apply_id = ?", (apply_id,))
        return cursor.rowcount > 0

    # ------------------------------------------------------------ applies and runs

    def begin(self, apply_id: str, plan: dict[str, Any]) -> None:
        self._db.execute(
            "INSERT OR IGNORE INTO applies (id, run_plan, target, manifest_path, plan, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                apply_id,
                plan["run_plan"],
                plan.get("target"),
                plan.get("manifest_path", ""),
                json.dumps(plan),
                time.time(),
            ),
        )

    def intent(self, apply_id: str, run: PlannedRun) -> None:
        """Written before the AWS call: a run that may exist in AWS from now on."""
        key, platform, service, region = run.key, run.platform, run.service, run.region
        self._db.execute(
            "INSERT INTO runs (apply_id, key, platform, service, region, status, intent_at) "
            "VALUES (?, ?, ?, ?, ?, 'Submitting', ?) "
            "ON CONFLICT (apply_id, key) DO UPDATE SET status = 'Submitting', run_id = NULL, "
            "message = NULL, intent_at = excluded.intent_at, submitted_at = NULL, finished_at = NULL",
            (apply_id, key, platform, service, region, time.time()),
        )

    def submitted(self, apply_id: str, key: str, run_id: str) -> None:
        self._db.execute(
            "UPDATE runs SET run_id = ?, status = 'Submitted', submitted_at = ? WHERE apply_id = ? AND key = ?",
            (run_id, time.time(), apply_id, key),
        )

    def status(
        self, apply_id: str, key: str, status: str, message: str | None, terminal: bool
    ) -> None:
        self._db.execute(
            "UPDATE runs SET status = ?, message = ?, finished_at = CASE WHEN ? THEN ? ELSE finished_at END "
            "WHERE apply_id = ? AND key = ?",
            (status, message, terminal, time.time(), apply_id, key),
        )

    def skipped(self, apply_id: str, run: PlannedRun, reason: str) -> None:
        key, platform, service, region = run.key, run.platform, run.service, run.region
        self._db.execute(
            "INSERT INTO runs (apply_id, key, platform, service, region, status, message, finished_at) "
            "VALUES (?, ?, ?, ?, ?, 'Skipped', ?, ?) "
            "ON CONFLICT (apply_id, key) DO UPDATE SET status = 'Skipped', message = excluded.message, "
            "finished_at = excluded.finished_at",
            (apply_id, key, platform, service, region, reason, time.time()),
        )

    def forget(self, apply_id: str, keys: list[str]) -> None:
        """Drop run rows so they are submitted afresh (--rerun, --retry-failed)."""
        self._db.executemany(
            "DELETE FROM runs WHERE apply_id = ? AND key = ?", [(apply_id, k) for k in keys]
        )

    def runs(self, apply_id: str) -> dict[str, RunRecord]:
        rows = self._db.execute(
            "SELECT key, platform, service, region, run_id, status, message, intent_at, submitted_at, "
            "finished_at FROM runs WHERE apply_id = ?",
            (apply_id,),
        ).fetchall()
        return {row[0]: RunRecord(*row) for row in rows}

    def plan(self, apply_id: str) -> dict[str, Any] | None:
        row = self._db.execute("SELECT plan FROM applies WHERE id = ?", (apply_id,)).fetchone()
        return json.loads(row[0]) if row else None

    def applies(self) -> list[tuple[str, str, float]]:
        """(id, run plan, created_at), newest first."""
        rows = self._db.execute(
            "SELECT id, run_plan, created_at FROM applies ORDER BY created_at DESC"
        ).fetchall()
        return [(r[0], r[1], r[2]) for r in rows]

    def find_run(self, run_id: str) -> tuple[str, RunRecord] | None:
        row = self._db.execute(
            "SELECT apply_id, key, platform, service, region, run_id, status, message, intent_at, "
            "submitted_at, finished_at FROM runs WHERE run_id = ?",
            (run_id,),
        ).fetchone()
        return (row[0], RunRecord(*row[1:])) if row else None
