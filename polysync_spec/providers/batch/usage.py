"""Reading what Batch runs cost: the compute environments a queue places jobs on (plan),
and what an ended job used (apply, status). The calls of `BatchClient` for its cost
figures, kept apart so that the client stays one module of its size."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from polysync_spec.providers.batch.cost import job_usage, summed
from polysync_spec.providers.batch.discovery import describe_environment_types
from polysync_spec.providers.batch.permissions import DESCRIBE_COMPUTE_ENVIRONMENTS
from polysync_spec.providers.batch.spec import is_array_parent
from polysync_spec.providers.denials import Denials, is_denied

log = logging.getLogger(__name__)

DESCRIBE_JOBS_CHUNK = 100  # DescribeJobs takes up to 100 job ids
ENDED = frozenset({"SUCCEEDED", "FAILED"})


def environment_types(client: Any, arns: list[str], denials: Denials) -> dict[str, str]:
    """What each compute environment of `arns` runs on (`describe_environment_types`);
    nothing where DescribeComputeEnvironments is denied (said once) or fails: the cost
    is then given as usage without a price, and plan says why."""
    from botocore.exceptions import BotoCoreError, ClientError

    if not arns or DESCRIBE_COMPUTE_ENVIRONMENTS in denials:
        return {}
    try:
        return describe_environment_types(client, arns)
    except (ClientError, BotoCoreError) as exc:
        if is_denied(exc):
            denials.note(
                DESCRIBE_COMPUTE_ENVIRONMENTS,
                "plan cannot tell Fargate from EC2 compute environments, so Batch runs are "
                "given usage without a price",
            )
        else:
            log.debug("describing compute environments: %s", exc)
        return {}


def used(client: Any, job: Mapping[str, Any]) -> dict[str, float] | None:
    """What an ended job (a DescribeJobs entry) used (`cost.job_usage`); None while it
    runs, or when it cannot be read. An array parent ran no container: its children
    (`<parent id>:<index>`, DescribeJobs 100 a call) are summed."""
    from botocore.exceptions import BotoCoreError, ClientError

    if job.get("status") not in ENDED:
        return None
    if not is_array_parent(job):
        return job_usage(job)
    size = int((job.get("arrayProperties") or {}).get("size") or 0)
    children = [f"{job['jobId']}:{index}" for index in range(size)]
    usages: list[dict[str, float] | None] = []
    try:
        for start in range(0, len(children), DESCRIBE_JOBS_CHUNK):
            response = client.describe_jobs(jobs=children[start : start + DESCRIBE_JOBS_CHUNK])
            usages += [job_usage(child) for child in response.get("jobs", [])]
    except (ClientError, BotoCoreError) as exc:
        log.debug("reading the children of %s: %s", job["jobId"], exc)
        return None
    return summed(usages)
