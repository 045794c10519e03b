"""Hostile manifests: no input makes validate raise, run away or lose a position.

Mutated examples (as text and as bytes, so non-UTF-8 and control bytes too) and generated
documents: 5,000 cases in the bounded run, 50,000 with RELIABILITY=long. Each must produce
diagnostics that carry a position (or are about the command line), never an exception,
and each must finish within a bound. Huge files, deep nesting, alias bombs and symlink
loops have their own tests in tests/test_loader.py.
"""

from __future__ import annotations

import os
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from polysync_spec import validate
from tests.conftest import EXAMPLES
from tests.reliability.workload import record

SCALE = 10 if os.environ.get("RELIABILITY") == "long" else 1
# A safety bound, not a speed test: a pathological input (a quadratic parse, an alias
# expansion) would take seconds, not the few milliseconds a case takes.
CASE_BOUND_SECONDS = 5.0
# Every TRACE_EVERY-th case runs under tracemalloc (which slows it 2-3x): the memory it
# allocated at its peak must stay under the bound. The inputs are a few KiB; a runaway
# (an alias expansion, a quadratic copy) would take far more.
TRACE_EVERY = 10
CASE_MEMORY_BOUND = 64 * 1024 * 1024
SLOWEST: dict[str, float] = {}
PEAK_TRACED: dict[str, int] = {}
CASES: dict[str, int] = {}

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


@st.composite
def mutated_bytes(draw: st.DrawFn) -> bytes:
    """Byte-level damage: invalid UTF-8, NULs, BOMs, stray control bytes."""
    data = draw(mutated()).encode("utf-8")
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        junk = draw(
            st.one_of(
                st.sampled_from([b"\xff", b"\xc3", b"\x00", b"\xef\xbb\xbf", b"\x1b[31m", b"\r"]),
                st.binary(min_size=1, max_size=4),
            )
        )
        data = data[:at] + junk + data[at:]
    return data


def _check(data: bytes, kind: str) -> None:
    CASES[kind] = CASES.get(kind, 0) + 1
    traced = CASES[kind] % TRACE_EVERY == 0
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.yaml"
        path.write_bytes(data)
        if traced:
            tracemalloc.start()
        started = time.perf_counter()
        try:
            diagnostics = validate(path, env={})
        finally:
            took = time.perf_counter() - started
            if traced:
                peak = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
        if traced:
            PEAK_TRACED[kind] = max(PEAK_TRACED.get(kind, 0), peak)
            assert peak < CASE_MEMORY_BOUND, data[:200]
        else:  # tracing distorts the time
            SLOWEST[kind] = max(SLOWEST.get(kind, 0.0), took)
            assert took < CASE_BOUND_SECONDS, data[:200]
        for diagnostic in diagnostics:
            assert diagnostic.message
            assert diagnostic.position is not None or diagnostic.code.startswith("PS2")


# Each test runs its hypothesis cases, then checks and records its own figures: tests of
# one module may run in any order, on any xdist worker, so no test reads another's.
@settings(max_examples=2000 * SCALE, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def _mutated_cases(text: str) -> None:
    _check(text.encode("utf-8"), "mutated")


@settings(max_examples=1000 * SCALE, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_bytes())
def _damaged_cases(data: bytes) -> None:
    _check(data, "bytes")


@settings(max_examples=2000 * SCALE, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(KEYS[:6]), documents, max_size=6))
# found by the long mode: a key '' beside `method: ''` (a union tag value) lost its path
@example(document={"run_plans": {"version": {"method": "", "": None}}})
def _generated_cases(document: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.yaml"
        with path.open("w", encoding="utf-8") as stream:
            YAML(typ="safe").dump(document, stream)
        _check(path.read_bytes(), "generated")


def _measured(kind: str, at_least: int) -> None:
    """The cases of `kind` ran and were measured (time, and traced memory); their
    figures go to RELIABILITY.md's report."""
    assert CASES.get(kind, 0) >= at_least
    assert kind in SLOWEST and kind in PEAK_TRACED
    record(
        "hostile",
        kind=kind,
        cases=CASES[kind],
        slowest_seconds=SLOWEST[kind],
        peak_traced_kib=PEAK_TRACED[kind] // 1024,
    )


@pytest.mark.reliability
def test_mutated_examples_never_raise() -> None:
    _mutated_cases()
    _measured("mutated", 1000 * SCALE)


@pytest.mark.reliability
def test_damaged_bytes_never_raise() -> None:
    _damaged_cases()
    _measured("bytes", 500 * SCALE)


@pytest.mark.reliability
def test_generated_documents_never_raise() -> None:
    _generated_cases()
    _measured("generated", 1000 * SCALE)
