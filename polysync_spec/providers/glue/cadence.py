"""When to read a Glue run again: a cadence informed by the job's recent runs.

Glue has no batch read of runs, so every job with runs in flight costs a call a poll
round. A run of a job whose recent runs all took about an hour is not going to end a
minute after it started, so reading it every round until then is spent calls. The runs
a `GetJobRuns` page lists (newest first) hold the job's recent finished runs, with their
`StartedOn` and `CompletedOn`: at hand, no call of its own.

So, for a run that is STARTING or RUNNING, of a job with recent successful runs:

- its *window* opens at `WINDOW` (80%) of the shortest recent duration after its
  `StartedOn`, and no later than its own `Timeout` (Glue ends it by then: TIMEOUT);
- before the window, it is read again after half the time left to the window, never
  more than `SPARSE_MAX` seconds apart (the monitor's own longest poll interval, so an
  early failure is reported no later than a quiet apply would report it anyway) and
  never less than `MIN_GAP_SHARE` of the expected duration apart;
- from the window on, at every poll round, as without a cadence.

A run with no history to go by (a new job, a job whose runs all failed), a run not
seen yet, or one in any other state (WAITING, STOPPING, a retry pending) is read at
every round. Times are epoch seconds; `StartedOn` is AWS's clock and `last_read` ours:
the 20% margin before the window covers their skew.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

WINDOW = 0.8  # the window opens at this share of the shortest recent run
SPARSE_MAX = 30.0  # seconds: the longest gap between two reads of a run in flight
MIN_GAP_SHARE = 0.05  # the shortest gap before the window, as a share of the expected run
RECENT = 10  # how many of a job's latest successful runs inform its cadence
FOLLOWED_STATES = frozenset({"STARTING", "RUNNING"})


@dataclass(frozen=True)
class Seen:
    """What the last read of a run in flight said: when it started (`StartedOn`, epoch
    seconds), its `Timeout` in seconds (None when not given) and when it was read."""

    started: float
    timeout: float | None
    read_at: float


def next_read(seen: Seen | None, recent: Sequence[float]) -> float:
    """The epoch second from which the run should be read again; at or before
    `seen.read_at` means at every round. `recent`: the job's recent successful run
    durations, in seconds (any order). Pure: see the module's docstring for the rule."""
    if seen is None or not recent:
        return seen.read_at if seen is not None else 0.0
    shortest = min(recent)
    opens = seen.started + WINDOW * shortest
    if seen.timeout is not None:
        opens = min(opens, seen.started + seen.timeout)
    if seen.read_at >= opens:
        return seen.read_at
    gap = (opens - seen.read_at) / 2
    gap = min(SPARSE_MAX, max(gap, MIN_GAP_SHARE * shortest))
    return min(opens, seen.read_at + gap)


def due(seen: Iterable[Seen | None], recent: Sequence[float], now: float) -> bool:
    """Whether a job whose runs in flight were last seen as `seen` is read this round:
    when any of them is due (one `GetJobRuns` page reads them all)."""
    return any(next_read(s, recent) <= now for s in seen)


def recent_durations(job_runs: Iterable[Mapping[str, Any]]) -> list[float]:
    """The durations in seconds (`CompletedOn` - `StartedOn`) of the first `RECENT`
    SUCCEEDED runs of a GetJobRuns listing (newest first). A failed or stopped run's
    length says nothing about how long the job takes."""
    durations: list[float] = []
    for job_run in job_runs:
        if job_run.get("JobRunState") != "SUCCEEDED":
            continue
        started, completed = job_run.get("StartedOn"), job_run.get("CompletedOn")
        if started is None or completed is None:
            continue
        durations.append((completed - started).total_seconds())
        if len(durations) == RECENT:
            break
    return durations


def seen_of(job_run: Mapping[str, Any], read_at: float) -> Seen | None:
    """What a read of a run's latest attempt says for the cadence; None when the run is
    not STARTING or RUNNING or has no `StartedOn` (then it is read at every round)."""
    started = job_run.get("StartedOn")
    if job_run.get("JobRunState") not in FOLLOWED_STATES or started is None:
        return None
    timeout = job_run.get("Timeout")  # minutes
    return Seen(started.timestamp(), float(timeout) * 60 if timeout else None, read_at)
