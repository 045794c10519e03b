"""Attempt identities across a sequence of real applies. A mixed Glue and Batch plan (the
Batch runs scripted to fail, so that --retry-failed has work) goes through `polysync
apply` processes in a seeded random sequence: a plain apply SIGKILLed at a random moment,
a plain apply, `--retry-failed`, `--rerun` (one or both SIGKILLed too), under held
submissions (answered after the client gave up, then acted on) and Chaos faults for some
of the steps, and a last clean apply. Then the emulator's request log and objects are the
truth the ledger is checked against:

(a) every attempt identity that exists in AWS as a run is carried by exactly one run;
(b) every identity sent was recorded in the ledger before it was sent, and the
    identities that made runs are exactly the attempts the ledger adopted: each attempt
    took effect once (a resend with the same identity after a provably absent first send
    is allowed, a second run never);
(c) no run id was ever held by two ledger records (or attempts), and each record's run
    id is a run carrying that record's identity, of that run of the plan;
(d) every run of the plan ends in its true state, and `polysync status` agrees.

The ledger's `runs` table keeps only each run's current attempt (`--rerun` forgets the
rows), so the trial adds SQLite triggers to the ledger file that copy every write of a
run row into a table of its own: the history of every record across all the applies.
The triggers only observe; polysync never reads that table.
"""

from __future__ import annotations

import os
import random
import sqlite3
import subprocess
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from polysync_spec.cli import run
from polysync_spec.engine.ledger import SqliteLedger
from polysync_spec.sandbox.lifecycle import Outcome
from polysync_spec.sandbox.server import Chaos, Fault, Sandbox
from tests.reliability.workload import (
    BATCH_DEFINITION,
    GLUE_JOB,
    EmulatorRun,
    apply_command,
    cli_env,
    create_wide_job,
    emulator_attempts,
    ledger_view,
    mixed_plan,
    only_apply,
    record,
    sent_identity,
)

LONG = os.environ.get("RELIABILITY") == "long"
TRIALS = 30 if LONG else 3
RUNS = 16  # 8 Glue runs (succeed) and 8 Batch runs (fail), the first 3 Batch after Glue
CHAINED = 3
SUBMISSIONS = ("StartJobRun", "SubmitJob")
# A held submission is answered with a dropped connection after HOLD seconds and acted
# on then: longer than --submit-timeout (the client has given up), shorter than the
# submission's answer window plus the settle time (AWS acts before polysync decides).
SUBMIT_TIMEOUT = "1"
HOLD = 2.0
# Kills land up to this long after the step's first submission reached the emulator:
# during the submissions, the waits for held answers, the recovery, the polls.
KILL_WINDOW = 3.0
STEP_LIMIT = 180.0  # seconds a step may take before the trial fails (never reached)
TRUTH = {"glue": ("Success", "SUCCEEDED"), "batch": ("Failed", "FAILED")}

HISTORY = """
CREATE TABLE trial_history (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, op TEXT NOT NULL, apply_id TEXT NOT NULL,
    key TEXT NOT NULL, attempt_id TEXT, run_id TEXT, status TEXT NOT NULL, at REAL NOT NULL
);
CREATE TRIGGER trial_insert AFTER INSERT ON runs BEGIN
    INSERT INTO trial_history (op, apply_id, key, attempt_id, run_id, status, at) VALUES
    ('insert', NEW.apply_id, NEW.key, NEW.attempt_id, NEW.run_id, NEW.status, {now});
END;
CREATE TRIGGER trial_update AFTER UPDATE ON runs BEGIN
    INSERT INTO trial_history (op, apply_id, key, attempt_id, run_id, status, at) VALUES
    ('update', NEW.apply_id, NEW.key, NEW.attempt_id, NEW.run_id, NEW.status, {now});
END;
CREATE TRIGGER trial_delete AFTER DELETE ON runs BEGIN
    INSERT INTO trial_history (op, apply_id, key, attempt_id, run_id, status, at) VALUES
    ('delete', OLD.apply_id, OLD.key, OLD.attempt_id, OLD.run_id, OLD.status, {now});
END;
""".replace("{now}", "(julianday('now') - 2440587.5) * 86400.0")  # epoch seconds, to the ms


