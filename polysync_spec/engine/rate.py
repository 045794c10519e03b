"""How fast submissions go: a token bucket per service whose rate adapts to throttling.

Each platform says the rate of its start call (`Platform.submit_rate`: where to start,
and the documented quota as the ceiling). Submissions of one service share one bucket
(AWS's quotas are per account and region, whatever the client): a submission takes a
token before its call and waits for one when there is none. The rate adapts by
additive increase, multiplicative decrease (AIMD): a throttled call halves it (not
below `FLOOR`), each accepted call raises it by `STEP` up to the ceiling.

Why not botocore's own client-side limiter (`retries={"mode": "adaptive"}`): it acts
per client (each platform has its own), learns only from throttling it has already
met (so a burst of a thousand submissions first runs into the quota), and belongs to
the retry handler, while submissions never retry blindly (exactly once: the submit
client has `max_attempts=1`, and a throttled submission is sent again by the engine
only after the protocol has ruled out its having taken effect).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

FLOOR = 1.0  # calls a second: the rate never drops below this
STEP = 0.5  # calls a second added by each accepted call (back to 50 from 25: 50 calls)


class AdaptiveRate:
    """A token bucket of `rate` tokens a second, one token deep (no bursts above the
    rate), adapting between `FLOOR` and `ceiling`. Thread-safe."""

    def __init__(
        self,
        start: float,
        ceiling: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        self.ceiling = max(ceiling, FLOOR)
        self.rate = min(max(start, FLOOR), self.ceiling)
        self._clock = clock
        self._sleep = sleep
        self._next = clock()  # when the next token is due
        self._lock = threading.Lock()
        self.throttled_count = 0

    def reserve(self) -> float:
        """Take the next token: the seconds to wait before using it (0: now)."""
        with self._lock:
            now = self._clock()
            at = max(self._next, now)
            self._next = at + 1.0 / self.rate
            return at - now

    def acquire(self, stop: Callable[[float], bool] | None = None) -> bool:
        """Wait for a token. `stop(seconds)`: a wait that returns True when interrupted
        (then False is returned and the token is given up); default: sleep."""
        wait = self.reserve()
        if wait <= 0:
            return True
        if stop is not None:
            return not stop(wait)
        self._sleep(wait)
        return True

    def throttled(self) -> None:
        """AWS refused a call for its rate: halve the rate, and push the next token out
        by one interval of the new rate."""
        with self._lock:
            self.throttled_count += 1
            self.rate = max(FLOOR, self.rate / 2)
            self._next = max(self._next, self._clock()) + 1.0 / self.rate

    def accepted(self) -> None:
        """A call went through: raise the rate a step, up to the ceiling."""
        with self._lock:
            self.rate = min(self.ceiling, self.rate + STEP)
