"""A plan as text (for a terminal), JSON (for machines) or Markdown (for a pull request)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from polysync_spec import redact
from polysync_spec.engine.model import PLAN_KINDS, Plan, PlannedRun, RunAction
from polysync_spec.errors import Diagnostic, Severity
from polysync_spec.render import cost

Style = Callable[..., str]
_COLOURS = {Severity.ERROR: "red", Severity.DRIFT: "yellow", Severity.NOTE: "cyan"}


def _plain(text: str, **_: Any) -> str:
    return text


def shown(value: Any) -> str:
    """A request value as a reviewer reads it: secrets as *** with their source."""
    if isinstance(value, dict) and set(value) == {"$env"}:
        return f"*** (from ${value['$env']})"
    if isinstance(value, dict | list | bool):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _request_lines(request: dict[str, Any], indent: str) -> list[str]:
    lines: list[str] = []
    for key, value in request.items():
        if isinstance(value, dict) and set(value) != {"$env"}:
            lines.append(f"{indent}{key}:")
            lines.extend(f"{indent}  {k}: {shown(v)}" for k, v in value.items())
        else:
            lines.append(f"{indent}{key}: {shown(value)}")
    return lines


def _finding_line(finding: Diagnostic, style: Style) -> str:
    where = f" {finding.position}" if finding.position else ""
    label = style(
        f"{finding.severity.value} {finding.code}", fg=_COLOURS[finding.severity], bold=True
    )
    return f"{label}{where}: {finding.message}"


def text(plan: Plan, *, color: bool = False) -> str:
    import click

    style: Style = click.style if color else _plain
    target = plan.target or "none"
    lines = [f"Plan for run plan '{plan.run_plan}' (target: {target}, id {plan.plan_id})", ""]
    if plan.selection is not None:
        lines += [*selection_lines(plan), ""]
    for finding in plan.findings:
        lines.append(_finding_line(finding, style))
    for run in plan.runs:
        action = plan.action(run.key)
        marker = (
            style("-", fg="bright_black")
            if not plan.selects(run.key)
            else style("!", fg="red", bold=True)
            if run.blocked
            else style(_MARKERS[action], fg="green" if action is RunAction.SUBMIT else "cyan")
        )
        live = f" -> {run.live}" if run.live else " -> (not found)"
        lines.append(f"{marker} {style(run.key, bold=True)}  {run.platform}  {run.api}{live}")
        if not plan.selects(run.key):
            lines += ["    left out (--only): apply neither submits nor records it", ""]
            continue
        if run.key in plan.ledger:
            lines.append(f"    ledger: {ledger_note(plan, run.key)}")
        lines.extend(_request_lines(run.request, "      "))
        if run.compute:
            parts = [f"{k} {shown(v['value'])} ({v['tier']})" for k, v in run.compute.items()]
            lines.append(f"    compute: {', '.join(parts)}")
        if run.after:
            edges = [
                e["run"] if e["on"] == "succeeded" else f"{e['run']} ({e['on']})" for e in run.after
            ]
            lines.append(f"    after: {', '.join(edges)}")
        lines.append(f"    cost: {cost.run_estimate(run.cost)}")
        lines.extend(f"    cost note: {note}" for note in (run.cost or {}).get("notes", []))
        lines.extend(f"    {_finding_line(f, style)}" for f in run.findings)
        lines.append("")
    lines.append(f"Cost: {cost.plan_totals(plan)}")
    summary = f"Plan: {plan.summary()}"
    colour = "red" if plan.has_errors else "green"
    lines.append(style(summary, fg=colour, bold=True))
    return "\n".join(lines) + "\n"


_MARKERS = {
    RunAction.SUBMIT: "+",
    RunAction.LOOK_UP: "?",
    RunAction.REATTACH: "~",
    RunAction.SKIP: "=",
}


def selection_lines(plan: Plan) -> list[str]:
    """What `--only` selected, one statement a line: the runs named, the prerequisites
    included, the runs left out, and (with `--only-exact`) each upstream not waited for
    with what the ledger says of it."""
    selection = plan.selection
    if selection is None:
        return []
    flag = "--only-exact" if selection.exact else "--only"
    lines = [f"Selected ({flag}): {', '.join(selection.only)}"]
    if not selection.exact:
        lines.append("Included as prerequisites: " + (", ".join(selection.prerequisites) or "none"))
    lines.append("Left out (not submitted, not recorded): " + (", ".join(plan.left_out) or "none"))
    for key in selection.only:
        for upstream in plan.unwaited(key):
            view = plan.ledger.get(upstream)
            said = (
                f"the ledger shows it {view.status}"
                if view is not None and view.status
                else "the ledger has no run of it for this plan"
            )
            lines.append(f"{key} starts without waiting for {upstream} (left out; {said})")
    return lines


def ledger_note(plan: Plan, key: str) -> str:
    """What the ledger holds for a run and what apply will do, in one line."""
    view = plan.ledger[key]
    run_id = f" ({view.run_id})" if view.run_id else ""
    if view.reason:
        return f"{view.reason}: apply skips it"
    if view.action is RunAction.SKIP:
        from polysync_spec.engine.resume import resubmit_flag

        flag = resubmit_flag(view.status or "")
        return (
            f"{view.status}{run_id} in an earlier apply: not submitted again "
            f"(apply {flag} submits it again)"
        )
    if view.action is RunAction.REATTACH:
        return f"{view.status}{run_id}: apply re-attaches to it"
    if view.action is RunAction.LOOK_UP:
        return (
            "a submission whose outcome was not recorded: apply looks it up by its identity, "
            "and sends it only once it provably never reached AWS"
        )
    return f"{view.status}{run_id} in an earlier apply: submitted again as a new attempt"


def json_document(plan: Plan) -> str:
    """The plan as JSON: the `--output json` document and the plan file. Its secret slots
    hold `{"$env": NAME}`; any other text that quotes a secret (a finding that repeats
    what AWS said) is masked, since a plan file is kept and passed around."""
    return json.dumps(redact.mask_data(plan.to_dict()), indent=2) + "\n"


def _cell(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", " ")


def _counts(run: PlannedRun) -> str:
    parts = []
    for kind in PLAN_KINDS:
        n = sum(f.severity is kind for f in run.findings)
        if n:
            parts.append(f"{n} {kind.value}{'s' if n > 1 and kind is not Severity.DRIFT else ''}")
    return ", ".join(parts) or "none"


def markdown(plan: Plan) -> str:
    """For a pull-request comment: summary, a table of runs, details per run collapsed."""
    icon = "❌" if plan.has_errors else "✅"
    target = f", target `{plan.target}`" if plan.target else ""
    lines = [
        f"### {icon} polysync plan: `{plan.run_plan}`{target}",
        "",
        f"**{plan.summary()}** · plan id `{plan.plan_id}`",
        "",
        f"**Cost:** {_cell(cost.plan_totals(plan))}",
        "",
    ]
    if plan.selection is not None:
        lines += [f"- {_cell(line)}" for line in selection_lines(plan)] + [""]
    for finding in plan.findings:
        lines.append(
            f"- **{finding.severity.value}** {finding.code}{_where(finding)}: {_cell(finding.message)}"
        )
    if plan.findings:
        lines.append("")
    lines += [
        "| run | platform | request | resolves to | after | cost | findings |",
        "|---|---|---|---|---|---|---|",
    ]
    for run in plan.runs:
        after = (
            ", ".join(
                f"`{e['run']}`" + ("" if e["on"] == "succeeded" else f" ({e['on']})")
                for e in run.after
            )
            or "—"
        )
        live = f"`{_cell(run.live)}`" if run.live else "**not found**"
        key = f"`{run.key}`" if plan.selects(run.key) else f"`{run.key}` (left out)"
        lines.append(
            f"| {key} | {run.platform} | {run.api} | {live} | {after} "
            f"| {_cell(cost.run_estimate_short(run.cost))} | {_counts(run)} |"
        )
    lines.append("")
    noted = [key for key in plan.ledger if plan.selects(key)]
    for key in noted:
        lines.append(f"- `{key}`: {_cell(ledger_note(plan, key))}")
    if noted:
        lines.append("")
    if any(run.after for run in plan.runs):
        from polysync_spec.render.graph import mermaid, plan_graph

        lines += ["```mermaid", mermaid(*plan_graph(plan)).rstrip(), "```", ""]
    for run in plan.selected_runs:
        lines += [
            "<details>",
            f"<summary><code>{run.key}</code>: {run.api} ({_counts(run)})</summary>",
            "",
            "```json",
            json.dumps(run.request, indent=2),
            "```",
            "",
        ]
        lines.append(f"Cost: {_cell(cost.run_estimate(run.cost))}")
        lines.extend(f"- {_cell(note)}" for note in (run.cost or {}).get("notes", []))
        lines.append("")
        if run.compute:
            lines += ["| setting | value | from |", "|---|---|---|"]
            lines += [
                f"| {k} | `{_cell(shown(v['value']))}` | {v['tier']} |"
                for k, v in run.compute.items()
            ]
            lines.append("")
        for finding in run.findings:
            lines.append(
                f"- **{finding.severity.value}** {finding.code}{_where(finding)}: {_cell(finding.message)}"
            )
        if run.findings:
            lines.append("")
        lines += ["</details>", ""]
    return "\n".join(lines)


def _where(finding: Diagnostic) -> str:
    return f" `{finding.position}`" if finding.position else ""


def github(plan: Plan) -> str:
    """Plan findings as GitHub workflow commands, annotated on the manifests, then the
    summary as a notice."""
    from polysync_spec.render.diagnostics import GITHUB_LEVEL, workflow_command

    lines = [
        workflow_command(GITHUB_LEVEL[f.severity], f.code, f.message, f.position)
        for f in plan.all_findings()
    ]
    lines.append(workflow_command("notice", "polysync plan", plan.summary(), None))
    return "\n".join(lines) + "\n"
