"""The command line: output formats, exit codes, usage errors, and no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from polysync_spec.cli import run
from polysync_spec.schema import manifest_schema
from tests.conftest import EXAMPLES
from tests.helpers import BATCH_BASE, write


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    return write(
        tmp_path, BATCH_BASE + "    retry_attempts: 11\n    tags: {'a,b': 'x:y%'}\n    regoin: x\n"
    )


def test_valid_project_exits_0_and_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["validate", str(EXAMPLES)]) == 0
    out, err = capsys.readouterr()
    assert out == ""
    assert "4 files valid, no problems" in err


def test_text_output_is_file_line_col_severity_code_message(
    broken: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["validate", str(broken)]) == 1
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        f"{broken}:11:21: error PS402: 'retry_attempts' must be at most 10, got 11 (SubmitJob retryStrategy.attempts: 1-10)",
        f"{broken}:13:5: error PS100: unknown key 'regoin'",
    ]
    assert "2 error(s), 0 warning(s) in 1 file" in err


def test_json_output_is_a_versioned_document(
    broken: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["validate", str(broken), "--output", "json"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert document["version"] == 1
    assert document["summary"] == {"errors": 2, "warnings": 0, "notes": 0}
    first = document["diagnostics"][0]
    assert first == {
        "code": "PS402",
        "severity": "error",
        "message": "'retry_attempts' must be at most 10, got 11 (SubmitJob retryStrategy.attempts: 1-10)",
        "path": str(broken),
        "line": 11,
        "column": 21,
        "related": [],
    }


def test_github_output_is_escaped_workflow_commands(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(
        tmp_path, "version: 1\njobs:\n  j: {platform: p, external_id: x}\n", "dir,with:odd%/m.yaml"
    )
    assert run(["validate", str(path), "-o", "github"]) == 1
    line = capsys.readouterr().out.strip()
    escaped = str(path).replace("%", "%25").replace(":", "%3A").replace(",", "%2C")
    assert (
        line
        == f"::error file={escaped},line=3,col=17,title=PS501::job 'j' names platform 'p', which is not defined"
    )


def test_usage_errors_exit_64(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["validate", "--var", "novalue", str(EXAMPLES)]) == 64
    assert run(["validate", "--output", "xml", str(EXAMPLES)]) == 64
    assert run(["no-such-command"]) == 64
    assert "Traceback" not in capsys.readouterr().err


def test_schema_command_prints_the_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["schema"]) == 0
    assert json.loads(capsys.readouterr().out) == manifest_schema()


def test_python_dash_m_runs_the_cli(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "polysync_spec", "validate", str(tmp_path / "missing.yaml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "PS001" in result.stdout
    assert "Traceback" not in result.stderr


def test_default_path_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("POLYSYNC_PATH", str(EXAMPLES))
    assert run(["validate"]) == 0


@pytest.mark.parametrize(
    ("job", "finding"),
    [
        (
            "{platfrom: glue, external_id: x}",
            "5:7: error PS100: unknown key 'platfrom'; did you mean 'platform'?",
        ),
        ("{external_id: x}", "5:3: error PS101: missing required key 'platform'"),
    ],
)
def test_a_job_without_a_platform_fails_validate_and_no_command_crashes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], job: str, finding: str
) -> None:
    # Issue 17: validate passed these, then plan, apply and graph stopped with
    # "internal error: KeyError".
    path = write(
        tmp_path,
        "version: 1\nplatforms:\n  glue: {type: aws_glue, region: us-east-1}\n"
        f"jobs:\n  k: {job}\nrun_plans:\n  p: {{runs: [{{job: k}}]}}\n",
    )
    assert run(["validate", str(path)]) == 1
    assert capsys.readouterr().out == f"{path}:{finding}\n"
    for command in (
        ["graph", str(path)],
        ["plan", str(path)],
        ["apply", str(path), "--auto-approve"],
    ):
        assert run(command) == 1
        err = capsys.readouterr().err
        assert finding in err and "the manifests have errors" in err
        assert "internal error" not in err
