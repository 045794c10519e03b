"""The strings AWS receives."""

from __future__ import annotations

from typing import Any

import pytest

from polysync_spec.values import aws_string, glue_argument_key, is_internal


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, "true"),
        (False, "false"),
        (0, "0"),
        (-12, "-12"),
        (1.5, "1.5"),
        (1000.0, "1000.0"),
        (1e20, "100000000000000000000.0"),
        (1e-7, "0.0000001"),
        ("s3://x/", "s3://x/"),
        ([1, "a", True], '[1,"a",true]'),
        ({"k": [1, 2], "z": None}, '{"k":[1,2],"z":null}'),
        ("ünïcode", "ünïcode"),
        ({"ü": "é"}, '{"ü":"é"}'),
    ],
)
def test_aws_string(value: Any, expected: str) -> None:
    assert aws_string(value) == expected


@pytest.mark.parametrize(
    ("key", "expected"),
    [("source_path", "--source_path"), ("--source_path", "--source_path"), ("-x", "---x")],
)
def test_glue_keys_are_normalised_to_double_dash(key: str, expected: str) -> None:
    assert glue_argument_key(key) == expected


def test_underscore_keys_are_internal() -> None:
    assert is_internal("_owner") and not is_internal("owner") and not is_internal("--_x")
