# Over 400 lines: the shared vocabulary and the protocols every platform implements, each
# member documented where it is declared (the one place a platform author reads).
"""What every platform speaks, and the two protocols a platform package implements.

`Platform` is the pure part (no I/O): how a run's request is built, checked against the
live objects and fingerprinted, how long a run may take, which dependencies AWS itself
can hold. `PlatformClient` is the client part: the only code that calls the platform's
AWS service. The engine knows platforms only through these two protocols and the
registry (`providers/registry.py`). No Glue or Batch field name appears here.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeVar

from polysync_spec.manifest.models import Direction, Run
from polysync_spec.manifest.positions import DocPath
from polysync_spec.values import is_internal

if TYPE_CHECKING:
    from mypy_boto3_logs.client import CloudWatchLogsClient

    from polysync_spec.providers.cost import CostEstimate, Prices

# The boto3 client of a platform's service (e.g. mypy_boto3_glue's GlueClient).
ServiceClient = TypeVar("ServiceClient")


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
        """The payload with every secret value replaced by ***. A secret field whose holder
        is not a mapping (a platform sending its parameters as one JSON string) masks the
        whole holder: never shown is safer than parsed."""
        shown: dict[str, Any] = {
            k: dict(v) if isinstance(v, Mapping) else v for k, v in self.payload.items()
        }
        for outer, inner in self.secret_fields:
            if isinstance(shown.get(outer), dict):
                if inner in shown[outer]:
                    shown[outer][inner] = "***"
            elif outer in shown:
                shown[outer] = "***"
        return shown


# Error codes that say "not now" rather than "no": the call may be made again.
# Submissions in flight at once (the engine's workers): the submit clients keep as many
# connections, so none is opened and thrown away per call (botocore keeps 10 by default
# and discards the ones beyond; on AWS each new one costs a TLS handshake).
SUBMIT_CONNECTIONS = 50

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
    # Queued: accepted, waiting to start (what the stall limit bounds).
    waiting: bool = False
    # Held by AWS until a dependency it holds for the run ends (`Platform.holds_dependency`:
    # Batch keeps a job with dependsOn PENDING): waiting on its upstream, not on capacity.
    held: bool = False
    # Failed because a dependency AWS held for it (`Platform.holds_dependency`) did not
    # succeed: the run never started.
    dependency_failed: bool = False
    # A run that has ended: what it used, in billing units (`providers.cost`, e.g.
    # {"DPU-hours": 0.42}); None when AWS does not say.
    usage: Mapping[str, float] | None = None


@dataclass(frozen=True)
class RunEvent:
    """What one EventBridge state-change event says about a run (`Platform.run_event`).

    `run_id`: the run it is about, as the platform's run ids read; `report`: its state
    as a read would map it. `owner`: the run of an apply it belongs to when it is about
    another run AWS started for it (a Batch array child, a Glue automatic retry), else
    None. `confirm`: the event says the run ended but it may not be final (a Glue run
    that failed may be retried, a Batch array's failure is counted by its children):
    read the run before recording it. Only ends are taken from events; an event that
    is not an end is for a read to tell (`final` False)."""

    run_id: str
    report: StatusReport
    owner: str | None = None
    confirm: bool = False

    @property
    def final(self) -> bool:
        return self.report.status.terminal


@dataclass(frozen=True)
class Delivery:
    """One message of an event queue (`EventFeed.receive`): its receipt (what deleting it
    takes), what it says about a run (None: not a run's state change, or from a platform
    polysync does not know), and when the event happened (epoch seconds; None if unsaid)."""

    receipt: str
    event: RunEvent | None
    happened_at: float | None = None


class EventFeed(Protocol):
    """A queue of the platforms' state-change events (an SQS queue fed by EventBridge
    rules): at-least-once, in no particular order. Errors as `PlatformClient` says."""

    #: The queue's name, for messages.
    name: str

    def receive(self, wait_seconds: int) -> list[Delivery]:
        """Up to 10 messages, waiting up to `wait_seconds` (0..20) for the first one."""
        ...

    def delete(self, receipts: list[str]) -> None:
        """Delete handled messages (10 a call); a receipt that has expired is no error."""
        ...


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


class AwsProvider(Generic[ServiceClient]):
    """What every platform client holds: its service's boto3 client (typed by the
    boto3-stubs of that service), its region, a CloudWatch Logs client for log tails, a
    separate client for submissions that never retries on its own (a retried submit
    after a 5xx could create a second run; the executor decides instead), and one for
    cancellations, with connections of its own."""

    service = ""

    def __init__(
        self,
        client: ServiceClient,
        region: str,
        logs: CloudWatchLogsClient | None = None,
        submit_client: ServiceClient | None = None,
        cancel_client: ServiceClient | None = None,
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


def first_set(*candidates: tuple[Any, Tier]) -> Resolved | None:
    """The first candidate whose value is set, with its tier: the precedence rule."""
    for value, tier in candidates:
        if value is not None:
            return Resolved(value, tier)
    return None


def object_schema(
    properties: dict[str, Any], required: list[str] | None = None, **extra: Any
) -> dict[str, Any]:
    """A closed JSON Schema object (every property required unless `required` says)."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
        "additionalProperties": False,
        **extra,
    }


