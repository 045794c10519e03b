"""Live apply progress on a terminal: one line per run, redrawn in place."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable, Mapping
from typing import TextIO

from polysync_spec.engine.phase import RunPhase
from polysync_spec.engine.runstate import RunState
from polysync_spec.render.runs import children_text

_COLOURS = {
    RunPhase.SUCCESS: "green",
    RunPhase.FAILED: "red",
    RunPhase.CANCELLED: "yellow",
    RunPhase.UNKNOWN: "magenta",
    RunPhase.SKIPPED: "bright_black",
}
# How often the table is redrawn between events, so that elapsed times keep moving
# while nothing happens (polls may be minutes apart: the interval backs off).
TICK_SECONDS = 1.0


class LiveProgress:
    """Redraws the run table after every event, and every `TICK_SECONDS` once started
    (`start`); the event itself scrolls above it.

    Elapsed times are measured on the local monotonic clock (`monotonic`), anchored once
    to the wall clock (`wall`) that a run's submission time is recorded on: a clock
    adjusted during the apply does not make them jump."""

    def __init__(
        self,
        runs: Mapping[str, RunState],
        stream: TextIO,
        style: Callable[..., str],
        *,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.runs = runs
        self.stream = stream
        self.style = style
        self._drawn = 0
        self._monotonic = monotonic
        self._anchor = wall() - monotonic()
        self._lock = threading.Lock()  # events and the ticker draw on one stream
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    def __call__(self, line: str) -> None:
        with self._lock:
            self._clear()
            self.stream.write(f"{time.strftime('%H:%M:%S')} {line}\n")
            self._draw()

    def now(self) -> float:
        """Wall-clock seconds, advancing with the monotonic clock."""
        return self._anchor + self._monotonic()

    def tick(self) -> None:
        """Redraw the table in place (elapsed times advance), if it is drawn."""
        with self._lock:
            if self._drawn:
                self._clear()
                self._draw()

    def start(self, interval: float = TICK_SECONDS) -> None:
        """Redraw every `interval` seconds until `finish`, on a daemon thread."""

        def loop() -> None:
            while not self._stop.wait(interval):
                self.tick()

        self._ticker = threading.Thread(target=loop, name="polysync-progress", daemon=True)
        self._ticker.start()

    def _clear(self) -> None:
        if self._drawn:
            self.stream.write(f"\x1b[{self._drawn}F\x1b[J")
            self._drawn = 0

    def _draw(self) -> None:
        width = max(len(key) for key in self.runs) if self.runs else 0
        # A wrapped line would throw off the cursor-up redraw: cut each to the terminal.
        columns = shutil.get_terminal_size((120, 24)).columns - 1
        lines = [self.line(key.ljust(width), state)[:columns] for key, state in self.runs.items()]
        self.stream.write("\n".join(lines) + "\n")
        self.stream.flush()
        self._drawn = len(lines)

    def line(self, key: str, state: RunState) -> str:
        """One run's line: its key (padded), what it is doing, elapsed, detail, link."""
        waiting_on = state.waiting_on(self.runs)
        queued = state.waiting_since is not None and state.status in (
            RunPhase.STARTING,
            RunPhase.RUNNING,
        )
        # A run AWS holds for its dependencies (Batch PENDING on dependsOn) or that is
        # queued for capacity has not started: "Running" would say it had.
        label = "Waiting" if waiting_on else "Queued" if queued else str(state.status)
        status = self.style(
            f"{label:<9}", fg=_COLOURS.get(state.status), bold=state.status in _COLOURS
        )
        end = state.finished_at or self.now()
        elapsed = f"{end - state.submitted_at:6.0f}s" if state.submitted_at else "       "
        if waiting_on:
            detail = f"  waiting on {', '.join(waiting_on)}"
        elif state.children:
            detail = f"  {children_text(state.children)}"
        else:
            detail = ""
        link = f"  {state.url}" if state.url and not state.final else ""
        return f"  {key}  {status} {elapsed}{detail}{link}"

    def finish(self) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join(timeout=5.0)
        with self._lock:
            self._clear()


def plain(stream: TextIO) -> Callable[[str], None]:
    def emit(line: str) -> None:
        stream.write(f"{time.strftime('%H:%M:%S')} {line}\n")
        stream.flush()

    return emit
