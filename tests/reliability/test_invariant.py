"""The promise behind `validate` in CI: what it accepts, every command handles.

Hypothesis starts from a manifest set that matches the seeded sandbox's jobs and damages
it as people do (keys dropped, misspelled, retyped, moved, copied, added), as a whole set
of files. Every set that `validate` passes goes through `graph`, `plan --out` and `show` for
each of its run plans and `apply` of a plan file (against the sandbox), and none of them
may raise anything but the tool's own errors: no "internal error". 100 sets in the bounded
run, 1,500 with RELIABILITY=long.
"""

from __future__ import annotations

import contextlib
import copy
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from polysync_spec import load_project, validate
from polysync_spec.cli import apply as cli_apply
from polysync_spec.cli import plan as cli_plan
from polysync_spec.cli.group import cli
from polysync_spec.errors import PolysyncError
from polysync_spec.manifest import models as m
from polysync_spec.providers.aws import Sessions
from polysync_spec.sandbox.server import Sandbox, apply_outcomes
from tests.reliability.workload import record

LONG = os.environ.get("RELIABILITY") == "long"
EXAMPLES = 1500 if LONG else 100
ENV = {"ORDERS_API_TOKEN": "invariant-token", "OTHER_TOKEN": "other-token"}

# Matches polysync_spec/sandbox/seed.yaml: every job, queue and definition exists there, so
# the unmutated set plans clean and applies.
BASE: dict[str, dict[str, Any]] = {
    "polysync.yaml": {
        "version": 1,
        "variables": {
            "run_date": {"default": "2026-01-01", "description": "Partition"},
            "workers": {"default": 3, "type": "integer"},
        },
        "platforms": {
            "glue": {
                "type": "aws_glue",
                "region": "us-east-1",
                "defaults": {"worker_type": "G.1X", "number_of_workers": 2},
            },
            "batch": {
                "type": "aws_batch",
                "region": "us-east-1",
                "default_job_queue": "etl-standard",
            },
        },
        "targets": {
            "dev": {
                "variables": {"run_date": "2026-02-02"},
                "platforms": {"batch": {"default_job_queue": "etl-high"}},
            }
        },
    },
    "jobs/jobs.yaml": {
        "jobs": {
            "orders": {
                "platform": "glue",
                "external_id": "orders-etl",
                "parameters": {
                    "source_path": "s3://raw/orders/",
                    "row_limit": {"value": 1000, "type": "integer"},
                    "api_token": {"value": "${env.ORDERS_API_TOKEN}", "secret": True},
                },
                "compute": {"number_of_workers": "${var.workers}", "glue_version": "4.0"},
            },
            "customers": {
                "platform": "glue",
                "external_id": "customers-etl",
                "parameters": {"full_refresh": False},
            },
            "export": {
                "platform": "batch",
                "external_id": "nightly-export:3",
                "job_queue": "etl-high",
                "retry_attempts": 2,
                "attempt_duration_seconds": 600,
                "tags": {"team": "analytics"},
                "propagate_tags": True,
                "parameters": {"input_path": "s3://exports/in/", "partners": "a,b"},
            },
            "clean": {
                "platform": "batch",
                "type": "aws_batch_job",
                "external_id": "cleanup",
                "parameters": {"older_than_days": 7},
            },
        }
    },
    "run_plans.yaml": {
        "run_plans": {
            "nightly": {
                "max_concurrency": 2,
                "on_failure": "continue",
                "runs": [
                    {
                        "job": "orders",
                        "parameters": {"source_path": "s3://raw/orders/${var.run_date}/"},
                        "compute": {"number_of_workers": 4},
                    },
                    {"job": "customers"},
                    {"job": "export", "after": ["orders", {"run": "customers", "on": "completed"}]},
                    {
                        "job": "clean",
                        "name": "tidy",
                        "after": [{"run": "export", "on": "failed"}],
                        "compute": {"job_queue": "etl-standard", "array_size": 2},
                    },
                ],
            },
            "single": {"runs": [{"job": "clean"}]},
        }
    },
}