# ---------------------------------------------------------------- the two protocols


class FindingSink(Protocol):
    """Where a platform's pre-flight checks put what they find about one run. `at` is
    the run's place in the manifests; `path` (default: the run) is located by the sink.
    `key`: the finding is about the entry at `path` as a whole, so it points at the key."""

    at: DocPath

    def error(
        self, code: str, message: str, path: DocPath | None = None, *, key: bool = False
    ) -> None: ...
    def drift(
        self, code: str, message: str, path: DocPath | None = None, *, key: bool = False
    ) -> None: ...
    def note(
        self, code: str, message: str, path: DocPath | None = None, *, key: bool = False
    ) -> None: ...


@dataclass
class PlannedRequest:
    """What a platform plans for one run: the exact request, what the job resolved to
    (`live`, e.g. "nightly:3"; None when it does not exist) and values that bound or
    describe the run without being sent (`recorded`, e.g. the definition's timeout)."""

    request: RunRequest
    live: str | None
    recorded: dict[str, Resolved] = field(default_factory=dict)


@dataclass(frozen=True)
class ImportedJob:
    """A manifest job entry `polysync import` writes: its external id, its parameters
    as (value, type) by name, its captured compute, and whether an existing job's
    external id may be replaced by this one (`replaces(current)`: a newer pinned
    revision of the same definition)."""

    external_id: str
    parameters: Mapping[str, tuple[Any, str]]
    compute: Mapping[str, Any]
    replaces: Callable[[str], bool] = lambda current: False


@dataclass(frozen=True)
class PlanContext:
    """One run plan as a platform's plan-wide checks see it: the runs on this platform
    (index in the run plan, run, job, platform model), the plan's `max_concurrency`, and
    `largest_unordered(keys)`: the largest subset of those run keys no two of which are
    ordered by `after` edges (the runs that may go at once)."""

    run_plan: str
    runs: Sequence[tuple[int, Run, Any, Any]]
    max_concurrency: int
    largest_unordered: Callable[[list[str]], list[str]]


