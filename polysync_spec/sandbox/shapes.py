# Over 400 lines: mostly data, one rule per constraint AWS documents.
"""The request shapes AWS documents as invalid, as data, and the small check that applies them.

moto accepts almost any request botocore lets through, and botocore checks only required
members, types and minimums client-side (not maximums, enums, patterns, maps' sizes or the
rules the API reference states in prose). So a tool tested against moto alone can send
requests AWS refuses and never notice. The sandbox refuses them the way the service does:
every rule below names the operation and member it constrains, quotes the sentence of the
installed botocore model it comes from (`origin="documentation"`, found in the member's
`documentation`, or in the operation's when `source` is empty) or the shape constraint
(`origin="shape"`, the member shape's `min`/`max`/`enum`/`pattern`), and the error the
service answers: Batch HTTP 400 `ClientException`, Glue HTTP 400 `InvalidInputException`.
`tests/test_sandbox_shapes.py` checks every quote against the installed model and sends
every rule's invalid request and its valid neighbour over the wire.

Two kinds of prose rule are stricter than AWS on purpose (`effect="ignored"`): AWS ignores
`jobStatus` beside `filters` and filters beside an array or MNP job id rather than
refusing them, so a caller that relies on them gets a silently different answer; the
sandbox refuses them so that such a call cannot pass a test.

Member paths are dotted; `[]` steps into each item of a list, `{}` into each key of a map
and `*` into each value of a map: `dependsOn.[].type`, `tags.{}`, `tags.*`.

Only the operations the tool calls (and their members the documentation constrains) are
covered; deep override structures the tool never sends (`containerOverrides`,
`eksPropertiesOverride`, ...) are not.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal[
    "exclusive",  # `member` present: no other parameter but `others`
    "one_of",  # exactly one of `others` present
    "not_with",  # `member` present: none of `others` present
    "requires",  # `member` present: every one of `others` present
    "count",  # items of a list or map: `low`..`high`
    "range",  # a number: `low`..`high`
    "length",  # characters of a string: `low`..`high`
    "pattern",  # a string: `pattern` matches all of it
    "enum",  # a string: one of `values`
]
Origin = Literal["documentation", "shape"]
Effect = Literal["refused", "ignored"]

# The exception each service documents for a request it will not take.
SERVICE_ERRORS: Mapping[str, tuple[int, str]] = {
    "batch": (400, "ClientException"),
    "glue": (400, "InvalidInputException"),
}

# Glue's single-line string pattern, verbatim from the model. Its last range is written as
# UTF-16 surrogate pairs (Java regex); Python matches code points, so `GLUE_SINGLE_LINE`
# spells the same set with `\U00010000-\U0010FFFF`.
GLUE_SINGLE_LINE_MODEL = "[\\u0020-\\uD7FF\\uE000-\\uFFFD\\uD800\\uDC00-\\uDBFF\\uDFFF\\t]*"
GLUE_SINGLE_LINE = "[\\u0020-\\uD7FF\\uE000-\\uFFFD\\U00010000-\\U0010FFFF\\t]*"


@dataclass(frozen=True)
class Rule:
    """One documented constraint on one operation's request."""

    id: str
    service: str
    operation: str
    kind: Kind
    member: str  # the constrained member's path ("" for `one_of`)
    origin: Origin
    source: str  # the member path whose documentation / shape holds `quote` ("": the operation)
    quote: str  # the sentence, verbatim; for a shape: `ShapeName: "key": value`
    status: int
    code: str
    message: str  # AWS-style text; {value} and {others} are filled in
    others: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None
    pattern: str | None = None
    values: tuple[str, ...] = ()
    when: str | None = None  # the rule applies only when this member is present
    unless: tuple[str, str] | None = None  # ...and not when this path holds this value
    effect: Effect = "refused"

    def violation(self, params: Mapping[str, Any]) -> str | None:
        """The refusal message when `params` break this rule, else None."""
        if self.when is not None and not present(params, self.when):
            return None
        if self.unless is not None and self.unless[1] in resolve(params, self.unless[0]):
            return None
        if self.kind == "one_of":
            given = [name for name in self.others if present(params, name)]
            return None if len(given) == 1 else self._say(", ".join(given) or "none")
        if not present(params, self.member):
            return None
        if self.kind == "exclusive":
            extra = [k for k in params if k != self.member and k not in self.others]
            return self._say(others=", ".join(sorted(extra))) if extra else None
        if self.kind == "not_with":
            clash = [name for name in self.others if present(params, name)]
            return self._say(others=", ".join(clash)) if clash else None
        if self.kind == "requires":
            missing = [name for name in self.others if not present(params, name)]
            return self._say(others=", ".join(missing)) if missing else None
        for value in resolve(params, self.member):
            if not self._fits(value):
                return self._say(value)
        return None

    def _fits(self, value: Any) -> bool:
        if self.kind == "count":
            return isinstance(value, list | dict) and self._within(len(value))
        if self.kind == "range":
            return isinstance(value, int | float) and self._within(value)
        if self.kind == "length":
            return isinstance(value, str) and self._within(len(value))
        if self.kind == "pattern":
            return isinstance(value, str) and re.fullmatch(self.pattern or "", value) is not None
        if self.kind == "enum":
            return value in self.values
        raise ValueError(f"rule {self.id}: kind {self.kind} has no per-value check")

    def _within(self, number: float) -> bool:
        return (self.low is None or number >= self.low) and (
            self.high is None or number <= self.high
        )

    def _say(self, value: Any = "", others: str = "") -> str:
        shown = len(value) if self.kind == "count" and isinstance(value, list | dict) else value
        return self.message.format(value=shown, others=others)