@dataclass(frozen=True)
class Step:
    flags: tuple[str, ...]
    kill: bool
    chaos: bool
    hold: bool

    @property
    def name(self) -> str:
        return " ".join(("apply", *self.flags))


@dataclass
class StepFigures:
    name: str
    killed: bool = False  # SIGKILLed while still running
    exit_code: int | None = None
    submissions: int = 0  # StartJobRun / SubmitJob requests the emulator received
    held: int = 0  # of which held (Fault.timeout, acted on after the hold)
    chaos: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    output: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "step": self.name,
            "killed": self.killed,
            "exit": self.exit_code,
            "submissions": self.submissions,
            "held": self.held,
            "chaos": self.chaos,
            "seconds": round(self.seconds, 1),
        }


@dataclass(frozen=True)
class HistoryRow:
    op: str
    key: str
    attempt_id: str | None
    run_id: str | None
    status: str
    at: float


def _steps(rng: random.Random) -> list[Step]:
    """The plan's sequence: a plain apply killed at a random moment, a plain apply,
    --retry-failed, --rerun (one or both of these killed too), faults switched on at
    random for each (at least one step with Chaos and one with a held submission), and a
    clean plain apply that must bring every run to its end."""
    flags: list[tuple[str, ...]] = [(), (), ("--retry-failed",), ("--rerun",)]
    kills = [True, False, rng.random() < 0.5, rng.random() < 0.5]
    if not any(kills[2:]):
        kills[rng.choice((2, 3))] = True
    chaos = [rng.random() < 0.5 for _ in flags]
    hold = [rng.random() < 0.5 for _ in flags]
    if not any(chaos):
        chaos[rng.randrange(len(flags))] = True
    if not any(hold):
        hold[rng.randrange(len(flags))] = True
    steps = [Step(f, k, c, h) for f, k, c, h in zip(flags, kills, chaos, hold, strict=True)]
    return [*steps, Step((), kill=False, chaos=False, hold=False)]


def _observe_ledger(state: Path) -> None:
    """Create the ledger before the first apply, with the history triggers."""
    SqliteLedger(state).close()
    db = sqlite3.connect(state)
    try:
        db.executescript(HISTORY)
    finally:
        db.close()


def _history(state: Path) -> list[HistoryRow]:
    db = sqlite3.connect(state)
    try:
        rows = db.execute(
            "SELECT op, key, attempt_id, run_id, status, at FROM trial_history ORDER BY seq"
        ).fetchall()
    finally:
        db.close()
    return [HistoryRow(*row) for row in rows]


def _ledger_runs(state: Path) -> dict[str, tuple[str, str | None, str | None]]:
    """The ledger's runs table now: key -> (status, run id, attempt id)."""
    db = sqlite3.connect(state)
    try:
        rows = db.execute("SELECT key, status, run_id, attempt_id FROM runs").fetchall()
    finally:
        db.close()
    return {key: (status, run_id, attempt) for key, status, run_id, attempt in rows}


def _submissions(sandbox: Sandbox) -> int:
    return sum(len(sandbox.requests(operation)) for operation in SUBMISSIONS)


def _wait(condition: Callable[[], bool], limit: float) -> None:
    deadline = time.monotonic() + limit
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)


