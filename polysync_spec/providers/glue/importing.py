"""Importing Glue jobs into manifests: DefaultArguments as parameters."""

from __future__ import annotations

import json
from typing import Any

from polysync_spec.providers.glue.rules import GLUE_INTERNAL_ARGUMENTS, GLUE_RESERVED_ARGUMENTS
from polysync_spec.providers.glue.spec import GlueDefinition


def imported_parameters(definition: GlueDefinition) -> dict[str, tuple[Any, str]]:
    """DefaultArguments as manifest parameters: `--` dropped, system arguments filtered,
    types inferred from the string values (Glue arguments are always strings)."""
    result: dict[str, tuple[Any, str]] = {}
    for key, value in definition.default_arguments.items():
        if key in GLUE_RESERVED_ARGUMENTS or key in GLUE_INTERNAL_ARGUMENTS:
            continue
        name = key[2:] if key.startswith("--") else key
        result[name] = infer_value(value)
    return result


def infer_value(text: str) -> tuple[Any, str]:
    """A Glue argument string as (value, type): booleans, integers, numbers, JSON."""
    if text in ("true", "false"):
        return text == "true", "boolean"
    try:
        if text.strip() == text and text.lstrip("-").isdigit():
            return int(text), "integer"
        if text.strip() == text and any(c.isdigit() for c in text):
            number = float(text)
            if text.lower() not in ("nan", "inf", "-inf", "infinity"):
                return number, "number"
    except ValueError:
        pass
    if text[:1] in ("[", "{"):
        try:
            parsed = json.loads(text)
        except ValueError:
            return text, "string"
        return parsed, "json"
    return text, "string"
