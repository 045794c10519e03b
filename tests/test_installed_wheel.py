"""As a new user: the built wheel installed into a fresh venv, then the demo, `init`,
`sandbox --from` on the new project, and `apply`, `logs` and `status` with `--sandbox`
against that one running sandbox; then a scripted failure making `apply` exit 3.

Building the wheel and installing it with its dependencies takes a minute; CI builds it
once (`.ci/run`) and names its venv in POLYSYNC_WHEEL_VENV, which this test then uses.
Every command runs as a process of the venv's `polysync` script, in a directory of its
own, with nothing of the source tree on its path."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.helpers import BackgroundSandbox

WHEEL_VENV_ENV = "POLYSYNC_WHEEL_VENV"


def _installed_venv(scratch: Path) -> Path:
    """The venv named by POLYSYNC_WHEEL_VENV if it has `polysync`, else a fresh one with
    the wheel built from this tree (`pip wheel --no-deps`) installed with `[sandbox]`."""
    given = os.environ.get(WHEEL_VENV_ENV)
    if given and (Path(given) / "bin" / "polysync").exists():
        return Path(given)
    wheels = scratch / "wheel"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(wheels),
         str(ROOT)],
        check=True,
        timeout=600,
    )  # fmt: skip
    (wheel,) = wheels.glob("polysync_spec-*.whl")
    venv = scratch / "venv"
    # Not on PYTHONPATH: pip would take this tree (and its egg-info) for an installed copy.
    clean = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120, env=clean)
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", f"{wheel}[sandbox]"],
        check=True,
        timeout=900,
        env=clean,
    )
    return venv


def _user_env(state_dir: Path) -> dict[str, str]:
    """A user's environment: no path into the source tree, no AWS endpoint, sandbox state
    in the test's own directory."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "AWS_ENDPOINT_URL")}
    env["POLYSYNC_SANDBOX_DIR"] = str(state_dir)
    return env


def _summary(out: str) -> dict[str, list[str]]:
    """apply's summary table (after its `run  status  run id  message` header): run ->
    [status, run id]."""
    lines = out.rstrip().splitlines()
    header = max(i for i, line in enumerate(lines) if line.split()[:2] == ["run", "status"])
    return {
        line.split()[0]: line.split()[1:3]
        for line in lines[header + 1 :]
        if line.split() and line.split()[0] in ("load_orders", "export_orders")
    }


@pytest.mark.timeout(1500)
def test_a_new_user_runs_the_installed_wheel_end_to_end(tmp_path: Path) -> None:
    venv = _installed_venv(tmp_path)
    polysync = str(venv / "bin" / "polysync")
    state_dir = tmp_path / "sandbox-state"
    env = _user_env(state_dir)
    home = tmp_path / "home"
    home.mkdir()

    def polysync_run(*args: str, cwd: Path = home) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [polysync, *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    # The package that runs is the installed one, not this tree.
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import polysync_spec; print(polysync_spec.__file__)"],
        cwd=home, env=env, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert str(venv) in where

    demo = polysync_run("demo", "--poll-interval", "0.1")
    assert demo.returncode == 0, demo.stderr
    assert demo.stdout.rstrip().splitlines()[-1] == "Demo complete."

    init = polysync_run("init", "proj")
    assert init.returncode == 0, init.stderr
    project = home / "proj"
    assert init.stdout.splitlines()[:5] == [
        "wrote proj/polysync.yaml",
        "wrote proj/jobs/jobs.yaml",
        "wrote proj/run_plans/daily.yaml",
        "wrote proj/.gitignore",
        "wrote proj/schemas/polysync.schema.json",
    ]
    assert "  polysync apply --sandbox --auto-approve" in init.stdout.splitlines()
    validate = polysync_run("validate", cwd=project)
    assert (validate.returncode, validate.stderr) == (0, "3 files valid, no problems\n")

    sandbox = BackgroundSandbox([polysync], state_dir, env, "--from", str(project))
    try:
        record = sandbox.wait_for_record()
        using = f"(sandbox at {record['endpoint_url']}: the running one, pid {record['pid']})"
        assert f"polysync sandbox listening on {record['endpoint_url']}" in sandbox.output()

        apply = polysync_run(
            "apply", "--sandbox", "--auto-approve", "--poll-interval", "0.2", cwd=project
        )
        assert apply.returncode == 0, apply.stdout + apply.stderr
        assert using in apply.stderr
        assert "load_orders: Success" in apply.stdout
        assert "export_orders: Success" in apply.stdout
        applied = _summary(apply.stdout)
        assert applied["load_orders"][0] == "Success"
        assert applied["load_orders"][1].startswith("starter-load-orders/jr_")
        assert applied["export_orders"][0] == "Success"
        glue_run, batch_run = applied["load_orders"][1], applied["export_orders"][1]

        for run_id in (glue_run, batch_run):
            logs = polysync_run("logs", run_id, "--sandbox", cwd=project)
            assert logs.returncode == 0, logs.stderr
            assert logs.stdout.splitlines() == ["job started", "job finished"]
            assert using in logs.stderr

        listed = polysync_run("status", "--sandbox", cwd=project)
        assert listed.returncode == 0, listed.stderr
        (apply_id, run_plan, *_) = listed.stdout.split()
        assert run_plan == "daily"
        status = polysync_run("status", apply_id, "--sandbox", cwd=project)
        assert status.returncode == 0, status.stderr
        # Each line: the run, its status, its AWS id, and what it used (README: Cost).
        shown = sorted(status.stdout.splitlines())
        assert [line.split("  used ")[0] for line in shown] == [
            f"export_orders  Success  {batch_run}",
            f"load_orders  Success  {glue_run}",
        ]
        assert "vCPU-hours" in shown[0] and "DPU-hours" in shown[1]
    finally:
        assert sandbox.stop() == 0, sandbox.output()
    assert not (state_dir / "sandbox.json").exists()

    # The failure path: the Glue job scripted to fail; what depends on it is skipped.
    failing = BackgroundSandbox(
        [polysync], state_dir, env, "--from", str(project), "--outcome", "load_orders=failed"
    )
    try:
        failing.wait_for_record()
        assert "scripted: load_orders FAILED" in failing.output()
        apply = polysync_run(
            "apply", "--sandbox", "--auto-approve", "--poll-interval", "0.2",
            "--state", str(tmp_path / "failing.db"), cwd=project,
        )  # fmt: skip
        assert apply.returncode == 3, apply.stdout + apply.stderr
        assert "load_orders: Failed" in apply.stdout
        summary = {key: row[0] for key, row in _summary(apply.stdout).items()}
        assert summary == {"load_orders": "Failed", "export_orders": "Skipped"}
    finally:
        assert failing.stop() == 0, failing.output()
