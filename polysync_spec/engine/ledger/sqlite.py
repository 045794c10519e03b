# Over 400 lines: every ledger operation as one transaction, plus group commit and migrations.
"""The ledger in SQLite, at `.polysync/state.db` by default: each write is durable
before its method returns (its own transaction, or one shared with the writes other
threads make at the same moment: parallel submissions' intents share a commit), so a
SIGKILL loses at most the writes in progress; a lock row per apply id
keeps two processes from applying the same plan at once."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from polysync_spec import redact
from polysync_spec.engine.ledger.base import (
    LedgerError,
    LockHeld,
    RunRecord,
    _ledger_error,
    _masked,
    holder_is_gone,
    log,
)
from polysync_spec.engine.model import PlannedRun
from polysync_spec.engine.phase import RunPhase

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
    started_at REAL,
    attempt_id TEXT,
    answer_by REAL,
    usage TEXT,
    PRIMARY KEY (apply_id, key)
);
CREATE TABLE IF NOT EXISTS locks (
    apply_id TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    acquired_at REAL NOT NULL
);
"""


@dataclass
class _Queued:
    """One write waiting for a group commit."""

    sql: str
    parameters: Any
    done: threading.Event = field(default_factory=threading.Event)
    error: LedgerError | None = None


class _GuardedConnection:
    """The SQLite connection, with every failure but a constraint (which the lock relies
    on) turned into a LedgerError naming the file. One statement (or one group of
    them, `grouped`) at a time, whatever the thread: parallel submissions write from
    several, and a statement of another thread must never land inside a group's
    transaction."""

    def __init__(self, path: Path, connection: sqlite3.Connection) -> None:
        self.path = path
        self._db = connection
        self._lock = threading.RLock()
        # Group commit: statements waiting for the next transaction, and whether a
        # thread is writing them now (the leader).
        self._queue: list[_Queued] = []
        self._queue_lock = threading.Lock()
        self._leading = False
        self._in_transaction = False

    def execute(self, sql: str, parameters: Any = ()) -> sqlite3.Cursor:
        try:
            with self._lock:
                return self._db.execute(sql, parameters)
        except sqlite3.IntegrityError:
            raise
        except sqlite3.Error as exc:
            raise _ledger_error(self.path, exc) from None

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """The statements this thread executes inside share one transaction (one
        commit); other threads' wait for it. Nested: part of the outer one."""
        with self._lock:
            if self._in_transaction:
                yield
                return
            self.execute("BEGIN IMMEDIATE")
            self._in_transaction = True
            try:
                yield
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK")
                raise
            else:
                self.execute("COMMIT")
            finally:
                self._in_transaction = False

    def grouped(self, sql: str, parameters: Any) -> None:
        """Execute one write, durably, before returning, sharing its commit (one fsync)
        with the writes other threads make meanwhile (group commit: the first waiting
        thread writes everyone's in one transaction). A group that fails is written
        again one statement at a time, so each write gets its own outcome."""
        queued = _Queued(sql, parameters)
        with self._queue_lock:
            self._queue.append(queued)
            lead = not self._leading
            self._leading = self._leading or lead
        if lead:
            self._lead()
        queued.done.wait()
        if queued.error is not None:
            raise queued.error

    def _lead(self) -> None:
        while True:
            with self._queue_lock:
                group, self._queue = self._queue, []
                if not group:
                    self._leading = False
                    return
            with self._lock:
                try:
                    self._db.execute("BEGIN IMMEDIATE")
                    for queued in group:
                        self._db.execute(queued.sql, queued.parameters)
                    self._db.execute("COMMIT")
                except sqlite3.Error:
                    with contextlib.suppress(sqlite3.Error):
                        self._db.execute("ROLLBACK")
                    for queued in group:
                        try:
                            self._db.execute(queued.sql, queued.parameters)
                        except sqlite3.Error as exc:
                            queued.error = _ledger_error(self.path, exc)
            for queued in group:
                queued.done.set()

    def executemany(self, sql: str, parameters: Any) -> sqlite3.Cursor:
        try:
            with self._lock:
                return self._db.executemany(sql, parameters)
        except sqlite3.Error as exc:
            raise _ledger_error(self.path, exc) from None

    def executescript(self, script: str) -> sqlite3.Cursor:
        try:
            with self._lock:
                return self._db.executescript(script)
        except sqlite3.Error as exc:
            raise _ledger_error(self.path, exc) from None

    def close(self) -> None:
        self._db.close()


