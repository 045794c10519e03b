"""The published JSON Schema, generated from the models (`polysync schema`).

Two adjustments make the schema describe what a *file* may hold, for editors:
- a job's `type` may be left out (its platform implies it), so a job can match both job
  shapes; the union is `anyOf`, not pydantic's `oneOf`;
- numbers and booleans may be written as one `${...}` reference, resolved before validation.
"""

from __future__ import annotations

import json
from typing import Any

from polysync_spec.manifest.models import Manifest

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
REFERENCE_STRING = {"type": "string", "pattern": r"^\$\{[^{}]+\}$"}


def manifest_schema() -> dict[str, Any]:
    generated = Manifest.model_json_schema(mode="validation")
    schema: dict[str, Any] = {"$schema": SCHEMA_DIALECT, **generated}
    jobs = schema["properties"]["jobs"]
    for value in jobs.get("patternProperties", {}).values():
        if "oneOf" in value:
            value["anyOf"] = value.pop("oneOf")
    adjusted: dict[str, Any] = _allow_references(schema)
    return adjusted


def _allow_references(node: Any) -> Any:
    if isinstance(node, dict):
        node = {k: _allow_references(v) for k, v in node.items()}
        if node.get("type") in ("integer", "number", "boolean") and "const" not in node:
            return {"anyOf": [node, REFERENCE_STRING]}
        return node
    if isinstance(node, list):
        return [_allow_references(v) for v in node]
    return node


def schema_text() -> str:
    return json.dumps(manifest_schema(), indent=2, sort_keys=False) + "\n"
