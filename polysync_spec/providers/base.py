"""What every provider speaks: run statuses, compute tiers, requests and status reports.

No Glue or Batch field name appears here; each lives in its own provider module.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from polysync_spec.manifest.models import Direction
from polysync_spec.values import is_internal


class RunStatus(enum.StrEnum):
    """Polysync's run status, the target of both product documents' status tables."""

    STARTING = "Starting"
    RUNNING = "Running"
    SUCCESS = "Success"
    FAILED = "Failed"
    CANCELLED = "Cancelled"
    UNKNOWN = "Unknown"

    @property
    def terminal(self) -> bool:
        return self in (RunStatus.SUCCESS, RunStatus.FAILED, RunStatus.CANCELLED)


# Where a request carries its submission attempt's identity (the Batch job name, the Glue
# marker argument). Plans show this slot; apply fills it with a fresh attempt id, recorded
# in the ledger before the call. `$`, `{` and `}` are refused in Batch job names, so an
# unfilled slot can never reach a run.
ATTEMPT_SLOT = "${attempt_id}"


class Tier(enum.StrEnum):
    """Where a compute value came from; higher tiers win (run > job > platform > definition)."""

    RUN = "run"
    JOB = "job"
    PLATFORM = "platform"
    DEFINITION = "definition"


@dataclass(frozen=True)
class Resolved:
    """A compute value and the tier that supplied it."""

    value: Any
    tier: Tier


@dataclass(frozen=True)
class RunRequest:
    """The exact API call a run makes: `api` with `payload`, as boto3 takes it.

    `secret_fields` names the payload entries (e.g. `("Arguments", "--api_token")`) whose
    values are secrets: shown as *** everywhere the request is printed or stored.
    """

    api: str
    payload: Mapping[str, Any]
    compute: Mapping[str, Resolved] = field(default_factory=dict)
    secret_fields: frozenset[tuple[str, str]] = frozenset()

    def redacted(self) -> dict[str, Any]:
        """The payload with every secret value replaced by ***."""
        shown: dict[str, Any] = {
            k: dict(v) if isinstance(v, Mapping) else v for k, v in self.payload.items()
        }
        for outer, inner in self.secret_fields:
            if isinstance(shown.get(outer), dict) and inner in shown[outer]:
                shown[outer][inner] = "***"
        return shown


# Error codes that say "not now" rather than "no": the call may be made again.
RETRYABLE_CODES = frozenset(
    {
        "ThrottlingException",
        "TooManyRequestsException",
        "Throttling",
        "RequestLimitExceeded",
        "InternalServiceException",
        "InternalServerError",
        "InternalFailure",
        "ServiceUnavailable",
        "ServerException",
        "OperationTimeoutException",
    }
)


@dataclass(frozen=True)
class Refusal:
    """Why AWS did not accept a call for one run (e.g. a cancel): its error code and
    message, and whether the call may be made again (throttling, a server error, a lost
    connection)."""

    code: str
    message: str
    retryable: bool = False

    @classmethod
    def of(cls, code: str, message: str, *, status: int = 0) -> Refusal:
        return cls(code, message, code in RETRYABLE_CODES or status >= 500 or status == 429)

    def __str__(self) -> str:
        return f"{self.code}: {self.message}" if self.message else self.code


@dataclass(frozen=True)
class StatusReport:
    """One read of a run: the mapped status, the service's own state, and its message."""

    status: RunStatus
    state: str | None
    message: str | None = None
    # Array jobs: child counts by state (Batch arrayProperties.statusSummary).
    children: Mapping[str, int] | None = None


def sent_parameters(job: Any, run: Any | None) -> tuple[dict[str, Any], set[str]]:
    """The parameter values a run sends, by manifest name, and which of them are secret.

    Input and input/output parameters of the job, overridden by the run's values; output
    parameters (nothing can fill them) and `_`-prefixed internal ones are never sent, and
    a parameter without a value is left to the service's own default.
    """
    values: dict[str, Any] = {}
    for name, parameter in job.parameters.items():
        if parameter.direction is not Direction.OUTPUT and not is_internal(name):
            values[name] = parameter.value
    if run is not None:
        for name, override in run.parameters.items():
            declared = job.parameters.get(name)
            if is_internal(name) or (declared and declared.direction is Direction.OUTPUT):
                continue
            values[name] = override.value
    sent = {name: value for name, value in values.items() if value is not None}
    secret = {name for name in sent if (p := job.parameters.get(name)) and p.secret}
    return sent, secret


class AwsProvider:
    """What every provider holds: its service client, its region, a CloudWatch Logs client
    for log tails, a separate client for submissions that never retries on its own (a
    retried submit after a 5xx could create a second run; the executor decides instead),
    and one for cancellations, with connections of its own."""

    service = ""

    def __init__(
        self,
        client: Any,
        region: str,
        logs: Any = None,
        submit_client: Any = None,
        cancel_client: Any = None,
    ) -> None:
        self.client = client
        self.region = region
        self.logs = logs
        self.submit_client = submit_client or client
        self.cancel_client = cancel_client or client


@dataclass(frozen=True)
class LogTail:
    """The last lines of a run's logs, or why there are none (a note, never an error)."""

    lines: tuple[str, ...] = ()
    source: str | None = None  # "group / stream"
    note: str | None = None


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
        return LogTail(note=f"cannot read {group}: {code}")
    except BotoCoreError as exc:
        return LogTail(note=f"cannot read {group}: {exc.__class__.__name__}")
    messages = tuple(str(e.get("message", "")).rstrip("\n") for e in response.get("events", []))
    return LogTail(messages, f"{group} / {stream}") if messages else None


def first_set(*candidates: tuple[Any, Tier]) -> Resolved | None:
    """The first candidate whose value is set, with its tier: the precedence rule."""
    for value, tier in candidates:
        if value is not None:
            return Resolved(value, tier)
    return None
