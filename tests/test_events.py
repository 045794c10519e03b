"""The engine's events as people and programs read them: one stream with every event
type, rendered as the English lines apply has always printed, and as JSON lines; then
`apply --output jsonl` end to end."""

from __future__ import annotations

import json
import typing
from pathlib import Path

import pytest

from polysync_spec.cli import run
from polysync_spec.engine import events as ev
from polysync_spec.engine.phase import RunPhase
from polysync_spec.engine.schedule import INTERRUPTED, SkipReason
from polysync_spec.errors import ExitCode
from polysync_spec.manifest.models import Condition, OnFailure
from polysync_spec.providers.base import Refusal
from polysync_spec.render.events import json_line, json_sink, name, text, text_sink
from polysync_spec.sandbox.server import Sandbox
from tests.applying import ONE_CLEAN_RUN, fast
from tests.helpers import write

URL = "https://console.example/run/1"
STREAM: list[tuple[ev.Event, str | None]] = [
    (ev.RunSubmitted("load", "jr_1", URL), f"load: submitted jr_1  {URL}"),
    (
        ev.RunSubmitted("clean", "job-2", URL, ("export",), "Batch"),
        f"clean: submitted job-2 (Batch waits for export)  {URL}",
    ),
    (
        ev.SlotWait("load", "MaxConcurrentRuns 2"),
        "load: waiting for a free slot (MaxConcurrentRuns 2)",
    ),
    (
        ev.SettleWait("clean", ev.Lost.FAILED),
        "clean: the failed submission is not visible in AWS; waiting for the settle time "
        "before deciding whether to send it again",
    ),
    (
        ev.SettleWait("clean", ev.Lost.INTERRUPTED),
        "clean: an interrupted submission is not visible in AWS yet; waiting for AWS's "
        "listings to catch up before deciding",
    ),
    (
        ev.SubmissionFound("clean", "job-3", ev.Lost.FAILED),
        "clean: the submission went through despite the error (job-3)",
    ),
    (
        ev.SubmissionFound("clean", "job-3", ev.Lost.INTERRUPTED),
        "clean: found job-3 from an interrupted submission",
    ),
    (
        ev.SubmissionFound("clean", "job-3", ev.Lost.UNRECORDED),
        "clean: found job-3, submitted but never recorded",
    ),
    (
        ev.SubmissionAbsent("clean", ev.Lost.FAILED),
        "clean: the failed submission never reached AWS; sending it again",
    ),
    (
        ev.SubmissionAbsent("clean", ev.Lost.INTERRUPTED),
        "clean: an interrupted submission never reached AWS; submitting it",
    ),
    (ev.RunUnknown("clean", "check the console"), "clean: Unknown (check the console)"),
    (
        ev.RunSkipped("clean", SkipReason.unmet("check", RunPhase.FAILED, Condition.SUCCEEDED)),
        "clean: Skipped ('check' ended Failed; this run needs it succeeded)",
    ),
    (
        ev.RunSkipped("clean", SkipReason.stopped(OnFailure.STOP, "check")),
        "clean: Skipped (on_failure: stop after 'check' failed)",
    ),
    (ev.RunSkipped("clean", INTERRUPTED), "clean: Skipped (the apply was interrupted)"),
    (
        ev.EndedEarlier("check", RunPhase.FAILED),
        "check: Failed in an earlier apply, not submitted again (apply --retry-failed "
        "submits it again)",
    ),
    (
        ev.EndedEarlier("check", RunPhase.SUCCESS),
        "check: Success in an earlier apply, not submitted again (apply --rerun starts "
        "every run afresh)",
    ),
    (
        ev.EndedEarlier("check", RunPhase.UNKNOWN),
        "check: Unknown in an earlier apply, not submitted again (check it in the console; "
        "apply --rerun starts every run afresh)",
    ),
    (
        ev.Reattached("load", "jr_1", RunPhase.SUBMITTING),
        "load: re-attached to jr_1 (Submitting)",
    ),
    (
        ev.StatusChanged("clean", RunPhase.STARTING, "RUNNABLE", "CAPACITY"),
        "clean: Starting (RUNNABLE: CAPACITY)",
    ),
    (ev.StatusChanged("load", RunPhase.RUNNING, None, None), "load: Running"),
    (
        ev.ChildrenProgress("thumbs", {"SUCCEEDED": 3, "FAILED": 1, "RUNNING": 1}),
        "thumbs: 3/5 succeeded, 1 failed, 1 running",
    ),
    (ev.RunSettled("check", RunPhase.FAILED, "boom"), "check: Failed: boom"),
    (ev.RunSettled("load", RunPhase.SUCCESS, None), "load: Success"),
    (
        ev.PollFailed("batch", True, "ClientError"),
        "batch: throttled (ClientError); polling again later",
    ),
    (
        ev.PollFailed("glue", False, "EndpointConnectionError"),
        "glue: could not read statuses (EndpointConnectionError); polling again later",
    ),
    (
        ev.LogTailRead("check", ("one", "two"), "/aws-glue/jobs/error / jr_1", None),
        "check: last 2 log line(s) from /aws-glue/jobs/error / jr_1:\n    | one\n    | two",
    ),
    (ev.LogTailRead("check", (), None, "no stream"), "check: (no logs: no stream)"),
    (ev.LogTailRead("check", (), None, None), None),
    (
        ev.CancelRequested("jr_1", ev.CancelReason(ev.CancelCause.INTERRUPTED), None),
        "cancel jr_1: sent because the apply was interrupted",
    ),
    (
        ev.CancelRequested(
            "jr_1",
            ev.CancelReason(ev.CancelCause.ON_FAILURE, "check"),
            Refusal("InvalidInputException", "already stopped"),
        ),
        "cancel jr_1: on_failure: cancel after 'check' failed (refused: InvalidInputException: "
        "already stopped)",
    ),
    (
        ev.CancelRequested("jr_1", ev.CancelReason(ev.CancelCause.REQUESTED), None),
        "cancel jr_1: cancel requested",
    ),
    (ev.Detached(2), "detached: 2 run(s) continue in AWS"),
    (ev.DetachedOnInterrupt(), "interrupted: detached, in-flight runs continue in AWS"),
    (
        ev.CancellingOnInterrupt(("load", "clean")),
        "interrupted: cancelling 2 run(s) in flight (load, clean) and waiting for AWS to "
        "confirm; press Ctrl-C again to detach, leaving running any run whose cancel has not "
        "been sent",
    ),
    (ev.CancellingOnInterrupt(()), "interrupted: nothing in flight to cancel; stopping"),
    (
        ev.StoppedWaitingForCancels(),
        "second interrupt: detached without waiting for the cancellations (every cancel was "
        "sent; AWS is stopping the runs)",
    ),
    (
        ev.StoppedWaitingForCancels(("clean",)),
        "second interrupt: detached; may still be running in AWS (cancel not confirmed): clean",
    ),
    (
        ev.SubmissionUnanswered("clean"),
        "clean: its submission got no answer before the apply stopped; apply again to find "
        "it by its identity (it was not cancelled)",
    ),
    (
        ev.LateSubmissionFailed("clean", "boom"),
        "clean: its submission failed after the interrupt (boom); apply again to find it by "
        "its identity",
    ),
    (ev.NotFollowed("load", "cannot be followed: gone"), "load: cannot be followed: gone"),
    (
        ev.LookupFailed("clean", "ClientError"),
        "clean: could not look up its unrecorded submission (ClientError)",
    ),
    (ev.NothingInFlight(), "nothing in flight"),
    (
        # Given up at --timeout: not ended (found by a fresh tester).
        ev.AllEnded({"load": RunPhase.FAILED, "export": RunPhase.UNKNOWN}),
        "stopped following; a run shown Unknown may still be running: load Failed, export Unknown",
    ),
    (
        ev.AllEnded({"load": RunPhase.SUCCESS, "clean": RunPhase.CANCELLED}),
        "every run has ended: load Success, clean Cancelled",
    ),
]


