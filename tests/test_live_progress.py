"""The live view of apply: a Batch job AWS holds for its dependency is shown waiting on
it, not Running (events over the wire from the sandbox, and the live table); elapsed
times advance between events (an injected clock: no assertion on real durations)."""

from __future__ import annotations

import io
import re
from pathlib import Path

from polysync_spec.engine.model import PlannedRun
from polysync_spec.engine.phase import RunPhase
from polysync_spec.engine.runstate import RunState
from polysync_spec.render.progress import LiveProgress
from polysync_spec.sandbox.lifecycle import Outcome
from polysync_spec.sandbox.server import Sandbox
from tests.applying import HEADER, apply_plan, fast, plan_for
from tests.helpers import write

CHAIN = HEADER + (
    "run_plans:\n  p:\n    runs:\n      - {job: export}\n      - {job: clean, after: [export]}\n"
)


def test_a_batch_job_held_on_its_dependency_is_reported_waiting_on_it(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    fast(sandbox, **{"nightly-export": Outcome(starting_seconds=0.3, running_seconds=0.6)})
    result, lines = apply_plan(sandbox, plan_for(sandbox, write(tmp_path, CHAIN)), tmp_path)
    assert result.runs["clean"].status == "Success"
    clean = [line for line in lines if line.startswith("clean: ") and "submitted" not in line]
    assert clean[0] == "clean: waiting on export (PENDING)"
    assert not any(line.startswith("clean: Running (PENDING)") for line in lines)
    # Held until export ended; only then does clean start.
    assert lines.index("export: Success") < lines.index(
        next(line for line in clean if not line.startswith("clean: waiting"))
    )


def _state(key: str, **fields: object) -> RunState:
    planned = PlannedRun(
        key, key, "batch", "batch", "us-east-1", "SubmitJob", {}, None
    )  # fmt: skip
    state = RunState(planned)
    for name, value in fields.items():
        setattr(state, name, value)
    return state


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _frame(stream: io.StringIO, runs: int = 1) -> list[str]:
    """The last table drawn (its last `runs` lines), spaces collapsed."""
    text = stream.getvalue().rsplit("\x1b[J", 1)[-1]
    return [re.sub(r"\s+", " ", line).strip() for line in text.splitlines()[-runs:]]


def test_the_live_table_shows_waiting_and_queued_runs_for_what_they_are() -> None:
    runs = {
        "export": _state("export", status=RunPhase.RUNNING, submitted_at=1000.0, url="u1"),
        "clean": _state(
            "clean", status=RunPhase.RUNNING, submitted_at=1000.0, held=True,
            native_after=["export"], waiting_since=1000.0, state="PENDING",
        ),
        "other": _state("other", status=RunPhase.RUNNING, submitted_at=1000.0,
                        waiting_since=1000.0, state="RUNNABLE"),
    }  # fmt: skip
    stream, clock = io.StringIO(), _Clock()
    live = LiveProgress(runs, stream, lambda text, **_: text, wall=lambda: 1010.0, monotonic=clock)
    live("export: Running")
    assert _frame(stream, 3) == [
        "export Running 10s u1",
        "clean Waiting 10s waiting on export",
        "other Queued 10s",
    ]


def test_elapsed_times_advance_between_events_on_the_monotonic_clock() -> None:
    runs = {"export": _state("export", status=RunPhase.RUNNING, submitted_at=1000.0)}
    stream, clock = io.StringIO(), _Clock()
    live = LiveProgress(runs, stream, lambda text, **_: text, wall=lambda: 1010.0, monotonic=clock)
    live("export: Running")
    assert _frame(stream) == ["export Running 10s"]
    clock.now += 25  # no event, no poll: the ticker redraws
    live.tick()
    assert _frame(stream) == ["export Running 35s"]
    live.finish()


def test_the_ticker_redraws_without_events_until_finished() -> None:
    runs = {"export": _state("export", status=RunPhase.RUNNING, submitted_at=1000.0)}
    stream = io.StringIO()
    live = LiveProgress(runs, stream, lambda text, **_: text)
    live("export: Running")
    drawn = stream.getvalue().count("\x1b[J")
    live.start(interval=0.01)
    import time

    deadline = time.monotonic() + 10  # the test's guard against a hang
    while stream.getvalue().count("\x1b[J") < drawn + 2:
        assert time.monotonic() < deadline, "the table was never redrawn"
        time.sleep(0.01)
    live.finish()
    after = stream.getvalue()
    time.sleep(0.05)
    assert stream.getvalue() == after  # finished: nothing more is drawn
