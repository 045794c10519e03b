"""No input makes validate raise: mutated examples and generated documents.

Each generated manifest must produce diagnostics that carry a position (or are about the
command line), never an exception.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from polysync_spec.manifest import validate
from tests.conftest import EXAMPLES

SOURCES = [
    p.read_text(encoding="utf-8")
    for p in sorted(EXAMPLES.rglob("*.yaml"))
    if "invalid" not in p.parts
]
JOINED = "\n".join(SOURCES)
ALPHABET = st.sampled_from(
    [*" :-{}[]#&*!|>'\"\t\n,.$%@`?=0123456789abcxyz_", "${", "${var.", "  ", "\n  - "]
)


@st.composite
def mutated(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from([*SOURCES, JOINED]))
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["insert", "delete", "replace", "drop_line", "dup_line"]))
        at = draw(st.integers(0, max(len(text) - 1, 0)))
        if kind == "insert":
            text = text[:at] + draw(ALPHABET) + text[at:]
        elif kind == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 20)) :]
        elif kind == "replace":
            text = text[:at] + draw(ALPHABET) + text[at + 1 :]
        else:
            lines = text.splitlines(keepends=True)
            index = draw(st.integers(0, max(len(lines) - 1, 0)))
            if lines:
                lines.insert(index, lines[index]) if kind == "dup_line" else lines.pop(index)
            text = "".join(lines)
    return text


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 20000),
    st.floats(allow_nan=False),
    st.text(max_size=12),
)
KEYS = ["version", "platforms", "jobs", "run_plans", "targets", "variables", "type", "region",
        "platform", "external_id", "parameters", "compute", "runs", "job", "after", "auth",
        "method", "token", "source", "value", "secret", "tags", "depends_on", "aws_glue",
        "aws_batch", "worker_type", "array_size", "default", "name", "on"]  # fmt: skip
documents = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.one_of(st.sampled_from(KEYS), st.text(max_size=6)), children, max_size=5
        ),
    ),
    max_leaves=40,
)


def _check(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.yaml"
        path.write_text(text, encoding="utf-8")
        diagnostics = validate(path, env={})
        for diagnostic in diagnostics:
            assert diagnostic.message
            assert diagnostic.position is not None or diagnostic.code.startswith("PS2")


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_examples_never_raise(text: str) -> None:
    _check(text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(KEYS[:6]), documents, max_size=6))
def test_generated_documents_never_raise(document: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.yaml"
        with path.open("w", encoding="utf-8") as stream:
            YAML(typ="safe").dump(document, stream)
        _check(path.read_text(encoding="utf-8"))