def test_the_stream_has_every_event_type() -> None:
    assert {type(event) for event, _ in STREAM} == set(typing.get_args(ev.Event))


@pytest.mark.parametrize(("event", "line"), STREAM, ids=[name(e) for e, _ in STREAM])
def test_each_event_reads_as_the_engine_always_printed_it(
    event: ev.Event, line: str | None
) -> None:
    assert text(event) == line


def test_a_text_sink_writes_the_lines_and_drops_events_without_text() -> None:
    lines: list[str] = []
    sink = text_sink(lines.append)
    for event, _ in STREAM:
        sink(event)
    assert lines == [line for _, line in STREAM if line is not None]


def test_an_event_stream_renders_as_json_lines() -> None:
    written: list[str] = []
    sink = json_sink(written.append, clock=lambda: 1700000000.25)
    for event, _ in STREAM:
        sink(event)
    assert len(written) == len(STREAM)
    assert all("\n" not in line for line in written)  # one object per line, log blocks too
    documents = [json.loads(line) for line in written]
    assert [d["event"] for d in documents][:3] == ["run_submitted", "run_submitted", "slot_wait"]
    assert {d["at"] for d in documents} == {1700000000.25}
    by_event = {d["event"]: d for d in documents}
    assert documents[1] == {
        "event": "run_submitted",
        "at": 1700000000.25,
        "key": "clean",
        "run_id": "job-2",
        "url": URL,
        "native_after": ["export"],
        "holder": "Batch",
    }
    skipped = next(d for d in documents if d["event"] == "run_skipped")
    assert skipped["reason"] == {
        "cause": "condition",
        "upstream": "check",
        "upstream_phase": "Failed",
        "condition": "succeeded",
        "on_failure": None,
    }
    refused = [d for d in documents if d["event"] == "cancel_requested"][1]
    assert refused["reason"] == {"cause": "on_failure", "failed": "check"}
    assert refused["refusal"] == {
        "code": "InvalidInputException",
        "message": "already stopped",
        "retryable": False,
    }
    assert by_event["children_progress"]["children"] == {"SUCCEEDED": 3, "FAILED": 1, "RUNNING": 1}
    assert by_event["log_tail_read"]["lines"] == []  # the last one: no lines, no note
    assert by_event["all_ended"]["runs"] == {"load": "Success", "clean": "Cancelled"}
    assert by_event["detached_on_interrupt"] == {
        "event": "detached_on_interrupt",
        "at": 1700000000.25,
    }


def test_json_line_stamps_the_time_given() -> None:
    line = json_line(ev.NothingInFlight(), at=12.3456)
    assert json.loads(line) == {"event": "nothing_in_flight", "at": 12.346}


def test_apply_output_jsonl_is_events_then_the_result(
    sandbox: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fast(sandbox)
    path = write(tmp_path, ONE_CLEAN_RUN)
    monkeypatch.chdir(tmp_path)
    code = run(["apply", str(path), "--auto-approve", "--output", "jsonl"])
    out, err = capsys.readouterr()
    assert code == ExitCode.OK, err
    documents = [json.loads(line) for line in out.splitlines()]
    events = [d["event"] for d in documents]
    assert events[0] == "run_submitted" and events[-1] == "apply_ended"
    assert documents[0]["key"] == "clean" and documents[0]["url"].startswith("https://")
    settled = next(d for d in documents if d["event"] == "run_settled")
    assert (settled["key"], settled["phase"]) == ("clean", "Success")
    result = documents[-1]
    assert result["exit_code"] == 0 and [r["status"] for r in result["runs"]] == ["Success"]
    assert "clean" in err  # the plan, shown before the apply, goes to stderr
