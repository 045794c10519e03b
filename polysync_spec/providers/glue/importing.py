"""Importing Glue jobs into manifests: DefaultArguments as parameters."""

from __future__ import annotations

import json
import math
from typing import Any

from polysync_spec.providers.glue.rules import GLUE_INTERNAL_ARGUMENTS, GLUE_RESERVED_ARGUMENTS
from polysync_spec.providers.glue.spec import GlueDefinition
from polysync_spec.values import aws_string


def imported_parameters(definition: GlueDefinition) -> dict[str, tuple[Any, str]]:
    """DefaultArguments as manifest parameters: `--` dropped, system arguments filtered,
    each value verbatim (`infer_value`: Glue arguments are always strings)."""
    result: dict[str, tuple[Any, str]] = {}
    for key, value in definition.default_arguments.items():
        if key in GLUE_RESERVED_ARGUMENTS or key in GLUE_INTERNAL_ARGUMENTS:
            continue
        name = key[2:] if key.startswith("--") else key
        result[name] = infer_value(value)
    return result


def infer_value(text: str) -> tuple[Any, str]:
    """A Glue argument string as (value, type), verbatim: typed (boolean, integer,
    number, JSON) only when the typed value renders back to the identical string
    (`values.aws_string`), so that the argument polysync sends is the one AWS holds.
    `02134`, `0.10`, `1e3`, `+5` and `{"a": 1}` stay strings; `true`, `42`, `1.5` and
    `{"a":1}` are typed."""
    candidate = _typed(text)
    if candidate is not None and aws_string(candidate[0]) == text:
        return candidate
    return text, "string"


def _typed(text: str) -> tuple[Any, str] | None:
    if text in ("true", "false"):
        return text == "true", "boolean"
    try:
        return int(text, 10), "integer"
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        number = None
    if number is not None and math.isfinite(number):
        return number, "number"
    if text[:1] in ("[", "{"):
        try:
            return json.loads(text), "json"
        except ValueError:
            return None
    return None
