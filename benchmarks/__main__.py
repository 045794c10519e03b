"""polysync benchmarks: validate, plan and apply at scale, side by side with the AWS CLI.

    .venv/bin/python -m benchmarks [--quick] [--airflow] [--json PATH]
                                   [--only validate|plan|apply|fleet|airflow]

Every scenario runs the real `polysync` command in a child process against the embedded
sandbox on 127.0.0.1, paced like a real account (30 ms a call, 50 calls a second per
service). Wall time, CPU time and peak RSS come from the kernel (wait4); AWS calls are
counted by operation at the emulator. Prints a table and writes JSON (BENCHMARKS.md
explains every column and holds the latest figures). `--airflow` adds the side by side
with Apache Airflow's amazon provider (300 Batch + 40 Glue runs of 60 s, real time),
`airflow_env.py` installs Airflow into .bench/airflow-venv on first use.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.airflow_env import PINS
from benchmarks.fleet import fleet_scenario
from benchmarks.harness import table
from benchmarks.scenarios import (
    GLUE_HISTORY,
    Settings,
    airflow_scenario,
    apply_scenario,
    plan_scenario,
    validate_scenario,
    workdir,
)
from polysync_spec.sandbox.server import Sandbox

COLUMNS = ("scenario", "wall_s", "cpu_s", "peak_rss_mib", "calls", "met")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="smaller workloads, under 2 minutes")
    parser.add_argument(
        "--json", type=Path, default=Path("benchmarks/results.json"), help="where the JSON goes"
    )
    parser.add_argument(
        "--only", choices=("validate", "plan", "apply", "fleet", "airflow"), action="append"
    )
    parser.add_argument(
        "--airflow",
        action="store_true",
        help="add the side by side with Airflow's amazon provider (a few minutes more)",
    )
    parser.add_argument(
        "--latency", type=float, default=0.03, help="seconds added to every AWS call (0.03)"
    )
    parser.add_argument(
        "--tps", type=float, default=50.0, help="calls a second per service before throttling (50)"
    )
    args = parser.parse_args(argv)
    settings = Settings(quick=args.quick, latency=args.latency, tps=args.tps)
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(key, "sandbox")  # the setup's own boto3 clients; never real
    started = time.perf_counter()
    commit = _commit()  # before the run: the tree may change while it goes
    rows: list[dict[str, Any]] = []
    # The fleet (1,200 submissions and a bulk cancel) is a full-mode scenario: --quick
    # stays a two-minute check, and `--only fleet` runs it at either size.
    chosen = args.only or [
        "validate",
        "plan",
        "apply",
        *([] if args.quick else ["fleet"]),
        *(["airflow"] if args.airflow else []),
    ]
    with workdir() as tmp, Sandbox() as sandbox:
        root = Path(tmp)
        if "validate" in chosen:
            rows += _announce(validate_scenario(settings, root))
        if "plan" in chosen:
            rows += _announce(plan_scenario(sandbox, settings, root))
        if "apply" in chosen:
            rows += _announce(apply_scenario(sandbox, settings, root))
        if "airflow" in chosen:
            rows += _announce(airflow_scenario(sandbox, settings, root))
        if "fleet" in chosen:
            rows += _announce(fleet_scenario(sandbox, settings, root))
    elapsed = time.perf_counter() - started
    print()
    print(table(rows, COLUMNS))
    for row in rows:
        extra = {k: v for k, v in row.items() if k not in COLUMNS and k != "calls_by_operation"}
        print(f"\n{row['scenario']}:")
        for key, value in extra.items():
            print(f"  {key}: {value:.2f}" if isinstance(value, float) else f"  {key}: {value}")
        print(f"  calls: {row['calls_by_operation']}")
    document = {
        "mode": "quick" if args.quick else "full",
        "commit": commit,
        "machine": _machine(),
        "settings": {
            "latency_s": settings.latency,
            "tps_per_service": settings.tps,
            "apply_runs": [
                {"time_scale": scale, "poll_interval_s": interval}
                for scale, interval in settings.apply_runs
            ],
            "side_by_side": {
                "time_scale": settings.time_scale,
                "poll_interval_s": settings.poll_interval,
            },
            "airflow": {
                "runs": {"batch": settings.airflow_size[0], "glue": settings.airflow_size[1]},
                "run_seconds": settings.airflow_seconds,
                "glue_history_runs_per_job": GLUE_HISTORY,
                "pins": list(PINS),
            },
        },
        "elapsed_s": elapsed,
        "scenarios": rows,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"\n{len(rows)} scenarios in {elapsed:.0f} s; JSON in {args.json}")
    return 0


def _announce(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for row in rows:
        print(
            f"{row['scenario']}: {row['wall_s']:.2f} s wall, {row['calls']} AWS calls", flush=True
        )
    return rows


def _commit() -> str | None:
    """The commit measured, with a + when the tree had uncommitted changes."""
    import subprocess

    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(["git", "diff", "--quiet", "HEAD"], check=False).returncode != 0
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("+" if dirty else "")


def _machine() -> dict[str, Any]:
    memory = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = int(line.split()[1]) // 1024
    except OSError:
        pass
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "memory_mib": memory,
    }


if __name__ == "__main__":
    sys.exit(main())
