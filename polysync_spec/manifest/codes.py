"""The catalogue of diagnostic codes. Codes are stable: never renumber, only add.

PS0xx files and YAML · PS1xx structure · PS2xx interpolation · PS3xx AWS Glue ·
PS4xx AWS Batch · PS5xx cross-references · PS6xx authentication and secrets ·
PS7xx plan findings against live AWS.
"""

from __future__ import annotations

from typing import Final

# PS0xx: files and YAML
PATH_NOT_FOUND: Final = "PS001"
FILE_UNREADABLE: Final = "PS002"
EMPTY_FILE: Final = "PS003"
YAML_SYNTAX: Final = "PS004"
YAML_TAB: Final = "PS005"
DUPLICATE_KEY: Final = "PS006"
NOT_A_MAPPING: Final = "PS007"
YAML_TOO_LARGE: Final = "PS008"
YAML_TAG_MISMATCH: Final = "PS009"

# PS1xx: structure
UNKNOWN_KEY: Final = "PS100"
MISSING_KEY: Final = "PS101"
WRONG_TYPE: Final = "PS102"
INVALID_VALUE: Final = "PS103"
OUT_OF_RANGE: Final = "PS104"
UNSUPPORTED_VERSION: Final = "PS105"
DUPLICATE_NAME: Final = "PS106"
INVALID_NAME: Final = "PS107"
MISSING_VERSION: Final = "PS108"
PARAMETER_TYPE_MISMATCH: Final = "PS109"

# PS2xx: interpolation and targets
UNDEFINED_VARIABLE: Final = "PS201"
UNSET_ENV: Final = "PS202"
BAD_REFERENCE: Final = "PS203"
UNKNOWN_TARGET: Final = "PS204"
UNDECLARED_CLI_VARIABLE: Final = "PS205"
VARIABLE_WITHOUT_VALUE: Final = "PS206"
VARIABLE_TYPE_MISMATCH: Final = "PS207"
TARGET_OVERLAYS_UNKNOWN: Final = "PS208"

# PS3xx: AWS Glue
GLUE_WORKER_TYPE: Final = "PS301"
GLUE_WORKER_TYPE_NEWER: Final = "PS302"
GLUE_ARGUMENT_KEY: Final = "PS305"
GLUE_RESERVED_ARGUMENT: Final = "PS306"
GLUE_INTERNAL_ARGUMENT: Final = "PS307"
OUTPUT_PARAMETER: Final = "PS308"
GLUE_VERSION_NOT_STRING: Final = "PS311"

# PS4xx: AWS Batch
BATCH_NO_QUEUE: Final = "PS407"
BATCH_EXTERNAL_ID: Final = "PS408"
BATCH_TAG: Final = "PS405"

# PS5xx: cross-references
UNKNOWN_PLATFORM: Final = "PS501"
PLATFORM_TYPE_MISMATCH: Final = "PS502"
UNKNOWN_JOB: Final = "PS503"
UNKNOWN_RUN: Final = "PS504"
DEPENDENCY_CYCLE: Final = "PS505"
DUPLICATE_RUN_KEY: Final = "PS506"
COMPUTE_NOT_FOR_PLATFORM: Final = "PS507"
UNDECLARED_PARAMETER: Final = "PS508"

# PS6xx: authentication and secrets
LITERAL_SECRET: Final = "PS602"
AUTH_TOKEN_AUDIENCE: Final = "PS603"
WEB_IDENTITY_EXTERNAL_ID: Final = "PS609"


# PS7xx: plan findings (errors block apply; drift and notes inform the reviewer)
GLUE_JOB_MISSING: Final = "PS701"
DEFINITION_NOT_ACTIVE: Final = "PS702"
PINNED_REVISION: Final = "PS703"
QUEUE_MISSING: Final = "PS704"
QUEUE_UNUSABLE: Final = "PS705"
FAIR_SHARE_WITHOUT_SHARE: Final = "PS706"
SHARE_WITHOUT_FAIR_SHARE: Final = "PS707"
GLUE_CONCURRENCY: Final = "PS708"
GLUE_ARGUMENTS_TOO_LARGE: Final = "PS709"
PYTHON_SHELL_WORKERS: Final = "PS710"
NO_PLACEHOLDER: Final = "PS711"
PLACEHOLDER_UNSET: Final = "PS712"
DEFAULT_DRIFT: Final = "PS713"
NON_OVERRIDABLE: Final = "PS715"
INHERITED_COMPUTE: Final = "PS721"
INHERITED_PARAMETERS: Final = "PS722"
PYTHON_SHELL_DEFAULTS_SKIPPED: Final = "PS723"

# Range and value errors on these fields carry an AWS-specific code, so that a search for
# the code lands on the rule that names the AWS limit rather than on a generic one.
FIELD_CODES: Final[dict[str, str]] = {
    "worker_type": GLUE_WORKER_TYPE,
    "number_of_workers": "PS303",
    "timeout_minutes": "PS304",
    "max_retries": "PS310",
    "glue_version": GLUE_VERSION_NOT_STRING,
    "attempt_duration_seconds": "PS401",
    "retry_attempts": "PS402",
    "array_size": "PS403",
    "scheduling_priority_override": "PS404",
    "tags": BATCH_TAG,
    "depends_on": "PS406",
    "share_identifier": "PS409",
    "role_arn": "PS604",
    "duration_seconds": "PS605",
    "session_name": "PS606",
    "external_id": "PS607",
    "region": "PS110",
    "max_concurrency": "PS111",
}

