"""PS2xx: `${...}` references, variables and targets. Interpolation (`manifest/interpolate.py`)
and the loading of a project (`manifest/project.py`) report them."""

from __future__ import annotations

from polysync_spec.manifest import codes
from polysync_spec.manifest.rules.base import Rule

UNDEFINED_VARIABLE = Rule(
    codes.UNDEFINED_VARIABLE,
    "undefined variable",
    doc="""`${var.NAME}` names a variable that is not declared under `variables:`. The
    message suggests the closest declared name.""",
)
UNSET_ENV = Rule(
    codes.UNSET_ENV,
    "environment variable not set",
    doc="""`${env.NAME}` names an environment variable that is not set. `plan` and
    `apply` need the value, so there it is an error; offline `validate` reports it only
    with `--require-env`, since CI secrets are usually absent where manifests are linted.""",
)
BAD_REFERENCE = Rule(
    codes.BAD_REFERENCE,
    "malformed or unknown ${...} reference",
    doc="""The references are `${var.NAME}`, `${env.NAME}` and `${target}`. Anything else
    between `${` and `}`, and an unterminated or nested `${`, is an error; write `$${` for
    a literal `${`.""",
)
UNKNOWN_TARGET = Rule(
    codes.UNKNOWN_TARGET,
    "unknown target",
    doc="""`--target NAME` names a target that is not defined under `targets:`. The
    message suggests the closest name and lists the targets.""",
)
UNDECLARED_CLI_VARIABLE = Rule(
    codes.UNDECLARED_CLI_VARIABLE,
    "--var names an undeclared variable",
    doc="""`--var NAME=VALUE`, or an entry of a `--var-file`, may only set a variable
    the manifests declare under `variables:`; a misspelled name would otherwise be
    ignored. An entry of a file is reported at its `file:line:col`.""",
)
VARIABLE_WITHOUT_VALUE = Rule(
    codes.VARIABLE_WITHOUT_VALUE,
    "variable has no value",
    doc="""A reference uses a variable that has no `default` and was not set with
    `--var NAME=VALUE` (nor by the selected target).""",
)
VARIABLE_TYPE_MISMATCH = Rule(
    codes.VARIABLE_TYPE_MISMATCH,
    "variable value does not match its type",
    doc="""A variable's `default`, or the value `--var` or a `--var-file` gives it, does
    not fit the variable's declared `type` (string, integer, number or boolean). A
    variable file's value must be a string, number or boolean (not a list, a mapping or
    empty).""",
)
TARGET_OVERLAYS_UNKNOWN = Rule(
    codes.TARGET_OVERLAYS_UNKNOWN,
    "target overlays something that is not defined",
    doc="""A target may change the variables, platforms and jobs the base manifests
    define, not add new ones: overlaying a name the base does not define is an error,
    most often a misspelling.""",
)

RULES = (
    UNDEFINED_VARIABLE,
    UNSET_ENV,
    BAD_REFERENCE,
    UNKNOWN_TARGET,
    UNDECLARED_CLI_VARIABLE,
    VARIABLE_WITHOUT_VALUE,
    VARIABLE_TYPE_MISMATCH,
    TARGET_OVERLAYS_UNKNOWN,
)
