"""Seed a sandbox from YAML: Glue jobs, Batch compute environments, queues, scheduling
policies and job definitions (with several revisions), and scripted run outcomes.

Entries use the AWS API's own shapes (CreateJob, RegisterJobDefinition, ... arguments),
so a seed reads like the calls it makes; they go over the wire with boto3 like any client.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from polysync_spec.errors import Diagnostic, PolysyncError, Position
from polysync_spec.manifest.loader import Marks, PathKey, parse_text
from polysync_spec.sandbox.server import ACCOUNT_ID, SANDBOX_KEY, Sandbox, apply_outcomes

DEFAULT_SEED = Path(__file__).with_name("seed.yaml")
_TRUST = json.dumps({"Version": "2012-10-17", "Statement": []})
MAX_SEED_BYTES = 10 * 1024 * 1024


class Seed(dict[str, Any]):
    """A seed's data (a plain mapping, as `apply_seed` takes it) and where each entry
    came from, so that an entry AWS (or the shape of the file) refuses is reported at its
    file:line:col."""

    def __init__(
        self, data: dict[str, Any], source: str = "", marks: dict[PathKey, Marks] | None = None
    ) -> None:
        super().__init__(data)
        self.source = source
        self.marks = marks or {}

    def position(self, path: PathKey) -> Position | None:
        """The 1-based position of the value at `path` (or of its nearest parent)."""
        for end in range(len(path), 0, -1):
            mark = self.marks.get(path[:end])
            if mark is not None:
                return Position(self.source, mark.value[0] + 1, mark.value[1] + 1)
        return Position(self.source) if self.source else None


def read_yaml(path: str | Path, what: str) -> tuple[dict[str, Any], str, dict[PathKey, Marks]]:
    """A small YAML mapping file (a seed, an outcomes file): its data, display path and
    marks. Raises `PolysyncError` with file:line:col for a file that is unreadable, not
    YAML or not a mapping."""
    source = Path(path)
    try:
        if source.stat().st_size > MAX_SEED_BYTES:
            raise PolysyncError(f"{source}: {what} is larger than {MAX_SEED_BYTES} bytes")
        text = source.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolysyncError(f"cannot read {what} {source}: {exc}") from None
    found: list[Diagnostic] = []
    document = parse_text(text, str(source), found)
    errors = [d for d in found if d.is_error]
    if document is None or errors:
        if not errors:
            raise PolysyncError(f"{source}:1:1: {what} is empty; it must be a mapping")
        first = errors[0]
        message = first.message.replace("of a manifest", f"of a {what}")
        where = first.position or Position(str(source))
        raise PolysyncError(f"{where}: {message} ({what})")
    return document.data, document.path, dict(document.marks)


# The seed's sections and what each holds: a misspelt key is an error at its position,
# not a section silently ignored (found by a fresh tester: `gluee:` seeded nothing).
SEED_KEYS: dict[PathKey, tuple[str, ...]] = {
    (): ("region", "glue", "batch", "outcomes"),
    ("glue",): ("jobs",),
    ("batch",): ("compute_environments", "scheduling_policies", "job_queues", "job_definitions"),
    ("outcomes",): ("default", "glue", "batch"),
}
# Revisions registered per definition entry: enough for any pinned `name:N` a test needs;
# more would keep the sandbox from starting for minutes.
MAX_REVISIONS = 100


def _check_keys(seed: dict[str, Any]) -> None:
    from polysync_spec.manifest.suggest import did_you_mean

    for path, allowed in SEED_KEYS.items():
        node: Any = seed
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            continue
        for key in node:
            if key not in allowed:
                with _entry(seed, (*path, key)):
                    raise ValueError(
                        f"unknown key{did_you_mean(str(key), allowed)}; expected one of "
                        + ", ".join(allowed)
                    )


def load_seed(path: str | Path | None = None) -> Seed:
    """The seed at `path` (default: the example project's, `seed.yaml`). Raises
    `PolysyncError` with file:line:col for a file that is not a YAML mapping."""
    data, source, marks = read_yaml(path or DEFAULT_SEED, "sandbox seed")
    return Seed(data, source, marks)


@contextlib.contextmanager
def _entry(seed: dict[str, Any], path: PathKey) -> Iterator[None]:
    """Turn what AWS (or the seed's own shape) refuses about the entry at `path` into a
    `PolysyncError` at its position, naming the entry."""
    try:
        yield
    except PolysyncError:
        raise
    except (BotoCoreError, ClientError, TypeError, KeyError, AttributeError, ValueError) as exc:
        where = seed.position(path) if isinstance(seed, Seed) else None
        entry = ".".join(str(p) if isinstance(p, str) else f"[{p}]" for p in path)
        entry = entry.replace(".[", "[")
        reason = f"missing {exc}" if isinstance(exc, KeyError) else " ".join(str(exc).split())
        prefix = f"{where}: " if where else ""
        raise PolysyncError(f"{prefix}sandbox seed entry {entry}: {reason}") from None


def _items(seed: dict[str, Any], path: PathKey) -> list[tuple[PathKey, Any]]:
    """The entries of the list at `path` (a section's `jobs`, ...), with their paths."""
    node: Any = seed
    for depth, key in enumerate(path):
        if node is None:
            return []
        if not isinstance(node, dict):
            with _entry(seed, path[:depth]):
                raise TypeError(f"expected a mapping, found {_kind(node)}")
        node = node.get(key)
    if node is not None and not isinstance(node, list):
        with _entry(seed, path):
            raise TypeError(f"expected a list, found {_kind(node)}")
    return [((*path, index), item) for index, item in enumerate(node or [])]


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    return "a list" if isinstance(value, list) else f"the value {value!r}"


def _client(service: str, sandbox: Sandbox, region: str) -> Any:
    return boto3.client(
        service,  # type: ignore[call-overload]
        endpoint_url=sandbox.endpoint_url,
        region_name=region,
        aws_access_key_id=SANDBOX_KEY,
        aws_secret_access_key=SANDBOX_KEY,
    )


def apply_seed(sandbox: Sandbox, seed: dict[str, Any]) -> dict[str, int]:
    """Create everything the seed describes; return counts of what was created. Raises
    `PolysyncError` at the entry's file:line:col (for a `Seed` from `load_seed`) when an
    entry is malformed or AWS refuses it."""
    _check_keys(seed)
    with _entry(seed, ("region",)):
        region = str(seed.get("region", "us-east-1"))
    created = {"glue_jobs": 0, "job_queues": 0, "job_definitions": 0}
    glue = _client("glue", sandbox, region)
    for path, job in _items(seed, ("glue", "jobs")):
        with _entry(seed, path):
            spec = {"Role": f"arn:aws:iam::{ACCOUNT_ID}:role/glue-job", **job}
            glue.create_job(**spec)
        created["glue_jobs"] += 1
    with _entry(seed, ("batch",)):
        batch_seed = dict(seed.get("batch") or {})
    if batch_seed:
        iam = _client("iam", sandbox, region)
        try:
            role_arn = iam.get_role(RoleName="polysync-sandbox-batch")["Role"]["Arn"]
        except iam.exceptions.NoSuchEntityException:
            role_arn = iam.create_role(
                RoleName="polysync-sandbox-batch", AssumeRolePolicyDocument=_TRUST
            )["Role"]["Arn"]
        batch = _client("batch", sandbox, region)
        environments: dict[str, str] = {}
        for path, env in _items(seed, ("batch", "compute_environments")):
            with _entry(seed, path):
                spec = {"type": "UNMANAGED", "state": "ENABLED", "serviceRole": role_arn, **env}
                environments[spec["computeEnvironmentName"]] = batch.create_compute_environment(
                    **spec
                )["computeEnvironmentArn"]
        policies: dict[str, str] = {}
        for path, policy in _items(seed, ("batch", "scheduling_policies")):
            with _entry(seed, path):
                policies[policy["name"]] = batch.create_scheduling_policy(**policy)["arn"]
        for path, queue in _items(seed, ("batch", "job_queues")):
            with _entry(seed, path):
                spec = dict(queue)
                env_name = spec.pop("computeEnvironment", next(iter(environments), None))
                if "computeEnvironmentOrder" not in spec:
                    if env_name not in environments:
                        raise ValueError(
                            f"no compute environment {env_name!r} in batch.compute_environments"
                        )
                    spec["computeEnvironmentOrder"] = [
                        {"order": 1, "computeEnvironment": environments[env_name]}
                    ]
                policy = spec.pop("schedulingPolicy", None)
                if policy:
                    if policy not in policies:
                        raise ValueError(
                            f"no scheduling policy {policy!r} in batch.scheduling_policies"
                        )
                    spec["schedulingPolicyArn"] = policies[policy]
                spec.setdefault("priority", 1)
                spec.setdefault("state", "ENABLED")
                batch.create_job_queue(**spec)
            created["job_queues"] += 1
        for path, definition in _items(seed, ("batch", "job_definitions")):
            with _entry(seed, path):
                spec = dict(definition)
                revisions = int(spec.pop("revisions", 1))
                if not 1 <= revisions <= MAX_REVISIONS:
                    raise ValueError(
                        f"revisions must be between 1 and {MAX_REVISIONS}, not {revisions}"
                    )
                spec.setdefault("type", "container")
                for _ in range(revisions):
                    batch.register_job_definition(**spec)
                    created["job_definitions"] += 1
    with _entry(seed, ("outcomes",)):
        apply_outcomes(seed.get("outcomes") or {})
    return created
