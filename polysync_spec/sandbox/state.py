"""Where a running `polysync sandbox` says it is, so that `--sandbox` on later commands
uses it (its Glue jobs, its Batch jobs, their logs) instead of a fresh, empty one.

The record is `sandbox.json` in the state directory: `$POLYSYNC_SANDBOX_DIR`, else
`$XDG_STATE_HOME/polysync/sandbox`, else `~/.local/state/polysync/sandbox` (the XDG Base
Directory specification's default for state). A record counts only while its process is
alive and its endpoint answers; a record left by a killed sandbox is ignored, and replaced
by the next one. One sandbox per state directory: the running one holds an exclusive lock
on `sandbox.lock` (released by the kernel when it dies, however it dies).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from polysync_spec.errors import PolysyncError

STATE_DIR_ENV = "POLYSYNC_SANDBOX_DIR"
RECORD_NAME = "sandbox.json"
LOCK_NAME = "sandbox.lock"
# How long "does the endpoint answer" may take: a loopback call to an idle server.
PROBE_TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True)
class Record:
    """A running sandbox: its process id, its endpoint (`http://127.0.0.1:PORT`), when it
    started (Unix seconds) and what it was seeded with (one line, for messages)."""

    pid: int
    endpoint_url: str
    started_at: float
    seeded: str

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Record:
        return cls(
            pid=int(data["pid"]),
            endpoint_url=str(data["endpoint_url"]),
            started_at=float(data.get("started_at", 0.0)),
            seeded=str(data.get("seeded", "")),
        )


def state_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """The state directory: `override` (the `--state-dir` option), else
    `$POLYSYNC_SANDBOX_DIR`, else `$XDG_STATE_HOME/polysync/sandbox`, else
    `~/.local/state/polysync/sandbox`."""
    if override:
        return Path(override)
    if os.environ.get(STATE_DIR_ENV):
        return Path(os.environ[STATE_DIR_ENV])
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "polysync" / "sandbox"


def read_record(directory: Path) -> Record | None:
    """The record in `directory` as written, alive or not (None: none, or unreadable)."""
    try:
        return Record.from_dict(json.loads((directory / RECORD_NAME).read_text("utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def running(directory: Path) -> Record | None:
    """The sandbox recorded in `directory` if its process is alive and its endpoint
    answers; None otherwise (no record, or a stale one, which is left for the next
    sandbox to replace)."""
    record = read_record(directory)
    if record is None or not pid_alive(record.pid) or not answers(record.endpoint_url):
        return None
    return record


def pid_alive(pid: int) -> bool:
    """Whether process `pid` exists (signal 0 checks without sending anything)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    except OSError:
        return False
    return True


def answers(endpoint_url: str, timeout: float = PROBE_TIMEOUT_SECONDS) -> bool:
    """Whether a polysync sandbox answers at `endpoint_url` (its control endpoint
    `GET /_sandbox/counts`), within `timeout` seconds."""
    if not endpoint_url.startswith("http://127.") and not endpoint_url.startswith(
        "http://localhost"
    ):
        return False  # a record naming anything but loopback is not ours
    try:
        with urllib.request.urlopen(f"{endpoint_url}/_sandbox/counts", timeout=timeout) as reply:
            return int(reply.status) == 200
    except (OSError, urllib.error.URLError, ValueError):
        return False


class Claim:
    """The state directory held by this process's sandbox: `write` its record once it
    listens and is seeded; leaving the `with` removes the record (if still ours) and
    releases the lock."""

    def __init__(self, directory: Path, lock: IO[str] | None) -> None:
        self.directory = directory
        self._lock = lock
        self.replaced: Record | None = read_record(directory)  # a stale one, if any

    def write(self, endpoint_url: str, seeded: str) -> Record:
        record = Record(os.getpid(), endpoint_url, time.time(), seeded)
        path = self.directory / RECORD_NAME
        partial = path.with_name(f".{RECORD_NAME}.{os.getpid()}")
        partial.write_text(json.dumps(asdict(record), indent=2) + "\n", encoding="utf-8")
        os.replace(partial, path)  # whoever reads it sees the whole record or none
        return record

    def release(self) -> None:
        current = read_record(self.directory)
        if current is not None and current.pid == os.getpid():
            with contextlib.suppress(FileNotFoundError):
                (self.directory / RECORD_NAME).unlink()
        if self._lock is not None:
            self._lock.close()  # closing the file releases the lock
            self._lock = None


@contextlib.contextmanager
def claim(directory: Path) -> Iterator[Claim]:
    """Hold `directory` for one sandbox. Raises `PolysyncError` naming the other sandbox
    when one already runs on it (its lock is held, or its record is alive)."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PolysyncError(
            f"cannot create the sandbox state directory {directory}: {exc}"
        ) from None
    lock = _lock(directory)
    if lock is None or (lock is False and running(directory) is not None):
        other = read_record(directory)
        where = f" at {other.endpoint_url} (pid {other.pid})" if other else ""
        raise PolysyncError(
            f"a sandbox is already running{where} with state in {directory}; use it "
            "(--sandbox on any command), stop it (Ctrl-C in its terminal), or give this "
            "one another --state-dir"
        )
    held = Claim(directory, lock if not isinstance(lock, bool) else None)
    try:
        yield held
    finally:
        held.release()


def _lock(directory: Path) -> IO[str] | bool | None:
    """An exclusive lock on the directory's lock file: the open file holding it, None
    when another process holds it, False where the platform has no `fcntl` (then the
    record's liveness decides)."""
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks here
        return False
    handle = open(directory / LOCK_NAME, "a+", encoding="utf-8")  # noqa: SIM115 (held open)
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        return None
    return handle
