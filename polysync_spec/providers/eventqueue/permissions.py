"""The IAM side of event-driven waiting: what apply and `polysync events setup` need on a
platform's `events_queue` and its rules.

Facts, with their sources:
- Every SQS action takes the queue's ARN `arn:aws:sqs:REGION:ACCOUNT:NAME`; the batch
  actions are authorised as their single forms: DeleteMessageBatch needs
  `sqs:DeleteMessage` (Amazon SQS Developer Guide, "Amazon SQS API permissions: Actions
  and resource reference").
- EventBridge's PutRule, DescribeRule, PutTargets and ListTargetsByRule take the rule's
  ARN `arn:aws:events:REGION:ACCOUNT:rule/NAME` on the default bus (Service Authorization
  Reference, "Actions, resources, and condition keys for Amazon EventBridge": resource
  type `rule`).
- Delivery from the rule to the queue is allowed by the queue's policy, not by the
  caller's (`names.policy_statement`); sts:GetCallerIdentity, which setup uses to learn
  the account, needs no permission (AWS STS API Reference, GetCallerIdentity).
"""

from __future__ import annotations

from typing import Any

from polysync_spec.providers.eventqueue import names
from polysync_spec.providers.permissions import Command, Grant
from polysync_spec.providers.registry import platform_of

GET_QUEUE_URL = "sqs:GetQueueUrl"
RECEIVE_MESSAGE = "sqs:ReceiveMessage"
DELETE_MESSAGE = "sqs:DeleteMessage"  # DeleteMessageBatch
SETUP_QUEUE = ("sqs:CreateQueue", GET_QUEUE_URL, "sqs:GetQueueAttributes", "sqs:SetQueueAttributes")
SETUP_RULE = (
    "events:DescribeRule",
    "events:PutRule",
    "events:ListTargetsByRule",
    "events:PutTargets",
)


def grants(command: Command, platform: Any, account: str) -> list[Grant]:
    """What `command` needs on `platform`'s event queue (none without one): apply reads
    and deletes its messages; `events setup` creates the queue, its policy and the rule."""
    queue = getattr(platform, "events_queue", None)
    if not queue:
        return []
    region = str(platform.region)
    queue_arn = names.queue_arn(region, account, str(queue))
    if command is Command.APPLY:
        return [Grant("EventQueue", (GET_QUEUE_URL, RECEIVE_MESSAGE, DELETE_MESSAGE), (queue_arn,))]
    if command is Command.EVENTS:
        rule = names.rule_name(str(queue), platform_of(platform).service)
        return [
            Grant("EventQueue", SETUP_QUEUE, (queue_arn,)),
            Grant("EventRules", SETUP_RULE, (names.rule_arn(region, account, rule),)),
        ]
    return []
