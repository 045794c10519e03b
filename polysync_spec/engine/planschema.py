"""The published JSON Schema of plan files (`polysync schema --plan`,
`schemas/polysync-plan.schema.json`): the shape `engine/planfile.py` checks a plan file
against before believing any of it. Each platform gives the shape of its request."""

from __future__ import annotations

import json
from typing import Any

from polysync_spec.engine.model import PLAN_FORMAT
from polysync_spec.manifest.models import NAME_PATTERN, RunCompute
from polysync_spec.providers.base import object_schema as _object
from polysync_spec.providers.cost import UNITS
from polysync_spec.providers.registry import PLATFORMS

SCHEMA_ID = "https://polysync.dev/schemas/polysync-plan.schema.json"
ENV_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_-]*$"
REGION_PATTERN = r"^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$"


_NAME = {
    "type": "string",
    "pattern": NAME_PATTERN,
    "description": "a name of letters, digits, _ and -, starting with a letter or _",
}


_INTEGER = {"type": "integer"}
_STRING = {"type": "string"}
_SCALAR = {"type": ["string", "integer", "number", "boolean"]}


def _compute_values() -> dict[str, Any]:
    """The type of each compute value, from the manifest's run-level compute. Apply
    computes a run's time limit from these, so `"timeout_minutes": "x"` must never reach
    it; the bounds are not repeated, since a value from the live definition (tier
    `definition`) is AWS's, not bound by the manifest's limits."""
    schema = RunCompute.model_json_schema()
    values: dict[str, Any] = {}
    for key, prop in schema["properties"].items():
        member = next(m for m in prop.get("anyOf", [prop]) if m.get("type") != "null")
        values[key] = _object(
            {
                "value": {"type": member["type"]},
                "tier": {"enum": ["run", "job", "platform", "definition"]},
            }
        )
    # Values a platform reads from the live objects and records, never sends.
    for platform in PLATFORMS:
        for key, value_schema in platform.recorded_schema.items():
            values[key] = _object({"value": value_schema, "tier": {"enum": ["definition"]}})
    return values


_SECRET_OR_STRING = {
    "anyOf": [_STRING, _object({"$env": {"type": "string", "pattern": ENV_NAME_PATTERN}})],
    "description": 'a string, or a secret as {"$env": NAME}',
}


_FINDING = _object(
    {
        "kind": {"enum": ["error", "drift", "note"]},
        "code": {"type": "string", "pattern": r"^PS[0-9]{3}$"},
        "message": _STRING,
        "path": {"type": ["string", "null"]},
        "line": {"type": ["integer", "null"], "minimum": 1},
        "column": {"type": ["integer", "null"], "minimum": 1},
    }
)
# A position is a path with its line and column, or no position at all.
_FINDING["if"] = {"properties": {"path": {"type": "string"}}}
_FINDING["then"] = {"properties": {"line": _INTEGER, "column": _INTEGER}}


_USAGE = {
    "type": "object",
    "propertyNames": {"enum": list(UNITS)},
    "additionalProperties": {"type": "number", "minimum": 0},
}
_BOUND = {
    "anyOf": [
        {"type": "null"},
        _object(
            {
                "usage": _USAGE,
                "usd": {"type": ["number", "null"], "minimum": 0},
                "basis": _STRING,
            }
        ),
    ]
}
_COST = {
    "anyOf": [
        {"type": "null"},
        _object(
            {
                "rate": _USAGE,
                "prices": _USAGE,
                "expected": _BOUND,
                "upper": _BOUND,
                "notes": {"type": "array", "items": _STRING},
                "sources": {"type": "array", "items": _STRING},
            }
        ),
    ],
    "description": "what the run is expected to cost and at most (README: Cost)",
}