def _run_step(
    sandbox: Sandbox,
    path: Path,
    state: Path,
    step: Step,
    rng: random.Random,
    output: Path,
) -> StepFigures:
    figures = StepFigures(step.name)
    chaos = None
    if step.chaos:
        chaos = Chaos(
            throttle=0.1, server_error=0.03, reset=0.02, timeout=0.01, hold_seconds=HOLD,
            seed=rng.randrange(2**32),
        )  # fmt: skip
        sandbox.chaos(chaos)
    holds: dict[str, Fault] = {}
    if step.hold:  # the next submission of one service, chosen at random
        operation = rng.choice(SUBMISSIONS)
        holds[operation] = Fault.timeout(HOLD, after=True, times=1)
        sandbox.fail(operation, holds[operation])
    before = _submissions(sandbox)
    started = time.monotonic()
    env = {**cli_env(sandbox), "AWS_RETRY_MODE": "standard", "AWS_MAX_ATTEMPTS": "8"}
    command = apply_command(
        path, state, "--submit-timeout", SUBMIT_TIMEOUT, "--settle-seconds", "1",
        "--log-lines", "0", *step.flags,
    )  # fmt: skip
    with output.open("w", encoding="utf-8") as out:
        process = subprocess.Popen(command, env=env, text=True, stdout=out, stderr=out)
        try:
            if step.kill:
                _wait(lambda: _submissions(sandbox) > before or process.poll() is not None, 60)
                time.sleep(rng.uniform(0.0, KILL_WINDOW))
                figures.killed = process.poll() is None
                process.kill()
            process.wait(timeout=STEP_LIMIT)
        finally:
            if process.poll() is None:  # the limit was reached: leave nothing running
                process.kill()
                process.wait(timeout=10)
            sandbox.chaos(None)
            for operation in holds:
                sandbox.fail(operation, None)
    figures.exit_code = process.returncode
    figures.seconds = time.monotonic() - started
    figures.submissions = _submissions(sandbox) - before
    figures.held = sum(1 - (fault.times or 0) for fault in holds.values())
    figures.chaos = dict(chaos.injected) if chaos is not None else {}
    figures.output = output.read_text(encoding="utf-8")
    return figures


def _status(state: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, tuple[str, str]]:
    """What `polysync status APPLY_ID` says of the one apply in the ledger."""
    capsys.readouterr()
    assert run(["status", "--state", str(state)]) == 0
    apply_id = only_apply(capsys.readouterr().out)
    assert run(["status", apply_id, "--state", str(state)]) == 0
    return ledger_view(capsys.readouterr().out)


def _count(steps: list[StepFigures], text: str) -> int:
    return sum(step.output.count(text) for step in steps)


