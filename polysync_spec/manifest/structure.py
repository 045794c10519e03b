# Over 400 lines: each pydantic error type turned into a message; one table.
"""Validate each named entry against its model; turn pydantic errors into findings.

Entries are validated one by one, so one broken job does not hide the problems of the
others, and cross-reference checks still see every valid entry.
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Callable
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic_core import ErrorDetails

from polysync_spec.errors import Severity
from polysync_spec.manifest import codes
from polysync_spec.manifest.models import (
    NAME_PATTERN,
    Job,
    Platform,
    RunPlan,
    Target,
    Variable,
)
from polysync_spec.manifest.positions import DocPath
from polysync_spec.manifest.suggest import closest, did_you_mean

Report = Callable[[str, Severity, DocPath, str, bool], None]

SECTION_TYPES: dict[str, Any] = {
    "variables": Variable,
    "platforms": Platform,
    "jobs": Job,
    "run_plans": RunPlan,
    "targets": Target,
}
_ADAPTERS: dict[str, TypeAdapter[Any]] = {
    name: TypeAdapter(tp) for name, tp in SECTION_TYPES.items()
}

_TYPE_NAMES = {
    "string_type": "a string",
    "int_type": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "bool_type": "true or false",
    "dict_type": "a mapping",
    "list_type": "a list",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}
_RANGE_TYPES = {
    "greater_than_equal": "at least {ge}",
    "greater_than": "greater than {gt}",
    "less_than_equal": "at most {le}",
    "less_than": "less than {lt}",
    "too_short": "at least {min_length} entries long",
    "too_long": "at most {max_length} entries long",
    "string_too_short": "at least {min_length} character(s) long",
    "string_too_long": "at most {max_length} character(s) long",
}
# Fields whose values must never be repeated in a message.
_SENSITIVE_FIELDS = frozenset({"secret_access_key", "session_token", "access_key_id", "parameters"})


def validate_entry(
    section: str,
    name: str,
    data: Any,
    report: Report,
    sensitive: Callable[[DocPath], bool],
) -> Any | None:
    """Validate one entry of a section; report every error; return the model or None."""
    model, _ = validate_entry_for_checks(section, name, data, report, sensitive)
    return model


def validate_entry_for_checks(
    section: str,
    name: str,
    data: Any,
    report: Report,
    sensitive: Callable[[DocPath], bool],
) -> tuple[Any | None, Any | None]:
    """(model, degraded): the model when the entry is valid; otherwise errors are reported
    and `degraded` is the entry validated without its failing top-level fields, so that
    cross-reference checks still see the rest of it. A degraded model is never run."""
    base: DocPath = (section, name)
    if not isinstance(data, dict):
        noun = section[:-1].replace("_", " ")
        report(codes.WRONG_TYPE, Severity.ERROR, base, f"{noun} '{name}' must be a mapping", False)
        return None, None
    try:
        return _ADAPTERS[section].validate_python(data), None
    except ValidationError as exc:
        errors = _fold_misspellings(_collapse_unions(exc.errors()), data)
        seen: set[tuple[DocPath, str]] = set()
        for error in errors:
            path, key = _data_path(data, error["loc"])
            if error["type"] == "union_tag_invalid":
                path = (*path, _unquote(str((error.get("ctx") or {}).get("discriminator", ""))))
            full = (*base, *path)
            if (full, error["type"]) in seen:
                continue
            seen.add((full, error["type"]))
            code, message, at_key = _describe(
                SECTION_TYPES[section], error, path, key, sensitive(full)
            )
            report(code, Severity.ERROR, full, message, at_key)
        return None, _degraded(section, data, errors)


def _degraded(section: str, data: dict[str, Any], errors: list[ErrorDetails]) -> Any | None:
    failing = {path[0] for path, _ in (_data_path(data, e["loc"]) for e in errors) if path}
    pruned = {k: v for k, v in data.items() if k not in failing}
    if pruned == data:
        return None
    try:
        return _ADAPTERS[section].validate_python(pruned)
    except ValidationError:
        return None


def _fold_misspellings(errors: list[ErrorDetails], data: Any) -> list[ErrorDetails]:
    """`regoin: x` yields both "unknown key regoin" and "missing region": one mistake, so
    keep the unknown-key error (whose hint names `region`) and drop the missing one."""
    unknown: dict[tuple[Any, ...], list[str]] = {}
    for error in errors:
        if error["type"] == "extra_forbidden":
            unknown.setdefault(tuple(error["loc"][:-1]), []).append(str(error["loc"][-1]))
    kept = []
    for error in errors:
        if error["type"] == "missing":
            parent, missing = tuple(error["loc"][:-1]), str(error["loc"][-1])
            if closest(missing, unknown.get(parent, [])) is not None:
                continue
        kept.append(error)
    return kept


def _unquote(text: str) -> str:
    return text.strip("'\"")


def _collapse_unions(errors: list[ErrorDetails]) -> list[ErrorDetails]:
    """A value that fits no member of `str | int | float | bool` yields one error per
    member; keep the first per location so the user reads one line."""
    kept: list[ErrorDetails] = []
    seen: set[tuple[Any, ...]] = set()
    for error in errors:
        loc = tuple(seg for seg in error["loc"] if not _is_union_member_tag(seg))
        if error["type"].endswith("_type") and loc in seen:
            continue
        seen.add(loc)
        kept.append(error)
    return kept


def _is_union_member_tag(segment: Any) -> bool:
    return isinstance(segment, str) and (
        segment in ("str", "int", "float", "bool", "none", "list[any]", "dict[str,any]")
        or segment.startswith(("function-", "constrained-", "json-or-python", "lax-or-strict"))
    )


_DISCRIMINATORS = ("type", "method", "source")


def _data_path(data: Any, loc: tuple[int | str, ...]) -> tuple[DocPath, bool]:
    """Map a pydantic location to a path in the data, dropping union tags.

    The second value says whether the finding is about a key (a dict key that fails the
    name pattern) rather than a value.
    """
    path: list[str | int] = []
    node = data
    is_key = False
    tag_skipped = False
    for index, segment in enumerate(loc):
        last = index == len(loc) - 1
        if segment == "[key]":
            is_key = True
            continue
        if (
            not tag_skipped
            and isinstance(node, dict)
            and any(node.get(d) == segment for d in _DISCRIMINATORS)
        ):
            tag_skipped = True  # the union tag pydantic adds: this mapping's discriminator value
            continue
        tag_skipped = False
        found, child = _child(node, segment)
        if found:
            path.append(segment)
            node = child
        elif last and isinstance(segment, str) and not _is_union_member_tag(segment):
            path.append(segment)  # a missing key: located at its nearest ancestor
            node = None
        # any other segment is a union tag, absent from the data
    return tuple(path), is_key


def _child(node: Any, segment: int | str) -> tuple[bool, Any]:
    if isinstance(node, dict) and segment in node:
        return True, node[segment]
    if isinstance(node, list) and isinstance(segment, int) and 0 <= segment < len(node):
        return True, node[segment]
    return False, None


def _describe(
    root: Any,
    error: ErrorDetails,
    path: DocPath,
    is_key: bool,
    sensitive: bool,
) -> tuple[str, str, bool]:
    """(code, message, locate-at-key) for one pydantic error."""
    kind = error["type"]
    ctx = error.get("ctx") or {}
    field = _field_name(path)
    label = f"'{field}'" if field else "value"
    code = _field_code(path, error["loc"])
    value = error.get("input")
    shown = "" if sensitive or _is_sensitive_path(path) else _show(value)

    # The key the error is about. The path can be empty when a key's text equals a union
    # tag value (a key '' beside `method: ''`); pydantic's location still names it.
    key = str(path[-1]) if path else str(error["loc"][-1]) if error["loc"] else ""
    if kind == "extra_forbidden":
        allowed = _fields_at(root, error["loc"][:-1])
        hint = did_you_mean(key, allowed, clause=True, list_up_to=12) if allowed else ""
        if set(allowed) >= {"value", "secret"} or allowed == ["value"]:
            hint += "; to pass a mapping as the value, write {value: {...}}"
        return codes.UNKNOWN_KEY, f"unknown key '{key}'{hint}", True
    if kind == "missing":
        return codes.MISSING_KEY, f"missing required key '{_unquote(key)}'", True
    if kind == "string_pattern_mismatch" and is_key:
        return codes.INVALID_NAME, _name_message(value), True
    if kind in ("union_tag_invalid", "literal_error", "enum"):
        if kind == "union_tag_invalid":
            value = ctx.get("tag")
            shown = _show(value)
        expected = ctx.get("expected_tags") or ctx.get("expected") or ""
        tag_field = _tag_field(kind, ctx, path, field)
        options = _options(str(expected))
        hint = did_you_mean(value, options, clause=True) if isinstance(value, str) else ""
        if field == "version" and len(path) == 1:
            return (
                codes.UNSUPPORTED_VERSION,
                f"unsupported manifest version{shown}; this polysync reads version 1",
                False,
            )
        return (
            code or codes.INVALID_VALUE,
            f"{tag_field} must be one of {expected}{shown}{hint}",
            False,
        )
    if kind == "union_tag_not_found":
        missing = _unquote(str(ctx.get("discriminator", "")))
        return codes.MISSING_KEY, f"missing required key '{missing}'", True
    if kind in _TYPE_NAMES:
        expected = _TYPE_NAMES[kind]
        hint = ""
        if field == "glue_version" and isinstance(value, int | float):
            hint = '; quote it ("4.0") so YAML does not read it as a number'
        elif field and _under(path, "tags") and not isinstance(value, str):
            hint = "; Batch tags are strings, so quote it"
        return code or codes.WRONG_TYPE, f"{label} must be {expected}{shown}{hint}", False
    if kind in _RANGE_TYPES:
        bound = _RANGE_TYPES[kind].format(
            **{k: ctx.get(k) for k in ("ge", "gt", "le", "lt", "min_length", "max_length")}
        )
        if kind in ("too_short", "too_long"):
            shown = ""  # the length is the point, not the value
        message = f"{label} must be {bound}{shown}{_aws_member(code)}"
        return code or codes.OUT_OF_RANGE, message, is_key  # a key too long: at the key
    if kind == "string_pattern_mismatch":
        return (
            code or codes.INVALID_VALUE,
            f"{label} is not valid{shown}: {_pattern_help(field, code)}",
            False,
        )
    if kind == "max_capacity":
        return code or codes.INVALID_VALUE, str(error["msg"]), False  # says the field itself
    return code or codes.INVALID_VALUE, f"{label}: {error['msg']}", False


_QUEUE_HELP = (
    "a queue name (up to 128 letters, digits, - and _) or "
    "arn:aws:batch:<region>:<account>:job-queue/<name> (SubmitJob jobQueue)"
)
_PATTERN_HELP = {
    "region": "expected an AWS region such as us-east-1",
    "endpoint_url": "expected an http:// or https:// URL such as http://127.0.0.1:4599",
    "events_queue": (
        "expected an SQS queue name: 1-80 letters, digits, - and _ (a standard queue, "
        "not .fifo; CreateQueue QueueName)"
    ),
    "role_arn": "expected arn:aws:iam::<12-digit account>:role/<name>",
    "glue_version": 'expected a version such as "4.0", or auto',
    "share_identifier": "up to 255 letters and digits, optionally ending in * "
    "(SubmitJob shareIdentifier)",
    "job_queue": _QUEUE_HELP,
    "default_job_queue": _QUEUE_HELP,
    "session_name": "2-64 characters of letters, digits and +=,.@_-",
    "external_id": "2-1224 characters of letters, digits and +=,.@:/_-",
    "platform": "a name of letters, digits, _ and -, starting with a letter or _",
    "job": "a name of letters, digits, _ and -, starting with a letter or _",
    "run": "a name of letters, digits, _ and -, starting with a letter or _",
    "name": "a name of letters, digits, _ and -, starting with a letter or _",
}


# The request member each AWS-coded field becomes, named after a bound it breaks: the
# limit is AWS's, and this is where its documentation says so.
_AWS_MEMBERS = {
    codes.GLUE_NUMBER_OF_WORKERS: "StartJobRun NumberOfWorkers",
    codes.GLUE_TIMEOUT: "StartJobRun Timeout: less than 7 days or 10080 minutes",
    codes.GLUE_VERSION_NOT_STRING: "the Glue job's GlueVersion, GlueVersionString: 1-255",
    codes.GLUE_JOB_NAME: "StartJobRun JobName, NameString: 1-255 characters",
    codes.GLUE_NOTIFY_DELAY: "StartJobRun NotificationProperty.NotifyDelayAfter: at least 1",
    codes.GLUE_SECURITY_CONFIGURATION: "StartJobRun SecurityConfiguration, NameString: "
    "1-255 characters",
    codes.BATCH_ATTEMPT_DURATION: "SubmitJob timeout.attemptDurationSeconds: at least 60",
    codes.BATCH_RETRY_ATTEMPTS: "SubmitJob retryStrategy.attempts: 1-10",
    codes.BATCH_ARRAY_SIZE: "SubmitJob arrayProperties.size: 2-10,000",
    codes.BATCH_PRIORITY: "SubmitJob schedulingPriorityOverride: 0-9999",
    codes.BATCH_TAG: "SubmitJob tags: 1-50, keys 1-128, values up to 256 characters",
    codes.BATCH_DEPENDS_ON: "SubmitJob dependsOn: at most 20 jobs",
}


def _aws_member(code: str | None) -> str:
    member = _AWS_MEMBERS.get(code or "")
    return f" ({member})" if member else ""


def _pattern_help(field: str | None, code: str | None) -> str:
    if code == codes.GLUE_JOB_NAME:
        return "a Glue job name is 1-255 characters on one line (Glue JobName, NameString)"
    if code == codes.GLUE_SECURITY_CONFIGURATION:
        return (
            "a security configuration's name is 1-255 characters on one line "
            "(StartJobRun SecurityConfiguration, NameString)"
        )
    return _PATTERN_HELP.get(field or "", "see the manifest reference")


def _name_message(value: Any) -> str:
    shown = f" '{value}'" if isinstance(value, str) and len(value) <= 60 else ""
    return f"invalid name{shown}: names match {NAME_PATTERN} (letters, digits, _ and -)"


def _tag_field(kind: str, ctx: dict[str, Any], path: DocPath, field: str | None) -> str:
    if kind == "union_tag_invalid":
        return f"'{_unquote(str(ctx.get('discriminator', field)))}'"
    return f"'{field}'" if field else "value"


def _options(expected: str) -> list[str]:
    return [
        part.strip().strip("'\"")
        for part in expected.replace(" or ", ",").split(",")
        if part.strip()
    ]


def _field_name(path: DocPath) -> str | None:
    for segment in reversed(path):
        if isinstance(segment, str):
            return segment
    return None


def _field_code(path: DocPath, loc: tuple[int | str, ...] = ()) -> str | None:
    # The field itself, or the map/list it sits in (a tag value, a depends_on item).
    for segment in reversed(path[-3:]):
        if not isinstance(segment, str):
            continue
        if segment == "external_id":
            # Three fields share the name: STS's ExternalId, the Glue job name and the
            # Batch job definition; pydantic's location names the job type.
            if "auth" in path:
                return codes.FIELD_CODES["external_id"]
            if "aws_glue_job" in loc:
                return codes.GLUE_JOB_NAME
            return codes.BATCH_EXTERNAL_ID if "aws_batch_job" in loc else None
        if segment in codes.FIELD_CODES:
            return codes.FIELD_CODES[segment]
    return None


def _under(path: DocPath, key: str) -> bool:
    return key in path[:-1]


def _is_sensitive_path(path: DocPath) -> bool:
    return any(isinstance(s, str) and s in _SENSITIVE_FIELDS for s in path)


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return f", got {'true' if value else 'false'}"
    if isinstance(value, int | float):
        return f", got {value}"
    if isinstance(value, str) and len(value) <= 60:
        # A control character is shown escaped: a raw newline would split the finding.
        text = value if value.isprintable() else json.dumps(value, ensure_ascii=False)[1:-1]
        return f", got '{text}'"
    if isinstance(value, list):
        return ", got a list"
    if isinstance(value, dict):
        return ", got a mapping"
    if value is None:
        return ", got null"
    return ""


def _fields_at(root: Any, loc: tuple[int | str, ...]) -> list[str]:
    """The field names of the model found by walking `loc` through `root`'s types."""
    tp: Any = root
    index = 0
    while index <= len(loc):
        tp = _strip(tp)
        members = _union_members(tp)
        if members is not None:
            segment = loc[index] if index < len(loc) else None
            chosen = _member_for_tag(members, segment)
            if chosen is not None:
                tp, index = chosen, index + 1
                continue
            models = [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)]
            if not models:
                return []
            tp = models[0]
            continue
        if index == len(loc):
            break
        segment = loc[index]
        index += 1
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            info = tp.model_fields.get(str(segment))
            if info is None:
                return []
            tp = info.annotation
        elif get_origin(tp) is dict:
            tp = get_args(tp)[1]
        elif get_origin(tp) is list:
            tp = get_args(tp)[0]
        else:
            return []
    tp = _strip(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return list(tp.model_fields)
    return []


def _strip(tp: Any) -> Any:
    while get_origin(tp) is typing.Annotated:
        tp = get_args(tp)[0]
    return tp


def _union_members(tp: Any) -> list[Any] | None:
    if get_origin(tp) in (typing.Union, types.UnionType):
        return [_strip(m) for m in get_args(tp) if m is not type(None)]
    return None


def _member_for_tag(members: list[Any], segment: Any) -> Any | None:
    if not isinstance(segment, str):
        return None
    for member in members:
        if not (isinstance(member, type) and issubclass(member, BaseModel)):
            continue
        for info in member.model_fields.values():
            annotation = _strip(info.annotation)
            if get_origin(annotation) is Literal and segment in get_args(annotation):
                return member
    return None
