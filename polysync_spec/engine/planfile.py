"""Plan files (`plan --out`) read back by `show` and `apply`: untrusted input, checked first.

A plan file travels (a CI artifact, a download, a hand edit), so nothing in it is believed
before it passes, in this order:

1. a bounded read: a regular file of at most `MAX_PLAN_BYTES`, never a FIFO or a device;
2. JSON that parses, nesting included (the parser's recursion limit is an error here);
3. the published schema, `schemas/polysync-plan.schema.json` (`plan_schema()`), every
   problem named by its JSON path (`$.runs[0].request.NumberOfWorkers`);
4. what a schema cannot say: run keys are unique, `after` names runs of the plan, and the
   `after` edges have no cycle (apply would wait for ever).

Apply then checks the file against the manifests it names (`check_against_manifests`,
before any AWS call, and `check_secret_references` against a re-plan, before anything is
sent): a `{"$env": NAME}` may only stand where the manifests put that very reference, so
an edited file cannot send any other environment variable (an AWS secret key, say).
Messages never repeat a value from the file, only its JSON type.
"""

from __future__ import annotations

import graphlib
import json
import math
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError

from polysync_spec import redact
from polysync_spec.engine.model import Plan
from polysync_spec.engine.planschema import plan_schema
from polysync_spec.engine.selection import selection_problems
from polysync_spec.errors import Diagnostic, PolysyncError
from polysync_spec.providers.registry import platform_of

MAX_PLAN_BYTES = 64 * 1024 * 1024
MAX_PROBLEMS_SHOWN = 20


class PlanFileError(PolysyncError):
    """A plan file that cannot be applied or shown as it is; the message names each
    problem by its JSON path and never repeats a value from the file."""


# JSON Schema counts 4.0 as an integer; AWS and apply do not, so neither does this reader.
_Validator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator,
    type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine(
        "integer", lambda _checker, value: isinstance(value, int) and not isinstance(value, bool)
    ),
)


def _validator() -> Any:
    return _Validator(plan_schema())


# ---------------------------------------------------------------- reading


def read_plan_file(path: str | Path) -> Plan:
    """The plan in the file at `path`, checked as the module docstring says.

    Raises `PlanFileError` (exit 1) naming every problem found by its JSON path.
    """
    from polysync_spec.manifest.loader import read_manifest

    diagnostics: list[Diagnostic] = []
    raw = read_manifest(Path(path), None, diagnostics, limit=MAX_PLAN_BYTES, what="plan files")
    if raw is None:
        raise PlanFileError(f"cannot read plan file {path}: {diagnostics[0].message}")
    try:
        document = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise PlanFileError(f"{path} is not a valid plan file: it is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise PlanFileError(
            f"{path} is not a valid plan file: not JSON (line {exc.lineno}, column "
            f"{exc.colno}: {exc.msg})"
        ) from None
    except ValueError:  # an integer longer than int() converts (4300 digits)
        raise PlanFileError(f"{path} is not a valid plan file: a number is too long") from None
    except RecursionError:
        raise PlanFileError(f"{path} is not a valid plan file: nested too deeply") from None
    return plan_from_document(document, str(path))


def plan_from_document(document: Any, source: str) -> Plan:
    """A plan from parsed JSON, after the schema and the checks the schema cannot make."""
    problems = schema_problems(document)
    if not problems:
        problems = list(_graph_problems(document["runs"]))
    if problems:
        shown = problems[:MAX_PROBLEMS_SHOWN]
        more = len(problems) - len(shown)
        raise PlanFileError(
            f"{source} is not a valid plan file (schema: schemas/polysync-plan.schema.json):\n  "
            + "\n  ".join(shown)
            + (f"\n  ... and {more} more" if more else "")
        )
    plan = Plan.from_dict(document)
    problems = selection_problems(plan)
    if problems:
        raise PlanFileError(f"{source} is not a valid plan file:\n  " + "\n  ".join(problems))
    return plan