class Platform(Protocol):
    """The pure part of a platform (no I/O, no SDK): everything the validator, planner,
    scheduler and renderers need to know about it."""

    #: The manifest's platform `type` and job `type` (e.g. "aws_glue", "aws_glue_job").
    type: ClassVar[str]
    job_type: ClassVar[str]
    #: The AWS service, as plans record it (`service`) and IAM and consoles name it.
    service: ClassVar[str]
    #: The platform's name as people say it (e.g. "Glue"), for pictures and messages.
    title: ClassVar[str]
    #: The API a run is started with (e.g. "StartJobRun").
    api: ClassVar[str]
    #: JSON Schemas of the values `plan_run` records from the live objects (`recorded`).
    recorded_schema: ClassVar[Mapping[str, Mapping[str, Any]]]
    #: Error codes with which AWS refuses to start a run for want of capacity: nothing
    #: started, so the run waits and is tried again (bounded by the stall limit).
    busy_codes: ClassVar[frozenset[str]]
    #: What AWS calls the dependencies it holds itself (e.g. "Batch dependsOn"); "" if none.
    held_dependency: ClassVar[str]
    #: The start call's rate, calls a second per account and region: `(start, ceiling)`.
    #: Submissions begin at `start` and never exceed `ceiling` (the documented quota);
    #: throttling halves the rate, each accepted call raises it again (engine/rate.py).
    submit_rate: ClassVar[tuple[float, float]]

    def busy_reason(self, compute: Mapping[str, Any]) -> str:
        """Why a run refused with a `busy_codes` error waits (e.g. "MaxConcurrentRuns 2"),
        from the planned run's resolved values (`compute`, by key)."""
        ...

    def request_schema(self, secret_or_string: Mapping[str, Any]) -> dict[str, Any]:
        """The JSON Schema of the request as plans hold it; `secret_or_string` is the
        schema of a parameter value (a string, or a secret as {"$env": NAME})."""
        ...

    def plan_run(
        self, run: Run, job: Any, platform: Any, live: Any, out: FindingSink
    ) -> PlannedRequest:
        """The run's request, checked against `live` (this platform's snapshot from
        `PlatformClient.snapshot`, or None when nothing was discovered)."""
        ...

    def plan_findings(self, context: PlanContext, live: Any) -> Iterable[tuple[DocPath, str, str]]:
        """Plan-wide errors on this platform's runs, as (manifest path, code, message)."""
        ...

    def fingerprints(self, job: Any, platform: Any, live: Any) -> dict[str, str]:
        """What the live objects a job depends on looked like when planned: `apply` with a
        plan file refuses to go on if any of them changed since."""
        ...

    def effective_request(self, job: Any, live: Any, request: Mapping[str, Any]) -> dict[str, Any]:
        """What a run of `job` runs with when `request` is sent: the request with what AWS
        fills from the live job or definition in `live` (the platform's snapshot) merged
        in (Glue: the job's DefaultArguments under `Arguments`, NonOverridableArguments
        over them; Batch: the definition's parameters under `parameters`). Two requests
        with the same effective request run the same; import uses it to tell a request
        that only states what AWS already fills from one that changes what runs."""
        ...

    def parameter_name(self, field: tuple[str, str]) -> str:
        """The manifest parameter a secret request field (`secret_fields`) holds."""
        ...

    def aws_name(self, job: Any) -> str:
        """The name in AWS of what a manifest job runs (e.g. a definition's name without
        its revision): how `polysync import` matches jobs to what it found."""
        ...

    def imported_job(self, definition: Any) -> ImportedJob:
        """A job entry for what `PlatformClient.importable` found."""
        ...

    def resources_used(self, run: Run, job: Any, platform: Any) -> Mapping[str, str]:
        """The AWS resources one run uses, by kind (e.g. {"job": NAME}), for `polysync
        iam`. Raises `PolysyncError` when the run cannot name one (validate reports it)."""
        ...

    def grants(
        self, command: Any, region: str, account: str, used: Mapping[str, set[str]]
    ) -> list[Any]:
        """What `command` (`permissions.Command`) needs on this platform, whose runs use
        `used` (kind -> names, from `resources_used`), as `permissions.Grant`s."""
        ...

    #: Sample `used` for the README's permissions table (kind -> a placeholder name).
    sample_resources: ClassVar[Mapping[str, set[str]]]
    #: What `polysync iam` cannot know offline about this platform's logs.
    logs_note: ClassVar[str]

    #: The EventBridge event pattern of this platform's run ends, as `polysync events
    #: setup` puts it on its rule (source, detail-type and the final states).
    event_pattern: ClassVar[Mapping[str, Any]]

    def run_event(self, detail_type: str, detail: Mapping[str, Any]) -> RunEvent | None:
        """What an EventBridge event of this platform's `source` (its `detail-type` and
        `detail`) says about a run; None when it is not about a run (another detail
        type, a detail without the run's id)."""

    def estimate(
        self,
        job: Any,
        platform: Any,
        live: Any,
        *,
        compute: Mapping[str, Any],
        request: Mapping[str, Any],
        prices: Prices,
    ) -> CostEstimate | None:
        """What one run will cost (`providers.cost.CostEstimate`): its usage per hour from
        the resolved `compute` values (by key, every tier) and the exact `request`, the
        expected figure from the job's recent runs in `live` (the snapshot), the upper
        bound from the run's own time limit, priced from `prices` where the table has
        its service, item and region. None when the run cannot be sized at all."""
        ...

    def run_limit_seconds(self, compute: Mapping[str, Any]) -> float | None:
        """How long a run may take by its own settings (`compute`: the planned run's
        resolved values by key), in seconds; None when AWS knows no limit."""
        ...

    def holds_dependency(self, condition: str) -> bool:
        """Whether AWS itself can hold a run until another run of this platform (same
        account and region) meets `condition` ("succeeded", "failed", "completed")."""
        ...

    def with_dependencies(
        self, request: Mapping[str, Any], run_ids: list[str]
    ) -> dict[str, Any] | None:
        """`request` made to wait, in AWS, for `run_ids`; None when AWS cannot hold that
        many (the executor then waits client-side)."""
        ...


