# Over 400 lines: every model of format v1, which the schema and reference share.
"""Pydantic v2 models of manifest format v1 (DESIGN.md §1). The JSON Schema comes from here.

Models are strict (`1` is not `"1"`) and closed (`extra="forbid"`): a typo is an error,
never a silently ignored key. AWS limits live on the fields, so the schema, the editor
and `polysync validate` all enforce the same numbers.
"""

from __future__ import annotations

import enum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Strict,
    StringConstraints,
    Tag,
)
from pydantic_core import PydanticCustomError

NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_-]{0,127}$"
# Where the manifest schema is published (its `$id`): a schema line that resolves from any
# repository (`polysync schema --write` puts a copy in one).
SCHEMA_ID = "https://polysync.dev/schemas/polysync.schema.json"
Name = Annotated[str, StringConstraints(pattern=NAME_PATTERN)]
# Region names: us-east-1, ap-southeast-2, us-gov-west-1, cn-north-1, eu-central-2 ...
Region = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$")]
RoleArn = Annotated[
    str,
    StringConstraints(
        max_length=2048, pattern=r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9_+=,.@/-]+$"
    ),
]
SessionName = Annotated[
    str, StringConstraints(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9_+=,.@-]*$")
]
StsExternalId = Annotated[
    str, StringConstraints(min_length=2, max_length=1224, pattern=r"^[A-Za-z0-9_+=,.@:/-]*$")
]
DurationSeconds = Annotated[int, Field(ge=900, le=43200)]
# What botocore accepts as an endpoint (its is_valid_endpoint_url: a host name of DNS
# labels, at most 253 characters), over http or https, with a valid port: anything else
# passed validate and failed only when plan built its clients. The look-arounds need
# Python's regex engine (`regex_engine` on the platform models); ECMAScript has them too.
_LABEL = r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)"
_PORT = r"(:([0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?"
ENDPOINT_URL_PATTERN = (
    rf"^https?://(?=[^/:]{{1,253}}([:/]|$))({_LABEL}\.)*{_LABEL}\.?{_PORT}(/\S*)?$"
)
EndpointUrl = Annotated[str, StringConstraints(pattern=ENDPOINT_URL_PATTERN)]
Scalar = str | int | float | bool

# botocore's WorkerType enum is exactly the documented set; AWS has since documented more
# (validate warns on those rather than failing, since botocore does not check enums).
GLUE_WORKER_TYPES = ("Standard", "G.025X", "G.1X", "G.2X", "G.4X", "G.8X", "Z.2X")
GLUE_NEWER_WORKER_TYPES = ("G.12X", "G.16X", "R.1X", "R.2X", "R.4X", "R.8X")
WorkerType = Literal[
    "Standard", "G.025X", "G.1X", "G.2X", "G.4X", "G.8X", "Z.2X",
    "G.12X", "G.16X", "R.1X", "R.2X", "R.4X", "R.8X",
]  # fmt: skip


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


# ---------------------------------------------------------------- variables


class VariableType(enum.StrEnum):
    STRING = "string"
    INTEGER = "integer"
    NUMBER = "number"
    BOOLEAN = "boolean"


# Models are strict, but an enum is written in YAML as its plain value: accept exactly that.
LaxEnum = Strict(False)


class Variable(Model):
    """A value set once and referenced as `${var.NAME}`; `--var NAME=VALUE` overrides it."""

    default: Scalar | None = Field(None, description="Value used when --var does not set one.")
    type: Annotated[VariableType, LaxEnum] | None = Field(
        None, description="Type of the value; inferred from `default`, else string."
    )
    description: str | None = None

    def value_type(self) -> VariableType:
        if self.type is not None:
            return self.type
        match self.default:
            case bool():
                return VariableType.BOOLEAN
            case int():
                return VariableType.INTEGER
            case float():
                return VariableType.NUMBER
            case _:
                return VariableType.STRING


# ---------------------------------------------------------------- authentication


