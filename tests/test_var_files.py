"""`--var-file`: precedence (files in order, then --var), positions of bad files, and
values of masked variables never shown. Plans go to the sandbox over HTTP."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from polysync_spec.cli import run
from polysync_spec.errors import ExitCode
from polysync_spec.sandbox.server import Sandbox
from tests.helpers import write

MANIFEST = """\
version: 1
variables:
  run_date: {default: '2026-01-01'}
  workers: {default: 2}
  token: {default: '${env.VAR_FILE_TOKEN}'}
platforms:
  glue: {type: aws_glue, region: us-east-1}
jobs:
  load:
    platform: glue
    external_id: customers-etl
    parameters: {day: x}
run_plans:
  p:
    runs:
      - job: load
        parameters: {day: '${var.run_date}'}
        compute: {number_of_workers: '${var.workers}'}
"""


def _plan_json(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> tuple[int, dict[str, object], str]:
    code = run(["plan", *args, "-o", "json"])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if code == 0 else {}), out + err


def test_later_files_override_earlier_ones_and_var_overrides_files(
    sandbox: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("VAR_FILE_TOKEN", "t")
    path = write(tmp_path, MANIFEST)
    first = write(tmp_path, "run_date: '2026-03-01'\nworkers: 3\n", "first.yaml")
    second = write(tmp_path, '{"workers": 4}\n', "second.json")
    files = ["--var-file", str(first), "--var-file", str(second)]
    code, document, _ = _plan_json([str(path), *files], capsys)
    assert code == 0
    assert document["variables"] == {"run_date": "2026-03-01", "token": "***", "workers": 4}
    code, document, _ = _plan_json([str(path), *files, "--var", "workers=5"], capsys)
    assert document["variables"] == {"run_date": "2026-03-01", "token": "***", "workers": 5}
    planned: Any = document["runs"][0]  # type: ignore[index]
    assert planned["request"]["NumberOfWorkers"] == 5
    assert planned["request"]["Arguments"]["--day"] == "2026-03-01"


def test_a_value_a_file_gives_a_masked_variable_is_never_shown(
    sandbox: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("VAR_FILE_TOKEN", "t")
    path = write(tmp_path, MANIFEST)
    secrets = write(tmp_path, "token: s3cr3t-from-the-file\nworkers: [1]\n", "secrets.yaml")
    code = run(["validate", str(path), "--var-file", str(secrets)])
    assert code == ExitCode.ERROR
    assert "s3cr3t-from-the-file" not in "".join(capsys.readouterr())
    write(tmp_path, "token: s3cr3t-from-the-file\n", "secrets.yaml")
    code, document, text = _plan_json([str(path), "--var-file", str(secrets)], capsys)
    assert code == 0 and document["variables"]["token"] == "***"  # type: ignore[index]
    assert "s3cr3t-from-the-file" not in text
    code = run(["plan", str(path), "--var-file", str(secrets)])
    assert "s3cr3t-from-the-file" not in "".join(capsys.readouterr())


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            "run_date: '2026-03-01'\nworkers:\n  - 3\n",
            "vars.yaml:3:3: error PS207: variable 'workers': a variable file sets a string, "
            "number or boolean, found a list",
        ),
        ("workers: {n: 3}\n", "vars.yaml:1:10: error PS207"),
        ("workers:\n", "vars.yaml:1:9: error PS207: variable 'workers': a variable file sets"),
        ("run_date: 'open\n", "vars.yaml:2:1: error PS004: YAML syntax error"),
        ("- workers\n", "vars.yaml:1:1: error PS007: a variable file holds a mapping"),
        ("run_dat: x\n", "vars.yaml:1:1: error PS205: variable 'run_dat': no variable "
                         "'run_dat' is declared (did you mean 'run_date'?)"),
        ("workers: many\n", "vars.yaml:1:1: error PS207: variable 'workers': expected a "
                            "value of type integer"),
    ],
)  # fmt: skip
def test_a_bad_variable_file_is_reported_at_its_position(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    content: str,
    expected: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, MANIFEST, "manifests/polysync.yaml")
    write(tmp_path, content, "vars.yaml")
    code = run(["validate", "manifests", "--var-file", "vars.yaml"])
    assert code == ExitCode.ERROR
    assert expected in "".join(capsys.readouterr())


def test_a_missing_variable_file_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, MANIFEST)
    assert run(["validate", str(path), "--var-file", str(tmp_path / "nope.yaml")]) == 64
    assert "nope.yaml" in capsys.readouterr().err


def test_every_command_with_var_takes_var_file() -> None:
    """Every command of the CLI, walked from the group: `sandbox --from` lacked it
    (found by a fresh tester)."""
    import click

    from polysync_spec.cli.group import cli

    def commands(group: click.Group, prefix: str = "") -> dict[str, click.Command]:
        found: dict[str, click.Command] = {}
        for name, command in group.commands.items():
            found[prefix + name] = command
            if isinstance(command, click.Group):
                found.update(commands(command, f"{prefix}{name} "))
        return found

    options = {
        name: {opt for param in command.params for opt in getattr(param, "opts", [])}
        for name, command in commands(cli).items()
    }
    with_var = sorted(name for name, opts in options.items() if "--var" in opts)
    assert {"validate", "plan", "apply", "sandbox"} <= set(with_var)
    assert [name for name in with_var if "--var-file" not in options[name]] == []


USED = MANIFEST.replace(
    "    parameters: {day: x}\n", "    parameters: {day: x, api_token: '${var.token}'}\n"
)


@pytest.mark.parametrize(
    ("how", "secret"),
    [
        ("env", "hunter2-from-the-environment"),
        ("var", "fromcli-s3cr3t"),
        ("var-file", "from-var-file-S3CRET"),
    ],
)
def test_a_parameter_using_an_environment_variable_is_never_shown(
    how: str,
    secret: str,
    sandbox: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Found by a fresh tester: `api_token: ${var.token}`, where `token` defaults to
    `${env.…}`, was printed in plans, plan files, the ledger and drift messages."""
    monkeypatch.setenv("VAR_FILE_TOKEN", secret if how == "env" else "hunter2-env")
    path = write(tmp_path, USED)
    extra = {
        "env": [],
        "var": ["--var", f"token={secret}"],
        "var-file": ["--var-file", str(write(tmp_path, f"token: {secret}\n", "v.yaml"))],
    }[how]
    out = tmp_path / "plan.json"
    for output in ("text", "json", "markdown"):
        code = run(["plan", str(path), *extra, "-o", output, "--out", str(out)])
        assert code == 0
        shown = "".join(capsys.readouterr()) + out.read_text(encoding="utf-8")
        assert secret not in shown and "hunter2-env" not in shown
        assert "***" in shown
    # The plan file holds *** where the value was: applying it would send the wrong
    # value, so apply refuses and says why.
    code = run(["apply", str(out), "--auto-approve", "--state", str(tmp_path / "s.db")])
    _, err = capsys.readouterr()
    assert code == ExitCode.ERROR
    assert "the plan holds a masked secret (***) that it cannot send; nothing was" in err
    assert "runs[0].request.Arguments" in err
    assert not sandbox.requests("StartJobRun")
    # From the manifests the run gets the real value, and nothing shows it.
    code = run(["apply", str(path), *extra, "--auto-approve", "--state", str(tmp_path / "s.db")])
    shown = "".join(capsys.readouterr())
    assert code == ExitCode.OK and secret not in shown
    [sent] = sandbox.requests("StartJobRun")
    assert sent.params["Arguments"]["--api_token"] == secret


def test_a_region_from_the_environment_stays_readable_in_the_plan(
    sandbox: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Only parameters make an environment-derived value a secret everywhere: a region
    from the environment is shown *** as a variable, yet plans and links keep it."""
    monkeypatch.setenv("VAR_FILE_TOKEN", "t")
    monkeypatch.setenv("POLYSYNC_TEST_REGION", "us-east-1")
    text = MANIFEST.replace(
        "  token: {default: '${env.VAR_FILE_TOKEN}'}\n",
        "  token: {default: '${env.VAR_FILE_TOKEN}'}\n"
        "  where: {default: '${env.POLYSYNC_TEST_REGION}'}\n",
    ).replace("region: us-east-1}", "region: '${var.where}'}")
    code, document, _ = _plan_json([str(write(tmp_path, text))], capsys)
    assert code == 0
    assert document["variables"]["where"] == "***"  # type: ignore[index]
    planned: Any = document["runs"][0]  # type: ignore[index]
    assert planned["region"] == "us-east-1"