def present(params: Mapping[str, Any], path: str) -> bool:
    """A member is present when the request carries it with a value (botocore omits None)."""
    return bool(resolve(params, path))


def resolve(params: Any, path: str) -> list[Any]:
    """Every value at `path` (see the module doc for `[]`, `{}` and `*`)."""
    found: list[Any] = [params]
    for step in path.split("."):
        found = list(_step(found, step))
    return found


def _step(values: list[Any], step: str) -> Iterator[Any]:
    for value in values:
        if step == "[]" and isinstance(value, list):
            yield from value
        elif step == "{}" and isinstance(value, dict):
            yield from value.keys()
        elif step == "*" and isinstance(value, dict):
            yield from value.values()
        elif isinstance(value, dict) and value.get(step) is not None:
            yield value[step]


# ---------------------------------------------------------------- building the table


def _bound(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f"between {low:g} and {high:g}"
    if high is not None:
        return f"less than or equal to {high:g}"
    return f"greater than or equal to {low:g}"


def _default_message(kind: Kind, member: str, **fields: Any) -> str:
    """Coral's wording, which AWS answers for a member that breaks its shape's constraint.
    The result is a `str.format` template ({value}): what it quotes is escaped."""
    at = member.replace(".[]", ".member").replace(".{}", ".key").replace(".*", ".value")
    head = f"1 validation error detected: Value '{{value}}' at '{_literal(at)}' failed to satisfy constraint: Member must "
    low, high = fields.get("low"), fields.get("high")
    if kind in ("count", "length"):
        return head + "have length " + _bound(low, high)
    if kind == "range":
        return head + "have value " + _bound(low, high)
    if kind == "pattern":
        pattern = fields.get("model_pattern") or fields.get("pattern") or ""
        return head + "satisfy regular expression pattern: " + _literal(pattern)
    if kind == "enum":
        return head + "satisfy enum value set: [" + _literal(", ".join(fields["values"])) + "]"
    raise ValueError(f"a {kind} rule needs its own message")


def _literal(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


def _rule(
    service: str,
    operation: str,
    rule_id: str,
    kind: Kind,
    member: str,
    *,
    quote: str,
    origin: Origin = "documentation",
    source: str | None = None,
    message: str | None = None,
    **fields: Any,
) -> Rule:
    status, code = SERVICE_ERRORS[service]
    text = message or _default_message(kind, member, **fields)
    fields.pop("model_pattern", None)
    return Rule(
        id=rule_id,
        service=service,
        operation=operation,
        kind=kind,
        member=member,
        origin=origin,
        source=member if source is None else source,
        quote=quote,
        status=status,
        code=code,
        message=text,
        **fields,
    )


def _batch(operation: str, rule_id: str, kind: Kind, member: str, quote: str, **kw: Any) -> Rule:
    return _rule("batch", operation, rule_id, kind, member, quote=quote, **kw)


def _glue(operation: str, rule_id: str, kind: Kind, member: str, quote: str, **kw: Any) -> Rule:
    return _rule("glue", operation, rule_id, kind, member, quote=quote, **kw)


def _glue_name(operation: str, rule_id: str, member: str, shape: str) -> tuple[Rule, Rule]:
    """Glue's NameString / IdString members: at most 255 characters, one line."""
    return (
        _glue(
            operation,
            f"{rule_id}-length",
            "length",
            member,
            f'{shape}: "max": 255',
            origin="shape",
            high=255,
        ),
        _glue(
            operation,
            f"{rule_id}-pattern",
            "pattern",
            member,
            f'{shape}: "pattern": "{GLUE_SINGLE_LINE_MODEL}"',
            origin="shape",
            pattern=GLUE_SINGLE_LINE,
            model_pattern=GLUE_SINGLE_LINE_MODEL,  # AWS quotes its own spelling
        ),
    )


_BATCH_NAME_REVISION = r"[A-Za-z0-9_-]{1,128}:[0-9]+"
_WORKER_TYPES = (
    "Standard", "G.1X", "G.2X", "G.4X", "G.8X", "G.025X", "Z.2X",
    "G.12X", "G.16X", "R.1X", "R.2X", "R.4X", "R.8X",
)  # fmt: skip

RULES: tuple[Rule, ...] = (
    # ------------------------------------------------------------ Batch DescribeJobDefinitions
    _batch(
        "DescribeJobDefinitions",
        "describe-job-definitions-exclusive",
        "exclusive",
        "jobDefinitions",
        "This parameter can't be used with other parameters.",
        # A token the service handed back continues the same request; without maxResults
        # a list of at most 100 revisions never gets one, but a caller may follow it.
        others=("nextToken",),
        message="jobDefinitions can't be used with other parameters: {others}",
    ),
    _batch(
        "DescribeJobDefinitions",
        "describe-job-definitions-count",
        "count",
        "jobDefinitions",
        "A list of up to 100 job definitions.",
        high=100,
    ),
    _batch(
        "DescribeJobDefinitions",
        "describe-job-definitions-revision",
        "pattern",
        "jobDefinitions.[]",
        "Each entry in the list can either be an ARN in the format "
        "arn:aws:batch:${Region}:${Account}:job-definition/${JobDefinitionName}:${Revision} "
        "or a short version using the form ${JobDefinitionName}:${Revision}.",
        source="jobDefinitions",
        pattern=rf"arn:aws[a-z-]*:batch:[a-z0-9-]+:[0-9]{{12}}:job-definition/{_BATCH_NAME_REVISION}"
        rf"|{_BATCH_NAME_REVISION}",
        message="jobDefinitions entry '{value}' is neither an ARN with a revision nor name:revision",
    ),
    _batch(
        "DescribeJobDefinitions",
        "describe-job-definitions-max-results",
        "range",
        "maxResults",
        "This value can be between 1 and 100.",
        low=1,
        high=100,
    ),
    # ------------------------------------------------------------ Batch DescribeJobQueues
    _batch(
        "DescribeJobQueues",
        "describe-job-queues-count",
        "count",
        "jobQueues",
        "A list of up to 100 queue names or full queue Amazon Resource Name (ARN) entries.",
        high=100,
    ),
    _batch(
        "DescribeJobQueues",
        "describe-job-queues-max-results",
        "range",
        "maxResults",
        "This value can be between 1 and 100.",
        low=1,
        high=100,
    ),
    # ------------------------------------------------------------ Batch DescribeJobs
    _batch(
        "DescribeJobs",
        "describe-jobs-count",
        "count",
        "jobs",
        "A list of up to 100 job IDs.",
        high=100,
    ),
    # ------------------------------------------------------------ Batch ListJobs
    _batch(
        "ListJobs",
        "list-jobs-one-of",
        "one_of",
        "",
        "You must specify only one of the following items:",
        source="",
        others=("jobQueue", "arrayJobId", "multiNodeJobId"),
        message="specify exactly one of jobQueue, arrayJobId, multiNodeJobId (got {value})",
    ),
    _batch(
        "ListJobs",
        "list-jobs-status-with-filters",
        "not_with",
        "jobStatus",
        "If the filters parameter is specified, the jobStatus parameter is ignored and jobs "
        "with any status are returned. The exception is the SHARE_IDENTIFIER filter and "
        "jobStatus can be used together.",
        others=("filters",),
        unless=("filters.[].name", "SHARE_IDENTIFIER"),
        effect="ignored",
        message="jobStatus is ignored when {others} is used (except SHARE_IDENTIFIER): "
        "the answer would hold jobs with any status",
    ),
    _batch(
        "ListJobs",
        "list-jobs-filters-on-children",
        "not_with",
        "filters",
        "The filter doesn't apply to child jobs in an array or multi-node parallel (MNP) jobs.",
        others=("arrayJobId", "multiNodeJobId"),
        effect="ignored",
        message="filters don't apply to child jobs: not with {others}",
    ),
    _batch(
        "ListJobs",
        "list-jobs-one-filter",
        "count",
        "filters",
        "Only one filter can be used at a time.",
        high=1,
    ),
    _batch(
        "ListJobs",
        "list-jobs-max-results-min",
        "range",
        "maxResults",
        "The minimum value is 1.",
        low=1,
    ),
    _batch(
        "ListJobs",
        "list-jobs-max-results",
        "range",
        "maxResults",
        "When --job-status is used, Batch returns up to 1000 values.",
        high=1000,
    ),
    _batch(
        "ListJobs",
        "list-jobs-max-results-filters",
        "range",
        "maxResults",
        "When --filters is used, Batch returns up to 100 values.",
        high=100,
        when="filters",
    ),
    _batch(
        "ListJobs",
        "list-jobs-status-enum",
        "enum",
        "jobStatus",
        'JobStatus: "enum": SUBMITTED, PENDING, RUNNABLE, STARTING, RUNNING, SUCCEEDED, FAILED',
        origin="shape",
        values=("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED", "FAILED"),
    ),
    # ------------------------------------------------------------ Batch SubmitJob
    _batch(
        "SubmitJob",
        "submit-job-name-length",
        "length",
        "jobName",
        "It can be up to 128 letters long.",
        high=128,
    ),
    _batch(
        "SubmitJob",
        "submit-job-name-characters",
        "pattern",
        "jobName",
        "The first character must be alphanumeric, can contain uppercase and lowercase "
        "letters, numbers, hyphens (-), and underscores (_).",
        pattern=r"[A-Za-z0-9][A-Za-z0-9_-]*",
        message="jobName '{value}' must start with a letter or digit and hold only letters, "
        "digits, hyphens and underscores",
    ),
    _batch(
        "SubmitJob",
        "submit-job-share-identifier",
        "pattern",
        "shareIdentifier",
        "This string is limited to 255 alphanumeric characters, and can be followed by an "
        "asterisk (*).",
        pattern=r"[A-Za-z0-9]{1,255}\*?",
        message="shareIdentifier '{value}' must be up to 255 alphanumeric characters, "
        "optionally followed by *",
    ),
    _batch(
        "SubmitJob",
        "submit-job-priority",
        "range",
        "schedulingPriorityOverride",
        "The minimum supported value is 0 and the maximum supported value is 9999.",
        low=0,
        high=9999,
    ),
    _batch(
        "SubmitJob",
        "submit-job-array-size",
        "range",
        "arrayProperties.size",
        "The array size can be between 2 and 10,000.",
        source="arrayProperties",
        low=2,
        high=10000,
    ),
    _batch(
        "SubmitJob",
        "submit-job-depends-on-count",
        "count",
        "dependsOn",
        "A job can depend upon a maximum of 20 jobs.",
        high=20,
    ),
    _batch(
        "SubmitJob",
        "submit-job-depends-on-type",
        "enum",
        "dependsOn.[].type",
        'ArrayJobDependency: "enum": N_TO_N, SEQUENTIAL',
        origin="shape",
        values=("N_TO_N", "SEQUENTIAL"),
    ),
    _batch(
        "SubmitJob",
        "submit-job-retry-attempts",
        "range",
        "retryStrategy.attempts",
        "You can specify between 1 and 10 attempts.",
        low=1,
        high=10,
    ),
    _batch(
        "SubmitJob",
        "submit-job-evaluate-on-exit-count",
        "count",
        "retryStrategy.evaluateOnExit",
        "Array of up to 5 objects that specify the conditions where jobs are retried or failed.",
        high=5,
    ),
    _batch(
        "SubmitJob",
        "submit-job-evaluate-on-exit-attempts",
        "requires",
        "retryStrategy.evaluateOnExit",
        "If this parameter is specified, then the attempts parameter must also be specified.",
        others=("retryStrategy.attempts",),
        message="retryStrategy.evaluateOnExit needs {others}",
    ),
    _batch(
        "SubmitJob",
        "submit-job-attempt-duration",
        "range",
        "timeout.attemptDurationSeconds",
        "The minimum value for the timeout is 60 seconds.",
        low=60,
    ),
    _batch(
        "SubmitJob",
        "submit-job-tags-count",
        "count",
        "tags",
        'TagrisTagsMap: "min": 1, "max": 50',
        origin="shape",
        low=1,
        high=50,
    ),
    _batch(
        "SubmitJob",
        "submit-job-tag-key-length",
        "length",
        "tags.{}",
        'TagKey: "max": 128',
        origin="shape",
        high=128,
    ),
    _batch(
        "SubmitJob",
        "submit-job-tag-value-length",
        "length",
        "tags.*",
        'TagValue: "max": 256',
        origin="shape",
        high=256,
    ),
    # ------------------------------------------------------------ Batch TerminateJob
    _batch(
        "TerminateJob",
        "terminate-job-reason-length",
        "length",
        "reason",
        "This parameter has a limit of 1024 characters.",
        high=1024,
    ),
    # ------------------------------------------------------------ Batch TerminateJobs, CancelJobs
    *(
        rule
        for operation, verb in (("TerminateJobs", "terminate"), ("CancelJobs", "cancel"))
        for rule in (
            _batch(
                operation,
                f"{verb}-jobs-count",
                "count",
                "jobs",
                f"An array of up to 50 Batch job IDs of the jobs to {verb}.",
                high=50,
            ),
            _batch(
                operation,
                f"{verb}-jobs-reason-length",
                "length",
                "reason",
                "This parameter has a limit of 1024 characters.",
                high=1024,
            ),
        )
    ),
    # ------------------------------------------------------------ Glue GetJobs, BatchGetJobs
    _glue(
        "GetJobs",
        "get-jobs-max-results",
        "range",
        "MaxResults",
        'PageSize: "min": 1, "max": 1000',
        origin="shape",
        low=1,
        high=1000,
    ),
    *_glue_name("BatchGetJobs", "batch-get-jobs-name", "JobNames.[]", "NameString"),
    # ------------------------------------------------------------ Glue StartJobRun
    *_glue_name("StartJobRun", "start-job-run-name", "JobName", "NameString"),
    *_glue_name("StartJobRun", "start-job-run-retried-id", "JobRunId", "IdString"),
    *_glue_name("StartJobRun", "start-job-run-security", "SecurityConfiguration", "NameString"),
    _glue(
        "StartJobRun",
        "start-job-run-timeout",
        "range",
        "Timeout",
        "Jobs must have timeout values less than 7 days or 10080 minutes.",
        low=1,
        high=10079,
    ),
    _glue(
        "StartJobRun",
        "start-job-run-worker-type",
        "enum",
        "WorkerType",
        'WorkerType: "enum": Standard, G.1X, G.2X, G.4X, G.8X, G.025X, Z.2X, G.12X, G.16X, '
        "R.1X, R.2X, R.4X, R.8X",
        origin="shape",
        values=_WORKER_TYPES,
    ),
    _glue(
        "StartJobRun",
        "start-job-run-execution-class",
        "enum",
        "ExecutionClass",
        'ExecutionClass: "enum": FLEX, STANDARD',
        origin="shape",
        values=("FLEX", "STANDARD"),
    ),
    _glue(
        "StartJobRun",
        "start-job-run-session-policy",
        "length",
        "ExecutionRoleSessionPolicy",
        'OrchestrationPolicyJsonString: "min": 2, "max": 2048',
        origin="shape",
        low=2,
        high=2048,
    ),
    _glue(
        "StartJobRun",
        "start-job-run-max-capacity-with-workers",
        "not_with",
        "MaxCapacity",
        "Do not set MaxCapacity if using WorkerType and NumberOfWorkers.",
        others=("WorkerType", "NumberOfWorkers"),
        message="Do not set MaxCapacity if using WorkerType and NumberOfWorkers ({others})",
    ),
    _glue(
        "StartJobRun",
        "start-job-run-allocated-capacity",
        "range",
        "AllocatedCapacity",
        "You can allocate a minimum of 2 DPUs; the default is 10.",
        low=2,
    ),
    # ------------------------------------------------------------ Glue GetJobRun, GetJobRuns
    *_glue_name("GetJobRun", "get-job-run-name", "JobName", "NameString"),
    *_glue_name("GetJobRun", "get-job-run-id", "RunId", "IdString"),
    *_glue_name("GetJobRuns", "get-job-runs-name", "JobName", "NameString"),
    _glue(
        "GetJobRuns",
        "get-job-runs-max-results",
        "range",
        "MaxResults",
        'OrchestrationPageSize200: "min": 1, "max": 200',
        origin="shape",
        low=1,
        high=200,
    ),
    # ------------------------------------------------------------ Glue BatchStopJobRun
    *_glue_name("BatchStopJobRun", "batch-stop-job-run-name", "JobName", "NameString"),
    _glue(
        "BatchStopJobRun",
        "batch-stop-job-run-count",
        "count",
        "JobRunIds",
        'BatchStopJobRunJobRunIdList: "min": 1, "max": 25',
        origin="shape",
        low=1,
        high=25,
    ),
    *_glue_name("BatchStopJobRun", "batch-stop-job-run-id", "JobRunIds.[]", "IdString"),
)

# Every request goes through `check`: look its operation's rules up, in table order.
_BY_OPERATION: Mapping[tuple[str, str], tuple[Rule, ...]] = {
    key: tuple(r for r in RULES if (r.service, r.operation) == key)
    for key in dict.fromkeys((r.service, r.operation) for r in RULES)
}


@dataclass(frozen=True)
class Refusal:
    """What the service answers to a request that breaks `rule`."""

    rule: Rule
    message: str


def check(service: str, operation: str, params: Any) -> Refusal | None:
    """The first rule the request breaks, or None for a request in a documented shape."""
    if not isinstance(params, Mapping):
        return None
    for rule in _BY_OPERATION.get((service, operation), ()):
        message = rule.violation(params)
        if message is not None:
            return Refusal(rule, message)
    return None