class AzureTokenSource(Model):
    """An Entra ID token from azure-identity (workload identity, managed identity, or the
    default credential chain), requested for `<audience>/.default` or an explicit scope."""

    source: Literal["azure"]
    audience: str | None = Field(
        None, description="App ID URI or client id, e.g. api://polysync-aws"
    )
    scope: str | None = Field(None, description="Full scope; use instead of audience.")
    client_id: str | None = Field(None, description="Managed identity or app client id.")
    tenant_id: str | None = None


class FileTokenSource(Model):
    """A token file, re-read on every refresh (e.g. AZURE_FEDERATED_TOKEN_FILE)."""

    source: Literal["file"]
    path: str


class EnvTokenSource(Model):
    """A token held in an environment variable."""

    source: Literal["env"]
    name: str


class GithubTokenSource(Model):
    """The GitHub Actions OIDC token (needs `permissions: id-token: write`)."""

    source: Literal["github"]
    audience: str = "sts.amazonaws.com"


TokenSource = Annotated[
    AzureTokenSource | FileTokenSource | EnvTokenSource | GithubTokenSource,
    Field(discriminator="source"),
]


class WebIdentityAuth(Model):
    """sts:AssumeRoleWithWebIdentity with a federated token; refreshes before expiry."""

    method: Literal["web_identity"]
    role_arn: RoleArn
    token: TokenSource
    external_id: StsExternalId | None = None
    session_name: SessionName | None = None
    duration_seconds: DurationSeconds | None = None


class AccessKeyAuth(Model):
    """Static keys. The secret and the session token must come from `${env.NAME}`."""

    method: Literal["access_key"]
    access_key_id: str
    secret_access_key: str
    session_token: str | None = None


class AssumeRoleAuth(Model):
    """sts:AssumeRole from bootstrap keys; the assumed role holds the Glue/Batch rights."""

    method: Literal["assume_role"]
    access_key_id: str
    secret_access_key: str
    role_arn: RoleArn
    external_id: StsExternalId | None = None
    session_name: SessionName | None = None
    duration_seconds: DurationSeconds | None = None


class InstanceProfileAuth(Model):
    """The host's EC2 instance profile or ECS container credentials."""

    method: Literal["instance_profile"]


class ProfileAuth(Model):
    """A named profile from the AWS config and credentials files."""

    method: Literal["profile"]
    profile: str


class DefaultAuth(Model):
    """boto3's default credential chain (the default when `auth` is omitted)."""

    method: Literal["default"] = "default"


Auth = Annotated[
    WebIdentityAuth
    | AccessKeyAuth
    | AssumeRoleAuth
    | InstanceProfileAuth
    | ProfileAuth
    | DefaultAuth,
    Field(discriminator="method"),
]

# ---------------------------------------------------------------- compute


