"""A picture of a run plan: Mermaid (GitHub renders it), Graphviz DOT, or plain text.

Nodes are runs (labelled with job, service and platform); edges are `after` conditions,
drawn solid when polysync waits client-side and dashed when AWS orders the runs itself
(`Platform.holds_dependency`, labelled with the platform's `held_dependency`).
"""

from __future__ import annotations

from dataclasses import dataclass

from polysync_spec.engine.model import Plan, native_edge
from polysync_spec.manifest.project import Project
from polysync_spec.providers.registry import by_service, platform_of


@dataclass(frozen=True)
class Node:
    key: str
    job: str
    service: str  # the platform's title, e.g. "Glue"
    platform: str


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    condition: str
    native: bool
    held: str = ""  # what AWS calls a native dependency (e.g. "Batch dependsOn")


def run_graph(project: Project, run_plan: str) -> tuple[list[Node], list[Edge]]:
    nodes: list[Node] = []
    services: dict[str, tuple[str, str]] = {}
    for run in project.run_plans[run_plan].runs:
        job = project.jobs[run.job]
        spec = platform_of(job)
        services[run.key] = (spec.service, job.platform)
        nodes.append(Node(run.key, run.job, spec.title, job.platform))
    edges = [
        Edge(
            edge.run,
            run.key,
            edge.on.value,
            native_edge(*services[run.key], *services[edge.run], edge.on.value),
            by_service(services[run.key][0]).held_dependency,
        )
        for run in project.run_plans[run_plan].runs
        for edge in run.after
    ]
    return nodes, edges


def plan_graph(plan: Plan) -> tuple[list[Node], list[Edge]]:
    """The same picture from a plan (or a plan file): no manifests needed."""
    runs = {run.key: run for run in plan.runs}
    nodes = [
        Node(run.key, run.job, by_service(run.service).title, run.platform) for run in plan.runs
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
            by_service(run.service).held_dependency,
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
        label = edge.condition + (f" · {edge.held}" if edge.native else "")
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
            ', style=dashed, label="' + edge.condition + f' ({edge.held})"'
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
            f"{e.source} ({e.condition}{', ' + e.held if e.native else ''})" for e in waits
        )
        lines.append(
            f"{node.key}  [{node.service} {node.job} on {node.platform}]"
            + (f"  after {after}" if after else "")
        )
    return "\n".join(lines) + "\n"


def _quote(label: str) -> str:
    return label.replace('"', "#quot;")
