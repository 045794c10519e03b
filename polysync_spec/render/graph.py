"""A picture of a run plan: Mermaid (GitHub renders it), Graphviz DOT, or plain text.

Nodes are runs (labelled with job, service and platform); edges are `after` conditions,
drawn solid when polysync waits client-side and dashed when Batch orders the runs itself
through a native `dependsOn`.
"""

from __future__ import annotations

from dataclasses import dataclass

from polysync_spec.engine.model import Plan, native_edge
from polysync_spec.manifest.models import GlueJob
from polysync_spec.manifest.project import Project


@dataclass(frozen=True)
class Node:
    key: str
    job: str
    service: str  # "Glue" | "Batch"
    platform: str


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    condition: str
    native: bool


def run_graph(project: Project, run_plan: str) -> tuple[list[Node], list[Edge]]:
    nodes: list[Node] = []
    services: dict[str, tuple[str, str]] = {}
    for run in project.run_plans[run_plan].runs:
        job = project.jobs[run.job]
        service = "glue" if isinstance(job, GlueJob) else "batch"
        services[run.key] = (service, job.platform)
        nodes.append(Node(run.key, run.job, "Glue" if service == "glue" else "Batch", job.platform))
    edges = [
        Edge(
            edge.run,
            run.key,
            edge.on.value,
            native_edge(*services[run.key], *services[edge.run], edge.on.value),
        )
        for run in project.run_plans[run_plan].runs
        for edge in run.after
    ]
    return nodes, edges


def plan_graph(plan: Plan) -> tuple[list[Node], list[Edge]]:
    """The same picture from a plan (or a plan file): no manifests needed."""
    runs = {run.key: run for run in plan.runs}
    nodes = [
        Node(run.key, run.job, "Glue" if run.service == "glue" else "Batch", run.platform)
        for run in plan.runs
    ]
    edges = [
        Edge(
            edge["run"],
            run.key,
            edge["on"],
            native_edge(
                run.service,
                run.platform,
                runs[edge["run"]].service,
                runs[edge["run"]].platform,
                edge["on"],
            ),
        )
        for run in plan.runs
        for edge in run.after
        if edge["run"] in runs
    ]
    return nodes, edges


def mermaid(nodes: list[Node], edges: list[Edge]) -> str:
    ids = {node.key: f"r{index}" for index, node in enumerate(nodes)}
    lines = ["flowchart LR"]
    for node in nodes:
        label = f"{node.key}<br/>{node.service} · {node.platform}"
        if node.job != node.key:
            label = f"{node.key}<br/>{node.job} · {node.service} · {node.platform}"
        lines.append(f'  {ids[node.key]}["{_quote(label)}"]')
    for edge in edges:
        label = edge.condition + (" · Batch dependsOn" if edge.native else "")
        arrow = f"-. {label} .->" if edge.native else f"-->|{label}|"
        lines.append(f"  {ids[edge.source]} {arrow} {ids[edge.target]}")
    return "\n".join(lines) + "\n"


def dot(nodes: list[Node], edges: list[Edge], name: str) -> str:
    lines = [f'digraph "{name}" {{', "  rankdir=LR;", "  node [shape=box];"]
    for node in nodes:
        lines.append(
            f'  "{node.key}" [label="{node.key}\\n{node.job} · {node.service} · {node.platform}"];'
        )
    for edge in edges:
        style = (
            ', style=dashed, label="' + edge.condition + ' (Batch dependsOn)"'
            if edge.native
            else f', label="{edge.condition}"'
        )
        lines.append(f'  "{edge.source}" -> "{edge.target}" [{style.lstrip(", ")}];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def text(nodes: list[Node], edges: list[Edge]) -> str:
    lines = []
    for node in nodes:
        waits = [e for e in edges if e.target == node.key]
        after = ", ".join(
            f"{e.source} ({e.condition}{', Batch dependsOn' if e.native else ''})" for e in waits
        )
        lines.append(
            f"{node.key}  [{node.service} {node.job} on {node.platform}]"
            + (f"  after {after}" if after else "")
        )
    return "\n".join(lines) + "\n"


def _quote(label: str) -> str:
    return label.replace('"', "#quot;")