GlueWorkerType = Annotated[WorkerType, Field(description="Glue WorkerType of the run.")]
GlueWorkers = Annotated[int, Field(ge=1, description="Glue NumberOfWorkers of the run.")]
# Glue's GlueVersionString: a dotted version or `auto` (automatic upgrades), 1-255.
GlueVersion = Annotated[
    str,
    StringConstraints(max_length=255, pattern=r"^(([A-Za-z0-9_]+\.)+[A-Za-z0-9_]+|auto)$"),
    Field(description='Sent as the --glue-version argument; quote it ("4.0"), or `auto`.'),
]
GlueTimeout = Annotated[
    int, Field(ge=1, lt=10080, description="Glue Timeout of the run, in minutes.")
]
GlueMaxRetries = Annotated[
    int, Field(ge=0, description="Informational: Glue honours retries on the job definition only.")
]
# Glue's NameString (StartJobRun JobName, SecurityConfiguration): 1-255 characters of its
# single-line set, i.e. no control character but tab and no U+FFFE / U+FFFF. Written as
# the set it excludes, so that Rust's, Python's and ECMAScript's regex engines read it alike.
GLUE_NAME_STRING_PATTERN = r"^[^\x00-\x08\x0A-\x1F\uFFFE\uFFFF]+$"
GlueExecutionClass = Annotated[
    Literal["STANDARD", "FLEX"],
    Field(
        description="Glue ExecutionClass of the run: FLEX (spare capacity) only for Glue 3.0+ "
        "Spark ETL jobs (glueetl) on G.1X or G.2X workers."
    ),
]
GlueJobRunQueuing = Annotated[
    bool,
    Field(
        description="Glue JobRunQueuingEnabled: queue the run, rather than refuse it, when the "
        "job's MaxConcurrentRuns or the account's limits are reached."
    ),
]
GlueNotifyDelay = Annotated[
    int,
    Field(
        ge=1,
        description="Glue NotificationProperty.NotifyDelayAfter: minutes after the run starts "
        "before Glue sends a job run delay notification.",
    ),
]
GlueSecurityConfiguration = Annotated[
    str,
    StringConstraints(min_length=1, max_length=255, pattern=GLUE_NAME_STRING_PATTERN),
    Field(description="Glue SecurityConfiguration of the run: the configuration's name."),
]
# StartJobRun MaxCapacity: "When you specify a Python shell job
# (JobCommand.Name="pythonshell"), you can allocate either 0.0625 or 1 DPU" (botocore's
# model). Spark jobs of Glue 2.0+ "cannot specify a Maximum capacity", and the Glue
# versions that could (0.9, 1.0) no longer run: so only the Python shell values remain.
PYTHON_SHELL_CAPACITIES = (0.0625, 1.0)


def _python_shell_capacity(value: float) -> float:
    if value not in PYTHON_SHELL_CAPACITIES:
        raise PydanticCustomError(
            "max_capacity",
            "'max_capacity' must be 0.0625 or 1, got {value} (StartJobRun MaxCapacity: a Python "
            "shell job allocates either 0.0625 or 1 DPU; Spark jobs of Glue 2.0 and later use "
            "worker_type and number_of_workers)",
            {"value": value},
        )
    return value


GlueMaxCapacity = Annotated[
    float,
    AfterValidator(_python_shell_capacity),
    Field(
        description="Glue MaxCapacity of a Python shell job's run, in DPUs: 0.0625 or 1. Not "
        "with worker_type or number_of_workers.",
        json_schema_extra={"enum": list(PYTHON_SHELL_CAPACITIES)},
    ),
]


class GlueCompute(Model):
    """Glue compute settings; run > job > platform > the Glue job definition."""

    worker_type: GlueWorkerType | None = None
    number_of_workers: GlueWorkers | None = None
    glue_version: GlueVersion | None = None
    timeout_minutes: GlueTimeout | None = None
    max_retries: GlueMaxRetries | None = None
    execution_class: GlueExecutionClass | None = None
    job_run_queuing: GlueJobRunQueuing | None = None
    notify_delay_after: GlueNotifyDelay | None = None
    security_configuration: GlueSecurityConfiguration | None = None
    max_capacity: GlueMaxCapacity | None = None


ShareIdentifier = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9]{1,255}\*?$"),
    Field(description="Batch shareIdentifier: required on fair-share queues, refused on others."),
]
# A queue name as CreateJobQueue documents it (up to 128 letters, digits, - and _), or a
# job-queue ARN: SubmitJob's jobQueue takes either.
_QUEUE_NAME = r"[A-Za-z0-9_-]{1,128}"
JOB_QUEUE_PATTERN = (
    rf"^({_QUEUE_NAME}|arn:aws[a-z-]*:batch:[a-z0-9-]+:[0-9]{{12}}:job-queue/{_QUEUE_NAME})$"
)
JobQueue = Annotated[str, StringConstraints(pattern=JOB_QUEUE_PATTERN)]
Priority = Annotated[
    int,
    Field(ge=0, le=9999, description="Batch schedulingPriorityOverride: higher runs sooner."),
]
AttemptDuration = Annotated[
    int, Field(ge=60, description="Batch timeout.attemptDurationSeconds: kill an attempt after it.")
]
RetryAttempts = Annotated[
    int, Field(ge=1, le=10, description="Batch retryStrategy.attempts: tries before FAILED.")
]
ArraySize = Annotated[
    int, Field(ge=2, le=10000, description="Batch arrayProperties.size: run as an array job.")
]


