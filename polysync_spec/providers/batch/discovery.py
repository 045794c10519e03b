"""Reading Batch job definitions and queues: DescribeJobDefinitions and DescribeJobQueues,
each as the API pages it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from polysync_spec.providers.batch.definitions import BatchDefinition, BatchQueue

DESCRIBE_PAGE = 100  # DescribeJobDefinitions maxResults, per the product document
DESCRIBE_QUEUES_CHUNK = 100  # DescribeJobQueues takes up to 100 names


def describe_definitions(client: Any, query: dict[str, Any]) -> list[BatchDefinition]:
    """DescribeJobDefinitions pages of 100 for `query` (status, jobDefinitionName)."""
    paginator = client.get_paginator("describe_job_definitions")
    pages = paginator.paginate(**query, PaginationConfig={"PageSize": DESCRIBE_PAGE})
    return [BatchDefinition.from_api(d) for page in pages for d in page.get("jobDefinitions", [])]


def active_listing(client: Any, budget: int) -> list[BatchDefinition] | None:
    """Every ACTIVE revision in the account (DescribeJobDefinitions status=ACTIVE, pages
    of 100, as the product document discovers), reading at most `budget` pages; None when
    more pages remain after that (the listing is abandoned: the caller asks per name).
    The API documents no order for the listing, so no name's highest revision is known
    before the last page: a partial listing resolves nothing."""
    request: dict[str, Any] = {"status": "ACTIVE", "maxResults": DESCRIBE_PAGE}
    definitions: list[BatchDefinition] = []
    seen: set[str] = set()
    for _ in range(budget):
        response = client.describe_job_definitions(**request)
        definitions += [BatchDefinition.from_api(d) for d in response.get("jobDefinitions", [])]
        token = response.get("nextToken")
        if not token or token in seen:  # a repeated token would loop for ever
            return definitions
        seen.add(token)
        request = {**request, "nextToken": token}
    return None


def describe_revisions(client: Any, chunk: list[str]) -> list[BatchDefinition]:
    """DescribeJobDefinitions(jobDefinitions=chunk) and nothing else: the API reference
    says the parameter "can't be used with other parameters", and the paginator always
    adds maxResults. Without maxResults one page holds up to 100 results, as many as
    the chunk names; a nextToken is followed all the same, should one come back."""
    definitions: list[BatchDefinition] = []
    request: dict[str, Any] = {"jobDefinitions": chunk}
    seen: set[str] = set()
    while True:
        response = client.describe_job_definitions(**request)
        definitions += [BatchDefinition.from_api(d) for d in response.get("jobDefinitions", [])]
        token = response.get("nextToken")
        if not token or token in seen:  # a repeated token would loop for ever
            return definitions
        seen.add(token)
        request = {"jobDefinitions": chunk, "nextToken": token}


def queue_of(queue: Mapping[str, Any]) -> BatchQueue:
    """A DescribeJobQueues `jobQueues` entry."""
    return BatchQueue(
        name=queue["jobQueueName"],
        arn=queue["jobQueueArn"],
        state=queue.get("state", ""),
        status=queue.get("status", ""),
        scheduling_policy_arn=queue.get("schedulingPolicyArn"),
        compute_environments=tuple(
            str(entry.get("computeEnvironment", ""))
            for entry in sorted(
                queue.get("computeEnvironmentOrder") or [], key=lambda e: e.get("order", 0)
            )
        ),
    )


def describe_queues(client: Any, names: list[str] | None = None) -> dict[str, BatchQueue]:
    """DescribeJobQueues, 100 names a call (or every queue, paginated), by name; a queue
    that does not exist is absent from the answer."""
    if names is None:
        paginator = client.get_paginator("describe_job_queues")
        pages = list(paginator.paginate(PaginationConfig={"PageSize": DESCRIBE_QUEUES_CHUNK}))
    else:
        unique = list(dict.fromkeys(names))
        pages = [
            client.describe_job_queues(jobQueues=unique[start : start + DESCRIBE_QUEUES_CHUNK])
            for start in range(0, len(unique), DESCRIBE_QUEUES_CHUNK)
        ]
    found: dict[str, BatchQueue] = {}
    for response in pages:
        found.update((q.name, q) for q in map(queue_of, response.get("jobQueues", [])))
    return found


def describe_environment_types(client: Any, arns: list[str]) -> dict[str, str]:
    """DescribeComputeEnvironments, 100 a call: each environment's ARN (and name) ->
    its `computeResources.type` (EC2, SPOT, FARGATE, FARGATE_SPOT), or UNMANAGED for an
    unmanaged one (which has no computeResources: its instances are the account's own)."""
    found: dict[str, str] = {}
    unique = list(dict.fromkeys(arns))
    for start in range(0, len(unique), DESCRIBE_QUEUES_CHUNK):
        response = client.describe_compute_environments(
            computeEnvironments=unique[start : start + DESCRIBE_QUEUES_CHUNK]
        )
        for environment in response.get("computeEnvironments", []):
            kind = (environment.get("computeResources") or {}).get("type") or environment.get(
                "type"
            )
            if kind:
                found[str(environment.get("computeEnvironmentArn", ""))] = str(kind)
                found[str(environment.get("computeEnvironmentName", ""))] = str(kind)
    return found
