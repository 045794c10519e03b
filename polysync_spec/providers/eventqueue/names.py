"""Names and documents of event-driven waiting (pure): the rule of each platform, the
ARNs, and the queue policy statement that lets EventBridge deliver to the queue.

Amazon EventBridge User Guide, "Using resource-based policies for Amazon EventBridge",
Amazon SQS permissions
(https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-sqs-permissions):
the queue's policy allows principal `events.amazonaws.com` the action `sqs:SendMessage`
on the queue, with the condition `ArnEquals aws:SourceArn` the rule's ARN.
"""

from __future__ import annotations

import hashlib
from typing import Any

from polysync_spec.values import partition_of

RULE_PREFIX = "polysync-"
# PutRule: Name "Length Constraints: Minimum length of 1. Maximum length of 64. Pattern:
# [\.\-_A-Za-z0-9]+" (botocore's events model).
RULE_NAME_MAX = 64
TARGET_ID = "polysync-queue"
EVENTS_PRINCIPAL = "events.amazonaws.com"


def rule_name(queue: str, service: str) -> str:
    """The EventBridge rule that feeds `queue` with `service`'s run ends:
    `polysync-<service>-<queue>`, or with a digest of the queue name where that is
    longer than a rule name may be."""
    head = f"{RULE_PREFIX}{service}-"
    if len(head) + len(queue) <= RULE_NAME_MAX:
        return head + queue
    digest = hashlib.sha256(queue.encode()).hexdigest()[:16]
    keep = RULE_NAME_MAX - len(head) - len(digest) - 1
    return f"{head}{queue[:keep]}-{digest}"


def queue_arn(region: str, account: str, queue: str) -> str:
    return f"arn:{partition_of(region)}:sqs:{region}:{account}:{queue}"


def rule_arn(region: str, account: str, rule: str) -> str:
    """A rule on the default event bus."""
    return f"arn:{partition_of(region)}:events:{region}:{account}:rule/{rule}"


def statement_id(rule: str) -> str:
    return f"{rule}-delivers"


def policy_statement(queue: str, rule: str) -> dict[str, Any]:
    """The queue policy statement that lets rule `rule` (ARN) deliver to `queue` (ARN)."""
    return {
        "Sid": statement_id(rule.rpartition("/")[2]),
        "Effect": "Allow",
        "Principal": {"Service": EVENTS_PRINCIPAL},
        "Action": "sqs:SendMessage",
        "Resource": queue,
        "Condition": {"ArnEquals": {"aws:SourceArn": rule}},
    }
