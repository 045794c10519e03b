"""`polysync init [DIR]`: a starter project that validates cleanly and runs on the
sandbox (`polysync sandbox --from DIR`, then `polysync apply --sandbox`)."""

from __future__ import annotations

from pathlib import Path

import click

from polysync_spec.cli.group import cli
from polysync_spec.errors import ExitCode, PolysyncError

SCHEMA_FILE = "schemas/polysync.schema.json"

_POLYSYNC_YAML = """\
# yaml-language-server: $schema=schemas/polysync.schema.json
#
# Platforms: where jobs run. These point at no real account until you give them one
# (a region you use and an `auth:` block; see the README's "Authentication").
version: 1

variables:
  run_date:
    default: "2026-01-01"              # --var run_date=2026-11-21 overrides
    description: Partition to process (YYYY-MM-DD)

platforms:
  glue:
    type: aws_glue
    region: us-east-1
    description: Glue in your analytics account
    defaults:
      worker_type: G.1X
      number_of_workers: 2
      timeout_minutes: 30
  batch:
    type: aws_batch
    region: us-east-1
    description: Batch in your analytics account
    default_job_queue: starter-queue
"""

_JOBS_YAML = """\
# yaml-language-server: $schema=../schemas/polysync.schema.json
jobs:
  load_orders:
    platform: glue
    external_id: starter-load-orders     # the Glue job's name
    description: Loads one day of orders
    parameters:
      source_path: s3://my-raw-bucket/orders/
      target_table: lake.orders

  export_orders:
    platform: batch
    external_id: starter-export-orders   # the Batch job definition (name or name:revision)
    description: Exports the loaded day to partners
    parameters:
      table: lake.orders
"""

_RUN_PLANS_YAML = """\
# yaml-language-server: $schema=../schemas/polysync.schema.json
run_plans:
  daily:
    description: Load the day's orders, then export them
    on_failure: stop
    runs:
      - job: load_orders
        parameters: {source_path: "s3://my-raw-bucket/orders/${var.run_date}/"}
      - job: export_orders
        after: [load_orders]
"""

_GITIGNORE = """\
# polysync's local ledger (what apply submitted): per machine, never committed
.polysync/
"""


def starter_files() -> dict[str, str]:
    """The starter project: relative path -> content."""
    from polysync_spec.schema import schema_text

    return {
        "polysync.yaml": _POLYSYNC_YAML,
        "jobs/jobs.yaml": _JOBS_YAML,
        "run_plans/daily.yaml": _RUN_PLANS_YAML,
        ".gitignore": _GITIGNORE,
        SCHEMA_FILE: schema_text(),
    }


@cli.command()
@click.argument("directory", required=False, default=".", type=click.Path(file_okay=False))
@click.option("--force", is_flag=True, help="Overwrite files that exist.")
def init(directory: str, force: bool) -> ExitCode:
    """Write a starter project into DIRECTORY (default: here): a Glue and a Batch platform,
    a job on each, a run plan with a dependency, the JSON Schema and a .gitignore."""
    root = Path(directory)
    files = starter_files()
    existing = [name for name in files if (root / name).exists()]
    if existing and not force:
        raise PolysyncError(
            f"{root} already has {', '.join(str(root / name) for name in existing)}; "
            "nothing was written (--force overwrites them)"
        )
    for name, content in files.items():
        path = root / name
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content, encoding="utf-8")
        except OSError as exc:
            raise PolysyncError(f"cannot write {path}: {exc.strerror or exc}") from None
        click.echo(f"wrote {path}")
    click.echo("")
    click.echo("Next:")
    if root.resolve() != Path.cwd().resolve():
        click.echo(f"  cd {directory}")
    click.echo("  polysync validate")
    click.echo("  polysync sandbox --from .     # in another terminal: a local AWS with these jobs")
    click.echo("  polysync plan --sandbox")
    click.echo("  polysync apply --sandbox --auto-approve")
    click.echo("  polysync status --sandbox")
    click.echo(
        "Then give the platforms your region and auth (README: Authentication) and drop --sandbox."
    )
    return ExitCode.OK
