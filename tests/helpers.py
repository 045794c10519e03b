"""Small builders shared by tests."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from polysync_spec.errors import Position

GLUE_BASE = """\
version: 1
platforms:
  glue:
    type: aws_glue
    region: us-east-1
jobs:
  etl:
    platform: glue
    external_id: etl-job
"""

BATCH_BASE = """\
version: 1
platforms:
  batch:
    type: aws_batch
    region: us-east-1
    default_job_queue: q
jobs:
  exp:
    platform: batch
    external_id: export
"""


def write(directory: Path, text: str, name: str = "polysync.yaml") -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def write_marked(
    directory: Path, text: str, name: str = "polysync.yaml"
) -> tuple[Path, dict[str, Position]]:
    """Write `text` without its «name» markers; answer where each marker stood (1-based)."""
    import re

    positions: dict[str, Position] = {}
    clean = ""
    cursor = 0
    path = directory / name
    for match in re.finditer(r"«(\w+)»", text):
        clean += text[cursor : match.start()]
        line = clean.count("\n") + 1
        column = len(clean) - (clean.rfind("\n") + 1) + 1
        positions[match.group(1)] = Position(str(path), line, column)
        cursor = match.end()
    clean += text[cursor:]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(clean, encoding="utf-8")
    return path, positions


def plan_against(
    sandbox_url: str, path: Path, run_plan: str = "p", env: dict[str, str] | None = None
) -> Any:
    """Load the manifests at `path` and plan `run_plan` against the sandbox."""
    from polysync_spec import load_project
    from polysync_spec.engine.discovery import discover_live
    from polysync_spec.engine.plan import make_plan
    from polysync_spec.providers.aws import Sessions
    from polysync_spec.providers.clients import clients_of

    project = load_project(path, env=env or {})
    assert project.ok, project.diagnostics
    live = discover_live(project, run_plan, clients_of(project, Sessions(sandbox_url=sandbox_url)))
    return make_plan(project, run_plan, live, manifest_path=str(path))


# The platforms of the seeded sandbox (polysync_spec/sandbox/seed.yaml): Glue, and Batch
# with its etl-standard queue, in us-east-1. Test manifests start with it.
SANDBOX_PLATFORMS = """\
version: 1
platforms:
  glue: {type: aws_glue, region: us-east-1}
  batch: {type: aws_batch, region: us-east-1, default_job_queue: etl-standard}
"""


def attempt(request: Any, attempt_id: str | None = None) -> Any:
    """`request` (a RunRequest) as one submission attempt sends it: the attempt slot
    (Batch job name, Glue marker argument) filled with an identity, as apply fills it."""
    import dataclasses
    import uuid

    from polysync_spec.providers.base import ATTEMPT_SLOT

    identity = attempt_id or str(uuid.uuid4())

    def fill(value: Any) -> Any:
        if isinstance(value, str):
            return value.replace(ATTEMPT_SLOT, identity)
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        return value

    return dataclasses.replace(request, payload=fill(dict(request.payload)))


class BackgroundSandbox:
    """`polysync sandbox ARGS` running in a process of its own, as a user runs it in a
    second terminal: started with `command` (the interpreter or the installed `polysync`
    script), recorded in `state_dir`. `record` is its state record once it is up."""

    def __init__(
        self, command: list[str], state_dir: Path, env: Mapping[str, str], *args: str
    ) -> None:
        import subprocess

        self.state_dir = state_dir
        self.log = state_dir.parent / f"{state_dir.name}.log"
        self._out = self.log.open("w", encoding="utf-8")
        self.process = subprocess.Popen(
            [*command, "sandbox", "--port", "0", "--state-dir", str(state_dir), *args],
            stdout=self._out,
            stderr=subprocess.STDOUT,
            env=dict(env),
        )

    def wait_for_record(self, limit: float = 60.0) -> dict[str, Any]:
        """The record the sandbox writes once it listens and is seeded; fails the test
        with the sandbox's output if it exits or has not written it within `limit`."""
        import json
        import time

        deadline = time.monotonic() + limit
        record = self.state_dir / "sandbox.json"
        while time.monotonic() < deadline:
            if record.exists():  # its own: a stale record may be there before it
                written = dict(json.loads(record.read_text(encoding="utf-8")))
                if written.get("pid") == self.process.pid:
                    return written
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        why = "exited" if self.process.returncode is not None else f"no record in {limit:g} s"
        raise AssertionError(f"sandbox {why}:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8")

    def stop(self) -> int:
        """SIGTERM (as a closed terminal or a CI cancel would), then its exit code."""
        import signal
        import subprocess

        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self._out.close()
        return int(self.process.returncode)


def plan_glue_run(compute: dict[str, Any], definition: Any, where: str, sink: Any) -> Any:
    """`Glue().plan_run` of one run of job `etl` (Glue job `etl-job`, whose live
    definition is `definition`), with `compute` set at one tier: `where` is "job", "run"
    or "platform" (its `defaults`). Findings go to `sink`; returns the PlannedRequest."""
    from polysync_spec.manifest.models import GlueJob, GluePlatform, Run
    from polysync_spec.providers.glue.platform import Glue

    job = GlueJob.model_validate(
        {
            "platform": "glue",
            "external_id": "etl-job",
            **({"compute": compute} if where == "job" else {}),
        }
    )
    platform = GluePlatform.model_validate(
        {
            "type": "aws_glue",
            "region": "us-east-1",
            **({"defaults": compute} if where == "platform" else {}),
        }
    )
    run = Run.model_validate({"job": "etl", **({"compute": compute} if where == "run" else {})})
    return Glue().plan_run(run, job, platform, {"etl-job": definition}, sink)
