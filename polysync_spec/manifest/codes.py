"""The numbering of diagnostic codes. Codes are stable: never renumber, only add.

PS0xx files and YAML · PS1xx structure · PS2xx interpolation · PS3xx AWS Glue ·
PS4xx AWS Batch · PS5xx cross-references · PS6xx authentication and secrets ·
PS7xx plan findings against live AWS.

Each code's title, documentation and check are its rule's, in `manifest/rules/`.
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
REGION: Final = "PS110"
MAX_CONCURRENCY: Final = "PS111"
MAX_COST: Final = "PS112"

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
GLUE_NUMBER_OF_WORKERS: Final = "PS303"
GLUE_TIMEOUT: Final = "PS304"
GLUE_ARGUMENT_KEY: Final = "PS305"
GLUE_RESERVED_ARGUMENT: Final = "PS306"
GLUE_INTERNAL_ARGUMENT: Final = "PS307"
OUTPUT_PARAMETER: Final = "PS308"
GLUE_MAX_RETRIES: Final = "PS310"
GLUE_VERSION_NOT_STRING: Final = "PS311"
GLUE_JOB_NAME: Final = "PS312"
GLUE_WORKER_VERSION: Final = "PS313"
GLUE_EXECUTION_CLASS: Final = "PS314"
GLUE_FLEX: Final = "PS315"
GLUE_JOB_RUN_QUEUING: Final = "PS316"
GLUE_NOTIFY_DELAY: Final = "PS317"
GLUE_SECURITY_CONFIGURATION: Final = "PS318"
GLUE_MAX_CAPACITY: Final = "PS319"
GLUE_MAX_CAPACITY_WITH_WORKERS: Final = "PS320"
GLUE_VERSION_RETIRED: Final = "PS321"

# PS4xx: AWS Batch
BATCH_ATTEMPT_DURATION: Final = "PS401"
BATCH_RETRY_ATTEMPTS: Final = "PS402"
BATCH_ARRAY_SIZE: Final = "PS403"
BATCH_PRIORITY: Final = "PS404"
BATCH_TAG: Final = "PS405"
BATCH_DEPENDS_ON: Final = "PS406"
BATCH_NO_QUEUE: Final = "PS407"
BATCH_EXTERNAL_ID: Final = "PS408"
BATCH_SHARE_IDENTIFIER: Final = "PS409"
BATCH_JOB_QUEUE: Final = "PS410"
BATCH_TYPED_DEPENDENCY: Final = "PS411"

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
ROLE_ARN: Final = "PS604"
STS_DURATION: Final = "PS605"
STS_SESSION_NAME: Final = "PS606"
STS_EXTERNAL_ID: Final = "PS607"
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
GLUE_WORKER_FOR_JOB: Final = "PS716"
PROPAGATED_TAGS: Final = "PS717"
PRIORITY_WITHOUT_FAIR_SHARE: Final = "PS718"
QUEUE_UNCHECKED: Final = "PS719"
INHERITED_COMPUTE: Final = "PS721"
INHERITED_PARAMETERS: Final = "PS722"
PYTHON_SHELL_DEFAULTS_SKIPPED: Final = "PS723"
GLUE_FLEX_FOR_JOB: Final = "PS724"
GLUE_MAX_CAPACITY_FOR_JOB: Final = "PS725"
GLUE_JOB_VERSION_RETIRED: Final = "PS726"
MAX_CAPACITY_DEFAULT_SKIPPED: Final = "PS727"
GLUE_SECURITY_CONFIGURATION_MISSING: Final = "PS728"
COST_OVER_LIMIT: Final = "PS729"

# Range and value errors on these fields carry an AWS-specific code, so that a search for
# the code lands on the rule that names the AWS limit rather than on a generic one.
FIELD_CODES: Final[dict[str, str]] = {
    "worker_type": GLUE_WORKER_TYPE,
    "number_of_workers": GLUE_NUMBER_OF_WORKERS,
    "timeout_minutes": GLUE_TIMEOUT,
    "max_retries": GLUE_MAX_RETRIES,
    "glue_version": GLUE_VERSION_NOT_STRING,
    "execution_class": GLUE_EXECUTION_CLASS,
    "job_run_queuing": GLUE_JOB_RUN_QUEUING,
    "notify_delay_after": GLUE_NOTIFY_DELAY,
    "security_configuration": GLUE_SECURITY_CONFIGURATION,
    "max_capacity": GLUE_MAX_CAPACITY,
    "attempt_duration_seconds": BATCH_ATTEMPT_DURATION,
    "retry_attempts": BATCH_RETRY_ATTEMPTS,
    "array_size": BATCH_ARRAY_SIZE,
    "scheduling_priority_override": BATCH_PRIORITY,
    "tags": BATCH_TAG,
    "depends_on": BATCH_DEPENDS_ON,
    "share_identifier": BATCH_SHARE_IDENTIFIER,
    "job_queue": BATCH_JOB_QUEUE,
    "default_job_queue": BATCH_JOB_QUEUE,
    "role_arn": ROLE_ARN,
    "duration_seconds": STS_DURATION,
    "session_name": STS_SESSION_NAME,
    "external_id": STS_EXTERNAL_ID,
    "region": REGION,
    "max_concurrency": MAX_CONCURRENCY,
    "max_cost": MAX_COST,
}

# The families of codes, by the code's first digit: headings of the generated catalogue.
FAMILIES: Final[dict[str, str]] = {
    "PS0": "Files and YAML",
    "PS1": "Structure",
    "PS2": "Interpolation and targets",
    "PS3": "AWS Glue",
    "PS4": "AWS Batch",
    "PS5": "Cross-references",
    "PS6": "Authentication and secrets",
    "PS7": "Plan findings against live AWS",
}


def family(code: str) -> str:
    """The family a code belongs to, e.g. "AWS Glue" for PS301."""
    return FAMILIES[code[:3]]


def is_plan_code(code: str) -> bool:
    """Whether only plan reports the code (PS7xx), as against validate."""
    return code.startswith("PS7")
