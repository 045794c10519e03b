"""AWS Batch job state-change events, as EventBridge delivers them (pure).

AWS Batch User Guide, "Job state change events"
(https://docs.aws.amazon.com/batch/latest/userguide/batch_job_events.html): source
`aws.batch`, detail-type `Batch Job State Change`, created "anytime that an existing
(previously submitted) job changes states" (not for the submission itself); the `detail`
"resembles the JobDetail object that's returned from a DescribeJobs API operation": so
`jobId`, `status`, `statusReason`, `container.exitCode`, `arrayProperties` read as a
DescribeJobs answer does (`spec.map_status`). Array children (`<parent-id>:<index>`)
have events of their own: the rule leaves them out (they have `arrayProperties.index`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from polysync_spec.providers.base import RunEvent
from polysync_spec.providers.batch.spec import JOB_NAME_PREFIX, is_array_parent, map_status

SOURCE = "aws.batch"
DETAIL_TYPE = "Batch Job State Change"
FINAL_STATES = ("SUCCEEDED", "FAILED")

# Only the ends of polysync's own jobs (named Polysync-<attempt>), not of array children:
# one message per run, whatever happens in between (the monitor's reconcile reads tell).
EVENT_PATTERN: Mapping[str, Any] = {
    "source": [SOURCE],
    "detail-type": [DETAIL_TYPE],
    "detail": {
        "status": list(FINAL_STATES),
        "jobName": [{"prefix": JOB_NAME_PREFIX}],
        "arrayProperties": {"index": [{"exists": False}]},
    },
}


def run_event(detail_type: str, detail: Mapping[str, Any]) -> RunEvent | None:
    """The run a Batch job state change is about. A child's event belongs to its parent
    (`owner`); a failed array parent is read again (its failed children name the first
    failure), anything else is taken as the event says."""
    if detail_type != DETAIL_TYPE:
        return None
    job_id = detail.get("jobId")
    if not isinstance(job_id, str) or not job_id:
        return None
    parent, sep, index = job_id.rpartition(":")
    owner = parent if sep and index.isdigit() else None
    report = map_status(detail)
    confirm = detail.get("status") == "FAILED" and is_array_parent(detail)
    return RunEvent(job_id, report, owner=owner, confirm=confirm)
