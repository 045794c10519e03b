"""The vocabulary of `polysync iam`: the commands whose permissions a policy grants, and a
grant (actions on resources) as a platform's `permissions` module states it."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from polysync_spec.values import partition_of


class Command(enum.StrEnum):
    """The command groups of a least-privilege policy, one statement group (Sid) each."""

    PLAN = "plan"
    APPLY = "apply"
    STATUS = "status"
    CANCEL = "cancel"
    LOGS = "logs"
    DISCOVER = "discover"  # discover and import: they list the whole account
    EVENTS = "events"  # events setup: the event queue and its rules, made once

    @property
    def sid(self) -> str:
        return self.value.capitalize()

    @property
    def commands(self) -> str:
        """The CLI commands the group stands for."""
        return {
            Command.STATUS: "status --watch",
            Command.DISCOVER: "discover, import",
            Command.EVENTS: "events setup",
        }.get(self, self.value)


# What a policy grants unless told otherwise: every command that works on the run plans'
# own jobs. discover and import list the whole account, so they are asked for by name.
DEFAULT_COMMANDS = (Command.PLAN, Command.APPLY, Command.STATUS, Command.CANCEL, Command.LOGS)


@dataclass(frozen=True)
class Grant:
    """`actions` allowed on `resources` ("*" for actions without resource-level
    permissions). `kind` names the statement it joins within its command's group (e.g.
    "GlueJobs", "BatchSubmit", "LogGroups", "Unscoped"): grants of one kind merge."""

    kind: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]


def log_group_arns(region: str, account: str, groups: Iterable[str]) -> tuple[str, ...]:
    """The ARNs that let GetLogEvents read the streams of `groups`: each group's ARN with
    and without the trailing `:*`. (CloudWatch Logs User Guide, "CloudWatch Logs resources
    and operations": a log group's ARN is used both ways, the `:*` form "when specifying
    permissions in IAM policies for all other API actions"; a stream's ARN is
    `...:log-group:GROUP:log-stream:STREAM`, which `GROUP:*` covers.)"""
    arns: list[str] = []
    for group in groups:
        base = f"arn:{partition_of(region)}:logs:{region}:{account}:log-group:{group}"
        arns += [base, f"{base}:*"]
    return tuple(arns)
