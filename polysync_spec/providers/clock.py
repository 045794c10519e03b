"""AWS's clock as seen from this host (no SDK needed: the engine uses it too)."""

from __future__ import annotations

import email.utils
import threading
import time
from collections.abc import Callable


class AwsClock:
    """AWS's clock as this process sees it: the host's clock corrected by the offset that
    the `Date` header of AWS's latest answer showed.

    Recovery windows (runs started since a submission's intent) compare the host's notion
    of "when" with timestamps AWS wrote (StartedOn, createdAt); a host clock minutes ahead
    or behind would otherwise miss the run and submit it again. `Date` has one-second
    resolution and includes the network's latency: callers keep a margin of seconds.
    """

    def __init__(self, host: Callable[[], float] = time.time) -> None:
        self._host = host  # the host's clock: epoch seconds
        self._offset: float | None = None
        self._lock = threading.Lock()

    def observe(self, date_header: str | None, received_at: float | None = None) -> None:
        """Record the offset shown by one HTTP `Date` header (RFC 7231 format)."""
        if not date_header:
            return
        try:
            aws_time = email.utils.parsedate_to_datetime(date_header).timestamp()
        except (TypeError, ValueError, IndexError, OverflowError):
            return
        host_time = self._host() if received_at is None else received_at
        with self._lock:
            self._offset = aws_time - host_time

    @property
    def offset(self) -> float:
        """Seconds to add to the host's clock to read AWS's (0 until AWS has answered)."""
        return self._offset or 0.0

    def now(self) -> float:
        """Epoch seconds on AWS's clock, to within a second or two."""
        return self._host() + self.offset
