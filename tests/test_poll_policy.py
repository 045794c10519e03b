"""The poll interval: back-off while nothing changes, capped by the youngest run's age
(engine/monitor.PollPolicy). Pure: no clock, no jitter."""

from __future__ import annotations

import pytest

from polysync_spec.engine.monitor import PollPolicy

POLICY = PollPolicy(minimum=2.0, maximum=30.0, factor=1.5, jitter=0.0)


@pytest.mark.parametrize(
    ("current", "changed", "youngest_age", "expected"),
    [
        (2.0, True, None, 2.0),  # a change: back to the minimum
        (2.0, False, None, 3.0),  # nothing changed: 1.5 times longer
        (24.0, False, None, 30.0),  # never over the maximum
        (2.0, False, 10.0, 2.0),  # a young run: 5% of 10 s is under the minimum
        (20.0, False, 60.0, 3.0),  # a 60 s-old run is read every 3 s, not every 30 s
        (20.0, False, 400.0, 20.0),  # an old run: 5% of 400 s is over the back-off
        (24.0, False, 3600.0, 30.0),  # an hour-old run: the maximum still holds
        (2.0, True, 3600.0, 2.0),  # a change wins over the age
    ],
)
def test_next_interval(
    current: float, changed: bool, youngest_age: float | None, expected: float
) -> None:
    assert POLICY.next(current, changed, youngest_age) == pytest.approx(expected)


def test_the_rounds_a_fleet_of_60_s_runs_costs_and_the_lag_it_allows() -> None:
    """Runs submitted together and ending at 60 s: with the age cap no interval near the
    end is longer than 3 s (the report lag bound of issue 21); without it the back-off
    reaches 22 s."""

    def intervals(capped: bool) -> list[float]:
        clock, interval, seen = 0.0, POLICY.minimum, []
        while clock < 60.0:
            interval = POLICY.next(interval, False, clock if capped else None)
            clock += interval
            seen.append(interval)
        return seen

    assert max(intervals(capped=True)) <= 3.0
    assert max(intervals(capped=False)) > 20.0
