"""AWS calls that never block the apply: each runs on a thread of its own, and the
waiting thread acts on an interrupt at once whatever the network does."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

T = TypeVar("T")

# Seconds between two checks of a call in flight for an interrupt.
CALL_CHECK = 0.05
THROTTLING = frozenset(
    {"ThrottlingException", "TooManyRequestsException", "Throttling", "RequestLimitExceeded"}
)


class Abandoned(Exception):
    """An AWS call was left running on its thread: an interrupt (or a deadline) came
    first. `call` still receives its answer."""

    def __init__(self, call: PendingCall[Any]) -> None:
        super().__init__("abandoned")
        self.call = call


class PendingCall(Generic[T]):
    """One AWS call on a daemon thread of its own (a hung call never blocks the process's
    exit), with its result or exception once it has answered."""

    def __init__(self, fn: Callable[[], T]) -> None:
        self._fn = fn
        self.done = threading.Event()
        self.value: T | None = None
        self.error: BaseException | None = None
        threading.Thread(target=self._run, name="polysync-aws-call", daemon=True).start()

    def _run(self) -> None:
        try:
            self.value = self._fn()
        except BaseException as exc:  # handed to the waiting thread, which decides
            self.error = exc
        finally:
            self.done.set()

    def result(self) -> T:
        if self.error is not None:
            raise self.error
        return self.value  # type: ignore[return-value]


def call(fn: Callable[[], T], stop: Callable[[], bool]) -> T:
    """Run one AWS call on its own thread and wait for it; raise Abandoned when `stop()`
    turns true first. Signals reach the waiting thread at once: it never blocks in a
    socket."""
    pending = PendingCall(fn)
    while not pending.done.wait(CALL_CHECK):
        if stop():
            raise Abandoned(pending)
    return pending.result()


class Interrupts:
    """The interrupts of one apply (Ctrl-C, SIGTERM, SIGHUP): counted, and waking any
    wait of the apply's own thread at once. The first stops the apply; a second
    detaches without waiting for the cancellations."""

    def __init__(self) -> None:
        self.count = 0
        self._wake = threading.Event()

    def interrupt(self) -> None:
        self.count += 1
        self._wake.set()

    def pause(self, seconds: float) -> bool:
        """Wait `seconds`, or less when interrupted; True when an interrupt came."""
        if seconds > 0 and not self.count:
            self._wake.wait(seconds)
        return self.count > 0

    def sleep(self, seconds: float) -> None:
        """Wait `seconds` or until an interrupt; the next sleep waits afresh."""
        self._wake.wait(seconds)
        self._wake.clear()

    def call(self, fn: Callable[[], T], *, stop: Callable[[], bool] | None = None) -> T:
        """Run one AWS call on its own thread and wait for it; raise Abandoned when
        `stop()` (default: an interrupt) turns true first."""
        return call(fn, stop or (lambda: self.count > 0))


def error_code(exc: BaseException) -> str | None:
    """The AWS error code of a polysync or botocore exception, if it has one."""
    code = getattr(exc, "code", None)
    if isinstance(code, str):
        return code
    response: Any = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code")) or None
    return None


class Gate:
    """The executor's bookkeeping lock: the scheduler, the runs' states, the ledger and
    the event sink are touched by one thread at a time, so submissions made in parallel
    keep the order of effects a single thread has (every attempt recorded before its
    call). A thread holding it lets it go while it waits on AWS or pauses
    (`released`), which is where parallel submissions overlap."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._owner = threading.local()

    def __enter__(self) -> Gate:
        self._lock.acquire()
        self._owner.held = True
        return self

    def __exit__(self, *_: object) -> None:
        self._owner.held = False
        self._lock.release()

    @contextlib.contextmanager
    def released(self) -> Iterator[None]:
        """Let the gate go for the block, if this thread holds it; take it back after."""
        if not getattr(self._owner, "held", False):
            yield
            return
        self._owner.held = False
        self._lock.release()
        try:
            yield
        finally:
            self._lock.acquire()
            self._owner.held = True
