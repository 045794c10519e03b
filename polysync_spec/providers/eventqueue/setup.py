"""`polysync events setup`: the SQS queue of a platform's `events_queue`, its policy, and
the EventBridge rule that feeds it with the platform's run ends, created idempotently.

Each step reads first and writes only what differs, so a second run changes nothing:
- the queue (GetQueueUrl; CreateQueue when absent, with long polling on by default:
  `ReceiveMessageWaitTimeSeconds` 20);
- the rule on the default event bus (DescribeRule; PutRule when absent or its pattern or
  state differ), with the platform's `event_pattern`;
- the rule's target (ListTargetsByRule; PutTargets with the queue's ARN when absent);
- the queue policy statement that lets that rule deliver (GetQueueAttributes Policy;
  SetQueueAttributes with the statement added, other statements kept).
With `dry_run` nothing is written: the steps say what would be done.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from typing import Any

from polysync_spec.providers.eventqueue import names
from polysync_spec.providers.registry import platform_of

QUEUE_ATTRIBUTES = {"ReceiveMessageWaitTimeSeconds": "20"}


class Change(enum.StrEnum):
    CREATE = "create"
    UPDATE = "update"
    KEEP = "unchanged"


@dataclass(frozen=True)
class Step:
    """One resource of the setup: what was (or, dry run, would be) done to it."""

    change: Change
    kind: str  # "SQS queue", "EventBridge rule", "rule target", "queue policy"
    name: str
    detail: str = ""

    def line(self, dry_run: bool) -> str:
        sign = {Change.CREATE: "+", Change.UPDATE: "~", Change.KEEP: "="}[self.change]
        verb = {
            Change.CREATE: "would create" if dry_run else "created",
            Change.UPDATE: "would update" if dry_run else "updated",
            Change.KEEP: "unchanged",
        }[self.change]
        tail = f": {self.detail}" if self.detail else ""
        return f"{sign} {self.kind} {self.name} {verb}{tail}"


def setup(
    platform: Any, sqs: Any, events: Any, account: str, *, dry_run: bool = False
) -> list[Step]:
    """Create what `platform` (a manifest platform with `events_queue`) needs, with the
    boto3 `sqs` and `events` clients of its region, in `account`. Raises `AwsError`."""
    from botocore.exceptions import BotoCoreError, ClientError

    from polysync_spec.providers.aws import describe_client_error

    queue = str(platform.events_queue)
    spec = platform_of(platform)
    region = str(platform.region)
    rule = names.rule_name(queue, spec.service)
    queue_arn = names.queue_arn(region, account, queue)
    rule_arn = names.rule_arn(region, account, rule)
    pattern = json.dumps(spec.event_pattern, sort_keys=True)
    steps: list[Step] = []
    action = "GetQueueUrl"
    try:
        url = _queue_url(sqs, queue)
        if url is None:
            action = "CreateQueue"
            if not dry_run:
                url = str(
                    sqs.create_queue(QueueName=queue, Attributes=QUEUE_ATTRIBUTES)["QueueUrl"]
                )
            steps.append(Step(Change.CREATE, "SQS queue", queue, "long polling 20 s"))
        else:
            steps.append(Step(Change.KEEP, "SQS queue", queue))

        action = "DescribeRule"
        found = _rule(events, rule)
        if found is None or not _same_pattern(found.get("EventPattern"), pattern):
            change = Change.CREATE if found is None else Change.UPDATE
        elif found.get("State") != "ENABLED":
            change = Change.UPDATE
        else:
            change = Change.KEEP
        if change is not Change.KEEP and not dry_run:
            action = "PutRule"
            events.put_rule(
                Name=rule,
                EventPattern=pattern,
                State="ENABLED",
                Description=f"{spec.title} run ends for polysync, to SQS queue {queue}",
            )
        steps.append(Step(change, "EventBridge rule", rule, _pattern_text(spec.event_pattern)))

        action = "ListTargetsByRule"
        targets = [] if found is None else _targets(events, rule)
        if any(t.get("Arn") == queue_arn for t in targets):
            steps.append(Step(Change.KEEP, "rule target", f"{rule} -> {queue}"))
        else:
            if not dry_run:
                action = "PutTargets"
                answer = events.put_targets(
                    Rule=rule, Targets=[{"Id": names.TARGET_ID, "Arn": queue_arn}]
                )
                if answer.get("FailedEntryCount"):
                    failed = answer.get("FailedEntries") or [{}]
                    raise_failed(rule, failed[0])
            steps.append(Step(Change.CREATE, "rule target", f"{rule} -> {queue}"))

        action = "GetQueueAttributes"
        policy = _policy(sqs, url) if url is not None else None
        wanted = names.policy_statement(queue_arn, rule_arn)
        statements = list((policy or {}).get("Statement") or [])
        if wanted in statements:
            steps.append(Step(Change.KEEP, "queue policy", queue, f"allows {rule}"))
        else:
            change = Change.CREATE if policy is None else Change.UPDATE
            kept = [s for s in statements if s.get("Sid") != wanted["Sid"]]
            document = {"Version": "2012-10-17", "Statement": [*kept, wanted]}
            if not dry_run and url is not None:
                action = "SetQueueAttributes"
                sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(document)})
            steps.append(
                Step(change, "queue policy", queue, f"allows {rule} to send (sqs:SendMessage)")
            )
    except (ClientError, BotoCoreError) as exc:
        raise describe_client_error(exc, f"events setup of queue {queue!r}: {action}") from None
    return steps


def raise_failed(rule: str, entry: Any) -> None:
    from polysync_spec.providers.aws import AwsError

    code = str(entry.get("ErrorCode") or "Error")
    raise AwsError(f"PutTargets on rule {rule!r}: {code}: {entry.get('ErrorMessage', '')}", code)


def _queue_url(sqs: Any, queue: str) -> str | None:
    from botocore.exceptions import ClientError

    try:
        return str(sqs.get_queue_url(QueueName=queue)["QueueUrl"])
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code")
        if code in ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"):
            return None
        raise


def _rule(events: Any, rule: str) -> dict[str, Any] | None:
    from botocore.exceptions import ClientError

    try:
        return dict(events.describe_rule(Name=rule))
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return None
        raise


def _targets(events: Any, rule: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        page = events.list_targets_by_rule(Rule=rule, **({"NextToken": token} if token else {}))
        found += page.get("Targets") or []
        token = page.get("NextToken")
        if not token:
            return found


def _policy(sqs: Any, url: str) -> dict[str, Any] | None:
    answer = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])
    text = (answer.get("Attributes") or {}).get("Policy")
    if not text:
        return None
    document = json.loads(text)
    return document if isinstance(document, dict) else None


def _same_pattern(live: Any, wanted: str) -> bool:
    try:
        return bool(json.loads(live) == json.loads(wanted))
    except (TypeError, ValueError):
        return False


def _pattern_text(pattern: Any) -> str:
    detail = pattern.get("detail") or {}
    states = detail.get("status") or detail.get("state") or []
    return f"{', '.join(pattern['detail-type'])} for {', '.join(states)}"
