"""AWS Glue job state-change events, as EventBridge delivers them (pure).

AWS Glue Developer Guide, "Automating AWS Glue with EventBridge"
(https://docs.aws.amazon.com/glue/latest/dg/automating-awsglue-with-cloudwatch-events.html):
source `aws.glue`, detail-type `Glue Job State Change`, "generated for SUCCEEDED, FAILED,
TIMEOUT, and STOPPED"; the `detail` is `{"jobName", "severity", "state", "jobRunId",
"message"}`. The EventBridge events reference (Amazon EventBridge, "AWS Glue events")
gives the pattern `{"source": ["aws.glue"], "detail-type": ["Glue Job State Change"]}`.

An automatic retry is a new run (`<first run id>_attempt_<n>`): its event belongs to the
run polysync started (`owner`). A FAILED run of a job with retries left is not final
(Glue starts the retry), and the event does not say the run's `Attempt`: it is read
again before it is recorded (`confirm`), by the poll that knows the job's MaxRetries.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from polysync_spec.providers.base import RunEvent
from polysync_spec.providers.glue.spec import composite_run_id, map_status

SOURCE = "aws.glue"
DETAIL_TYPE = "Glue Job State Change"
FINAL_STATES = ("SUCCEEDED", "FAILED", "TIMEOUT", "STOPPED")

EVENT_PATTERN: Mapping[str, Any] = {
    "source": [SOURCE],
    "detail-type": [DETAIL_TYPE],
    "detail": {"state": list(FINAL_STATES)},
}
RETRY_MARK = "_attempt_"


def run_event(detail_type: str, detail: Mapping[str, Any]) -> RunEvent | None:
    """The run a Glue job state change is about (its composite run id)."""
    if detail_type != DETAIL_TYPE:
        return None
    job_name, job_run_id = detail.get("jobName"), detail.get("jobRunId")
    if not isinstance(job_name, str) or not isinstance(job_run_id, str):
        return None
    if not job_name or not job_run_id:
        return None
    state = detail.get("state")
    message = detail.get("message") if state != "SUCCEEDED" else None
    report = map_status({"JobRunState": state, "ErrorMessage": message or None})
    run_id = composite_run_id(job_name, job_run_id)
    first, sep, attempt = job_run_id.rpartition(RETRY_MARK)
    owner = composite_run_id(job_name, first) if sep and attempt.isdigit() else None
    return RunEvent(run_id, report, owner=owner, confirm=state == "FAILED" or owner is not None)
