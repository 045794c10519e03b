"""The ready-to-copy CI files are valid for their CI, and the Markdown plan is well formed."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from markdown_it import MarkdownIt

from tests.conftest import EXAMPLES, ROOT

GOLDEN_MARKDOWN = Path(__file__).parent / "golden" / "plan-nightly.md"


def _vendored(name: str) -> dict[str, Any]:
    schema = resources.files("check_jsonschema.builtin_schemas.vendor").joinpath(f"{name}.json")
    loaded: dict[str, Any] = json.loads(schema.read_text(encoding="utf-8"))
    return loaded


def _yaml(path: Path) -> Any:
    # The `on:` key of a workflow is a string in YAML 1.2 (and to GitHub); PyYAML's 1.1
    # rules would make it True, so read it with the project's own 1.2 loader.
    from polysync_spec.manifest.loader import parse_text

    document = parse_text(path.read_text(encoding="utf-8"), str(path), [])
    assert document is not None
    return document.data


@pytest.mark.parametrize(
    ("path", "schema"),
    [
        (EXAMPLES / "ci" / "github-actions.yml", "github-workflows"),
        (EXAMPLES / "ci" / "gitlab-ci.yml", "gitlab-ci"),
    ],
)
def test_ci_example_is_valid_for_its_ci(path: Path, schema: str) -> None:
    jsonschema.validate(_yaml(path), _vendored(schema))


def test_github_workflow_uses_oidc_and_no_stored_aws_keys() -> None:
    text = (EXAMPLES / "ci" / "github-actions.yml").read_text(encoding="utf-8")
    workflow = _yaml(EXAMPLES / "ci" / "github-actions.yml")
    assert workflow["permissions"]["id-token"] == "write"
    assert "AWS_SECRET_ACCESS_KEY" not in text and "AWS_ACCESS_KEY_ID" not in text
    steps = [s.get("run", "") for job in workflow["jobs"].values() for s in job["steps"]]
    assert any("polysync validate --output github" in s for s in steps)
    assert any("--output markdown" in s and "--out plan.json" in s for s in steps)
    assert any("polysync apply plan.json --auto-approve" in s for s in steps)


def test_pre_commit_hooks_run_validate_and_fmt_check() -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert [(h["id"], h["entry"], h["language"]) for h in hooks] == [
        ("polysync-validate", "polysync validate", "python"),
        ("polysync-fmt", "polysync fmt --check", "python"),
    ]


def test_markdown_plan_is_well_formed_github_markdown() -> None:
    text = GOLDEN_MARKDOWN.read_text(encoding="utf-8")
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    tables = [i for i, t in enumerate(tokens) if t.type == "table_open"]
    # the runs table, then one settings table per run
    assert len(tables) == 6
    header = [
        tokens[i + 1].content for i in range(tables[0], len(tokens)) if tokens[i].type == "th_open"
    ][:7]
    assert header == ["run", "platform", "request", "resolves to", "after", "cost", "findings"]
    first_table_end = next(
        i for i in range(tables[0], len(tokens)) if tokens[i].type == "table_close"
    )
    rows = sum(1 for t in tokens[tables[0] : first_table_end] if t.type == "tr_open") - 1
    assert rows == 5
    html = "".join(t.content for t in tokens if t.type == "html_block")
    assert html.count("<details>") == html.count("</details>") == 5
    assert html.count("<summary>") == 5
    fences = [t for t in tokens if t.type == "fence"]
    assert [t.info for t in fences] == ["mermaid"] + ["json"] * 5  # the run graph, then requests
    assert fences[0].content.startswith("flowchart LR\n")
    for fence in fences[1:]:
        json.loads(fence.content)  # each request is valid JSON