class SqliteLedger:
    def __init__(self, path: str | os.PathLike[str] = DEFAULT_PATH) -> None:
        """Open (or create) the ledger at `path`. Raises LedgerError naming the file when
        it is damaged, unreadable or unwritable."""
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Autocommit: every statement is durable on its own (no half-written apply).
            connection = sqlite3.connect(
                self.path, isolation_level=None, timeout=30, check_same_thread=False
            )
        except (OSError, sqlite3.Error) as exc:
            raise _ledger_error(self.path, exc) from None
        self._db = _GuardedConnection(self.path, connection)
        self._db.executescript(_SCHEMA)
        self._held: dict[str, str] = {}  # apply id -> the holder this process wrote
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(runs)")}
        if "started_at" not in columns:  # a ledger written before timelines existed
            self._db.execute("ALTER TABLE runs ADD COLUMN started_at REAL")
        if "attempt_id" not in columns:  # written before attempts had identities
            self._db.execute("ALTER TABLE runs ADD COLUMN attempt_id TEXT")
            self._db.execute("ALTER TABLE runs ADD COLUMN answer_by REAL")
        if "usage" not in columns:  # written before runs' usage was recorded
            self._db.execute("ALTER TABLE runs ADD COLUMN usage TEXT")

    def close(self) -> None:
        self._db.close()

    def together(self) -> contextlib.AbstractContextManager[None]:
        """The writes made inside share one transaction: one fsync for a poll round's
        status changes instead of one each. Statuses are AWS's, read again by the next
        apply, so a crash mid-round loses nothing the protocol relies on."""
        return self._db.transaction()

    # ------------------------------------------------------------ locks

    def acquire(self, apply_id: str) -> str:
        """Take the apply's lock or raise LockHeld naming the holder; returns the lock id.

        A lock left by a process of this host that no longer exists (a SIGKILLed apply) is
        taken over, so a retried CI step resumes without a manual unlock."""
        holder = f"pid {os.getpid()} on {socket.gethostname()}"
        row = self._db.execute(
            "SELECT holder FROM locks WHERE apply_id = ?", (apply_id,)
        ).fetchone()
        if row and holder_is_gone(row[0]):
            log.warning("taking over the lock of apply %s from %s, which is gone", apply_id, row[0])
            self._db.execute(
                "DELETE FROM locks WHERE apply_id = ? AND holder = ?", (apply_id, row[0])
            )
        try:
            self._db.execute(
                "INSERT INTO locks (apply_id, holder, acquired_at) VALUES (?, ?, ?)",
                (apply_id, holder, time.time()),
            )
            self._held[apply_id] = holder
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
        """Drop the lock: this process's own only while it still holds it (a lock taken
        over meanwhile is left to its holder); `polysync unlock` drops any."""
        holder = self._held.pop(apply_id, None)
        if holder is None:
            cursor = self._db.execute("DELETE FROM locks WHERE apply_id = ?", (apply_id,))
        else:
            cursor = self._db.execute(
                "DELETE FROM locks WHERE apply_id = ? AND holder = ?", (apply_id, holder)
            )
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
                json.dumps(redact.mask_data(plan)),
                time.time(),
            ),
        )

    def intent(
        self,
        apply_id: str,
        run: PlannedRun,
        attempt_id: str,
        at: float,
        answer_by: float | None = None,
    ) -> None:
        """Written before the AWS call: a run that may exist in AWS from now on, with the
        identity it carries, when (epoch seconds, AWS's clock) and when its answer is due
        at the latest."""
        key, platform, service, region = run.key, run.platform, run.service, run.region
        self._db.grouped(
            "INSERT INTO runs (apply_id, key, platform, service, region, status, intent_at, "
            "attempt_id, answer_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (apply_id, key) DO UPDATE SET status = excluded.status, run_id = NULL, "
            "message = NULL, intent_at = excluded.intent_at, submitted_at = NULL, "
            "finished_at = NULL, started_at = NULL, attempt_id = excluded.attempt_id, "
            "answer_by = excluded.answer_by",
            (
                apply_id,
                key,
                platform,
                service,
                region,
                RunPhase.SUBMITTING,
                at,
                attempt_id,
                answer_by,
            ),
        )

    def answer_due(self, apply_id: str, key: str, answer_by: float) -> None:
        """A submission is sent again (same identity): its answer is due by `answer_by`
        (AWS's clock), which recovery then waits from."""
        self._db.grouped(
            "UPDATE runs SET answer_by = ? WHERE apply_id = ? AND key = ?",
            (answer_by, apply_id, key),
        )

    def submitted(self, apply_id: str, key: str, run_id: str) -> None:
        self._db.grouped(
            "UPDATE runs SET run_id = ?, status = ?, submitted_at = ? WHERE apply_id = ? AND key = ?",
            (run_id, RunPhase.SUBMITTED, time.time(), apply_id, key),
        )

    def status(
        self, apply_id: str, key: str, status: RunPhase, message: str | None, terminal: bool
    ) -> None:
        self._db.execute(
            "UPDATE runs SET status = ?, message = ?, finished_at = CASE WHEN ? THEN ? ELSE finished_at END "
            "WHERE apply_id = ? AND key = ?",
            (status, _masked(message), terminal, time.time(), apply_id, key),
        )

    def started(self, apply_id: str, key: str) -> None:
        self._db.execute(
            "UPDATE runs SET started_at = ? WHERE apply_id = ? AND key = ? AND started_at IS NULL",
            (time.time(), apply_id, key),
        )

    def usage(self, apply_id: str, key: str, usage: dict[str, float]) -> None:
        self._db.execute(
            "UPDATE runs SET usage = ? WHERE apply_id = ? AND key = ?",
            (json.dumps(usage, sort_keys=True), apply_id, key),
        )

    def skipped(self, apply_id: str, run: PlannedRun, reason: str) -> None:
        key, platform, service, region = run.key, run.platform, run.service, run.region
        self._db.execute(
            "INSERT INTO runs (apply_id, key, platform, service, region, status, message, finished_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (apply_id, key) DO UPDATE SET status = excluded.status, "
            "message = excluded.message, finished_at = excluded.finished_at",
            (
                apply_id,
                key,
                platform,
                service,
                region,
                RunPhase.SKIPPED,
                redact.mask(reason),
                time.time(),
            ),
        )

    def forget(self, apply_id: str, keys: list[str]) -> None:
        """Drop run rows so they are submitted afresh (--rerun, --retry-failed)."""
        self._db.executemany(
            "DELETE FROM runs WHERE apply_id = ? AND key = ?", [(apply_id, k) for k in keys]
        )

    def runs(self, apply_id: str) -> dict[str, RunRecord]:
        rows = self._db.execute(
            "SELECT key, platform, service, region, run_id, status, message, intent_at, submitted_at, "
            "finished_at, started_at, attempt_id, answer_by, usage FROM runs WHERE apply_id = ?",
            (apply_id,),
        ).fetchall()
        return {row[0]: self._record(row) for row in rows}

    def plan(self, apply_id: str) -> dict[str, Any] | None:
        row = self._db.execute("SELECT plan FROM applies WHERE id = ?", (apply_id,)).fetchone()
        if not row:
            return None
        try:
            plan = json.loads(row[0])
        except ValueError as exc:
            raise _ledger_error(
                self.path, ValueError(f"the plan of apply {apply_id} is damaged: {exc}")
            ) from None
        if not isinstance(plan, dict):
            raise _ledger_error(self.path, ValueError(f"the plan of apply {apply_id} is damaged"))
        return plan

    def applies(self) -> list[tuple[str, str, float]]:
        """(id, run plan, created_at), newest first."""
        rows = self._db.execute(
            "SELECT id, run_plan, created_at FROM applies ORDER BY created_at DESC"
        ).fetchall()
        return [(r[0], r[1], r[2]) for r in rows]

    def find_run(self, run_id: str) -> tuple[str, RunRecord] | None:
        row = self._db.execute(
            "SELECT apply_id, key, platform, service, region, run_id, status, message, intent_at, "
            "submitted_at, finished_at, started_at, attempt_id, answer_by, usage FROM runs "
            "WHERE run_id = ?",
            (run_id,),
        ).fetchone()
        return (row[0], self._record(row[1:])) if row else None

    def _record(self, row: Any) -> RunRecord:
        try:
            return RunRecord(*row)
        except ValueError as exc:  # json's errors are ValueErrors too
            raise _ledger_error(self.path, ValueError(f"a run row is damaged: {exc}")) from None
