"""Run-plan pictures: the Mermaid graph matches the manifests; native edges are marked."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from polysync_spec import load_project
from polysync_spec.cli import run
from polysync_spec.render.graph import mermaid, run_graph
from tests.conftest import EXAMPLES
from tests.helpers import write

NODE = re.compile(r'^  (r\d+)\["([^<"]+)<br/>')
EDGE = re.compile(r"^  (r\d+) (?:-->\|([^|]+)\||-\. (.+?) \.->) (r\d+)$")


def _parse(text: str) -> tuple[dict[str, str], set[tuple[str, str, str, bool]]]:
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    nodes = {m.group(1): m.group(2) for m in map(NODE.match, lines[1:]) if m}
    edges = set()
    for line in lines[1:]:
        m = EDGE.match(line)
        if m:
            label = m.group(2) or m.group(3)
            native = m.group(3) is not None
            edges.add((nodes[m.group(1)], nodes[m.group(4)], label.split(" · ")[0], native))
    assert len(nodes) + len(edges) == len(lines) - 1  # every line is a node or an edge
    return nodes, edges


@pytest.mark.parametrize("run_plan", ["nightly", "backfill"])
def test_mermaid_of_the_example_run_plans_matches_the_manifests(run_plan: str) -> None:
    project = load_project(EXAMPLES, env={"ORDERS_API_TOKEN": "t"})
    nodes, edges = _parse(mermaid(*run_graph(project, run_plan)))
    runs = project.run_plans[run_plan].runs
    assert sorted(nodes.values()) == sorted(r.key for r in runs)
    assert {(s, t, c) for s, t, c, _ in edges} == {
        (e.run, r.key, e.on.value) for r in runs for e in r.after
    }


def test_batch_to_batch_success_edges_are_drawn_as_native_depends_on(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "version: 1\nplatforms:\n  b: {type: aws_batch, region: us-east-1, default_job_queue: q}\n"
        "  g: {type: aws_glue, region: us-east-1}\n"
        "jobs:\n  e: {platform: b, external_id: e}\n  c: {platform: b, external_id: c}\n  l: {platform: g, external_id: l}\n"
        "run_plans:\n  p:\n    runs:\n      - {job: l}\n      - {job: e, after: [l]}\n"
        "      - {job: c, after: [e, {run: l, on: completed}]}\n",
    )
    _, edges = _parse(mermaid(*run_graph(load_project(path, env={}), "p")))
    assert edges == {
        ("l", "e", "succeeded", False),
        ("e", "c", "succeeded", True),
        ("l", "c", "completed", False),
    }


def test_graph_command_formats(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["graph", str(EXAMPLES), "-r", "backfill", "--format", "dot"]) == 0
    dot = capsys.readouterr().out
    assert (
        dot.startswith('digraph "backfill" {')
        and '"orders_a" -> "thumbnails" [label="succeeded"];' in dot
    )
    assert run(["graph", str(EXAMPLES), "-r", "nightly", "--format", "text"]) == 0
    assert (
        "cleanup  [Batch cleanup on batch_main]  after nightly_export (completed)"
        in capsys.readouterr().out
    )