class RunCompute(Model):
    """Run-level overrides (tier 0). Glue keys apply to Glue jobs, Batch keys to Batch jobs."""

    worker_type: GlueWorkerType | None = None
    number_of_workers: GlueWorkers | None = None
    glue_version: GlueVersion | None = None
    timeout_minutes: GlueTimeout | None = None
    max_retries: GlueMaxRetries | None = None
    execution_class: GlueExecutionClass | None = None
    job_run_queuing: GlueJobRunQueuing | None = None
    notify_delay_after: GlueNotifyDelay | None = None
    security_configuration: GlueSecurityConfiguration | None = None
    max_capacity: GlueMaxCapacity | None = None
    job_queue: JobQueue | None = Field(None, description="Batch queue for this run only.")
    share_identifier: ShareIdentifier | None = None
    scheduling_priority_override: Priority | None = None
    attempt_duration_seconds: AttemptDuration | None = None
    retry_attempts: RetryAttempts | None = None
    array_size: ArraySize | None = None


GLUE_COMPUTE_KEYS = frozenset(GlueCompute.model_fields)
BATCH_COMPUTE_KEYS = frozenset(RunCompute.model_fields) - GLUE_COMPUTE_KEYS

# ---------------------------------------------------------------- platforms

# An SQS queue name (CreateQueue: "up to 80 characters ... alphanumeric characters,
# hyphens (-), and underscores (_)"; a FIFO queue's ".fifo" suffix is refused: EventBridge
# needs a message group id for one, and ordering buys nothing here).
QueueName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,80}$")]
EVENTS_QUEUE_DOC = (
    "Opt-in event-driven waiting: an SQS queue (name, in the platform's region and "
    "account) fed by an EventBridge rule for the platform's job state changes "
    "(`polysync events setup` creates both). apply then learns of run ends from the "
    "queue and polls only to reconcile, at a slow cadence."
)


class GluePlatform(Model):
    """An AWS Glue account and region, and how to authenticate to it."""

    model_config = ConfigDict(regex_engine="python-re")  # endpoint_url's look-arounds

    type: Literal["aws_glue"]
    region: Region
    endpoint_url: EndpointUrl | None = Field(
        None, description="Override the Glue endpoint (emulators): an http(s) URL."
    )
    auth: Auth = Field(default_factory=DefaultAuth)
    defaults: GlueCompute | None = Field(None, description="Compute defaults (tier 2).")
    events_queue: QueueName | None = Field(None, description=EVENTS_QUEUE_DOC)
    description: str | None = None


class BatchPlatform(Model):
    """An AWS Batch account and region, and how to authenticate to it."""

    model_config = ConfigDict(regex_engine="python-re")  # endpoint_url's look-arounds

    type: Literal["aws_batch"]
    region: Region
    endpoint_url: EndpointUrl | None = Field(
        None, description="Override the Batch endpoint (emulators): an http(s) URL."
    )
    auth: Auth = Field(default_factory=DefaultAuth)
    default_job_queue: JobQueue | None = Field(
        None, description="Queue used when a job sets none: a name or a job-queue ARN."
    )
    events_queue: QueueName | None = Field(None, description=EVENTS_QUEUE_DOC)
    description: str | None = None


Platform = Annotated[GluePlatform | BatchPlatform, Field(discriminator="type")]
PLATFORM_JOB_TYPES = {"aws_glue": "aws_glue_job", "aws_batch": "aws_batch_job"}

# ---------------------------------------------------------------- parameters


