"""What `polysync discover` prints: a platform's inventory, as text or as JSON."""

from __future__ import annotations

import json
from typing import Any

from polysync_spec.providers.base import Inventory


def as_json(platform: str, type_: str, region: str, inventory: Inventory) -> str:
    document: dict[str, Any] = {
        "version": 1,
        "platform": platform,
        "type": type_,
        "region": region,
        **inventory.document,
    }
    return json.dumps(document, indent=2) + "\n"


def as_text(inventory: Inventory) -> str:
    return "\n".join(inventory.lines) + "\n"