def schema_problems(document: Any) -> list[str]:
    """Every schema violation as `JSON path: problem`, in document order."""
    try:
        errors = sorted(
            _leaves(_validator().iter_errors(document)),
            key=lambda e: [str(p) for p in e.absolute_path],
        )
        # One line per problem: a mapping missing three keys fails `required` three times.
        return list(dict.fromkeys(f"{json_path(e.absolute_path)}: {_describe(e)}" for e in errors))
    except RecursionError:  # a document nested past what the validator can walk
        return ["$: nested too deeply"]


def _leaves(errors: Iterator[ValidationError]) -> Iterator[ValidationError]:
    """For if/then/else and anyOf, the errors inside them say more than the wrapper."""
    for error in errors:
        if error.validator in ("if", "then", "else", "allOf") and error.context:
            yield from _leaves(iter(error.context))
        else:
            yield error


def json_path(path: Any) -> str:
    """`$.runs[0].request["--key"]`: where a value is, as JSONPath writes it."""
    text = "$"
    for segment in path:
        if isinstance(segment, int):
            text += f"[{segment}]"
        elif re.fullmatch(r"[A-Za-z_$][A-Za-z0-9_$]*", segment):
            text += f".{segment}"
        else:
            text += f"[{json.dumps(segment)}]"
    return text


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "NaN" if math.isnan(value) else "a number with a fraction"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return "null"


_TYPE_WORDS = {
    "object": "an object",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}


def _describe(error: ValidationError) -> str:
    """The problem in words; never the offending value itself (it could be a secret
    pasted over a {"$env": NAME}), only its JSON type or, for numbers, the number."""
    expected: Any = error.validator_value
    got = error.instance
    schema = error.schema if isinstance(error.schema, dict) else {}
    if "propertyNames" in error.schema_path:  # about a key: its name is shown, not a value
        return f"key {got!r} is not {schema.get('description', 'a valid name')}"
    match error.validator:
        case "type":
            kinds = expected if isinstance(expected, list) else [expected]
            words = " or ".join(_TYPE_WORDS.get(str(k), str(k)) for k in kinds)
            return f"must be {words}, got {_kind(got)}"
        case "required":
            missing = [k for k in expected if isinstance(got, dict) and k not in got]
            keys = "key" if len(missing) == 1 else "keys"
            return f"missing required {keys} {', '.join(repr(k) for k in missing)}"
        case "additionalProperties":
            allowed = set(schema.get("properties", {}))
            extra = sorted(k for k in got if k not in allowed) if isinstance(got, dict) else []
            return f"unknown key {', '.join(repr(k) for k in extra)}"
        case "const":
            return f"must be {json.dumps(expected)}"
        case "enum":
            return f"must be one of {', '.join(json.dumps(v) for v in expected)}"
        case "minimum" | "maximum" | "exclusiveMaximum" | "exclusiveMinimum":
            word = {"minimum": "at least", "maximum": "at most"}.get(error.validator, "below")
            return f"must be {word} {expected}, got {got}"
        case "minItems" | "maxItems" | "minLength" | "maxLength":
            word = "at least" if error.validator.startswith("min") else "at most"
            unit = "item(s)" if error.validator.endswith("Items") else "character(s)"
            return f"must have {word} {expected} {unit}"
        case _:  # pattern, anyOf, propertyNames: the schema's own words when it has them
            description = schema.get("description")
            if description:
                return f"must be {description}"
            if error.validator == "pattern":
                return f"must match {expected}"
            return "is not valid"


def _graph_problems(runs: list[dict[str, Any]]) -> Iterator[str]:
    """Run keys unique, `after` within the plan, and no cycle: apply relies on all three."""
    first: dict[str, int] = {}
    for index, run in enumerate(runs):
        if run["key"] in first:
            yield (
                f"$.runs[{index}].key: run key {run['key']!r} is also the key of "
                f"$.runs[{first[run['key']]}]"
            )
        first.setdefault(run["key"], index)
    sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
    for index, run in enumerate(runs):
        sorter.add(run["key"])
        for edge_index, edge in enumerate(run["after"]):
            if edge["run"] not in first:
                yield (
                    f"$.runs[{index}].after[{edge_index}].run: {edge['run']!r} is not a run of "
                    "this plan"
                )
            elif edge["run"] == run["key"]:
                yield f"$.runs[{index}].after[{edge_index}].run: a run cannot wait for itself"
            else:
                sorter.add(run["key"], edge["run"])
    try:
        sorter.prepare()
    except graphlib.CycleError as exc:
        cycle = " -> ".join(reversed(exc.args[1]))
        yield f"$.runs: the after edges form a cycle ({cycle}); apply would wait for ever"


