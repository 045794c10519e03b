"""Scalars follow the YAML 1.2 core schema and explicit tags win: plain, quoted and
explicitly tagged scalars of each type, YAML 1.1-only forms, and tags that do not fit."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import yaml

from polysync_spec import load_project
from polysync_spec.cli import run
from polysync_spec.errors import Diagnostic, Position
from polysync_spec.manifest import loader
from tests.helpers import GLUE_BASE, write


class _PureCoreLoader(loader._CoreResolver, yaml.SafeLoader):
    """The fallback when PyYAML has no libyaml: the same resolver on PyYAML's composer."""


@pytest.fixture(params=["libyaml", "pure"])
def composer(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "pure":
        monkeypatch.setattr(loader, "_CoreLoader", _PureCoreLoader)
    return str(request.param)


def _value(text: str) -> tuple[Any, list[Diagnostic]]:
    diagnostics: list[Diagnostic] = []
    document = loader.parse_text(f"v: {text}\n", "t.yaml", diagnostics)
    assert document is not None
    return document.data["v"], diagnostics


def _same(found: Any, expected: Any) -> bool:
    """Equal and of the same type (1, 1.0 and True are all == 1); NaN equals NaN."""
    if isinstance(expected, float) and math.isnan(expected):
        return isinstance(found, float) and math.isnan(found)
    return type(found) is type(expected) and found == expected


INF = math.inf

PLAIN = [
    # null
    ("~", None), ("null", None), ("Null", None), ("NULL", None), ("", None),
    # bool
    ("true", True), ("True", True), ("TRUE", True),
    ("false", False), ("False", False), ("FALSE", False),
    # int
    ("3", 3), ("-3", -3), ("+5", 5), ("0", 0), ("017", 17), ("0o17", 15), ("0x1F", 31),
    ("0x1f", 31),
    # float
    ("1.5", 1.5), (".5", 0.5), ("1.", 1.0), ("1e3", 1000.0), ("-2.5E-3", -0.0025),
    ("+1e+2", 100.0), (".inf", INF), ("+.Inf", INF), ("-.INF", -INF), (".nan", math.nan),
    (".NaN", math.nan), (".NAN", math.nan),
    # text, including every YAML 1.1-only form
    ("abc", "abc"), ("yes", "yes"), ("no", "no"), ("on", "on"), ("off", "off"),
    ("y", "y"), ("n", "n"), ("1_000", "1_000"), ("0b101", "0b101"), ("2026-01-01", "2026-01-01"),
    ("2026-01-01T10:00:00Z", "2026-01-01T10:00:00Z"), ("12:30", "12:30"), ("0X1F", "0X1F"),
    ("0O17", "0O17"), ("0x", "0x"), ("1e", "1e"), (".iNf", ".iNf"), ("nULL", "nULL"),
    ("tRUE", "tRUE"), ("=", "="), ("<<", "<<"),
]  # fmt: skip

QUOTED = [
    ('"3"', "3"), ("'true'", "true"), ('"null"', "null"), ("'~'", "~"), ('""', ""),
    ("'1e3'", "1e3"), ('"0x1F"', "0x1F"), ('".inf"', ".inf"), ("|-\n  3", "3"),
    (">-\n  true", "true"),
]  # fmt: skip

TAGGED = [
    ("!!str 3", "3"), ("!!str true", "true"), ("!!str null", "null"), ("!!str ~", "~"),
    ("!!str", ""), ("!!str 1.5", "1.5"), ("!!str 0x1F", "0x1F"), ('!!str "3"', "3"),
    ('!!int "3"', 3), ("!!int '0x1F'", 31), ("!!int 0o17", 15), ("!!int -7", -7),
    ('!!int "+5"', 5), ("!!int 3", 3),
    ("!!float 3", 3.0), ('!!float "1.5"', 1.5), ("!!float '.inf'", INF),
    ('!!float "-.inf"', -INF), ("!!float .nan", math.nan), ("!!float '1e3'", 1000.0),
    ('!!bool "true"', True), ("!!bool 'FALSE'", False), ("!!bool True", True),
    ('!!null ""', None), ("!!null", None), ('!!null "~"', None), ("!!null 'null'", None),
    # Tags outside the core schema keep the text as written, as they did before.
    ("!custom 5", "5"), ("!!timestamp 2026-01-01", "2026-01-01"), ("!!timestamp 5", "5"),
    ("!!binary aGk=", "aGk="),
]  # fmt: skip

# An explicit tag the value does not fit, by the core schema (Python's int() and float()
# would take several of these: `1_000`, ` 3`, `1_0`, `infinity`).
MISFITS = [
    "!!int abc", '!!int "1_000"', "!!int 0b101", '!!int "1.5"', '!!int " 3"', '!!int ""',
    "!!int 0X1F", "!!float abc", '!!float "1_0"', "!!float 0x10", '!!float "infinity"',
    "!!bool yes", '!!bool "on"', "!!bool 1", "!!null 0", "!!null none",
]  # fmt: skip


def _ids(cases: list[tuple[str, Any]]) -> list[str]:
    return [text or "<empty>" for text, _ in cases]


@pytest.mark.parametrize(("text", "expected"), PLAIN, ids=_ids(PLAIN))
def test_plain_scalars_follow_the_core_schema(composer: str, text: str, expected: Any) -> None:
    value, diagnostics = _value(text)
    assert _same(value, expected), value
    assert diagnostics == []


@pytest.mark.parametrize(("text", "expected"), QUOTED, ids=_ids(QUOTED))
def test_quoted_and_block_scalars_are_text(composer: str, text: str, expected: Any) -> None:
    value, diagnostics = _value(text)
    assert _same(value, expected), value
    assert diagnostics == []


@pytest.mark.parametrize(("text", "expected"), TAGGED, ids=_ids(TAGGED))
def test_explicit_tags_decide_the_type(composer: str, text: str, expected: Any) -> None:
    value, diagnostics = _value(text)
    assert _same(value, expected), value
    assert diagnostics == []


@pytest.mark.parametrize("text", MISFITS)
def test_a_value_its_explicit_tag_does_not_fit_is_an_error_at_its_position(
    composer: str, text: str
) -> None:
    tag = text.split(maxsplit=1)[0]
    value, [d] = _value(text)
    assert (d.code, d.position, d.is_error) == ("PS009", Position("t.yaml", 1, 4), True)
    assert f"tagged {tag}" in d.message
    assert value == text.removeprefix(tag).strip().strip("\"'")  # the text, as written


def test_keys_honour_tags_too(composer: str) -> None:
    diagnostics: list[Diagnostic] = []
    text = "!!str 3: a\n!!int '4': b\ntrue: c\n!!str null: d\n? !!int x\n: e\n"
    document = loader.parse_text(text, "t.yaml", diagnostics)
    assert document is not None
    assert document.data == {"3": "a", "4": "b", "true": "c", "null": "d", "x": "e"}
    assert [(d.code, d.position) for d in diagnostics] == [("PS009", Position("t.yaml", 5, 3))]


def test_a_misfit_reached_through_aliases_is_reported_once() -> None:
    diagnostics: list[Diagnostic] = []
    text = "a: &x !!int abc\nb: *x\nc: [*x, *x]\nd: &m {k: !!bool maybe}\ne: {<<: *m}\n"
    document = loader.parse_text(text, "t.yaml", diagnostics)
    assert document is not None
    assert document.data["c"] == ["abc", "abc"]
    assert [(d.code, d.position) for d in diagnostics] == [
        ("PS009", Position("t.yaml", 1, 4)),  # where the anchor starts
        ("PS009", Position("t.yaml", 4, 11)),
    ]


def test_libyaml_composes_and_calls_the_core_resolver() -> None:
    if yaml.__with_libyaml__:
        assert issubclass(loader._CoreLoader, yaml.CSafeLoader)
    node = yaml.compose("[yes, 3, !!str 3, '3', !!int '3']", Loader=loader._CoreLoader)
    assert node is not None
    tags = [item.tag.rsplit(":", 1)[1] for item in node.value]
    assert tags == ["str", "int", "str", "str", "int"]


def test_an_integer_too_long_to_convert_is_refused_when_tagged_too() -> None:
    digits = "1" * 5000
    diagnostics: list[Diagnostic] = []
    assert loader.parse_text(f'v: !!int "{digits}"\n', "t.yaml", diagnostics) is None
    [d] = diagnostics
    assert d.code == "PS008" and "integer of 5000 digits" in d.message
    value, diagnostics = _value(f"!!str {digits}")
    assert value == digits and diagnostics == []


# ------------------------------------------------------------------ end to end

_TYPED_PARAMETER = GLUE_BASE + "    parameters:\n      code: {{value: {value}, type: string}}\n"


def test_str_tag_makes_a_string_parameter_of_a_number_end_to_end(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, _TYPED_PARAMETER.format(value="!!str 3"))
    assert run(["validate", str(path)]) == 0
    capsys.readouterr()
    project = load_project(path, env={})
    assert project.ok
    assert project.jobs["etl"].parameters["code"].value == "3"
    # Without the tag the value is the number 3, which a string parameter refuses.
    path.write_text(_TYPED_PARAMETER.format(value="3"), encoding="utf-8")
    assert run(["validate", str(path)]) == 1
    assert "error PS109: parameter 'code' is declared string" in capsys.readouterr().out


def test_validate_reports_a_misfit_tag_with_file_line_and_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, GLUE_BASE + "    parameters:\n      rows: !!int ten\n")
    assert run(["validate", str(path)]) == 1
    assert capsys.readouterr().out == (
        f"{path}:11:13: error PS009: 'ten' is not a YAML 1.2 int (decimal digits with an "
        "optional sign, 0o17 or 0x1F), but it is tagged !!int; fix the value or remove the tag\n"
    )
