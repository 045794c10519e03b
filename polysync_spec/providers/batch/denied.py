"""The errors of Batch calls IAM denied: each names the permission that would allow it."""

from __future__ import annotations

from polysync_spec.providers.aws import AwsError
from polysync_spec.providers.batch.permissions import call_hint
from polysync_spec.providers.denials import is_denied


def with_call_hint(error: AwsError, exc: BaseException) -> AwsError:
    """`error`, its message ending with `call_hint` when IAM denied the call."""
    return error.with_message(f"{error}; {call_hint(exc)}") if is_denied(exc) else error


def unfindable(exc: BaseException, what: str) -> AwsError:
    """The error of a lost submission that cannot be looked for: ListJobs is denied."""
    return AwsError(
        f"looking for {what}: {call_hint(exc)} (only ListJobs finds a job by its name)",
        "AccessDeniedException",
    )