# ---------------------------------------------------------------- against the manifests


def check_against_manifests(saved: Plan, project: Any) -> None:
    """Before any AWS call: the plan's run plan and platforms exist in the (valid)
    manifests, and each platform runs the plan's service for it."""
    problems: list[str] = []
    if saved.run_plan not in project.run_plans:
        problems.append(
            f"$.run_plan: the manifests at {saved.manifest_path} have no run plan "
            f"{saved.run_plan!r}"
        )
    for index, run in enumerate(saved.runs):
        platform = project.platforms.get(run.platform)
        if platform is None:
            problems.append(
                f"$.runs[{index}].platform: the manifests have no platform {run.platform!r}"
            )
        elif platform_of(platform).service != run.service:
            problems.append(
                f"$.runs[{index}].service: platform {run.platform!r} does not run "
                f"{run.service} jobs"
            )
    if problems:
        raise PlanFileError("the plan file does not fit its manifests:\n  " + "\n  ".join(problems))


def secret_references(request: Mapping[str, Any]) -> dict[tuple[str, ...], str]:
    """Every `{"$env": NAME}` of a request by its slot (`("Arguments", "--token")`)."""
    found: dict[tuple[str, ...], str] = {}
    for key, value in request.items():
        if _is_reference(value):
            found[(key,)] = value["$env"]
        elif isinstance(value, dict):
            for inner, item in value.items():
                if _is_reference(item):
                    found[(key, inner)] = item["$env"]
    return found


def _is_reference(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"$env"}


def check_secret_references(saved: Plan, replanned: Plan) -> None:
    """Each `{"$env": NAME}` of the plan file must stand where re-planning its manifests
    puts that same reference: the slot of a parameter the manifests mark secret, with the
    variable they name. Anything else (another variable, another slot, a run the
    manifests do not plan) is refused, naming the slot, before anything is sent."""
    allowed = {run.key: secret_references(run.request) for run in replanned.runs}
    problems: list[str] = []
    for index, run in enumerate(saved.runs):
        expected = allowed.get(run.key, {})
        for slot, name in secret_references(run.request).items():
            where = json_path(["runs", index, "request", *slot])
            if slot not in expected:
                problems.append(
                    f"{where}: reads environment variable {name}, but the manifests mark no "
                    "secret here"
                )
            elif expected[slot] != name:
                problems.append(
                    f"{where}: reads environment variable {name}, but the manifests take "
                    f"this secret from {expected[slot]}"
                )
    if problems:
        raise PlanFileError(
            "the plan file reads secrets its manifests do not declare; nothing was "
            "submitted:\n  " + "\n  ".join(problems)
        )
    check_no_masked_values(saved)


def check_no_masked_values(saved: Plan) -> None:
    """A plan file keeps a secret that no `{"$env": NAME}` slot names (a parameter set
    from a variable whose value came from the environment, --var or --var-file) only as
    ***: sending it would run the job with the wrong value. Refused, naming each slot,
    before anything is sent."""
    masked = [
        json_path(["runs", index, "request", *slot])
        for index, run in enumerate(saved.runs)
        for slot in _masked_slots(run.request)
    ]
    if masked:
        raise PlanFileError(
            "the plan holds a masked secret (***) that it cannot send; nothing was "
            "submitted: " + ", ".join(masked) + ". Apply from the manifests, or give the "
            "parameter `secret: true` with `${env.NAME}` so that a plan file names the "
            "variable"
        )


def _masked_slots(node: Any, slot: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(node, str):
        return [slot] if redact.MASK in node else []
    if isinstance(node, dict):
        return [s for key, value in node.items() for s in _masked_slots(value, (*slot, key))]
    if isinstance(node, list):
        return [s for i, value in enumerate(node) for s in _masked_slots(value, (*slot, i))]
    return []
