"""Event-driven waiting against polling: AWS calls while N Batch runs are in flight.

    python -m benchmarks.events [N ...]        (default: 100 300)

For each N, apply runs N Batch jobs (each running a few seconds) once polling and once
with the platform's `events_queue` (after `polysync events setup`), as separate
processes against one sandbox; the calls the emulator received from the first
SubmitJob on (submissions excluded) are counted by operation. Figures, not assertions: the tests assert the
bound (tests/test_events_waiting.py).
"""

from __future__ import annotations

import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from benchmarks.harness import POLYSYNC, env_for, measure, table
from benchmarks.scenarios import fresh
from polysync_spec.sandbox.lifecycle import Outcome
from polysync_spec.sandbox.server import Sandbox

QUEUE = "polysync-bench-events"
RUNNING_SECONDS = 30.0  # long enough that polling polls, as real runs make it
JOB_SERVICES = frozenset({"DescribeJobs", "ListJobs", "GetJobRun", "GetJobRuns"})


def _manifest(n: int, events: bool) -> str:
    queue = f", events_queue: {QUEUE}" if events else ""
    runs = "".join(f"      - {{name: r{i}, job: clean}}\n" for i in range(n))
    return (
        "version: 1\nplatforms:\n"
        f"  batch: {{type: aws_batch, region: us-east-1, default_job_queue: etl-standard{queue}}}\n"
        "jobs:\n  clean: {platform: batch, external_id: cleanup}\n"
        f"run_plans:\n  p:\n    max_concurrency: {n}\n    runs:\n{runs}"
    )


def waiting_calls(sandbox: Sandbox) -> Counter[str]:
    """Calls from the first submission on, by operation, submissions excluded."""
    records = sandbox.requests()
    first = min((i for i, r in enumerate(records) if r.operation == "SubmitJob"), default=0)
    return Counter(r.operation for r in records[first:] if r.operation != "SubmitJob")


def events_scenario(sandbox: Sandbox, counts: list[int], workdir: Path) -> list[dict[str, Any]]:
    """One row per (N, mode): the calls while waiting, those to the job service, the wall
    time of the apply."""
    rows: list[dict[str, Any]] = []
    for n in counts:
        for events in (False, True):
            fresh(sandbox, None)
            sandbox.script(
                "batch", "cleanup", Outcome(starting_seconds=2.0, running_seconds=RUNNING_SECONDS)
            )
            project = workdir / f"n{n}-{'events' if events else 'poll'}"
            project.mkdir()
            (project / "polysync.yaml").write_text(_manifest(n, events))
            env = env_for(sandbox)
            if events:
                setup = measure([*POLYSYNC, "events", "setup", str(project)], env)
                assert setup.returncode == 0, setup.stderr
            result = measure(
                [*POLYSYNC, "apply", str(project), "--auto-approve",
                 "--state", str(project / "state.db")],
                env,
                sandbox,
            )  # fmt: skip
            assert result.returncode == 0, result.stderr[-2000:]
            calls = waiting_calls(sandbox)
            rows.append(
                {
                    "runs": n,
                    "waiting": "events" if events else "polling",
                    "calls while waiting": sum(calls.values()),
                    "job-service calls": sum(calls[o] for o in JOB_SERVICES),
                    "by operation": ", ".join(f"{o} {c}" for o, c in sorted(calls.items())),
                    "wall s": result.wall,
                }
            )
    return rows


def main(argv: list[str] | None = None) -> int:
    counts = [int(a) for a in (argv if argv is not None else sys.argv[1:])] or [100, 300]
    with Sandbox() as sandbox, tempfile.TemporaryDirectory() as tmp:
        rows = events_scenario(sandbox, counts, Path(tmp))
    columns = ["runs", "waiting", "calls while waiting", "job-service calls", "wall s"]
    print(table(rows, columns))
    for row in rows:
        print(f"{row['runs']} {row['waiting']}: {row['by operation']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
