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

import functools
import json
import logging
import os
import re
import socket
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from polysync_spec import redact
from polysync_spec.engine.model import PlannedRun
from polysync_spec.engine.phase import RunPhase
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
    started_at REAL,
    attempt_id TEXT,
    answer_by REAL,
    PRIMARY KEY (apply_id, key)
);
CREATE TABLE IF NOT EXISTS locks (
    apply_id TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    acquired_at REAL NOT NULL
);
"""


log = logging.getLogger(__name__)
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


class _GuardedConnection:
    """The SQLite connection, with every failure but a constraint (which the lock relies
    on) turned into a LedgerError naming the file."""

    def __init__(self, path: Path, connection: sqlite3.Connection) -> None:
        self.path = path
        self._db = connection

    def execute(self, sql: str, parameters: Any = ()) -> sqlite3.Cursor:
        try:
            return self._db.execute(sql, parameters)
        except sqlite3.IntegrityError:
            raise
        except sqlite3.Error as exc:
            raise _ledger_error(self.path, exc) from None

    def executemany(self, sql: str, parameters: Any) -> sqlite3.Cursor:
        try:
            return self._db.executemany(sql, parameters)
        except sqlite3.Error as exc:
            raise _ledger_error(self.path, exc) from None

    def executescript(self, script: str) -> sqlite3.Cursor:
        try:
            return self._db.executescript(script)
        except sqlite3.Error as exc:
            raise _ledger_error(self.path, exc) from None

    def close(self) -> None:
        self._db.close()


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
    # The submission attempt's identity (Batch job name, Glue marker argument), written
    # with the intent before the AWS call; a new attempt (--rerun, --retry-failed) has a
    # new one. intent_at is on AWS's clock; answer_by (AWS's clock too) is when the
    # submission's answer was due (its client's read timeout): the settle time after a
    # lost answer counts from there, whichever process recovers it.
    attempt_id: str | None = None
    answer_by: float | None = None

    def __post_init__(self) -> None:
        # Read back as a plain string; a value outside RunPhase is a damaged ledger
        # (ValueError, which both ledgers report as such).
        self.status = RunPhase(self.status)

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

    def close(self) -> None:
        self._db.close()

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
        self._db.execute(
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
        self._db.execute(
            "UPDATE runs SET answer_by = ? WHERE apply_id = ? AND key = ?",
            (answer_by, apply_id, key),
        )

    def submitted(self, apply_id: str, key: str, run_id: str) -> None:
        self._db.execute(
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
            "finished_at, started_at, attempt_id, answer_by FROM runs WHERE apply_id = ?",
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
            "submitted_at, finished_at, started_at, attempt_id, answer_by FROM runs WHERE run_id = ?",
            (run_id,),
        ).fetchone()
        return (row[0], self._record(row[1:])) if row else None

    def _record(self, row: Any) -> RunRecord:
        try:
            return RunRecord(*row)
        except ValueError as exc:
            raise _ledger_error(self.path, ValueError(f"a run row is damaged: {exc}")) from None


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
    def skipped(self, apply_id: str, run: PlannedRun, reason: str) -> None: ...
    def forget(self, apply_id: str, keys: list[str]) -> None: ...
    def runs(self, apply_id: str) -> dict[str, RunRecord]: ...
    def plan(self, apply_id: str) -> dict[str, Any] | None: ...
    def applies(self) -> list[tuple[str, str, float]]: ...
    def find_run(self, run_id: str) -> tuple[str, RunRecord] | None: ...
    def close(self) -> None: ...


F = TypeVar("F", bound=Callable[..., Any])


def _guarded(method: F) -> F:
    """S3 failures (a missing bucket, no permission, a damaged object) as a LedgerError
    naming s3://bucket/prefix; a held lock stays LockHeld."""

    @functools.wraps(method)
    def wrapper(self: S3Ledger, *args: Any, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return method(self, *args, **kwargs)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise _ledger_error(
                self.url, RuntimeError(f"{error.get('Code', 'Error')}: {error.get('Message', '')}")
            ) from None
        except BotoCoreError as exc:
            raise _ledger_error(self.url, exc) from None
        except (ValueError, KeyError, TypeError) as exc:
            raise _ledger_error(self.url, ValueError(f"an object is damaged: {exc}")) from None

    return wrapper  # type: ignore[return-value]


class S3Ledger:
    """The ledger in S3 for CI, where every job runs on a fresh machine.

    `s3://bucket/prefix/applies/<id>/plan.json`, one object per run under `runs/`, and a
    lock object created with a conditional write (If-None-Match: *), so two CI jobs
    applying the same plan cannot both hold it. Only the lock holder writes run objects.
    """

    def __init__(self, url: str, client: Any) -> None:
        bucket, _, prefix = url.removeprefix("s3://").partition("/")
        if not bucket:
            raise PolysyncError(f"--state {url}: expected s3://bucket/prefix")
        self.bucket, self.prefix, self.client = bucket, prefix.strip("/"), client
        self.url = f"s3://{bucket}/{self.prefix}"
        self._etags: dict[str, str] = {}  # apply id -> the ETag of the lock this process wrote

    def _key(self, *parts: str) -> str:
        return "/".join(p for p in (self.prefix, *parts) if p)

    def _get(self, key: str) -> dict[str, Any] | None:
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except self.client.exceptions.NoSuchKey:
            return None
        try:
            value = json.loads(body)
        except ValueError as exc:
            raise ValueError(f"s3://{self.bucket}/{key} is damaged ({exc})") from None
        return value if isinstance(value, dict) else None

    def _put(self, key: str, value: dict[str, Any], **extra: Any) -> None:
        body = json.dumps(redact.mask_data(value)).encode()
        self.client.put_object(Bucket=self.bucket, Key=key, Body=body, **extra)

    def close(self) -> None:
        pass

    def _lock_key(self, apply_id: str) -> str:
        return self._key("locks", f"{apply_id}.json")

    def _read_lock(self, apply_id: str) -> tuple[dict[str, Any], str] | None:
        """The lock object and its ETag, or None when no lock is held."""
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._lock_key(apply_id))
        except self.client.exceptions.NoSuchKey:
            return None
        try:
            value = json.loads(response["Body"].read())
        except ValueError:
            value = {}
        return (value if isinstance(value, dict) else {}), str(response["ETag"])

    @_guarded
    def acquire(self, apply_id: str) -> str:
        """Take the lock with a conditional write, or raise LockHeld naming the holder.

        A free lock is created with If-None-Match: *; a lock left by a process of this host
        that no longer runs is taken over with If-Match on the ETag that was read, never
        deleted first: of two contenders for a stale lock, exactly one write succeeds."""
        holder = {
            "holder": f"pid {os.getpid()} on {socket.gethostname()}",
            "acquired_at": time.time(),
        }
        current = self._read_lock(apply_id)
        condition: dict[str, str] = {"IfNoneMatch": "*"}
        if current is not None and holder_is_gone(str(current[0].get("holder", ""))):
            log.warning(
                "taking over the lock of apply %s from %s, which is gone",
                apply_id,
                current[0].get("holder"),
            )
            condition = {"IfMatch": current[1]}
        try:
            response = self.client.put_object(
                Bucket=self.bucket,
                Key=self._lock_key(apply_id),
                Body=json.dumps(holder).encode(),
                **condition,
            )
        except Exception as exc:
            code = getattr(exc, "response", {}).get("Error", {}).get("Code")
            if code not in ("PreconditionFailed", "ConditionalRequestConflict", "NoSuchKey"):
                raise
            held = self._read_lock(apply_id)
            current_holder = held[0] if held else {}
            since = time.strftime(
                "%Y-%m-%d %H:%M:%S", time.localtime(current_holder.get("acquired_at", 0))
            )
            raise LockHeld(
                f"apply {apply_id} is locked by {current_holder.get('holder', 'another process')} "
                f"since {since} (s3://{self.bucket}/{self._key('locks')}); if that job is gone, "
                f"run: polysync unlock {apply_id} --state s3://{self.bucket}/{self.prefix}"
            ) from None
        self._etags[apply_id] = str(response["ETag"])
        return apply_id

    @_guarded
    def release(self, apply_id: str) -> bool:
        """Drop the lock. This process's own lock is deleted only while it is still the
        one it wrote (If-Match): a lock taken over meanwhile is left to its new holder.
        `polysync unlock` (no lock of this process) deletes whatever lock there is."""
        key = self._lock_key(apply_id)
        existed = self._read_lock(apply_id) is not None
        etag = self._etags.pop(apply_id, None)
        try:
            if etag is None:
                self.client.delete_object(Bucket=self.bucket, Key=key)
            else:
                self.client.delete_object(Bucket=self.bucket, Key=key, IfMatch=etag)
        except Exception as exc:
            code = getattr(exc, "response", {}).get("Error", {}).get("Code")
            if code not in ("PreconditionFailed", "NoSuchKey"):
                raise
            log.warning("the lock of apply %s was taken over; left to its holder", apply_id)
            return False
        return existed

    @_guarded
    def begin(self, apply_id: str, plan: dict[str, Any]) -> None:
        key = self._key("applies", apply_id, "plan.json")
        if self._get(key) is None:
            self._put(key, {"plan": plan, "created_at": time.time()})

    def _run_key(self, apply_id: str, key: str) -> str:
        return self._key("applies", apply_id, "runs", f"{key}.json")

    def _write(self, apply_id: str, record: RunRecord) -> None:
        self._put(self._run_key(apply_id, record.key), record.__dict__)

    def _read(self, apply_id: str, key: str) -> RunRecord | None:
        data = self._get(self._run_key(apply_id, key))
        return RunRecord(**data) if data else None

    @_guarded
    def intent(
        self,
        apply_id: str,
        run: PlannedRun,
        attempt_id: str,
        at: float,
        answer_by: float | None = None,
    ) -> None:
        record = RunRecord.new(
            run, RunPhase.SUBMITTING, intent_at=at, attempt_id=attempt_id, answer_by=answer_by
        )
        self._write(apply_id, record)

    @_guarded
    def answer_due(self, apply_id: str, key: str, answer_by: float) -> None:
        record = self._read(apply_id, key)
        if record is not None:
            record.answer_by = answer_by
            self._write(apply_id, record)

    @_guarded
    def submitted(self, apply_id: str, key: str, run_id: str) -> None:
        record = self._read(apply_id, key)
        if record is not None:
            record.run_id, record.status, record.submitted_at = (
                run_id,
                RunPhase.SUBMITTED,
                time.time(),
            )
            self._write(apply_id, record)

    @_guarded
    def status(
        self, apply_id: str, key: str, status: RunPhase, message: str | None, terminal: bool
    ) -> None:
        record = self._read(apply_id, key)
        if record is not None:
            record.status, record.message = status, message
            if terminal:
                record.finished_at = time.time()
            self._write(apply_id, record)

    @_guarded
    def started(self, apply_id: str, key: str) -> None:
        record = self._read(apply_id, key)
        if record is not None and record.started_at is None:
            record.started_at = time.time()
            self._write(apply_id, record)

    @_guarded
    def skipped(self, apply_id: str, run: PlannedRun, reason: str) -> None:
        self._write(
            apply_id, RunRecord.new(run, RunPhase.SKIPPED, message=reason, finished_at=time.time())
        )

    @_guarded
    def forget(self, apply_id: str, keys: list[str]) -> None:
        for key in keys:
            self.client.delete_object(Bucket=self.bucket, Key=self._run_key(apply_id, key))

    @_guarded
    def runs(self, apply_id: str) -> dict[str, RunRecord]:
        records: dict[str, RunRecord] = {}
        for key in self._list(self._key("applies", apply_id, "runs") + "/"):
            data = self._get(key)
            if data:
                records[data["key"]] = RunRecord(**data)
        return records

    def _list(self, prefix: str) -> list[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        return [
            o["Key"]
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix)
            for o in page.get("Contents", [])
        ]

    @_guarded
    def plan(self, apply_id: str) -> dict[str, Any] | None:
        data = self._get(self._key("applies", apply_id, "plan.json"))
        return data["plan"] if data else None

    @_guarded
    def applies(self) -> list[tuple[str, str, float]]:
        found = []
        for key in self._list(self._key("applies") + "/"):
            if key.endswith("/plan.json"):
                data = self._get(key) or {}
                apply_id = key.rsplit("/", 2)[-2]
                found.append(
                    (
                        apply_id,
                        data.get("plan", {}).get("run_plan", "?"),
                        data.get("created_at", 0.0),
                    )
                )
        return sorted(found, key=lambda item: item[2], reverse=True)

    @_guarded
    def find_run(self, run_id: str) -> tuple[str, RunRecord] | None:
        for apply_id, _, _ in self.applies():
            for record in self.runs(apply_id).values():
                if record.run_id == run_id:
                    return apply_id, record
        return None


def open_ledger(state: str, s3_client: Any = None) -> Ledger:
    """`--state`: a SQLite file path, or s3://bucket/prefix (with an S3 client)."""
    if state.startswith("s3://"):
        return S3Ledger(state, s3_client)
    return SqliteLedger(state)
