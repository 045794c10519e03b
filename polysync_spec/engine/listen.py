"""Event-driven waiting: apply learns of run ends from an event queue, and reads runs
only to reconcile, at a slow cadence (README, "Event-driven waiting").

A platform with an event queue (`EventWaiting.feeds`) is followed by its state-change
events; the monitor's batched reads of its runs happen once at the start, every
`reconcile` seconds after, and for the runs an event says ended but that may not be
final (`RunEvent.confirm`). A platform without one is polled as before.

The queue is at-least-once and unordered, and may be shared by several applies:
- an end is taken from an event as AWS sent it (the event's state is the service's own
  record, the same a read would answer) and recorded in the ledger like a read's;
- only ends are taken: anything in between is left to the reconcile reads;
- a run that has already ended ignores every later event about it (a final state never
  goes back), and its messages are deleted: duplicates and stale events cost nothing;
- a message about no run of this apply is left in the queue (another apply sharing the
  queue may follow that run; it comes back to every reader after the visibility
  timeout), unless the event is older than `stale`: any apply following that run
  would have read it by then, so it is deleted, and the queue does not fill up;
- a lost event (never delivered, or deleted by someone else) is caught by the next
  reconcile read, so no wait depends on an event arriving.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Mapping
from dataclasses import dataclass

from polysync_spec.engine.calls import THROTTLING, Abandoned, call, error_code
from polysync_spec.engine.events import PollFailed
from polysync_spec.engine.monitor import Monitor
from polysync_spec.engine.runstate import RunState
from polysync_spec.providers.base import Delivery, EventFeed

MAX_WAIT = 20  # ReceiveMessage's longest WaitTimeSeconds
FULL = 10  # ReceiveMessage's most messages per call


@dataclass(frozen=True)
class EventWaiting:
    """Platform name -> its event queue (platforms sharing a queue share the object);
    seconds between reconcile reads; the age (seconds) past which a message about no run
    of this apply is deleted; and the pause after a receive that was not full, so that
    ends arriving one by one are read ten at a time."""

    feeds: Mapping[str, EventFeed]
    reconcile: float = 300.0
    stale: float = 900.0
    gather: float = 2.0


class Listener:
    """One apply's reading of its event queues, through its `monitor` (whose reads,
    updates, bounds and ledger it uses)."""

    def __init__(self, monitor: Monitor, waiting: EventWaiting) -> None:
        self.monitor = monitor
        self.waiting = waiting
        self.reconciled_at: float | None = None  # monotonic; None: never (read at once)
        self.confirm: set[str] = set()  # run keys an event says ended, to be read
        self.broken: set[str] = set()  # queues whose last read failed: poll their runs
        self.pause = 0.0  # seconds to wait before the next step (see `gather`)

    def step(self, interval: float, *, most: float | None = None, cap: bool = False) -> bool:
        """One round: poll the platforms without a working queue, reconcile when due,
        read each queue once (long polling, at most `MAX_WAIT` seconds or `most`, at most
        `interval` when other platforms are polled or `cap`); True when anything changed."""
        monitor = self.monitor
        feeds = self.waiting.feeds
        flying = [s for s in monitor.runs.values() if s.in_flight]
        polled = {
            s.planned.platform
            for s in flying
            if s.planned.platform not in feeds or feeds[s.planned.platform].name in self.broken
        }
        changed = monitor.poll(only=lambda s: s.planned.platform in polled) if polled else False
        now = time.monotonic()
        if self.reconciled_at is None or now - self.reconciled_at >= self.waiting.reconcile:
            self.reconciled_at = now
            self.confirm.clear()
            changed |= monitor.poll(only=lambda s: s.planned.platform not in polled)
        elif self.confirm:
            keys, self.confirm = self.confirm, set()
            changed |= monitor.poll(only=lambda s: s.planned.key in keys)
        queues: dict[str, EventFeed] = {}
        for state in monitor.runs.values():
            feed = feeds.get(state.planned.platform)
            if feed is not None and state.in_flight:
                queues.setdefault(feed.name, feed)
        if not queues:  # nothing to wait on but the polls: their interval
            self.pause = interval
            return changed
        assert self.reconciled_at is not None
        until_reconcile = self.reconciled_at + self.waiting.reconcile - time.monotonic()
        wait = min(float(MAX_WAIT), until_reconcile, interval if polled or cap else MAX_WAIT)
        if most is not None:
            wait = min(wait, most)
        wait = monitor.bounded(max(0.0, wait)) / len(queues)
        # WaitTimeSeconds is whole seconds: an empty answer leaves the fraction to wait.
        self.pause = wait - int(wait)
        for feed in queues.values():
            changed |= self._read(feed, int(wait), interval)
        return changed

    def _read(self, feed: EventFeed, wait: int, interval: float) -> bool:
        monitor = self.monitor
        try:
            deliveries = call(functools.partial(feed.receive, wait), monitor.stop)
        except Abandoned:
            return False
        except Exception as exc:  # the queue failed: its runs are polled until it works
            self.broken.add(feed.name)
            self.pause = max(self.pause, interval)
            throttled = error_code(exc) in THROTTLING
            monitor.sink(PollFailed(f"queue {feed.name}", throttled, exc.__class__.__name__))
            return False
        self.broken.discard(feed.name)
        if deliveries:  # a full answer: read again at once; else let more ends gather
            self.pause = 0.0 if len(deliveries) >= FULL else max(self.pause, self.waiting.gather)
        changed, handled = self._handle(deliveries)
        if handled:
            try:
                call(functools.partial(feed.delete, handled), monitor.stop)
            except Abandoned:
                pass
            except Exception as exc:  # not deleted: they come back, and are ignored then
                monitor.sink(PollFailed(f"queue {feed.name}", False, exc.__class__.__name__))
        return changed

    def _handle(self, deliveries: list[Delivery]) -> tuple[bool, list[str]]:
        """Apply what the messages say; the receipts of those to delete."""
        runs: dict[str, RunState] = {
            s.run_id: s for s in self.monitor.runs.values() if s.run_id is not None
        }
        changed = False
        handled: list[str] = []
        now = time.time()
        for delivery in deliveries:
            event = delivery.event
            state = runs.get(event.run_id) if event is not None else None
            owner = runs.get(event.owner) if event is not None and event.owner else None
            if event is None or (state is None and owner is None):
                happened = delivery.happened_at
                if happened is not None and now - happened > self.waiting.stale:
                    handled.append(delivery.receipt)
                continue
            handled.append(delivery.receipt)
            if state is None:  # another run AWS started for one of ours: read that one
                if owner is not None and owner.in_flight:
                    self.confirm.add(owner.planned.key)
                continue
            if not state.in_flight or not event.final:
                continue  # a duplicate, an event older than what is known, or no end
            if event.confirm:
                self.confirm.add(state.planned.key)
                continue
            changed |= self.monitor.update(state, event.report)
        return changed, handled
