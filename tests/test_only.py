"""`plan --only` / `apply --only`: the runs named plus their prerequisites, or with
`--only-exact` the runs named alone; what plan states in each output, what apply submits
(the sandbox's request log), and that the runs left out keep their place in the ledger."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from polysync_spec.cli import run
from polysync_spec.errors import ExitCode
from polysync_spec.sandbox.server import Sandbox
from tests.applying import HEADER, fast, submissions
from tests.helpers import write

CHAIN = HEADER + (
    "run_plans:\n  p:\n    runs:\n"
    "      - {job: load}\n"
    "      - {job: check, after: [load]}\n"
    "      - {job: export, after: [check]}\n"
    "      - {job: clean}\n"
)


def _submitted(sandbox: Sandbox) -> list[str]:
    """What went over the wire: the Glue job or Batch definition of each submission."""
    return [
        params.get("JobName") or params["jobDefinition"].split(":")[0]
        for _operation, params in submissions(sandbox)
    ]


def _plan(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = run(["plan", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_plan_states_the_runs_selected_their_prerequisites_and_the_runs_left_out(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = str(write(tmp_path, CHAIN))
    code, out, _ = _plan([path, "--only", "export"], capsys)
    assert code == 0
    assert out.splitlines()[2:5] == [
        "Selected (--only): export",
        "Included as prerequisites: load, check",
        "Left out (not submitted, not recorded): clean",
    ]
    assert "- clean  batch  SubmitJob -> cleanup" in out
    assert out.rstrip().splitlines()[-1].startswith("Plan: 3 runs to start, 1 left out (--only)")
    code, out, _ = _plan([path, "--only", "export", "-o", "json"], capsys)
    assert json.loads(out)["selection"] == {
        "only": ["export"],
        "prerequisites": ["load", "check"],
        "exact": False,
        "left_out": ["clean"],
    }
    assert json.loads(out)["summary"]["to_submit"] == 3
    code, out, _ = _plan([path, "--only", "export", "-o", "markdown"], capsys)
    assert "- Selected (--only): export\n- Included as prerequisites: load, check\n" in out
    assert "| `clean` (left out) |" in out
    assert "<code>clean</code>" not in out  # no request details for a run left out


def test_plan_only_exact_names_each_upstream_it_does_not_wait_for(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = str(write(tmp_path, CHAIN))
    code, out, _ = _plan([path, "--only", "export,clean", "--only-exact"], capsys)
    assert code == 0
    assert out.splitlines()[2:6] == [
        "Selected (--only-exact): export, clean",
        "Left out (not submitted, not recorded): load, check",
        "export starts without waiting for check (left out; the ledger has no run of it "
        "for this plan)",
        "",
    ]
    code, out, _ = _plan([path, "--only", "export", "--only-exact", "-o", "json"], capsys)
    assert json.loads(out)["selection"] == {
        "only": ["export"],
        "prerequisites": [],
        "exact": True,
        "left_out": ["load", "check", "clean"],
    }


def test_an_unknown_run_is_a_usage_error_with_a_suggestion_before_any_aws_call(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = str(write(tmp_path, CHAIN))
    code, _, err = _plan([path, "--only", "exprt"], capsys)
    assert code == ExitCode.USAGE
    assert "--only exprt: no run 'exprt' in run plan 'p'; did you mean 'export'?" in err
    assert sandbox.requests() == []
    assert run(["plan", path, "--only-exact"]) == ExitCode.USAGE


def test_apply_only_submits_the_runs_and_their_prerequisites_and_a_full_apply_the_rest(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    fast(sandbox)
    path = str(write(tmp_path, CHAIN))
    state = ["--state", str(tmp_path / "s.db"), "--auto-approve", "--poll-interval", "0.05"]
    assert run(["apply", path, "--only", "check", *state]) == 0
    assert _submitted(sandbox) == ["customers-etl", "orders-quality"]
    sandbox.log.clear()
    # The same plan, whole: what --only ran is in the ledger under the same identity.
    assert run(["apply", path, *state]) == 0
    assert sorted(_submitted(sandbox)) == ["cleanup", "nightly-export"]


def test_apply_only_exact_submits_the_named_run_alone_without_waiting(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    fast(sandbox)
    path = str(write(tmp_path, CHAIN))
    state = ["--state", str(tmp_path / "s.db"), "--auto-approve", "--poll-interval", "0.05"]
    assert run(["apply", path, "--only", "export", "--only-exact", *state]) == 0
    [(operation, params)] = submissions(sandbox)
    assert operation == "SubmitJob" and "dependsOn" not in params


def test_a_plan_file_records_the_selection_and_apply_follows_it(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fast(sandbox)
    path = str(write(tmp_path, CHAIN))
    plan_file = str(tmp_path / "plan.json")
    assert run(["plan", path, "--only", "check", "--out", plan_file]) == 0
    assert json.loads(Path(plan_file).read_text())["selection"]["left_out"] == ["export", "clean"]
    capsys.readouterr()
    state = ["--state", str(tmp_path / "s.db"), "--poll-interval", "0.05"]
    assert run(["apply", plan_file, *state, "--only", "clean"]) == ExitCode.USAGE
    assert run(["apply", plan_file, *state]) == 0
    assert _submitted(sandbox) == ["customers-etl", "orders-quality"]


def test_rerun_with_only_forgets_only_the_selected_runs(sandbox: Sandbox, tmp_path: Path) -> None:
    fast(sandbox)
    path = str(write(tmp_path, CHAIN))
    state = ["--state", str(tmp_path / "s.db"), "--auto-approve", "--poll-interval", "0.05"]
    assert run(["apply", path, *state]) == 0
    sandbox.log.clear()
    assert run(["apply", path, "--only", "clean", "--rerun", *state]) == 0
    assert _submitted(sandbox) == ["cleanup"]
    sandbox.log.clear()
    assert run(["apply", path, *state]) == 0  # everything else is still in the ledger
    assert _submitted(sandbox) == []


def test_only_exact_runs_a_run_whose_upstream_failed_earlier_and_plan_says_so(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from polysync_spec.sandbox.lifecycle import Outcome

    fast(sandbox, **{"orders-quality": Outcome(starting_seconds=0.1, running_seconds=0.1,
                                               result="FAILED")})  # fmt: skip
    path = str(write(tmp_path, CHAIN))
    state = ["--state", str(tmp_path / "s.db"), "--poll-interval", "0.05"]
    assert run(["apply", path, "--auto-approve", *state]) == ExitCode.RUNS_FAILED
    capsys.readouterr()
    sandbox.log.clear()
    # export was Skipped (check failed); --only-exact runs it without waiting for check.
    code, out, _ = _plan(
        [path, "--only", "export", "--only-exact", "--retry-failed", *state[:2]], capsys
    )
    assert code == 0
    assert "export starts without waiting for check (left out; the ledger shows it Failed)" in out
    assert out.rstrip().splitlines()[-1].startswith("Plan: 1 run to start, 3 left out")
    args = ["apply", path, "--only", "export", "--only-exact", "--retry-failed", "--auto-approve"]
    assert run([*args, *state]) == 0
    assert _submitted(sandbox) == ["nightly-export"]
