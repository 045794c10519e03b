"""`polysync iam`: the least-privilege IAM policy of what the manifests would do.

Offline and pure: the policy follows from the run plans' jobs (Glue job names, Batch
queues and job definitions), each platform's region, and the account (`--account-id`,
else the account of the platform's role, else the `${ACCOUNT}` placeholder). Each
command group (plan, apply, status, cancel, logs, and discover/import on request) gets
statements of its own, so that a principal that only plans can be given `Plan*` alone.
Which call needs which permission on which resource, and why, is each platform's
`permissions` module.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from polysync_spec.errors import PolysyncError
from polysync_spec.manifest.models import AssumeRoleAuth, WebIdentityAuth
from polysync_spec.providers.permissions import DEFAULT_COMMANDS, Command, Grant
from polysync_spec.providers.registry import PLATFORMS, platform_of

ACCOUNT_PLACEHOLDER = "${ACCOUNT}"
POLICY_VERSION = "2012-10-17"


@dataclass
class Usage:
    """What the run plans use on one platform: resource names by kind."""

    platform: Any
    used: dict[str, set[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Policy:
    """The policy document, and what the reader should know about it (placeholders,
    log groups the manifests cannot tell)."""

    document: dict[str, Any]
    notes: tuple[str, ...]


def usage(project: Any, run_plans: Iterable[str]) -> tuple[dict[str, Usage], list[str]]:
    """Per platform name, what the run plans' runs use (each platform's
    `resources_used`); and notes on what could not be resolved (a run without a queue:
    validate reports it)."""
    found: dict[str, Usage] = {}
    notes: list[str] = []
    for name in run_plans:
        for run in project.run_plans[name].runs:
            job = project.jobs.get(run.job)
            if job is None or job.platform not in project.platforms:
                continue
            platform = project.platforms[job.platform]
            entry = found.setdefault(job.platform, Usage(platform))
            try:
                resources = platform_of(platform).resources_used(run, job, platform)
            except PolysyncError as exc:
                notes.append(f"run {run.key!r} of {name!r}: {exc}: not granted")
                continue
            for kind, resource in resources.items():
                entry.used.setdefault(kind, set()).add(resource)
    return found, notes


def account_of(platform: Any, account_id: str | None) -> str:
    """The account a platform's calls land in: `account_id`, else its role's account
    (assume_role, web_identity), else the placeholder."""
    if account_id:
        return account_id
    auth = platform.auth
    if isinstance(auth, AssumeRoleAuth | WebIdentityAuth):
        return str(auth.role_arn).split(":")[4]
    return ACCOUNT_PLACEHOLDER


def grants_of(command: Command, used: Usage, account: str) -> list[Grant]:
    """The platform's own grants, and those of its event queue when it names one."""
    from polysync_spec.providers.eventqueue import permissions as event_queue

    platform = used.platform
    grants: list[Grant] = []
    if command is not Command.EVENTS:  # not a platform's command: the queue's alone
        grants = platform_of(platform).grants(command, platform.region, account, used.used)
    return grants + event_queue.grants(command, platform, account)


def least_privilege(
    project: Any,
    run_plans: Sequence[str],
    *,
    account_id: str | None = None,
    commands: Sequence[Command] = DEFAULT_COMMANDS,
) -> Policy:
    """The policy that lets `commands` run `run_plans` and nothing more."""
    used, notes = usage(project, run_plans)
    merged: dict[str, tuple[list[str], list[str]]] = {}
    accounts: set[str] = set()
    for command in commands:
        for name in sorted(used):
            account = account_of(used[name].platform, account_id)
            accounts.add(account)
            for grant in grants_of(command, used[name], account):
                actions, resources = merged.setdefault(command.sid + grant.kind, ([], []))
                actions += [a for a in grant.actions if a not in actions]
                resources += [r for r in grant.resources if r not in resources]
    statements = [
        {
            "Sid": sid,
            "Effect": "Allow",
            "Action": sorted(actions),
            "Resource": "*" if resources == ["*"] else sorted(resources),
        }
        for sid, (actions, resources) in merged.items()
    ]
    if ACCOUNT_PLACEHOLDER in accounts:
        notes.append(f"replace {ACCOUNT_PLACEHOLDER} with the account id, or pass --account-id")
    for spec in PLATFORMS:
        if any(platform_of(u.platform) is spec for u in used.values()):
            notes.append(spec.logs_note)
    return Policy({"Version": POLICY_VERSION, "Statement": statements}, tuple(notes))


def permissions_table() -> str:
    """The README's table of what each command needs (between `<!-- permissions:start -->`
    and `<!-- permissions:end -->`), from the same grants the policy is built of."""
    # Placeholders where the names go: not valid manifest values, so not validated.
    samples = [
        Usage(
            SimpleNamespace(type=spec.type, region="REGION", events_queue=None),
            {kind: set(names) for kind, names in spec.sample_resources.items()},
        )
        for spec in PLATFORMS
    ]
    from polysync_spec.providers.eventqueue import permissions as event_queue

    # A platform with an events_queue adds the same grants whatever its type: shown once.
    queued = SimpleNamespace(type=PLATFORMS[-1].type, region="REGION", events_queue="QUEUE")
    rows = ["| command | actions | resources |", "|---|---|---|"]
    for command in Command:
        shown = [(grant, "") for used in samples for grant in grants_of(command, used, "ACCOUNT")]
        shown += [
            (grant, " (an events_queue)")
            for grant in event_queue.grants(command, queued, "ACCOUNT")
        ]
        for grant, note in shown:
            actions = ", ".join(f"`{a}`" for a in grant.actions)
            resources = ", ".join(f"`{r}`" for r in _short(grant.resources))
            rows.append(f"| {command.commands}{note} | {actions} | {resources} |")
    return "\n".join(rows)


def _short(resources: Sequence[str]) -> list[str]:
    """A log group's two ARNs (with and without `:*`) as one."""
    return [r for r in resources if f"{r}:*" not in resources]
