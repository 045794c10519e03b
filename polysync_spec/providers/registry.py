"""The platforms polysync knows: a new platform is one package and one line here.

Pure: only the platforms' pure parts are imported. Their clients, the only code that
talks to AWS, are registered in `providers/clients.py`.
"""

from __future__ import annotations

from typing import Any

from polysync_spec.manifest import rules as manifest_rules
from polysync_spec.manifest.rules import Rule
from polysync_spec.providers.base import Platform
from polysync_spec.providers.batch import rules as batch_rules
from polysync_spec.providers.batch.platform import Batch
from polysync_spec.providers.glue import option_rules as glue_option_rules
from polysync_spec.providers.glue import rules as glue_rules
from polysync_spec.providers.glue.platform import Glue

PLATFORMS: tuple[Platform, ...] = (Glue(), Batch())
# Each platform's validate rules (what `load_project` runs besides the manifest layer's).
PLATFORM_RULES: tuple[Rule, ...] = (
    *glue_rules.RULES,
    *glue_option_rules.RULES,
    *batch_rules.RULES,
)
# Every rule of every layer, in code order: what the docs and the code tables list.
RULES: tuple[Rule, ...] = tuple(
    sorted((*manifest_rules.RULES, *PLATFORM_RULES), key=lambda r: r.code)
)

_BY_TYPE = {p.type: p for p in PLATFORMS}
_BY_JOB_TYPE = {p.job_type: p for p in PLATFORMS}
_BY_SERVICE = {p.service: p for p in PLATFORMS}


def platform_of(model: Any) -> Platform:
    """The platform of a manifest platform or job model (by its `type`)."""
    kind = model.type
    found = _BY_TYPE.get(kind) or _BY_JOB_TYPE.get(kind)
    if found is None:
        raise KeyError(f"no platform for type {kind!r}")
    return found


def by_service(service: str) -> Platform:
    """The platform a planned run's `service` names (e.g. from a plan file)."""
    return _BY_SERVICE[service]


def services() -> tuple[str, ...]:
    return tuple(_BY_SERVICE)


_RULE_BY_CODE = {r.code: r for r in RULES}


def rule(code: str) -> Rule:
    """The rule registered for `code`, of any layer (KeyError when none is)."""
    return _RULE_BY_CODE[code]
