"""Live apply progress on a terminal: one line per run, redrawn in place."""

from __future__ import annotations

import shutil
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


class LiveProgress:
    """Redraws the run table after every event; the event itself scrolls above it."""

    def __init__(
        self, runs: Mapping[str, RunState], stream: TextIO, style: Callable[..., str]
    ) -> None:
        self.runs = runs
        self.stream = stream
        self.style = style
        self._drawn = 0

    def __call__(self, line: str) -> None:
        self._clear()
        self.stream.write(f"{time.strftime('%H:%M:%S')} {line}\n")
        self._draw()

    def _clear(self) -> None:
        if self._drawn:
            self.stream.write(f"\x1b[{self._drawn}F\x1b[J")
            self._drawn = 0

    def _draw(self) -> None:
        width = max(len(key) for key in self.runs) if self.runs else 0
        # A wrapped line would throw off the cursor-up redraw: cut each to the terminal.
        columns = shutil.get_terminal_size((120, 24)).columns - 1
        lines = [self._line(key.ljust(width), state)[:columns] for key, state in self.runs.items()]
        self.stream.write("\n".join(lines) + "\n")
        self.stream.flush()
        self._drawn = len(lines)

    def _line(self, key: str, state: RunState) -> str:
        status = self.style(
            f"{state.status:<9}", fg=_COLOURS.get(state.status), bold=state.status in _COLOURS
        )
        end = state.finished_at or time.time()
        elapsed = f"{end - state.submitted_at:6.0f}s" if state.submitted_at else "       "
        detail = f"  {children_text(state.children)}" if state.children else ""
        link = f"  {state.url}" if state.url and not state.final else ""
        return f"  {key}  {status} {elapsed}{detail}{link}"

    def finish(self) -> None:
        self._clear()


def plain(stream: TextIO) -> Callable[[str], None]:
    def emit(line: str) -> None:
        stream.write(f"{time.strftime('%H:%M:%S')} {line}\n")
        stream.flush()

    return emit
