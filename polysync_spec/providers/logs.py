"""Reading CloudWatch Logs for log tails: shared by the platforms' clients."""

from __future__ import annotations

from typing import Any

from polysync_spec.providers.base import LogTail
from polysync_spec.providers.denials import DENIED_CODES, grant_hint


def read_log_tail(logs: Any, group: str, stream: str, lines: int) -> LogTail | None:
    """The last `lines` events of one stream; None when the stream does not exist. Other
    failures (no permission, throttling) become a note: logs must never fail an apply."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        response = logs.get_log_events(
            logGroupName=group, logStreamName=stream, limit=lines, startFromHead=False
        )
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code == "ResourceNotFoundException":
            return None
        if code in DENIED_CODES:
            hint = grant_hint("logs:GetLogEvents", f"log group {group} (its streams)")
            return LogTail(note=f"cannot read {group}: {code}; {hint}")
        return LogTail(note=f"cannot read {group}: {code}")
    except BotoCoreError as exc:
        return LogTail(note=f"cannot read {group}: {exc.__class__.__name__}")
    messages = tuple(str(e.get("message", "")).rstrip("\n") for e in response.get("events", []))
    return LogTail(messages, f"{group} / {stream}") if messages else None
