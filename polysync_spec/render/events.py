"""The engine's events (`engine/events.py`) as a person reads them, one line each, or as
JSON lines for a program. The English of `apply`, `status --watch`, `cancel` and `logs`
while they run lives here, and only here."""

from __future__ import annotations

import dataclasses
import json
import re
import time
from collections.abc import Callable
from typing import Any, assert_never

from polysync_spec.engine import events as ev
from polysync_spec.engine.phase import RunPhase
from polysync_spec.render.runs import children_text

Write = Callable[[str], None]


def text(event: ev.Event) -> str | None:
    """The line (or block) for `event`; None when it has nothing to show."""
    match event:
        case ev.RunSubmitted(key, run_id, url, native, holder):
            waits = f" ({holder} waits for {', '.join(native)})" if native else ""
            return f"{key}: submitted {run_id}{waits}  {url}"
        case ev.SlotWait(key, reason):
            return f"{key}: waiting for a free slot ({reason})"
        case ev.SettleWait(key, ev.Lost.FAILED):
            return (
                f"{key}: the failed submission is not visible in AWS; waiting for the settle "
                "time before deciding whether to send it again"
            )
        case ev.SettleWait(key, _):
            return (
                f"{key}: an interrupted submission is not visible in AWS yet; waiting for "
                "AWS's listings to catch up before deciding"
            )
        case ev.SubmissionFound(key, run_id, lost):
            return _found(key, run_id, lost)
        case ev.SubmissionAbsent(key, ev.Lost.FAILED):
            return f"{key}: the failed submission never reached AWS; sending it again"
        case ev.SubmissionAbsent(key, _):
            return f"{key}: an interrupted submission never reached AWS; submitting it"
        case ev.RunUnknown(key, message):
            return f"{key}: Unknown ({message})"
        case ev.RunSkipped(key, reason):
            return f"{key}: Skipped ({reason.message})"
        case ev.EndedEarlier(key, phase):
            return f"{key}: {phase} in an earlier apply, not submitted again{_hint(phase)}"
        case ev.Reattached(key, run_id, phase):
            return f"{key}: re-attached to {run_id} ({phase})"
        case ev.StatusChanged(key, phase, state, message, waiting_on):
            shown = f" ({state}{': ' + message if message else ''})" if state else ""
            if waiting_on:
                return f"{key}: waiting on {', '.join(waiting_on)}{shown}"
            return f"{key}: {phase}{shown}"
        case ev.ChildrenProgress(key, children):
            return f"{key}: {children_text(children)}"
        case ev.RunSettled(key, phase, message):
            return f"{key}: {phase}{': ' + message if message else ''}"
        case ev.PollFailed(platform, throttled, error):
            kind = "throttled" if throttled else "could not read statuses"
            return f"{platform}: {kind} ({error}); polling again later"
        case ev.LogTailRead(key, lines, source, note):
            if lines:
                block = "\n".join(f"    | {line}" for line in lines)
                return f"{key}: last {len(lines)} log line(s) from {source}:\n{block}"
            return f"{key}: (no logs: {note})" if note else None
        case ev.CancelRequested(run_id, reason, refusal):
            note = f" (refused: {refusal})" if refusal else ""
            return f"cancel {run_id}: {_cancel_reason(reason)}{note}"
        case ev.Detached(in_flight):
            return f"detached: {in_flight} run(s) continue in AWS"
        case ev.DetachedOnInterrupt():
            return "interrupted: detached, in-flight runs continue in AWS"
        case ev.CancellingOnInterrupt(runs):
            if not runs:
                return "interrupted: nothing in flight to cancel; stopping"
            return (
                f"interrupted: cancelling {len(runs)} run(s) in flight ({', '.join(runs)}) "
                "and waiting for AWS to confirm; press Ctrl-C again to detach, leaving "
                "running any run whose cancel has not been sent"
            )
        case ev.StoppedWaitingForCancels(uncancelled):
            if uncancelled:
                return (
                    "second interrupt: detached; may still be running in AWS (cancel not confirmed): "
                    + ", ".join(uncancelled)
                )
            return (
                "second interrupt: detached without waiting for the cancellations (every "
                "cancel was sent; AWS is stopping the runs)"
            )
        case ev.SubmissionUnanswered(key):
            return (
                f"{key}: its submission got no answer before the apply stopped; apply again "
                "to find it by its identity (it was not cancelled)"
            )
        case ev.LateSubmissionFailed(key, error):
            return (
                f"{key}: its submission failed after the interrupt ({error}); apply again to "
                "find it by its identity"
            )
        case ev.NotFollowed(key, message):
            return f"{key}: {message}"
        case ev.LookupFailed(key, error):
            return f"{key}: could not look up its unrecorded submission ({error})"
        case ev.NothingInFlight():
            return "nothing in flight"
        case ev.AllEnded(runs):
            listed = ", ".join(f"{k} {p}" for k, p in runs.items())
            if any(phase is RunPhase.UNKNOWN for phase in runs.values()):
                # A run given up (a limit, --timeout) has not ended: it may still run.
                return f"stopped following; a run shown Unknown may still be running: {listed}"
            return "every run has ended: " + listed
        case _:
            assert_never(event)  # a new event needs its line here (or None)