TITLES: Final[dict[str, str]] = {
    PATH_NOT_FOUND: "manifest path not found or holds no manifests",
    FILE_UNREADABLE: "file cannot be read (permissions, size, encoding, links, not a regular file)",
    EMPTY_FILE: "empty manifest file",
    YAML_SYNTAX: "YAML syntax error",
    YAML_TAB: "tab used for indentation",
    DUPLICATE_KEY: "duplicate key in a mapping",
    NOT_A_MAPPING: "top level is not a mapping",
    YAML_TOO_LARGE: "document too deep or too large (alias bomb)",
    YAML_TAG_MISMATCH: "value does not fit its explicit YAML tag (`!!int abc`)",
    UNKNOWN_KEY: "unknown key",
    MISSING_KEY: "required key missing",
    WRONG_TYPE: "value of the wrong type",
    INVALID_VALUE: "value not allowed",
    OUT_OF_RANGE: "value out of range",
    UNSUPPORTED_VERSION: "unsupported manifest version",
    DUPLICATE_NAME: "name defined twice",
    INVALID_NAME: "invalid name",
    MISSING_VERSION: "no `version` in the manifest set",
    PARAMETER_TYPE_MISMATCH: "parameter value does not match its declared type",
    "PS110": "invalid AWS region",
    "PS111": "max_concurrency must be at least 1",
    UNDEFINED_VARIABLE: "undefined variable",
    UNSET_ENV: "environment variable not set",
    BAD_REFERENCE: "malformed or unknown ${...} reference",
    UNKNOWN_TARGET: "unknown target",
    UNDECLARED_CLI_VARIABLE: "--var names an undeclared variable",
    VARIABLE_WITHOUT_VALUE: "variable has no value",
    VARIABLE_TYPE_MISMATCH: "variable value does not match its type",
    TARGET_OVERLAYS_UNKNOWN: "target overlays something that is not defined",
    GLUE_WORKER_TYPE: "unknown Glue worker type",
    GLUE_WORKER_TYPE_NEWER: "Glue worker type newer than the documented set",
    "PS303": "Glue number_of_workers must be a positive integer",
    "PS304": "Glue timeout_minutes must be a positive integer below 10080",
    GLUE_ARGUMENT_KEY: "Glue argument key contains '=' or whitespace",
    GLUE_RESERVED_ARGUMENT: "reserved Glue system argument used as a parameter",
    GLUE_INTERNAL_ARGUMENT: "internal Glue argument that must never be set",
    OUTPUT_PARAMETER: "output parameters cannot be returned by Glue or Batch",
    "PS310": "Glue max_retries must be a non-negative integer",
    GLUE_VERSION_NOT_STRING: "invalid glue_version",
    "PS401": "Batch attempt_duration_seconds must be at least 60",
    "PS402": "Batch retry_attempts must be 1..10",
    "PS403": "Batch array_size must be 2..10000",
    "PS404": "Batch scheduling_priority_override must be 0..9999",
    BATCH_TAG: "invalid Batch tags",
    "PS406": "invalid Batch depends_on",
    BATCH_NO_QUEUE: "Batch job has no queue",
    BATCH_EXTERNAL_ID: "invalid Batch job definition reference",
    "PS409": "invalid Batch share_identifier",
    UNKNOWN_PLATFORM: "job names an unknown platform",
    PLATFORM_TYPE_MISMATCH: "job type does not match its platform",
    UNKNOWN_JOB: "run names an unknown job",
    UNKNOWN_RUN: "`after` names an unknown run",
    DEPENDENCY_CYCLE: "dependency cycle between runs",
    DUPLICATE_RUN_KEY: "run key used twice in a run plan",
    COMPUTE_NOT_FOR_PLATFORM: "compute setting does not apply to the job's platform",
    UNDECLARED_PARAMETER: "run sets a parameter its job does not declare (and does not allow)",
    LITERAL_SECRET: "secret given as a literal instead of ${env.NAME}",
    AUTH_TOKEN_AUDIENCE: "azure token source needs exactly one of audience or scope",
    "PS604": "invalid IAM role ARN",
    "PS605": "STS duration_seconds must be 900..43200",
    "PS606": "invalid STS session name",
    "PS607": "invalid STS external id",
    WEB_IDENTITY_EXTERNAL_ID: "external_id has no effect with web_identity",
}

PLAN_TITLES: Final[dict[str, str]] = {
    GLUE_JOB_MISSING: "the Glue job does not exist",
    DEFINITION_NOT_ACTIVE: "the Batch job definition has no ACTIVE revision",
    PINNED_REVISION: "the pinned revision is INACTIVE or does not exist",
    QUEUE_MISSING: "the job queue does not exist",
    QUEUE_UNUSABLE: "the job queue is not ENABLED and VALID",
    FAIR_SHARE_WITHOUT_SHARE: "fair-share queue without share_identifier",
    SHARE_WITHOUT_FAIR_SHARE: "share_identifier on a queue without a fair-share policy",
    GLUE_CONCURRENCY: "more parallel runs of a Glue job than its MaxConcurrentRuns",
    GLUE_ARGUMENTS_TOO_LARGE: "a run's arguments exceed Glue's 260 KB",
    PYTHON_SHELL_WORKERS: "worker settings on a Python shell job",
    NO_PLACEHOLDER: "Batch parameter with no Ref:: placeholder",
    PLACEHOLDER_UNSET: "Ref:: placeholder nobody fills",
    DEFAULT_DRIFT: "manifest parameter differs from the live default",
    NON_OVERRIDABLE: "Glue parameter in NonOverridableArguments",
    INHERITED_COMPUTE: "compute values the definition supplies",
    INHERITED_PARAMETERS: "parameters filled from the definition's defaults",
    PYTHON_SHELL_DEFAULTS_SKIPPED: "platform worker defaults skipped for a Python shell job",
}