def _field_names() -> list[str]:
    names: set[str] = set()
    for model in vars(m).values():
        if isinstance(model, type) and issubclass(model, m.Model) and model is not m.Model:
            names.update(model.model_fields)
    return sorted(names)


KEYS = _field_names()
NAMES = ["glue", "batch", "orders", "customers", "export", "clean", "tidy", "nightly", "dev"]
VALUES: list[Any] = [
    None, True, False, 0, 1, -1, 2, 60, 20000, 2.5, "", "x", "4.0", "G.2X", "us-east-1",
    "aws_glue", "aws_batch", "aws_glue_job", "aws_batch_job", "etl-high", "media-fair-share",
    "cleanup", "nightly-export:1", "orders-quality", "succeeded", "failed", "completed",
    "cancel", "SEQUENTIAL", "${var.run_date}", "${var.workers}", "${env.ORDERS_API_TOKEN}",
    "${env.OTHER_TOKEN}", "${target}", "http://127.0.0.1:9/", [], {}, ["orders"],
    {"value": 1}, {"run": "orders"}, {"job": "clean"}, {"method": "default"}, *NAMES,
]  # fmt: skip

Path_ = tuple[str | int, ...]


def _containers(node: Any, path: Path_ = ()) -> list[Path_]:
    """Every mapping and list in the set, by path (the first segment is the file)."""
    found: list[Path_] = []
    if isinstance(node, dict | list):
        found.append(path)
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in items:
            found.extend(_containers(value, (*path, key)))
    return found


def _entries(files: dict[str, Any]) -> list[Path_]:
    """Every key of a mapping and item of a list, by path."""
    found: list[Path_] = []
    for path in _containers(files):
        node = _at(files, path)
        if path:  # not the file table itself
            keys = list(node) if isinstance(node, dict) else range(len(node))
            found.extend((*path, key) for key in keys)
    return found


def _at(node: Any, path: Path_) -> Any:
    for segment in path:
        node = node[segment]
    return node


def _misspell(word: str, how: int, at: int) -> str:
    if not word:
        return "x"
    at %= len(word)
    if how == 0 and len(word) > 1:  # transpose
        at = min(at, len(word) - 2)
        return word[:at] + word[at + 1] + word[at] + word[at + 2 :]
    if how == 1 and len(word) > 1:  # drop
        return word[:at] + word[at + 1 :]
    if how == 2:  # double
        return word[: at + 1] + word[at:]
    return word[:at] + ("a" if word[at] != "a" else "e") + word[at + 1 :]  # replace


# Weighted toward the damage that often still validates (a dropped optional key, a value
# swapped with a sibling's): those sets reach the commands, and they are the edge cases.
OPERATIONS = [
    *["drop"] * 3, *["retype"] * 3, *["swap"] * 3, "misspell", "move", "copy", "add",
]  # fmt: skip


@st.composite
def manifest_sets(draw: st.DrawFn) -> dict[str, Any]:
    files = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(1, 3))):
        entries = _entries(files)
        if not entries:
            break
        path = entries[draw(st.integers(0, len(entries) - 1))]
        parent, key = _at(files, path[:-1]), path[-1]
        op = draw(st.sampled_from(OPERATIONS))
        if op == "drop":
            del parent[key]
        elif op == "misspell" and isinstance(key, str):
            spelled = _misspell(key, draw(st.integers(0, 3)), draw(st.integers(0, 40)))
            parent[spelled] = parent.pop(key)
        elif op == "retype":
            parent[key] = copy.deepcopy(draw(st.sampled_from(VALUES)))
        elif op == "swap":
            # With another entry of the same key elsewhere: `platform: glue` <-> `batch`.
            others = [e for e in entries if e[-1] == key and e != path]
            if others:
                other = others[draw(st.integers(0, len(others) - 1))]
                there = _at(files, other[:-1])
                parent[key], there[key] = there[key], parent[key]
        elif op in ("move", "copy"):
            value = parent[key] if op == "copy" else parent.pop(key)
            targets = _containers(files)[1:]
            if not targets:
                continue
            target = _at(files, targets[draw(st.integers(0, len(targets) - 1))])
            if isinstance(target, dict):
                name = key if isinstance(key, str) else draw(st.sampled_from(KEYS))
                target[name] = copy.deepcopy(value)
            else:
                target.append(copy.deepcopy(value))
        elif op == "add":
            containers = _containers(files)[1:]
            target = _at(files, containers[draw(st.integers(0, len(containers) - 1))])
            value = copy.deepcopy(draw(st.sampled_from(VALUES)))
            if isinstance(target, dict):
                target[draw(st.sampled_from(KEYS))] = value
            else:
                target.append(value)
    return files


