"""The manifest reference (docs/manifest-reference.md) and the README's code tables,
generated from the models and the rule registry.

Every key, its type, default, constraints and description come from the same pydantic
models that validate manifests, and every code's title and documentation from its rule,
so the reference cannot drift from the code.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from polysync_spec.manifest import codes
from polysync_spec.manifest import models as m
from polysync_spec.providers.registry import RULES

# (heading, model, where it appears), in the order a reader meets them.
SECTIONS: list[tuple[str, type[BaseModel], str]] = [
    ("Manifest set", m.Manifest, "the top level of every file; sections merge across files"),
    ("Variable", m.Variable, "`variables.<name>`"),
    ("AWS Glue platform", m.GluePlatform, "`platforms.<name>` with `type: aws_glue`"),
    ("AWS Batch platform", m.BatchPlatform, "`platforms.<name>` with `type: aws_batch`"),
    ("Glue compute", m.GlueCompute, "a Glue job's `compute`, a Glue platform's `defaults`"),
    ("auth: web_identity", m.WebIdentityAuth, "`platforms.<name>.auth`"),
    ("auth: access_key", m.AccessKeyAuth, "`platforms.<name>.auth`"),
    ("auth: assume_role", m.AssumeRoleAuth, "`platforms.<name>.auth`"),
    ("auth: instance_profile", m.InstanceProfileAuth, "`platforms.<name>.auth`"),
    ("auth: profile", m.ProfileAuth, "`platforms.<name>.auth`"),
    ("auth: default", m.DefaultAuth, "`platforms.<name>.auth` (the default)"),
    ("token: azure", m.AzureTokenSource, "`auth.token` of web_identity"),
    ("token: github", m.GithubTokenSource, "`auth.token` of web_identity"),
    ("token: file", m.FileTokenSource, "`auth.token` of web_identity"),
    ("token: env", m.EnvTokenSource, "`auth.token` of web_identity"),
    ("AWS Glue job", m.GlueJob, "`jobs.<name>` on a Glue platform"),
    ("AWS Batch job", m.BatchJob, "`jobs.<name>` on a Batch platform"),
    ("Batch dependency", m.BatchDependency, "items of a Batch job's `depends_on`"),
    (
        "Parameter",
        m.Parameter,
        "`jobs.<name>.parameters.<key>` (long form; `key: value` is shorthand)",
    ),
    ("Run plan", m.RunPlan, "`run_plans.<name>`"),
    ("Run", m.Run, "items of a run plan's `runs`"),
    ("After edge", m.After, "items of a run's `after` (`- run_key` is shorthand)"),
    (
        "Run compute",
        m.RunCompute,
        "a run's `compute` (tier 0); Glue keys for Glue jobs, Batch keys for Batch jobs",
    ),
    ("Run parameter", m.RunParameter, "`runs[].parameters.<key>` (`key: value` is shorthand)"),
    ("Target", m.Target, "`targets.<name>`, applied with `--target`"),
]


def reference_markdown() -> str:
    lines = [
        "# Manifest reference (format v1)",
        "",
        "Generated from the models by `polysync schema --reference`; do not edit by hand.",
        "Every key is `snake_case`; unknown keys are errors. Numbers and booleans may also be",
        "written as one `${...}` reference. See README.md for interpolation and targets.",
        "",
    ]
    for heading, model, where in SECTIONS:
        schema = model.model_json_schema()
        defs = schema.get("$defs", {})
        lines += [f"## {heading}", "", f"Where: {where}.", ""]
        doc = (model.__doc__ or "").strip()
        if doc:
            lines += [" ".join(doc.split()), ""]
        lines += [
            "| key | type | required / default | constraints | description |",
            "|---|---|---|---|---|",
        ]
        required = set(schema.get("required", []))
        for key, prop in schema.get("properties", {}).items():
            default = "required" if key in required else _default(prop)
            lines.append(
                f"| `{key}` | {_type(prop, defs)} | {default} | {_constraints(prop, defs)} | "
                f"{_cell(_description(prop))} |"
            )
        lines.append("")
    lines += codes_markdown()
    return "\n".join(lines)


def codes_markdown() -> list[str]:
    """Every diagnostic code with its severity, title and documentation, by family."""
    lines = [
        "## Diagnostic codes",
        "",
        "Codes are stable; new rules get new codes. `validate` reports PS0xx to PS6xx, "
        "`plan` also PS7xx. Only errors fail `validate` and block `apply`.",
        "",
    ]
    family = ""
    for rule in RULES:
        if codes.family(rule.code) != family:
            family = codes.family(rule.code)
            lines += [f"### {family} ({rule.code[:3]}xx)", ""]
        lines += [
            f"#### {rule.code}: {rule.title}",
            "",
            f"*{rule.severity.value}*. {' '.join(rule.doc.split())}",
            "",
        ]
    return lines


def codes_table(*, plan: bool) -> str:
    """The README's table of the codes validate reports or, with `plan`, of plan's
    findings against live AWS (between `<!-- codes:start -->` / `<!-- plan-codes:start -->`
    and their `:end` markers)."""
    header = "| code | kind | finding |" if plan else "| code | severity | meaning |"
    rows = [
        f"| {rule.code} | {rule.severity.value} | {_cell(rule.title)} |"
        for rule in RULES
        if codes.is_plan_code(rule.code) == plan
    ]
    return "\n".join([header, "|---|---|---|", *rows])


def _description(prop: dict[str, Any]) -> str:
    """The property's description, or (for an optional aliased type) its branch's."""
    if prop.get("description"):
        return str(prop["description"])
    for option in prop.get("anyOf", []):
        if option.get("description"):
            return str(option["description"])
    return ""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _default(prop: dict[str, Any]) -> str:
    if "default" not in prop or prop["default"] is None:
        return "optional"
    return f"`{json.dumps(prop['default'])}`"


def _resolve(prop: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    ref = prop.get("$ref")
    return defs.get(ref.rsplit("/", 1)[-1], prop) if isinstance(ref, str) else prop


def _type(prop: dict[str, Any], defs: dict[str, Any]) -> str:
    if "anyOf" in prop or "oneOf" in prop:
        options = [
            _type(p, defs)
            for p in prop.get("anyOf", prop.get("oneOf", []))
            if p.get("type") != "null"
        ]
        return " or ".join(dict.fromkeys(options))
    if "$ref" in prop:
        target = _resolve(prop, defs)
        if "enum" in target:
            return " \\| ".join(f"`{v}`" for v in target["enum"])
        return str(target.get("title", "mapping"))
    if "const" in prop:
        return f"`{prop['const']}`"
    if "enum" in prop:
        return " \\| ".join(f"`{v}`" for v in prop["enum"])
    kind = prop.get("type")
    if kind == "array":
        return f"list of {_type(prop.get('items', {}), defs)}"
    if kind == "object":
        values: Any = prop.get("additionalProperties") or next(
            iter(prop.get("patternProperties", {}).values()), None
        )
        return f"map of {_type(values, defs)}" if isinstance(values, dict) else "mapping"
    names = {"string": "string", "integer": "integer", "number": "number", "boolean": "boolean"}
    return names.get(str(kind), "any")


def _constraints(prop: dict[str, Any], defs: dict[str, Any]) -> str:
    found: list[str] = []
    for candidate in [prop, *prop.get("anyOf", [])]:
        option = _resolve(candidate, defs)
        for key, text in (
            ("minimum", ">= {}"),
            ("maximum", "<= {}"),
            ("exclusiveMaximum", "< {}"),
            ("minLength", "length >= {}"),
            ("maxLength", "length <= {}"),
            ("minItems", "at least {} items"),
            ("maxItems", "at most {} items"),
            ("minProperties", "at least {} entries"),
            ("maxProperties", "at most {} entries"),
            ("pattern", "matches `{}`"),
        ):
            if key in option:
                found.append(text.format(option[key]))
    return _cell(", ".join(dict.fromkeys(found)))
