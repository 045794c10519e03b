"""The ledger in S3, for CI, where every job runs on a fresh machine."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import socket
import time
from collections.abc import Callable
from typing import Any, TypeVar

from polysync_spec import redact
from polysync_spec.engine.ledger.base import (
    LockHeld,
    RunRecord,
    _ledger_error,
    holder_is_gone,
    log,
)
from polysync_spec.engine.model import PlannedRun
from polysync_spec.engine.phase import RunPhase
from polysync_spec.errors import PolysyncError

F = TypeVar("F", bound=Callable[..., Any])


def _sdk_error(exc: BaseException) -> bool:
    """An error of the S3 client (botocore's), told by its module: the engine imports no
    SDK, and the client is injected."""
    return type(exc).__module__.split(".")[0] in ("botocore", "boto3")


def _guarded(method: F) -> F:
    """S3 failures (a missing bucket, no permission, a damaged object) as a LedgerError
    naming s3://bucket/prefix; a held lock stays LockHeld."""

    @functools.wraps(method)
    def wrapper(self: S3Ledger, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except (ValueError, KeyError, TypeError) as exc:
            if _sdk_error(exc):
                raise _ledger_error(self.url, exc) from None
            raise _ledger_error(self.url, ValueError(f"an object is damaged: {exc}")) from None
        except Exception as exc:
            if not _sdk_error(exc):
                raise
            response = getattr(exc, "response", None)
            error = response.get("Error", {}) if isinstance(response, dict) else None
            if error is not None:  # a service error: its code and message
                exc = RuntimeError(f"{error.get('Code', 'Error')}: {error.get('Message', '')}")
            raise _ledger_error(self.url, exc) from None

    return wrapper  # type: ignore[return-value]


class S3Ledger:
    """The ledger in S3 for CI, where every job runs on a fresh machine.

    `s3://bucket/prefix/applies/<id>/plan.json`, one object per run under `runs/`, and a
    lock object created with a conditional write (If-None-Match: *), so two CI jobs
    applying the same plan cannot both hold it. Only the lock holder writes run objects.
    """

    def together(self) -> contextlib.AbstractContextManager[None]:
        """Every write is an object of its own: nothing to share."""
        return contextlib.nullcontext()

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
    def usage(self, apply_id: str, key: str, usage: dict[str, float]) -> None:
        # A record written before usage was kept reads back without it (its default).
        record = self._read(apply_id, key)
        if record is not None:
            record.usage = dict(usage)
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
