"""What Ctrl-C does and says: at the confirmation prompt (exit 4, nothing submitted), the
first one during apply (cancelling, and what a second one would do), the second one
(detached, naming the runs whose cancel AWS did not confirm). Against the sandbox."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from polysync_spec.cli import run
from polysync_spec.errors import ExitCode
from polysync_spec.sandbox.lifecycle import Outcome
from polysync_spec.sandbox.server import Fault, Sandbox
from tests.applying import ONE_CLEAN_RUN, applier_for, clean_plan, fast, submissions
from tests.helpers import write


def _wait_until(condition: Callable[[], bool], what: str, limit: float = 30.0) -> None:
    """The test's own guard against a hang, not a timing assertion."""
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.02)


class _Terminal(io.StringIO):
    """A terminal on stdin whose user typed nothing and closed it (Ctrl-D)."""

    def isatty(self) -> bool:
        return True


def test_end_of_input_at_the_confirmation_exits_4_and_submits_nothing(
    sandbox: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = write(tmp_path, ONE_CLEAN_RUN)
    monkeypatch.setattr("sys.stdin", _Terminal(""))
    code = run(["apply", str(path), "--state", str(tmp_path / "s.db")])
    err = capsys.readouterr().err
    assert code == ExitCode.INTERRUPTED
    assert "interrupted at the confirmation; nothing was submitted" in err
    assert "Aborted" not in err
    assert submissions(sandbox) == []


def test_answering_no_at_the_confirmation_is_not_an_interrupt(
    sandbox: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = write(tmp_path, ONE_CLEAN_RUN)
    monkeypatch.setattr("sys.stdin", _Terminal("n\n"))
    assert run(["apply", str(path), "--state", str(tmp_path / "s.db")]) == ExitCode.ERROR
    assert "not applied" in capsys.readouterr().err
    assert submissions(sandbox) == []


def test_a_first_interrupt_says_it_cancels_and_what_a_second_one_does(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    fast(sandbox, cleanup=Outcome(stuck_in="RUNNING", starting_seconds=0.1))
    applier, ledger, lines = applier_for(sandbox, clean_plan(sandbox, tmp_path), tmp_path)

    def interrupt_once_running() -> None:
        _wait_until(lambda: "clean: Running" in "\n".join(lines), "clean is running")
        applier.interrupt()

    threading.Thread(target=interrupt_once_running, daemon=True).start()
    try:
        result = applier.run()
    finally:
        ledger.close()
    assert result.exit_code is ExitCode.INTERRUPTED
    said = [line for line in lines if line.startswith(("interrupted", "cancel ", "second"))]
    assert said[0] == (
        "interrupted: cancelling 1 run(s) in flight (clean) and waiting for AWS to confirm; "
        "press Ctrl-C again to detach, leaving running any run whose cancel has not been sent"
    )
    assert said[1].startswith("cancel ") and said[1].endswith(
        ": sent because the apply was interrupted"
    )
    assert not any(line.startswith("second interrupt") for line in lines)
    assert result.runs["clean"].status == "Cancelled"


def test_a_second_interrupt_detaches_naming_the_runs_whose_cancel_was_not_confirmed(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    fast(sandbox, cleanup=Outcome(stuck_in="RUNNING", starting_seconds=0.1))
    sandbox.fail("TerminateJobs", Fault.delay(5.0, times=1))
    applier, ledger, lines = applier_for(sandbox, clean_plan(sandbox, tmp_path), tmp_path)

    def interrupt_twice() -> None:
        _wait_until(lambda: "clean: Running" in "\n".join(lines), "clean is running")
        applier.interrupt()
        _wait_until(lambda: sandbox.holding > 0, "the TerminateJobs call is held")
        applier.interrupt()

    threading.Thread(target=interrupt_twice, daemon=True).start()
    try:
        result = applier.run()
    finally:
        ledger.close()
    assert result.exit_code is ExitCode.INTERRUPTED
    assert lines[-1] == (
        "second interrupt: detached; may still be running in AWS (cancel not confirmed): clean"
    )
    assert result.runs["clean"].status == "Running"
