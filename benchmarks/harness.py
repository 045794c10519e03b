"""Measuring a process: wall time, CPU time and peak RSS from the kernel (wait4), and AWS
calls by operation as the emulator received them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from polysync_spec.sandbox.server import Sandbox

POLYSYNC = [sys.executable, "-m", "polysync_spec"]
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Measured:
    """One process tree's cost. CPU and RSS come from wait4, so they include every child
    the process waited for (the AWS CLI processes a shell script starts)."""

    wall: float
    cpu: float
    peak_rss_mib: float
    returncode: int
    stdout: str
    stderr: str
    calls: Counter[str] = field(default_factory=Counter)
    marks: dict[str, float] = field(default_factory=dict)  # e.g. CPU seconds at a moment

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())


def measure(
    command: Sequence[str],
    env: Mapping[str, str],
    sandbox: Sandbox | None = None,
    *,
    watch: Callable[[int, Measured], None] | None = None,
) -> Measured:
    """Run `command` to its end. `watch(pid, result)` runs in a thread alongside, to take
    marks while the process lives (e.g. its CPU time when the last run was submitted)."""
    if sandbox is not None:
        sandbox.log.clear()
    with (
        tempfile.TemporaryFile("w+") as out,
        tempfile.TemporaryFile("w+") as err,
        tempfile.NamedTemporaryFile("r", suffix=".usage") as usage_file,
    ):
        started = time.perf_counter()
        # Through a small launcher: a child forked or spawned from this process would
        # report this process's peak RSS (the emulator's) as its own, since the kernel
        # keeps the larger of the two across exec.
        launcher = subprocess.Popen(
            [sys.executable, "-c", _LAUNCHER, usage_file.name, *command],
            env=dict(env), stdout=out, stderr=err,
        )  # fmt: skip
        result = Measured(0.0, 0.0, 0.0, 0, "", "")
        watcher = None
        if watch is not None:
            pid = _child_pid(usage_file.name, launcher)
            if pid is not None:
                watcher = threading.Thread(target=watch, args=(pid, result), daemon=True)
                watcher.start()
        launcher.wait()
        result.wall = time.perf_counter() - started
        if watcher is not None:
            watcher.join(timeout=5)
        lines = Path(usage_file.name).read_text().splitlines()
        if len(lines) < 2:
            raise RuntimeError(f"could not run {command[0]}: launcher exited {launcher.returncode}")
        usage = json.loads(lines[1])
        out.seek(0)
        err.seek(0)
        result.cpu = usage["cpu"]
        result.peak_rss_mib = usage["maxrss_kib"] / 1024
        result.returncode = usage["returncode"]
        result.stdout, result.stderr = out.read(), err.read()
    if sandbox is not None:
        result.calls = Counter(sandbox.log.counts())
    return result


# Spawns the command, writes its pid, waits, writes its rusage (self and descendants).
_LAUNCHER = """
import json, os, shutil, sys
path, command = sys.argv[1], sys.argv[2:]
pid = os.posix_spawn(shutil.which(command[0]) or command[0], command, dict(os.environ))
with open(path, "w") as f:
    f.write(f"{pid}\\n")
_, status, ru = os.wait4(pid, 0)
with open(path, "a") as f:
    f.write(json.dumps({"cpu": ru.ru_utime + ru.ru_stime, "maxrss_kib": ru.ru_maxrss,
                        "returncode": os.waitstatus_to_exitcode(status)}) + "\\n")
"""


def _child_pid(path: str, launcher: subprocess.Popen[bytes]) -> int | None:
    while launcher.poll() is None:
        text = Path(path).read_text()
        if text.endswith("\n"):
            return int(text.splitlines()[0])
        time.sleep(0.005)
    return None


def cpu_seconds(pid: int) -> float:
    """A live process's CPU time so far (user + system), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def env_for(sandbox: Sandbox, **extra: str) -> dict[str, str]:
    """A child's environment: the sandbox's endpoint and keys, nothing of the caller's AWS."""
    keep = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return {**keep, **sandbox.env(), "AWS_CONFIG_FILE": os.devnull, **extra}


def describe_rounds(sandbox: Sandbox) -> list[tuple[int, int]]:
    """DescribeJobs calls grouped into poll rounds, from the wire: a round ends when a job
    id is asked for again. (calls, distinct jobs) per round."""
    rounds: list[tuple[int, int]] = []
    seen: set[str] = set()
    calls = 0
    for request in sandbox.log.items("DescribeJobs"):
        ids = set((request.params or {}).get("jobs", []))
        if ids & seen:
            rounds.append((calls, len(seen)))
            seen, calls = set(), 0
        seen |= ids
        calls += 1
    if calls:
        rounds.append((calls, len(seen)))
    return rounds


def table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    cells = [[_cell(row.get(column)) for column in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}" if value < 100 else f"{value:.0f}"
    return str(value)
