"""Applying a plan: the use case `polysync apply` and `polysync demo` share.

`require_fresh` refuses a plan file whose live objects changed since it was made (plans
come from `app.planning.plan_project`); `executor_for` builds the executor with a client
per platform of the plan and the command's settings; `run` applies it, with Ctrl-C, SIGTERM
and SIGHUP turned into the executor's interrupts. Nothing here prints: the caller chooses
the sink that renders the executor's events.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from polysync_spec.engine.events import Sink, discard
from polysync_spec.engine.execute import ApplyResult, Executor
from polysync_spec.engine.ledger import Ledger
from polysync_spec.engine.listen import EventWaiting
from polysync_spec.engine.model import Plan
from polysync_spec.engine.monitor import Limits, PollPolicy
from polysync_spec.errors import PolysyncError
from polysync_spec.providers.base import RunClient


@dataclass(frozen=True)
class ApplySettings:
    """How an apply runs: what `polysync apply`'s options set; the defaults are the
    options' defaults."""

    poll: PollPolicy = field(default_factory=PollPolicy)
    on_interrupt: str = "cancel"
    detach: bool = False
    max_concurrency: int | None = None
    timeout: float | None = None
    stall_timeout: float = 3600.0
    log_lines: int = 30
    settle_seconds: float = 60.0
    rerun: bool = False
    retry_failed: bool = False
    # Event-driven waiting for the platforms with an `events_queue` (False: poll them as
    # the others), and the seconds between its reconcile reads.
    events: bool = True
    reconcile_seconds: float = 300.0


def require_fresh(project: Any, saved: Plan, sessions: Any) -> None:
    """Refuse a plan file whose live objects changed since it was made, or that does not
    fit its manifests (run plan, platforms, and each secret's `$env` reference). The
    manifests must have loaded without errors."""
    from polysync_spec.app.planning import plan_project
    from polysync_spec.engine.planfile import check_against_manifests, check_secret_references

    check_against_manifests(saved, project)
    replanned = plan_project(project, saved.run_plan, sessions, manifest_path=saved.manifest_path)
    check_secret_references(saved, replanned)
    now = replanned.fingerprints
    changed = [
        f"{key}: was {saved.fingerprints.get(key, 'absent')}, now {now.get(key, 'absent')}"
        for key in sorted(set(now) | set(saved.fingerprints))
        if now.get(key) != saved.fingerprints.get(key)
    ]
    if changed:
        raise PolysyncError(
            "stale plan: live objects changed since it was made:\n  "
            + "\n  ".join(changed)
            + "\nrun polysync plan again"
        )


def executor_for(
    plan: Plan,
    project: Any,
    sessions: Any,
    ledger: Ledger,
    *,
    env: Mapping[str, str],
    settings: ApplySettings | None = None,
    sink: Sink = discard,
) -> Executor:
    """The executor of `plan`: a provider for each platform its runs use, built from the
    project's platforms and `sessions` (whose clock and answer window the exactly-once
    protocol follows)."""
    from polysync_spec.providers.clients import client_for, event_feeds

    settings = settings or ApplySettings()
    names = sorted({run.platform for run in plan.runs})
    providers: dict[str, RunClient] = {
        name: client_for(name, project.platforms[name], sessions) for name in names
    }
    feeds = (
        event_feeds({name: project.platforms[name] for name in names}, sessions)
        if settings.events and not settings.detach
        else {}
    )
    gather = min(settings.poll.minimum, settings.reconcile_seconds)
    return Executor(
        plan,
        providers,
        ledger,
        env=env,
        poll=settings.poll,
        on_interrupt=settings.on_interrupt,
        detach=settings.detach,
        max_concurrency=settings.max_concurrency,
        sink=sink,
        timeout=settings.timeout,
        limits=Limits(stall=settings.stall_timeout),
        log_lines=settings.log_lines,
        settle_seconds=settings.settle_seconds,
        answer_window=sessions.answer_window,
        clock=sessions.clock,
        rerun=settings.rerun,
        retry_failed=settings.retry_failed,
        events=EventWaiting(feeds, settings.reconcile_seconds, gather=gather) if feeds else None,
    )


def run(executor: Executor, *, signals: bool = True) -> ApplyResult:
    """Apply. With `signals`, SIGINT / SIGTERM (a cancelled CI job) / SIGHUP (a closed
    terminal) interrupt it, and a second one detaches."""
    if not signals:
        return executor.run()
    with _interrupted_by_signals(executor):
        return executor.run()


@contextlib.contextmanager
def _interrupted_by_signals(executor: Executor) -> Iterator[None]:
    import signal

    def handler(_signum: int, _frame: Any) -> None:
        executor.interrupt()

    signals = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {sig: signal.signal(sig, handler) for sig in signals}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
