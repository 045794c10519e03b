"""Calls IAM refuses: recognised, remembered per client, and said once.

The product documents' permission list is smaller than what the cheapest calls need
(Glue BatchGetJobs and GetJobRuns, Batch DescribeJobQueues and ListJobs are permissions
of their own). A client that meets a denial falls back to calls the list allows,
remembers the denial so that it never sends the refused call again (each poll would
otherwise pay a refused round trip), and says once which permission would make it
cheaper.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

log = logging.getLogger("polysync_spec.permissions")

# What AWS answers for a call IAM does not allow: JSON services (Glue, Batch, CloudWatch
# Logs) AccessDeniedException, query services AccessDenied.
DENIED_CODES = frozenset({"AccessDeniedException", "AccessDenied", "UnauthorizedOperation"})


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ClientError ("" for anything else)."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return ""
    return str(response.get("Error", {}).get("Code", ""))


def is_denied(exc: BaseException) -> bool:
    """Whether `exc` is IAM refusing the call (not throttling, not a missing object)."""
    return error_code(exc) in DENIED_CODES


def grant_hint(permission: str, resource: str = "*") -> str:
    """The remedy of a denial: the permission of the call that failed, and on what."""
    where = "" if resource == "*" else f" on {resource}"
    return f"the caller's IAM principal needs {permission}{where}"


class Denials:
    """The permissions one client has been refused (`service:Action`), so that a refused
    call is made at most once per process and its fallback is announced once."""

    def __init__(self) -> None:
        self._refused: set[str] = set()
        self._lock = threading.Lock()

    def refused(self, permission: str) -> bool:
        return permission in self._refused

    def refuse(self, permission: str, fallback: str) -> None:
        """Remember that `permission` is denied; warn once that `fallback` (what the
        client does instead) takes its place, and that granting it is cheaper."""
        with self._lock:
            if permission in self._refused:
                return
            self._refused.add(permission)
        log.warning(
            "%s is denied: %s (grant %s to make this cheaper)", permission, fallback, permission
        )

    def note(self, permission: str, consequence: str) -> None:
        """Remember that `permission` is denied, where nothing can stand in for the call;
        warn once what is lost."""
        with self._lock:
            if permission in self._refused:
                return
            self._refused.add(permission)
        log.warning("%s is denied: %s", permission, consequence)

    def unavailable(self, operation: str, fallback: str, why: str) -> None:
        """Remember that the endpoint (or the installed SDK) does not offer `operation`,
        or refused it as a whole; warn once that `fallback` takes its place and `why`."""
        with self._lock:
            if operation in self._refused:
                return
            self._refused.add(operation)
        log.warning("%s is not available (%s): %s", operation, why, fallback)

    def __contains__(self, permission: Any) -> bool:
        return permission in self._refused