@dataclass(frozen=True)
class Inventory:
    """What a platform's account holds, as `polysync discover` shows it: the members of
    its JSON document and its text lines."""

    document: Mapping[str, Any]
    lines: Sequence[str]


class RunClient(Protocol):
    """What the engine needs of a platform's client to run and follow runs: the calls of
    apply, status, cancel and logs. Errors as `PlatformClient` says."""

    def submit(self, request: RunRequest) -> str:
        """Start the run; its run id. Raises `AwsError` (its `.code` is AWS's)."""
        ...

    def find_submitted(self, request: RunRequest, since: float) -> list[str]:
        """The runs this submission attempt started (by the identity its request
        carries), looking back to `since` (epoch seconds on AWS's clock)."""
        ...

    def poll(self, run_ids: list[str]) -> dict[str, StatusReport]:
        """One read of each run, batched; a run AWS does not know is Unknown. A platform
        may leave out runs it has no need to read this round (its own cadence, e.g.
        Glue's from its jobs' recent run durations): those keep the state they had."""
        ...

    def cancel(self, run_ids: list[str]) -> dict[str, Refusal | None]:
        """Stop each run; None where AWS accepted, else its `Refusal` (never raises)."""
        ...

    def monitor_url(self, run_id: str) -> str:
        """The AWS console page of the run."""
        ...

    def log_tail(self, run_id: str, lines: int) -> LogTail:
        """The last `lines` of the run's logs, or a note saying why there are none."""
        ...


class PlatformClient(RunClient, Protocol):
    """The client part of a platform: the only code that calls its AWS service. Every
    method raises `AwsError` (providers/aws.py) for a failed call unless it says
    otherwise."""

    region: str

    def snapshot(self, platform: Any, runs: Sequence[tuple[Run, Any]]) -> Any:
        """The live objects `runs` (run, job) touch, with the fewest calls the APIs allow:
        the `live` argument of the platform's `plan_run`."""
        ...

    def inventory(self, platform_name: str) -> Inventory:
        """Everything the account holds that this platform can run (read-only)."""
        ...

    def importable(self) -> list[Any]:
        """What `polysync import` can write into manifests (the platform's own definition
        type, with a `name`), sorted by name."""
        ...
