"""How a manifest value becomes the string AWS receives.

Glue Arguments and Batch parameters are string maps (the product documents: "All values
are strings"). Booleans are `true`/`false`, numbers their plain form, lists and maps
compact JSON. Glue argument keys are normalised to `--key`; `_`-prefixed keys are
Polysync-internal and never sent.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any

INTERNAL_PREFIX = "_"
GLUE_PREFIX = "--"


def aws_string(value: Any) -> str:
    """Render one parameter value as the string sent to AWS."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _plain_float(value)
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=False)
    if value is None:
        return ""
    return str(value)


def _plain_float(value: float) -> str:
    # repr() is the shortest text that round-trips, but uses exponents (1e+20, 1e-07);
    # a plain form is what a script parsing its arguments expects.
    if not math.isfinite(value):
        return repr(value)
    text = repr(value)
    if "e" not in text and "E" not in text:
        return text
    plain = format(Decimal(text), "f")
    return plain if "." in plain else plain + ".0"


def fits_type(value: Any, kind: str) -> bool:
    """Whether `value` is of a declared type: string, integer, number, boolean or json.

    A string is accepted for the other types when it parses as one, since AWS receives a
    string either way (a value from ${env...} or a template is always a string).
    """
    if isinstance(value, str) and kind != "string":
        return _string_parses(value, kind)
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "json":
        return isinstance(value, list | dict)
    return False


def _string_parses(value: str, kind: str) -> bool:
    try:
        if kind == "integer":
            int(value, 10)
        elif kind == "number":
            float(value)
        elif kind == "boolean":
            return value in ("true", "false")
        elif kind == "json":
            return isinstance(json.loads(value), list | dict)
    except ValueError:
        return False
    return kind in ("integer", "number")


def is_internal(key: str) -> bool:
    """Polysync-internal parameters (leading `_`) are never sent to AWS."""
    return key.startswith(INTERNAL_PREFIX)


def glue_argument_key(key: str) -> str:
    """`source_path` -> `--source_path`; an existing `--` prefix is kept."""
    return key if key.startswith(GLUE_PREFIX) else GLUE_PREFIX + key


def partition_of(region: str) -> str:
    """The ARN partition of a region: aws-cn for China, aws-us-gov for GovCloud, else aws."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"
