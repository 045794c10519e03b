"""Reading Glue job definitions with the fewest calls the caller's permissions allow.

BatchGetJobs answers 100 named jobs a call, but it is a permission of its own, missing
from the product documents' list (glue:ListJobs, GetJobs, GetJob, ...). Where it is
denied, the jobs are read with what the list allows: GetJob per name, or, for many
names, GetJobs pages (100 jobs a page, every job of the account) filtered to the names.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from polysync_spec.providers.denials import Denials, is_denied
from polysync_spec.providers.glue.spec import GlueDefinition

GET_JOBS_PAGE = 100  # the product document's MaxResults for discovery
BATCH_GET_JOBS_CHUNK = 100
# Up to this many names, one GetJob each; more are read from GetJobs pages, which cost
# one call per 100 jobs of the account however few of them are wanted.
GET_JOB_EACH_MAX = 10

BATCH_GET_JOBS = "glue:BatchGetJobs"
GET_JOBS = "glue:GetJobs"


def every_job(client: Any) -> dict[str, GlueDefinition]:
    """Every Glue job of the account and region: GetJobs pages of 100."""
    found: dict[str, GlueDefinition] = {}
    paginator = client.get_paginator("get_jobs")
    for page in paginator.paginate(PaginationConfig={"PageSize": GET_JOBS_PAGE}):
        for job in page.get("Jobs", []):
            found[job["Name"]] = GlueDefinition.from_api(job)
    return found


def named_jobs(client: Any, names: Sequence[str], denials: Denials) -> dict[str, GlueDefinition]:
    """The jobs of `names` that exist, by name: BatchGetJobs in chunks of 100, else (it is
    denied) GetJob each or GetJobs pages. Raises botocore's errors."""
    if BATCH_GET_JOBS not in denials:
        try:
            return _batch_get(client, names)
        except Exception as exc:
            if not is_denied(exc):
                raise
            denials.refuse(
                BATCH_GET_JOBS,
                f"reading Glue jobs with glue:GetJob each (glue:GetJobs pages for more than "
                f"{GET_JOB_EACH_MAX})",
            )
    if len(names) > GET_JOB_EACH_MAX and GET_JOBS not in denials:
        try:
            listed = every_job(client)
        except Exception as exc:
            if not is_denied(exc):
                raise
            denials.refuse(GET_JOBS, "reading Glue jobs with glue:GetJob each")
        else:
            return {name: listed[name] for name in names if name in listed}
    return _get_each(client, names)


def _batch_get(client: Any, names: Sequence[str]) -> dict[str, GlueDefinition]:
    found: dict[str, GlueDefinition] = {}
    for start in range(0, len(names), BATCH_GET_JOBS_CHUNK):
        response = client.batch_get_jobs(JobNames=list(names[start : start + BATCH_GET_JOBS_CHUNK]))
        for job in response.get("Jobs", []):
            found[job["Name"]] = GlueDefinition.from_api(job)
    return found


def _get_each(client: Any, names: Sequence[str]) -> dict[str, GlueDefinition]:
    from botocore.exceptions import ClientError

    found: dict[str, GlueDefinition] = {}
    for name in names:
        try:
            job = client.get_job(JobName=name).get("Job") or {}
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "EntityNotFoundException":
                continue
            raise
        found[name] = GlueDefinition.from_api(job)
    return found