def _found(key: str, run_id: str, lost: ev.Lost) -> str:
    if lost is ev.Lost.FAILED:
        return f"{key}: the submission went through despite the error ({run_id})"
    if lost is ev.Lost.UNRECORDED:
        return f"{key}: found {run_id}, submitted but never recorded"
    return f"{key}: found {run_id} from an interrupted submission"


def _hint(phase: RunPhase) -> str:
    """Which apply flag submits a run that an earlier apply ended in `phase`."""
    if phase.retryable:
        return " (apply --retry-failed submits it again)"
    if phase is RunPhase.UNKNOWN:
        return " (check it in the console; apply --rerun starts every run afresh)"
    return " (apply --rerun starts every run afresh)"


def _cancel_reason(reason: ev.CancelReason) -> str:
    if reason.cause is ev.CancelCause.ON_FAILURE:
        return f"on_failure: cancel after '{reason.failed}' failed"
    if reason.cause is ev.CancelCause.REQUESTED:
        return "cancel requested"
    return "sent because the apply was interrupted"  # not: the cancel was interrupted


def text_sink(write: Write) -> ev.Sink:
    """A sink writing each event's text with `write` (events without text are dropped)."""

    def sink(event: ev.Event) -> None:
        line = text(event)
        if line is not None:
            write(line)

    return sink


# ---------------------------------------------------------------- JSON lines


def name(event: ev.Event) -> str:
    """`run_submitted` for RunSubmitted: the `event` field of a JSON line."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(event).__name__).lower()


def json_line(event: ev.Event, at: float) -> str:
    """One JSON object on one line: `event` (its name), `at` (epoch seconds), then the
    event's fields; enums as their values, nested reasons as objects."""
    document: dict[str, Any] = {"event": name(event), "at": round(at, 3)}
    document.update(dataclasses.asdict(event))
    return json.dumps(document, default=_plain, separators=(",", ":"))


def _plain(value: Any) -> Any:
    """What json cannot write by itself: mappings other than dicts."""
    return dict(value)


def result_line(document: dict[str, Any]) -> str:
    """The last JSON line of `apply --output jsonl`: the `--output json` document, as an
    `apply_ended` event."""
    return json.dumps({"event": "apply_ended", **document}, separators=(",", ":"))


def json_sink(write: Write, clock: Callable[[], float] = time.time) -> ev.Sink:
    """A sink writing each event as a JSON line, stamped with `clock`."""

    def sink(event: ev.Event) -> None:
        write(json_line(event, clock()))

    return sink