class ParameterType(enum.StrEnum):
    STRING = "string"
    INTEGER = "integer"
    NUMBER = "number"
    BOOLEAN = "boolean"
    JSON = "json"


class Direction(enum.StrEnum):
    INPUT = "input"
    OUTPUT = "output"
    INPUT_OUTPUT = "input_output"


class Parameter(Model):
    """A job parameter. Shorthand `name: value` means an input with that value."""

    value: Any = Field(None, description="Sent as a string: true/false, plain numbers, JSON.")
    type: Annotated[ParameterType, LaxEnum] | None = None
    direction: Annotated[Direction, LaxEnum] = Direction.INPUT
    secret: bool = Field(False, description="Value must come from ${env.NAME}; shown as ***.")
    description: str | None = None


class RunParameter(Model):
    """A run-level parameter value; type, direction and secrecy belong to the job."""

    value: Any = None


def _long_form(value: Any) -> Any:
    return value if isinstance(value, dict) else {"value": value}


ParameterSpec = Annotated[
    Parameter,
    BeforeValidator(_long_form, json_schema_input_type=Scalar | list[Any] | Parameter | None),
]
RunParameterSpec = Annotated[
    RunParameter,
    BeforeValidator(_long_form, json_schema_input_type=Scalar | list[Any] | RunParameter | None),
]

# ---------------------------------------------------------------- jobs


# StartJobRun JobName is a NameString too.
GLUE_JOB_NAME_PATTERN = GLUE_NAME_STRING_PATTERN
GlueJobName = Annotated[
    str, StringConstraints(min_length=1, max_length=255, pattern=GLUE_JOB_NAME_PATTERN)
]


class GlueJob(Model):
    """An AWS Glue job, run with StartJobRun."""

    platform: Name = Field(description="The aws_glue platform that runs it.")
    type: Literal["aws_glue_job"] = "aws_glue_job"
    external_id: GlueJobName = Field(description="The Glue job name.")
    description: str | None = None
    parameters: dict[str, ParameterSpec] = Field(
        default_factory=dict, description="Parameters by name: `name: value` or the long form."
    )
    compute: GlueCompute | None = Field(None, description="Compute overrides (tier 1).")
    allow_undeclared_parameters: bool = Field(
        False,
        description="Let runs set parameters this job does not declare; they are sent as "
        "given. Off by default: a run's misspelled parameter is an error, not a new argument.",
    )


TagKey = Annotated[str, StringConstraints(min_length=1, max_length=128)]
TagValue = Annotated[str, StringConstraints(max_length=256)]


class BatchDependency(Model):
    job_id: Annotated[str, StringConstraints(min_length=1)]
    type: Literal["SEQUENTIAL", "N_TO_N"] | None = None


class BatchJob(Model):
    """An AWS Batch job definition, submitted with SubmitJob."""

    platform: Name = Field(description="The aws_batch platform that runs it.")
    type: Literal["aws_batch_job"] = "aws_batch_job"
    external_id: Annotated[str, StringConstraints(min_length=1)] = Field(
        description="Job definition: name, name:revision, or job-definition ARN."
    )
    description: str | None = None
    parameters: dict[str, ParameterSpec] = Field(
        default_factory=dict, description="Parameters by name: `name: value` or the long form."
    )
    job_queue: JobQueue | None = Field(
        None, description="Overrides the platform's default_job_queue: a name or an ARN."
    )
    share_identifier: ShareIdentifier | None = None
    scheduling_priority_override: Priority | None = None
    attempt_duration_seconds: AttemptDuration | None = None
    retry_attempts: RetryAttempts | None = None
    array_size: ArraySize | None = None
    tags: Annotated[dict[TagKey, TagValue], Field(min_length=1, max_length=50)] | None = Field(
        None, description="Batch tags (strings; 1-50, keys <= 128, values <= 256 characters)."
    )
    propagate_tags: bool | None = Field(None, description="Propagate tags to ECS/EKS resources.")
    depends_on: Annotated[list[BatchDependency], Field(max_length=20)] | None = Field(
        None, description="Batch dependsOn on existing job ids (at most 20)."
    )
    allow_undeclared_parameters: bool = Field(
        False,
        description="Let runs set parameters this job does not declare; they are sent as "
        "given. Off by default: a run's misspelled parameter is an error, not a new argument.",
    )


