"""The sandbox's run timelines, as pure functions of a clock (no sleeping)."""

from __future__ import annotations

import pytest

from polysync_spec.sandbox.lifecycle import (
    DEPENDENCY_FAILED,
    STOP_DELAY,
    BatchView,
    Clock,
    Outcome,
    batch_view,
    finish_time,
    glue_state,
)

ONE_TWO = Outcome(starting_seconds=1.0, running_seconds=2.0)


@pytest.mark.parametrize(
    ("outcome", "at", "expected"),
    [
        (ONE_TWO, 0.5, ("STARTING", None)),
        (ONE_TWO, 1.5, ("RUNNING", None)),
        (ONE_TWO, 3.5, ("SUCCEEDED", None)),
        (Outcome(result="FAILED", message="boom"), 9, ("FAILED", "boom")),
        (Outcome(result="TIMEOUT"), 9, ("TIMEOUT", "Job run timed out")),
        (Outcome(stuck_in="WAITING"), 99, ("WAITING", None)),
        (Outcome(stuck_in="RUNNING"), 99, ("RUNNING", None)),
    ],
)
def test_glue_timeline(outcome: Outcome, at: float, expected: tuple[str, str | None]) -> None:
    assert glue_state(Clock(0.0, outcome), at) == expected


def test_glue_stop_goes_stopping_then_stopped_unless_already_finished() -> None:
    clock = Clock(0.0, ONE_TWO, stopped_at=1.5)
    assert glue_state(clock, 1.5 + STOP_DELAY / 2) == ("STOPPING", None)
    assert glue_state(clock, 1.5 + STOP_DELAY * 2) == ("STOPPED", None)
    late = Clock(0.0, ONE_TWO, stopped_at=5.0)  # after the run had succeeded
    assert glue_state(late, 6.0) == ("SUCCEEDED", None)


@pytest.mark.parametrize(
    ("at", "status"),
    [
        (0.05, "SUBMITTED"),
        (0.15, "PENDING"),
        (0.5, "RUNNABLE"),
        (0.9, "STARTING"),
        (2.0, "RUNNING"),
        (3.5, "SUCCEEDED"),
    ],
)
def test_batch_timeline(at: float, status: str) -> None:
    assert batch_view(Clock(0.0, ONE_TWO), at).status == status


def test_batch_failure_reason_and_exit_code() -> None:
    """AWS gives any container that ends non-zero the same reason; its exit code is apart."""
    assert batch_view(Clock(0.0, Outcome(result="FAILED", exit_code=3)), 9) == BatchView(
        "FAILED", "Essential container in task exited", 3, True
    )
    assert (
        batch_view(Clock(0.0, Outcome(result="FAILED")), 9).reason
        == "Essential container in task exited"
    )


def test_batch_terminate_fails_the_job_with_the_reason_after_a_short_delay() -> None:
    clock = Clock(
        0.0, Outcome(stuck_in="RUNNABLE"), stopped_at=1.0, stop_reason="Cancelled by Polysync"
    )
    assert batch_view(clock, 1.0).status == "RUNNABLE"
    assert batch_view(clock, 1.0 + STOP_DELAY * 2) == BatchView("FAILED", "Cancelled by Polysync")


def test_batch_dependencies_hold_the_job_pending_then_shift_its_start() -> None:
    first = Clock(0.0, ONE_TWO)
    second = Clock(0.0, ONE_TWO, depends_on=("first",))

    def dependency(job_id: str) -> tuple[BatchView, float | None]:
        return batch_view(first, now), finish_time(first)

    now = 2.0
    assert batch_view(second, now, dependency).status == "PENDING"
    now = 3.5  # first finished at 3.0: second is 0.5 s into its own timeline
    assert batch_view(second, now, dependency).status == "RUNNABLE"


def test_batch_job_whose_dependency_failed_fails() -> None:
    failed = BatchView("FAILED", "boom", 1, True)
    view = batch_view(Clock(0.0, ONE_TWO, depends_on=("x",)), 1.0, lambda _id: (failed, 3.0))
    assert view == BatchView("FAILED", DEPENDENCY_FAILED)


ECHO_ARGUMENTS = {"--token": "s3cr3t-value", "--note": "x"}


def test_an_echoing_run_repeats_its_arguments_in_messages_and_logs() -> None:
    """What the redaction tests rely on: AWS and the job hand the run's arguments back."""
    glue = Clock(0.0, Outcome(result="FAILED", message="boom", echo_arguments=True))
    glue.arguments = dict(ECHO_ARGUMENTS)
    assert glue_state(glue, 9) == ("FAILED", "boom (arguments: --note=x, --token=s3cr3t-value)")
    batch = Clock(0.0, Outcome(result="FAILED", echo_arguments=True), arguments={"token": "t0k3n"})
    assert (
        batch_view(batch, 9).reason == "Essential container in task exited (arguments: token=t0k3n)"
    )
    stuck = Clock(
        0.0,
        Outcome(stuck_in="RUNNABLE", message="CAPACITY:INSUFFICIENT", echo_arguments=True),
        arguments={"token": "t0k3n"},
    )
    assert batch_view(stuck, 5).reason == "CAPACITY:INSUFFICIENT (arguments: token=t0k3n)"
    lines = Outcome(result="FAILED", echo_arguments=True).log_lines("FAILED", ECHO_ARGUMENTS)
    assert "arguments: --note=x, --token=s3cr3t-value" in lines
    assert Outcome(echo_arguments=True, logs=("a",)).log_lines("SUCCEEDED", {"k": "v"}) == [
        "arguments: k=v",
        "a",
    ]


def test_runs_do_not_echo_unless_asked() -> None:
    quiet = Clock(0.0, Outcome(result="FAILED", message="boom"), arguments=dict(ECHO_ARGUMENTS))
    assert glue_state(quiet, 9) == ("FAILED", "boom")
    assert not any("s3cr3t" in line for line in quiet.outcome.log_lines("FAILED", ECHO_ARGUMENTS))