def _run() -> dict[str, Any]:
    run = _object(
        {
            "key": _NAME,
            "job": _NAME,
            "platform": _NAME,
            "service": {"enum": [p.service for p in PLATFORMS]},
            "region": {
                "type": "string",
                "pattern": REGION_PATTERN,
                "description": "an AWS region such as us-east-1",
            },
            "api": {"enum": [p.api for p in PLATFORMS]},
            "request": {"type": "object"},
            "live": {"type": ["string", "null"]},
            "compute": {
                "type": "object",
                "properties": _compute_values(),
                "additionalProperties": False,
            },
            "after": {
                "type": "array",
                "items": _object(
                    {
                        "run": _NAME,
                        "on": {"enum": ["succeeded", "failed", "completed"]},
                    }
                ),
            },
            "findings": {"type": "array", "items": _FINDING},
            "cost": _COST,
        },
        required=[
            "key",
            "job",
            "platform",
            "service",
            "region",
            "api",
            "request",
            "live",
            "compute",
            "after",
            "findings",
        ],
    )
    # The request is the one API call of the run's service, in the platform's shape.
    run["allOf"] = [
        {
            "if": {"properties": {"service": {"const": p.service}}},
            "then": {
                "properties": {
                    "api": {"const": p.api},
                    "request": p.request_schema(_SECRET_OR_STRING),
                }
            },
        }
        for p in PLATFORMS
    ]
    return run


def plan_schema() -> dict[str, Any]:
    """The JSON Schema of a plan file (format `polysync-plan`, version 1)."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "polysync-spec plan file v1",
        "description": "Written by `polysync plan --out FILE`; read by `polysync show` and "
        "`polysync apply`. Integers are written without a fraction (4, not 4.0). Secrets "
        'appear only as {"$env": NAME}, as the values of request parameters.',
        **_object(
            {
                "format": {"const": "polysync-plan"},
                "version": {"const": PLAN_FORMAT},
                "id": {"type": "string", "pattern": "^[0-9a-f]{16}$"},
                "run_plan": _NAME,
                "target": {**_NAME, "type": ["string", "null"]},
                "manifest_path": _STRING,
                "variables": {
                    "type": "object",
                    "propertyNames": _NAME,
                    "additionalProperties": _SCALAR,
                },
                "max_concurrency": {"type": "integer", "minimum": 1},
                "on_failure": {"enum": ["stop", "continue", "cancel"]},
                "summary": _object(
                    {
                        key: {"type": "integer", "minimum": 0}
                        for key in ("runs", "errors", "drift", "notes", "to_submit")
                    }
                ),
                # What the ledger held when the plan was made (informative only).
                "ledger": {
                    "type": "object",
                    "additionalProperties": _object(
                        {
                            "action": {"enum": ["submit", "re-attach", "look up", "skip"]},
                            "status": {"type": ["string", "null"]},
                            "run_id": {"type": ["string", "null"]},
                            "reason": {"type": ["string", "null"]},
                        }
                    ),
                },
                "findings": {"type": "array", "items": _FINDING},
                "max_cost": {"type": ["number", "null"], "exclusiveMinimum": 0},
                "cost": _object(
                    {
                        "expected_usd": {"type": "number", "minimum": 0},
                        "upper_usd": {"type": ["number", "null"], "minimum": 0},
                        "unpriced": {"type": "array", "items": _NAME},
                    }
                ),
                "runs": {"type": "array", "minItems": 1, "items": _run()},
                "fingerprints": {"type": "object", "additionalProperties": _STRING},
                # `plan --only`: the runs apply handles (the rest are left out).
                "selection": _object(
                    {
                        "only": {"type": "array", "minItems": 1, "items": _NAME},
                        "prerequisites": {"type": "array", "items": _NAME},
                        "exact": {"type": "boolean"},
                        "left_out": {"type": "array", "items": _NAME},
                    },
                    required=["only", "prerequisites", "exact", "left_out"],
                ),
            },
            required=["format", "version", "run_plan", "manifest_path", "runs"],
        ),
    }


def plan_schema_text() -> str:
    return json.dumps(plan_schema(), indent=2) + "\n"
