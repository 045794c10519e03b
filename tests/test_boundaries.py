"""Every documented AWS limit, tested on both sides of its boundary."""

from __future__ import annotations

from pathlib import Path

import pytest

from polysync_spec import validate
from tests.helpers import BATCH_BASE, GLUE_BASE, write

# (base, YAML appended under the job, value, expected code or None for valid)
CASES: list[tuple[str, str, str, str | None]] = [
    # Batch retryStrategy.attempts 1..10
    *[
        (BATCH_BASE, "retry_attempts: {}", v, c)
        for v, c in [("0", "PS402"), ("1", None), ("10", None), ("11", "PS402")]
    ],
    # Batch arrayProperties.size 2..10000
    *[
        (BATCH_BASE, "array_size: {}", v, c)
        for v, c in [("1", "PS403"), ("2", None), ("10000", None), ("10001", "PS403")]
    ],
    # Batch timeout.attemptDurationSeconds >= 60
    *[
        (BATCH_BASE, "attempt_duration_seconds: {}", v, c)
        for v, c in [("59", "PS401"), ("60", None)]
    ],
    # Batch schedulingPriorityOverride 0..9999
    *[
        (BATCH_BASE, "scheduling_priority_override: {}", v, c)
        for v, c in [("-1", "PS404"), ("0", None), ("9999", None), ("10000", "PS404")]
    ],
    # Batch dependsOn: type in SEQUENTIAL | N_TO_N (an array job's), at most 20
    *[
        (BATCH_BASE, "array_size: 2\n    depends_on: [{{job_id: j, type: {}}}]", v, c)
        for v, c in [
            ("SEQUENTIAL", None),
            ("N_TO_N", None),
            ("ALL", "PS406"),
            ("sequential", "PS406"),
        ]
    ],
    (BATCH_BASE, "depends_on: [{}]", ", ".join(["{job_id: j}"] * 20), None),
    (BATCH_BASE, "depends_on: [{}]", ", ".join(["{job_id: j}"] * 21), "PS406"),
    # Batch tags: 1..50 entries, key <= 128, value <= 256, strings only
    (BATCH_BASE, "tags: {}", "{}", "PS405"),
    (BATCH_BASE, "tags: {{{}}}", ", ".join(f"k{i}: v" for i in range(50)), None),
    (BATCH_BASE, "tags: {{{}}}", ", ".join(f"k{i}: v" for i in range(51)), "PS405"),
    (BATCH_BASE, "tags: {{{}: v}}", "k" * 128, None),
    (BATCH_BASE, "tags: {{{}: v}}", "k" * 129, "PS405"),
    (BATCH_BASE, "tags: {{k: {}}}", "v" * 256, None),
    (BATCH_BASE, "tags: {{k: {}}}", "v" * 257, "PS405"),
    (BATCH_BASE, "tags: {{k: {}}}", "5", "PS405"),
    (BATCH_BASE, "tags: {{k: {}}}", "true", "PS405"),
    (BATCH_BASE, "tags: {{k: {}}}", '"5"', None),
    # Batch external id: name, name:revision, ARN
    *[
        (BATCH_BASE.replace("external_id: export", "external_id: {}"), "", v, c)
        for v, c in [
            ("export", None),
            ("export:1", None),
            ("export:0", "PS408"),
            ("exp ort", "PS408"),
            ("arn:aws:batch:us-east-1:123456789012:job-definition/export:3", None),
            ("arn:aws:batch:us-east-1:123456789012:job-definition/export", None),
            ("arn:aws:batch:us-east-1:12345:job-definition/export:3", "PS408"),
            ("e" * 128, None),
            ("e" * 129, "PS408"),
        ]
    ],
    # Glue NumberOfWorkers positive integer
    *[
        (GLUE_BASE, "compute: {{number_of_workers: {}}}", v, c)
        for v, c in [
            ("-1", "PS303"),
            ("0", "PS303"),
            ("1", None),
            ("2.5", "PS303"),
            ("true", "PS303"),
            ('"5"', "PS303"),
        ]
    ],
    # Glue Timeout minutes: >= 1 and below 10080
    *[
        (GLUE_BASE, "compute: {{timeout_minutes: {}}}", v, c)
        for v, c in [
            ("0", "PS304"),
            ("1", None),
            ("10079", None),
            ("10080", "PS304"),
            ("1.5", "PS304"),
        ]
    ],
    # Glue worker types
    *[
        (GLUE_BASE, "compute: {{worker_type: {}}}", v, c)
        for v, c in [
            ("Standard", None),
            ("G.025X", None),
            ("G.1X", None),
            ("G.2X", None),
            ("G.4X", None),
            ("G.8X", None),
            ("Z.2X", None),
            ("G.16X", "PS302"),
            ("R.1X", "PS302"),
            ("G.3X", "PS301"),
        ]
    ],
    # Glue max retries >= 0
    *[(GLUE_BASE, "compute: {{max_retries: {}}}", v, c) for v, c in [("-1", "PS310"), ("0", None)]],
    # Glue keys: '=' or whitespace are errors; a leading -- is kept
    *[
        (GLUE_BASE, "parameters: {{'{}': v}}", v, c)
        for v, c in [
            ("a=b", "PS305"),
            ("a b", "PS305"),
            ("a\tb", "PS305"),
            ("--ok", None),
            ("ok", None),
            ("_internal", None),
        ]
    ],
    # Literal secrets
    (GLUE_BASE, "parameters: {{t: {{value: {}, secret: true}}}}", "hunter2", "PS602"),
    (GLUE_BASE, "parameters: {{t: {{value: {}, secret: true}}}}", '"${env.T}"', None),
    (GLUE_BASE, "parameters: {{t: {{value: {}, secret: true}}}}", '"Bearer ${env.T}"', "PS602"),
]


@pytest.mark.parametrize(("base", "template", "value", "code"), CASES)
def test_documented_limit(
    tmp_path: Path, base: str, template: str, value: str, code: str | None
) -> None:
    text = base + (f"    {template.format(value)}\n" if template else "").replace("{value}", value)
    if not template:
        text = base.format(value)
    path = write(tmp_path, text)
    found = {d.code for d in validate(path, env={"T": "x"})}
    if code is None:
        assert found == set()
    else:
        assert code in found