def _job_type(value: Any) -> str | None:
    if isinstance(value, dict):
        kind = value.get("type")
        return kind if isinstance(kind, str) else None
    return None


Job = Annotated[
    Annotated[GlueJob, Tag("aws_glue_job")] | Annotated[BatchJob, Tag("aws_batch_job")],
    Discriminator(_job_type),
]

# ---------------------------------------------------------------- run plans


class Condition(enum.StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    COMPLETED = "completed"


class After(Model):
    """Wait for run `run` to end in state `on` (succeeded by default)."""

    run: Name
    on: Annotated[Condition, LaxEnum] = Condition.SUCCEEDED


def _after_long_form(value: Any) -> Any:
    return {"run": value} if isinstance(value, str) else value


AfterSpec = Annotated[After, BeforeValidator(_after_long_form, json_schema_input_type=Name | After)]


class Run(Model):
    """One run of a job in a run plan, with its own parameter values and overrides."""

    job: Name = Field(description="The job to run: a name under `jobs`.")
    name: Name | None = Field(None, description="Run key; defaults to the job name.")
    description: str | None = None
    parameters: dict[str, RunParameterSpec] = Field(
        default_factory=dict,
        description="Values for this run only; they override the job's.",
    )
    compute: RunCompute | None = Field(None, description="Run-level overrides (tier 0).")
    after: list[AfterSpec] = Field(
        default_factory=list,
        description="Runs of this plan to wait for, by run key: `- key` waits for success.",
    )

    @property
    def key(self) -> str:
        return self.name or self.job


class OnFailure(enum.StrEnum):
    STOP = "stop"
    CONTINUE = "continue"
    CANCEL = "cancel"


class RunPlan(Model):
    """Which jobs to run, with which values, in which order: `polysync apply` runs one."""

    description: str | None = None
    max_concurrency: Annotated[int, Field(ge=1)] = Field(4, description="Runs in flight at once.")
    on_failure: Annotated[OnFailure, LaxEnum] = Field(
        OnFailure.STOP,
        description="After a failed run: `stop` submits nothing new, `continue` goes on with "
        "what does not depend on it, `cancel` also cancels the runs in flight.",
    )
    runs: Annotated[list[Run], Field(min_length=1)] = Field(
        description="The runs, each naming a job; ordered only by their `after` edges."
    )
    max_cost: Annotated[float, Field(gt=0)] | None = Field(
        None,
        description="The most the plan's expected cost may be, in USD: plan fails (PS729) "
        "above it. `plan --max-cost` overrides it.",
    )


# ---------------------------------------------------------------- targets and the set


class Target(Model):
    """An overlay deep-merged over the base with `--target NAME`."""

    description: str | None = None
    variables: dict[Name, Scalar] = Field(default_factory=dict)
    platforms: dict[Name, dict[str, Any]] = Field(default_factory=dict)
    jobs: dict[Name, dict[str, Any]] = Field(default_factory=dict)


class Manifest(Model):
    """A manifest set: every file of a project merged by top-level section."""

    model_config = ConfigDict(
        title="polysync-spec manifest v1",
        json_schema_extra={"$id": SCHEMA_ID},
    )

    version: Literal[1] = Field(
        1, description="Manifest format version; required in at least one file."
    )
    variables: dict[Name, Variable] = Field(default_factory=dict)
    platforms: dict[Name, Platform] = Field(default_factory=dict)
    jobs: dict[Name, Job] = Field(default_factory=dict)
    run_plans: dict[Name, RunPlan] = Field(default_factory=dict)
    targets: dict[Name, Target] = Field(default_factory=dict)


SECTIONS = tuple(Manifest.model_fields)
