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


def is_internal(key: str) -> bool:
    """Polysync-internal parameters (leading `_`) are never sent to AWS."""
    return key.startswith(INTERNAL_PREFIX)


def glue_argument_key(key: str) -> str:
    """`source_path` -> `--source_path`; an existing `--` prefix is kept."""
    return key if key.startswith(GLUE_PREFIX) else GLUE_PREFIX + key