def _misspelled_platform() -> dict[str, Any]:
    files = copy.deepcopy(BASE)
    clean = files["jobs/jobs.yaml"]["jobs"]["clean"]
    del clean["type"]
    clean["platfrom"] = clean.pop("platform")
    return files


def _write(directory: Path, files: dict[str, Any]) -> None:
    for name, content in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(content, sort_keys=False), encoding="utf-8")


def _command(argv: list[str]) -> None:
    """Run one command as `polysync` would, minus the catch-all that turns any other
    exception into "internal error": here such an exception fails the test, traceback
    and all. The tool's own errors, usage errors included, are fine outcomes."""
    with contextlib.suppress(
        PolysyncError, click.ClickException, click.exceptions.Exit, click.Abort
    ):
        cli.main(args=argv, standalone_mode=False)


def _exercise(directory: Path, tally: Counter[str]) -> None:
    """Every command over a set that validated clean: graph, plan --out and show for each
    run plan; apply (the slow one: it runs the runs) for the first one."""
    project = load_project(directory, unset_env_severity=None)
    targets = [None, *sorted(project.targets)]
    for index, run_plan in enumerate(sorted(project.run_plans)):
        target = targets[len(run_plan) % len(targets)]  # both, across the run plans
        chosen = ["-r", run_plan, *(["--target", target] if target else [])]
        for fmt in ("mermaid", "dot", "text"):
            _command(["graph", str(directory), *chosen, "--format", fmt])
        out = directory / f"{run_plan}.plan.json"
        _command(["plan", str(directory), *chosen, "--out", str(out), "-o", "markdown"])
        tally["planned"] += 1
        if not out.exists():
            continue
        for output in ("text", "json", "markdown", "github"):
            _command(["show", str(out), "-o", output])
        if index:
            continue
        state = directory / "state.db"
        _command(
            ["apply", str(out), "--auto-approve", "--state", str(state), "--poll-interval", "0.05"]
        )
        tally["applied"] += 1


@pytest.mark.reliability
def test_what_validate_accepts_every_command_handles(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    apply_outcomes({"default": {"starting_seconds": 0.0, "running_seconds": 0.0}})
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    # One set of AWS sessions for every command: botocore reads its service models once
    # per session, which would otherwise be most of each command's time.
    shared = Sessions(sandbox_url=sandbox.endpoint_url)

    @contextlib.contextmanager
    def sessions(_use_sandbox: bool, **_options: Any) -> Iterator[Sessions]:
        yield shared

    monkeypatch.setattr(cli_plan, "aws_sessions", sessions)
    monkeypatch.setattr(cli_apply, "aws_sessions", sessions)
    tally: Counter[str] = Counter()

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=not LONG,  # the CI run is the same every time; the long mode explores
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        database=None,
    )
    @given(manifest_sets())
    # The misspelled `platform` of issue 17: validate passed it, plan/apply/graph crashed.
    @example(files=_misspelled_platform())
    def check(files: dict[str, Any]) -> None:
        directory = Path(tempfile.mkdtemp(prefix="invariant-"))
        try:
            _write(directory, files)
            tally["sets"] += 1
            if any(d.is_error for d in validate(directory)):
                return
            tally["clean"] += 1
            _exercise(directory, tally)
        finally:
            shutil.rmtree(directory, ignore_errors=True)
            capsys.readouterr()  # the commands' output is not the point; keep memory flat

    check()
    # The property is only as strong as the sets that reached the commands.
    assert tally["clean"] >= EXAMPLES // 10, tally
    assert tally["applied"] >= EXAMPLES // 10, tally
    record("invariant", **tally)