@pytest.mark.reliability
@pytest.mark.parametrize("trial", range(TRIALS))
def test_every_attempt_is_one_run_and_one_ledger_record_across_kills_reruns_and_faults(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str], trial: int
) -> None:
    rng = random.Random(f"identity-{trial}")
    create_wide_job(sandbox)
    sandbox.script("glue", GLUE_JOB, Outcome(starting_seconds=0.05, running_seconds=0.25))
    sandbox.script(
        "batch",
        BATCH_DEFINITION,
        Outcome(result="FAILED", exit_code=1, starting_seconds=0.05, running_seconds=0.25),
    )
    path = mixed_plan(tmp_path, RUNS, max_concurrency=8, chained=CHAINED)
    state = tmp_path / "state.db"
    _observe_ledger(state)
    sandbox.log.clear()
    started = time.monotonic()

    done: list[StepFigures] = []
    for number, step in enumerate(_steps(rng)):
        figures = _run_step(sandbox, path, state, step, rng, tmp_path / f"step-{number}.out")
        done.append(figures)
        if not figures.killed:  # every run ends; the Batch ones fail: exit 3
            assert figures.exit_code == 3, (step, figures.output[-3000:])
    # A request held for a killed process is acted on once its hold is over; the last
    # apply has waited for it, so nothing is held any more.
    _wait(lambda: sandbox.holding == 0, 30)
    assert sandbox.holding == 0

    history = _history(state)
    truth = emulator_attempts(sandbox)
    by_identity: defaultdict[str | None, list[EmulatorRun]] = defaultdict(list)
    for emulated in truth:
        by_identity[emulated.identity].append(emulated)
    runs = {emulated.run_id: emulated for emulated in truth}

    # (a) every identity that exists in AWS as a run is carried by exactly one run
    assert None not in by_identity, by_identity[None]
    doubles = {identity: found for identity, found in by_identity.items() if len(found) > 1}
    assert doubles == {}

    # (b) every identity sent was in the ledger, with the same run of the plan, before
    # it was sent; the identities that made runs are exactly the attempts adopted
    intents: dict[str, HistoryRow] = {}
    for row in history:
        if row.attempt_id is not None and row.attempt_id not in intents:
            intents[row.attempt_id] = row
    assert all(row.status == "Submitting" and row.run_id is None for row in intents.values())
    # an identity belongs to one run of the plan, for good
    assert all(intents[row.attempt_id].key == row.key for row in history if row.attempt_id)
    sent: defaultdict[str, list[float]] = defaultdict(list)
    for operation in SUBMISSIONS:
        for request in sandbox.requests(operation):
            carried = sent_identity(request)
            if carried is None:  # cut short by a SIGKILL: AWS cannot act on it
                continue
            key, identity = carried
            assert identity is not None and identity in intents, (key, identity)
            assert intents[identity].key == key
            sent[identity].append(request.at)
    # the intent was written before the request arrived (the history's clock has
    # millisecond resolution)
    late = {i: at for i, at in sent.items() if min(at) < intents[i].at - 0.001}
    assert late == {}
    adopted: defaultdict[str, set[str]] = defaultdict(set)  # attempt -> run ids
    holders: defaultdict[str, set[tuple[str, str | None]]] = defaultdict(set)
    for row in history:
        if row.run_id is not None:
            holders[row.run_id].add((row.key, row.attempt_id))
            if row.attempt_id is not None:
                adopted[row.attempt_id].add(row.run_id)
    assert set(adopted) == set(by_identity), "runs not adopted, or adoptions with no run"
    assert len(by_identity) == len(adopted)

    # (c) no run id held by two ledger records or attempts, no attempt by two run ids;
    # each record's run carries the record's identity and belongs to its run of the plan
    assert {run_id: held for run_id, held in holders.items() if len(held) > 1} == {}
    assert {attempt: ids for attempt, ids in adopted.items() if len(ids) > 1} == {}
    for run_id, held_by in holders.items():
        ((key, attempt),) = held_by
        assert run_id in runs, f"{key} holds {run_id}, which AWS does not know"
        assert runs[run_id].identity == attempt and runs[run_id].key == key

    # (d) every run of the plan ends in its true state, and `polysync status` agrees
    final = _ledger_runs(state)
    assert sorted(final) == sorted(f"{kind}{i}" for kind in "gb" for i in range(RUNS // 2))
    for key, (status, current, attempt) in final.items():
        expected, service_state = TRUTH["glue" if key.startswith("g") else "batch"]
        assert status == expected, (key, status, current)
        assert current is not None and runs[current].state == service_state
        assert runs[current].identity == attempt
    assert len({current for _, current, _ in final.values()}) == RUNS
    shown = _status(state, capsys)
    assert shown == {key: (status, run_id or "-") for key, (status, run_id, _) in final.items()}

    requests = Counter({identity: len(times) for identity, times in sent.items()})
    record(
        f"identity-{trial}",
        runs=RUNS,
        steps=[figures.to_dict() for figures in done],
        attempts=len(intents),
        runs_in_aws=len(truth),
        identities_sent=len(sent),
        requests=sum(requests.values()),
        identities_sent_more_than_once=sum(1 for n in requests.values() if n > 1),
        intents_never_sent=len(set(intents) - set(sent)),
        sent_without_effect=len(set(sent) - set(by_identity)),
        found_after_a_kill=_count(done, "from an interrupted submission"),
        found_after_an_error=_count(done, "the submission went through despite the error"),
        never_reached_aws=_count(done, "an interrupted submission never reached AWS"),
        sent_again=_count(done, "the failed submission never reached AWS; sending it again"),
        seconds=round(time.monotonic() - started, 1),
    )
