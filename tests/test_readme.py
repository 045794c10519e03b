"""The README's examples run, so they cannot rot."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from polysync_spec import validate
from polysync_spec.errors import Severity
from polysync_spec.providers.registry import RULES
from polysync_spec.reference import codes_table
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_manifest_example_validates(tmp_path: Path) -> None:
    [block] = [b for b in re.findall(r"```yaml\n(.*?)```", README, re.S) if "version: 1" in b]
    path = tmp_path / "polysync.yaml"
    path.write_text(block, encoding="utf-8")
    diagnostics = validate(path, env={"ORDERS_TOKEN": "t"}, require_env=True)
    # The example shows an output parameter on purpose: it is the one warning.
    assert [(d.code, d.severity) for d in diagnostics] == [("PS308", Severity.WARNING)]


def test_readme_lists_every_diagnostic_code() -> None:
    listed = set(re.findall(r"^\| (PS\d{3}) \|", README, re.M))
    assert listed == {rule.code for rule in RULES}


@pytest.mark.parametrize(("marker", "plan"), [("codes", False), ("plan-codes", True)])
def test_readme_code_tables_are_generated_from_the_rules(marker: str, plan: bool) -> None:
    block = re.search(rf"<!-- {marker}:start -->\n(.*?)\n<!-- {marker}:end -->", README, re.S)
    assert block is not None, f"README has no <!-- {marker}:start/end --> block"
    assert block.group(1) == codes_table(plan=plan), (
        "the README's code table differs from the rules: paste reference.codes_table()"
    )


def test_readme_invalid_example_output_is_what_the_tool_prints(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(ROOT)
    shown = re.findall(r"^(examples/invalid/common-mistakes\.yaml:\d+:\d+: .*)$", README, re.M)
    assert shown
    printed = {
        f"{d.position}: {d.severity.value} {d.code}: {d.message}"
        for d in validate(Path("examples/invalid/common-mistakes.yaml"), env={})
    }
    assert set(shown) <= printed


def test_readme_test_command_is_what_ci_runs() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert ".venv/bin/python -m pytest" in README
    assert ".venv/bin/python -m pytest" in ci


def test_readme_setup_command_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The first set-up command's polysync step, as written, finishes with exit 0 after
    showing runs succeed, one fail with its message, and a cancellation."""
    import shlex

    from polysync_spec.cli import run

    block = re.search(r"```sh\n(.*?)```", README, re.S)
    assert block is not None
    first = block.group(1).splitlines()[0]
    [step] = [s.strip() for s in first.split("&&") if "polysync " in s]
    args = shlex.split(step)[1:]
    assert args == ["demo"]
    monkeypatch.chdir(tmp_path)
    assert run([*args, "--poll-interval", "0.1"]) == 0
    out = capsys.readouterr().out
    assert "orders_etl      Success" in out
    assert "Failed   " in out and "AnalysisException: null_ratio 0.04 exceeds 0.01" in out
    assert "thumbnails  Cancelled  " in out and "Cancelled by Polysync" in out
    assert out.rstrip().endswith("Demo complete.")


def test_the_planner_imports_no_aws_sdk() -> None:
    import subprocess
    import sys

    code = (
        "import sys, polysync_spec.engine.plan, polysync_spec.engine.model\n"
        "loaded = [m for m in ('boto3', 'botocore') if m in sys.modules]\n"
        "print(','.join(loaded))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


def test_readme_graph_is_what_the_tool_draws() -> None:
    from polysync_spec import load_project
    from polysync_spec.render.graph import mermaid, run_graph
    from tests.conftest import EXAMPLES

    shown = re.search(r"```mermaid\n(.*?)```", README, re.S)
    assert shown is not None
    project = load_project(EXAMPLES, env={"ORDERS_API_TOKEN": "t"})
    assert shown.group(1) == mermaid(*run_graph(project, "nightly"))
