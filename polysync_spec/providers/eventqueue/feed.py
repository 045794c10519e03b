"""Reading an event queue during apply: SQS long polling, one message per EventBridge
event, mapped to a run by the platform whose `source` the event names.

Amazon SQS Developer Guide, "Amazon SQS short and long polling": with `WaitTimeSeconds`
1..20 ReceiveMessage waits until at least one message is available, and returns up to
`MaxNumberOfMessages` (1..10). A received message is invisible for `VisibilityTimeout`
seconds, then delivered again unless deleted; `DeleteMessageBatch` deletes up to 10
(its `Failed` entries are reported per message, not raised). Messages are delivered at
least once, and a standard queue does not keep their order.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Mapping
from typing import Any

from polysync_spec.providers.base import Delivery, Platform
from polysync_spec.providers.registry import PLATFORMS

log = logging.getLogger(__name__)

MAX_MESSAGES = 10  # ReceiveMessage's MaxNumberOfMessages and DeleteMessageBatch's entries
MAX_WAIT_SECONDS = 20  # ReceiveMessage's WaitTimeSeconds
# How long a received message stays hidden. Messages of this apply's runs are deleted at
# once; one about a run this apply does not follow (another apply sharing the queue) is
# left, and comes back to every reader after this long.
VISIBILITY_TIMEOUT = 30

_BY_SOURCE: dict[str, Platform] = {
    str(source): spec for spec in PLATFORMS for source in spec.event_pattern["source"]
}


def parse(body: str) -> tuple[Any, float | None]:
    """(RunEvent or None, when it happened) of one message body: an EventBridge event
    (`source`, `detail-type`, `detail`, `time` in ISO 8601 UTC)."""
    try:
        event = json.loads(body)
    except ValueError:
        return None, None
    if not isinstance(event, Mapping):
        return None, None
    happened = _epoch(event.get("time"))
    spec = _BY_SOURCE.get(str(event.get("source")))
    detail = event.get("detail")
    if spec is None or not isinstance(detail, Mapping):
        return None, happened
    return spec.run_event(str(event.get("detail-type")), detail), happened


def _epoch(value: Any) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


class SqsFeed:
    """The `EventFeed` of one SQS queue, by name, in the region of `client` (a boto3 SQS
    client). Its URL is looked up once (GetQueueUrl)."""

    def __init__(self, client: Any, name: str) -> None:
        self.client = client
        self.name = name
        self._url: str | None = None

    @property
    def url(self) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        from polysync_spec.providers.aws import describe_client_error

        if self._url is None:
            try:
                self._url = str(self.client.get_queue_url(QueueName=self.name)["QueueUrl"])
            except (ClientError, BotoCoreError) as exc:
                error = describe_client_error(exc, f"SQS queue {self.name!r}: GetQueueUrl")
                if error.code in ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"):
                    raise error.with_message(
                        f"{error} (create it and its EventBridge rules with "
                        "`polysync events setup`)"
                    ) from None
                raise error from None
        return self._url

    def receive(self, wait_seconds: int) -> list[Delivery]:
        from botocore.exceptions import BotoCoreError, ClientError

        from polysync_spec.providers.aws import describe_client_error

        try:
            response = self.client.receive_message(
                QueueUrl=self.url,
                MaxNumberOfMessages=MAX_MESSAGES,
                WaitTimeSeconds=max(0, min(MAX_WAIT_SECONDS, wait_seconds)),
                VisibilityTimeout=VISIBILITY_TIMEOUT,
                # When it was sent: the age of a message that is no EventBridge event.
                MessageSystemAttributeNames=["SentTimestamp"],
            )
        except (ClientError, BotoCoreError) as exc:
            raise describe_client_error(exc, f"SQS queue {self.name!r}: ReceiveMessage") from None
        deliveries = []
        for message in response.get("Messages") or []:
            event, happened = parse(str(message.get("Body") or ""))
            if happened is None:
                sent = str((message.get("Attributes") or {}).get("SentTimestamp") or "")
                happened = int(sent) / 1000 if sent.isdigit() else None
            deliveries.append(Delivery(str(message["ReceiptHandle"]), event, happened))
        return deliveries

    def delete(self, receipts: list[str]) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        from polysync_spec.providers.aws import describe_client_error

        for start in range(0, len(receipts), MAX_MESSAGES):
            chunk = receipts[start : start + MAX_MESSAGES]
            entries = [{"Id": str(i), "ReceiptHandle": r} for i, r in enumerate(chunk)]
            try:
                response = self.client.delete_message_batch(QueueUrl=self.url, Entries=entries)
            except (ClientError, BotoCoreError) as exc:
                raise describe_client_error(
                    exc, f"SQS queue {self.name!r}: DeleteMessageBatch"
                ) from None
            for failed in response.get("Failed") or []:
                # An expired receipt: the message comes back and is handled again (an
                # end already recorded is ignored), so this is only worth a debug line.
                log.debug("SQS queue %s: a message was not deleted: %s", self.name, failed)
