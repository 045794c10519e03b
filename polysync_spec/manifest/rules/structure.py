"""PS1xx: the shape of the manifests, and the parameter rules of every platform.

Most are reported by the validation of each entry against its model
(`manifest/structure.py`) or by the merge of the files (`manifest/project.py`); the
parameter rules are checks.
"""

from __future__ import annotations

from collections.abc import Iterator

from polysync_spec.errors import Diagnostic, Severity
from polysync_spec.manifest import codes
from polysync_spec.manifest.models import Direction, GlueJob, Parameter
from polysync_spec.manifest.rules.base import CheckContext, Rule, lookup, parameter_sets
from polysync_spec.values import fits_type

UNKNOWN_KEY = Rule(
    codes.UNKNOWN_KEY,
    "unknown key",
    doc="""Keys are `snake_case` and fixed by the manifest format, so a key the format
    does not define is an error rather than silently ignored. The message suggests the
    closest allowed key ("did you mean") or, where there are few, lists them.""",
)
MISSING_KEY = Rule(
    codes.MISSING_KEY,
    "required key missing",
    doc="""A required key is absent, such as a job's `platform` or `external_id`, or an
    `auth` block's `method`. It is reported at the entry that lacks it. A misspelled
    required key is reported once, as PS100 with a hint, not also as missing.""",
)
WRONG_TYPE = Rule(
    codes.WRONG_TYPE,
    "value of the wrong type",
    doc="""A value has the wrong type: a string where a mapping is expected, a list
    where a number is. Values are strict (`"5"` is not a number); a number or a boolean
    may also be written as one `${...}` reference.""",
)
INVALID_VALUE = Rule(
    codes.INVALID_VALUE,
    "value not allowed",
    doc="""A value outside its closed set (`on_failure`, an `after` edge's `on`, a
    discriminator such as `method`) or not matching its pattern. The message says what
    is allowed and suggests the closest value.""",
)
OUT_OF_RANGE = Rule(
    codes.OUT_OF_RANGE,
    "value out of range",
    doc="""A number, string or list is outside the bounds the format documents for it
    (the model tables above list them). Fields with an AWS limit of their own report
    their own code instead (PS3xx, PS4xx, PS6xx).""",
)
UNSUPPORTED_VERSION = Rule(
    codes.UNSUPPORTED_VERSION,
    "unsupported manifest version",
    doc="This polysync reads manifest format version 1: `version` must be `1`.",
)
DUPLICATE_NAME = Rule(
    codes.DUPLICATE_NAME,
    "name defined twice",
    doc="""Files are merged by top-level section, so a name (a job, a platform, a run
    plan, ...) may be defined once in the whole manifest set. The second definition is
    reported and cites the first.""",
)
INVALID_NAME = Rule(
    codes.INVALID_NAME,
    "invalid name",
    doc="""Names of variables, platforms, jobs, run plans, targets and runs are letters,
    digits, `_` and `-`, starting with a letter or `_`, at most 128 characters.""",
)
MISSING_VERSION = Rule(
    codes.MISSING_VERSION,
    "no `version` in the manifest set",
    doc="""At least one file of the manifest set must declare `version: 1`. A manifest
    set with no manifest in it (only empty files) is reported with this code too.""",
)


def _parameter_types(ctx: CheckContext) -> Iterator[Diagnostic]:
    """A parameter declared with a `type` (string, integer, number, boolean, json) must
    hold a value of that type: its value on the job, and every run's value for it. A
    string is accepted for the other types when it parses as one, since AWS receives a
    string either way (a value from `${env...}` always is one)."""
    for path, job, params in parameter_sets(ctx):
        for key, param in params.items():
            declared = job.parameters.get(key)
            kind = declared.type if isinstance(declared, Parameter) else None
            if kind is None or param.value is None or fits_type(param.value, kind.value):
                continue
            long_form = isinstance(lookup(ctx.resolved, *path, key), dict)
            yield PARAMETER_TYPE_MISMATCH.at(
                (*path, key, "value") if long_form else (*path, key),
                f"parameter '{key}' is declared {kind.value} but its value is not",
            )


PARAMETER_TYPE_MISMATCH = Rule(
    codes.PARAMETER_TYPE_MISMATCH,
    "parameter value does not match its declared type",
    check=_parameter_types,
)
REGION = Rule(
    codes.REGION,
    "invalid AWS region",
    doc="A platform's `region` must be an AWS region name such as `us-east-1`.",
)
MAX_CONCURRENCY = Rule(
    codes.MAX_CONCURRENCY,
    "max_concurrency must be at least 1",
    doc="A run plan's `max_concurrency`, the number of runs in flight at once, is at least 1.",
)
MAX_COST = Rule(
    codes.MAX_COST,
    "max_cost must be a positive number of USD",
    doc="""A run plan's `max_cost`, the most its expected cost may be in USD (plan fails
    above it, PS729), is a number greater than 0.""",
)


def _output_parameters(ctx: CheckContext) -> Iterator[Diagnostic]:
    """A parameter with `direction: output` (or `input_output`) is allowed, but AWS Glue
    and AWS Batch have no structured channel to return a value: it is never filled. An
    `input_output` parameter's value is still sent as an input. Persist results to S3 or
    CloudWatch Logs instead."""
    for name, job in ctx.jobs.items():
        for key, param in job.parameters.items():
            if param.direction is Direction.INPUT:
                continue
            sent = (
                " (its value is still sent as an input)"
                if param.direction is Direction.INPUT_OUTPUT
                else ""
            )
            service = "AWS Glue" if isinstance(job, GlueJob) else "AWS Batch"
            yield OUTPUT_PARAMETER.at(
                ("jobs", name, "parameters", key, "direction"),
                f"{service} cannot return output parameters; '{key}' will never be "
                f"filled{sent}. Persist results to S3 or CloudWatch Logs",
            )


# Numbered in the Glue range for history; it applies to Glue and Batch jobs alike.
OUTPUT_PARAMETER = Rule(
    codes.OUTPUT_PARAMETER,
    "output parameters cannot be returned by Glue or Batch",
    Severity.WARNING,
    check=_output_parameters,
)

RULES = (
    UNKNOWN_KEY,
    MISSING_KEY,
    WRONG_TYPE,
    INVALID_VALUE,
    OUT_OF_RANGE,
    UNSUPPORTED_VERSION,
    DUPLICATE_NAME,
    INVALID_NAME,
    MISSING_VERSION,
    PARAMETER_TYPE_MISMATCH,
    REGION,
    MAX_CONCURRENCY,
    MAX_COST,
    OUTPUT_PARAMETER,
)
