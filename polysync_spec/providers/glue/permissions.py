"""The IAM side of AWS Glue: which permissions each polysync command needs, on what.

Facts, with their sources:
- A job's ARN is `arn:aws:glue:REGION:ACCOUNT:job/NAME` (AWS Glue Developer Guide,
  "Specifying AWS Glue resource ARNs", ARNs for non-catalog objects).
- Operations on one job take its ARN: GetJob, StartJobRun, GetJobRun, GetJobRuns,
  BatchStopJobRun (Service Authorization Reference, "Actions, resources, and condition
  keys for AWS Glue": resource type job; the product document's troubleshooting names
  "glue:StartJobRun on arn:aws:glue:{region}:{account}:job/{jobName}"). BatchGetJobs
  takes the ARN of each job it names (Glue Developer Guide, "Access control for AWS
  Glue non-catalog BatchGet API operations"). An older Glue API permissions table
  listed "*" for the job-run actions; a policy scoped to job ARNs follows the current
  reference.
- Operations that return several jobs take only "*": GetJobs (Glue Developer Guide,
  "API operations that retrieve multiple items ... you can specify only a wildcard (*)
  resource") and ListJobs.
- A run logs to the CloudWatch Logs groups `/aws-glue/jobs/error` and
  `/aws-glue/jobs/output` (GetJobRun's LogGroupName, default `/aws-glue/jobs`); a job
  with a security configuration or continuous logging (`--continuous-log-logGroup`)
  logs elsewhere, which the manifests do not say.
- GetSecurityConfiguration, which plan calls for each security configuration the runs
  send, has no resource type: it takes "*" (Service Authorization Reference, "Actions,
  resources, and condition keys for AWS Glue": GetSecurityConfiguration lists no
  resource type).
- The product document (000) lists glue:ListJobs, GetJobs, GetJob, StartJobRun,
  GetJobRun and BatchStopJobRun; BatchGetJobs and GetJobRuns are permissions of their
  own, which polysync does without where they are denied (GetJob each; GetJobRun each).
  Plan reads one GetJobRuns page of each job for its recent runs' durations (the
  expected cost); where it is denied, the cost has its upper bound only.
"""

from __future__ import annotations

from collections.abc import Iterable

from polysync_spec.providers.glue.spec import job_arn
from polysync_spec.providers.permissions import Command, Grant, log_group_arns

GLUE_LOG_GROUPS = ("/aws-glue/jobs/error", "/aws-glue/jobs/output")

# What each command calls on the jobs of its runs: snapshot (plan), submit, poll (with
# GetJob for MaxRetries and GetJobRuns for retries and several runs at once),
# find_submitted (GetJobRuns), cancel (BatchStopJobRun, then the latest attempt),
# log_tail (GetJobRun, the latest attempt).
_POLL = ("glue:GetJobRun", "glue:GetJobRuns", "glue:GetJob")
JOB_ACTIONS: dict[Command, tuple[str, ...]] = {
    Command.PLAN: ("glue:BatchGetJobs", "glue:GetJobRuns"),
    Command.APPLY: ("glue:BatchGetJobs", "glue:StartJobRun", *_POLL, "glue:BatchStopJobRun"),
    Command.STATUS: _POLL,
    Command.CANCEL: ("glue:BatchStopJobRun", *_POLL),
    Command.LOGS: _POLL,
}
# Commands that read a failed run's logs: apply shows them under the failure.
LOG_COMMANDS = frozenset({Command.APPLY, Command.LOGS})


# Plan (and apply, which plans first) checks that each security configuration exists.
SECURITY_CONFIGURATION_COMMANDS = frozenset({Command.PLAN, Command.APPLY})


def grants(
    command: Command,
    region: str,
    account: str,
    job_names: Iterable[str],
    *,
    security_configurations: bool = False,
) -> list[Grant]:
    """What `command` needs on one Glue platform whose runs use `job_names` (and, with
    `security_configurations`, send a SecurityConfiguration)."""
    found: list[Grant] = []
    if command is Command.DISCOVER:
        return [Grant("Unscoped", ("glue:GetJobs",), ("*",))]
    jobs = tuple(sorted({job_arn(region, name, account) for name in job_names}))
    if jobs and command in JOB_ACTIONS:
        found.append(Grant("GlueJobs", JOB_ACTIONS[command], jobs))
    if security_configurations and command in SECURITY_CONFIGURATION_COMMANDS:
        found.append(
            Grant("GlueSecurityConfigurations", ("glue:GetSecurityConfiguration",), ("*",))
        )
    if jobs and command in LOG_COMMANDS:
        found.append(
            Grant(
                "LogGroups",
                ("logs:GetLogEvents",),
                log_group_arns(region, account, GLUE_LOG_GROUPS),
            )
        )
    return found
