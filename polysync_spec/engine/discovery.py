"""Fetch the live objects one run plan touches, with the fewest calls the APIs allow.

Glue jobs: BatchGetJobs, 100 names a call. Batch queues: DescribeJobQueues, 100 a call.
Pinned Batch definitions (name:revision or an ARN with a revision): DescribeJobDefinitions
by ARN alone, 100 a call, the account taken from the queue ARNs already fetched. Bare
definition names and ARNs without a revision: one DescribeJobDefinitions(jobDefinitionName,
ACTIVE) per name, since only that answers "the highest ACTIVE revision" without listing
the whole account.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict

from polysync_spec.engine.live import DefinitionLookup, LiveState, definition_name
from polysync_spec.manifest.models import BatchJob, GlueJob
from polysync_spec.manifest.project import Project
from polysync_spec.providers import batch, provider_for
from polysync_spec.providers.aws import Sessions
from polysync_spec.providers.batch import BatchProvider
from polysync_spec.providers.glue import GlueProvider


def discover_live(project: Project, run_plan: str, sessions: Sessions) -> LiveState:
    live = LiveState()
    glue_names: dict[str, set[str]] = defaultdict(set)
    definitions: dict[str, set[str]] = defaultdict(set)
    queues: dict[str, set[str]] = defaultdict(set)
    for run in project.run_plans[run_plan].runs:
        job = project.jobs[run.job]
        if isinstance(job, GlueJob):
            glue_names[job.platform].add(job.external_id)
        elif isinstance(job, BatchJob):
            definitions[job.platform].add(job.external_id)
            platform = project.platforms[job.platform]
            with contextlib.suppress(batch.NoQueueError):  # validate reports it (PS407)
                queues[job.platform].add(
                    str(batch.build_request(job, platform, run).payload["jobQueue"])
                )
    for name, jobs in glue_names.items():
        glue = provider_for(name, project.platforms[name], sessions)
        assert isinstance(glue, GlueProvider)
        found, _ = glue.discover(sorted(jobs))
        for job_name in jobs:
            live.glue_jobs[(name, job_name)] = found.get(job_name)
    for name in sorted(set(definitions) | set(queues)):
        provider = provider_for(name, project.platforms[name], sessions)
        assert isinstance(provider, BatchProvider)
        found_queues = provider.queues(sorted(queues[name])) if queues[name] else {}
        for queue in queues[name]:
            live.batch_queues[(name, queue)] = found_queues.get(queue)
        _definitions(live, name, provider, sorted(definitions[name]), found_queues)
    return live


def _definitions(
    live: LiveState,
    platform: str,
    provider: BatchProvider,
    references: list[str],
    queues: dict[str, batch.BatchQueue],
) -> None:
    # A bare name, or an ARN without a revision, runs the latest ACTIVE revision (SubmitJob);
    # DescribeJobDefinitions' `jobDefinitions` takes only `name:revision` or an ARN with
    # one, so both are looked up by name.
    latest_of = {r: definition_name(r)[0] for r in references if definition_name(r)[1] is None}
    pinned = [r for r in references if r not in latest_of]
    if latest_of:
        latest = provider.discover(sorted(set(latest_of.values())))
        for reference, name in latest_of.items():
            live.batch_definitions[(platform, reference)] = DefinitionLookup(
                reference, latest.get(name)
            )
    if not pinned:
        return
    account = next((q.arn.split(":")[4] for q in queues.values() if q.arn.count(":") >= 5), None)
    partition = next((q.arn.split(":")[1] for q in queues.values()), "aws")
    lookups = {
        reference: reference
        if reference.startswith("arn:") or account is None
        else f"arn:{partition}:batch:{provider.region}:{account}:job-definition/{reference}"
        for reference in pinned
    }
    found = provider.revisions(sorted(set(lookups.values())))
    for reference, key in lookups.items():
        revision = found.get(key) or found.get(reference)
        status = revision.status if revision else None
        live.batch_definitions[(platform, reference)] = DefinitionLookup(
            reference,
            revision if status == "ACTIVE" else None,
            pinned=True,
            pinned_status=status,
        )
