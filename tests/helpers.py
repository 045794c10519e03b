"""Small builders shared by tests."""

from __future__ import annotations

import textwrap
from pathlib import Path

GLUE_BASE = """\
version: 1
platforms:
  glue:
    type: aws_glue
    region: us-east-1
jobs:
  etl:
    platform: glue
    external_id: etl-job
"""

BATCH_BASE = """\
version: 1
platforms:
  batch:
    type: aws_batch
    region: us-east-1
    default_job_queue: q
jobs:
  exp:
    platform: batch
    external_id: export
"""


def write(directory: Path, text: str, name: str = "polysync.yaml") -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path
