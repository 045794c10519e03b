"""The sandbox's IAM mode: every call authorised against the caller's IAM policies.

`enforce(True)` turns on moto's own authorisation (its `INITIAL_NO_AUTH_ACTION_COUNT`
setting, 0: from the next request on): every request must be signed by an access key
of an IAM user the sandbox holds (`create_user`), and is allowed only if that user's
policies allow it. `enforce(False)` (and a sandbox reset) turns it off again.

moto's authorisation alone is not faithful for the services polysync calls (moto
5.2.5, `moto/core/responses.py`, `moto/iam/access_control.py`):
- every request is authorised against the resource "*", so a policy that scopes an
  action to ARNs (a Glue job, a Batch queue, a log group) never allows anything;
- Batch's IAM action is taken from its REST path, lower-cased ("batch:submitjob"), so
  that no policy naming "batch:SubmitJob" allows it;
- a denial is answered as an XML ErrorResponse with HTTP status 403 even to the JSON
  protocols of Glue, Batch and CloudWatch Logs, which botocore then reports as error
  code "403" instead of AccessDeniedException.
So for Glue, Batch, CloudWatch Logs, SQS and EventBridge the sandbox authorises each
request itself (`authorize`), with the operation's IAM action and every resource AWS
authorises it against (`required`), and answers a denial as the service does; moto's
own check is switched off for those services (`install`). The caller's identity, signature
and policies are moto's, and so is the evaluation of a statement (moto's `IAMPolicy`:
Allow/Deny, `Action`/`NotAction`, `Resource` with `*` wildcards; no conditions).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from polysync_spec.sandbox.lifecycle import moto_module

ACCOUNT_ID = "123456789012"
SERVICES = frozenset({"glue", "batch", "logs", "sqs", "events"})
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/\d{8}/([a-z0-9-]+)/([a-z0-9-]+)/aws4_request")

# The Glue actions authorised against the job their JobName names; BatchGetJobs against
# each job it names. (AWS Glue Developer Guide, "Specifying AWS Glue resource ARNs":
# job ARNs arn:aws:glue:REGION:ACCOUNT:job/NAME; operations that retrieve several items,
# such as GetJobs, "can specify only a wildcard (*) resource"; BatchGet operations take
# ARNs. The Service Authorization Reference lists the job-run actions with resource
# type job.)
GLUE_JOB_ACTIONS = frozenset(
    {
        "GetJob",
        "UpdateJob",
        "DeleteJob",
        "StartJobRun",
        "GetJobRun",
        "GetJobRuns",
        "BatchStopJobRun",
        "GetJobBookmark",
        "ResetJobBookmark",
    }
)


class _Mode:
    """Whether IAM is enforced (process-wide, as moto's settings are)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.enforced = False


_MODE = _Mode()


@dataclass(frozen=True)
class Denial:
    """How the service answers a call IAM refuses (or a key it does not know)."""

    code: str
    message: str
    status: int


def enforcing() -> bool:
    return _MODE.enforced


def enforce(on: bool) -> None:
    """Turn IAM authorisation on or off, for moto's services and the sandbox's own."""
    from moto import settings
    from moto.core.authorization import ActionAuthenticatorMixin

    with _MODE.lock:
        _MODE.enforced = on
        settings.INITIAL_NO_AUTH_ACTION_COUNT = 0 if on else float("inf")
        ActionAuthenticatorMixin.request_count = 0


def install() -> None:
    """Leave Glue, Batch, CloudWatch Logs, SQS and EventBridge requests to `authorize`
    (see the module's docstring): moto's own check of them is a no-op. Idempotent."""

    def authorized_by_the_sandbox(self: Any, resource: str = "*") -> None:
        del self, resource

    for module, name in (
        ("moto.glue.responses", "GlueResponse"),
        ("moto.batch.responses", "BatchResponse"),
        ("moto.logs.responses", "LogsResponse"),
        ("moto.sqs.responses", "SQSResponse"),
        ("moto.events.responses", "EventsHandler"),
    ):
        cls = getattr(moto_module(module), name)
        cls._authenticate_and_authorize_normal_action = authorized_by_the_sandbox


def create_user(name: str, policy: Mapping[str, Any]) -> tuple[str, str]:
    """An IAM user `name` with `policy` as its only (inline) policy; returns its access
    key id and secret. Made directly in moto's IAM backend, so that it works whether or
    not IAM is enforced."""
    from moto.iam.models import iam_backends

    backend = iam_backends[ACCOUNT_ID]["aws"]
    if name not in backend.users:
        backend.create_user("us-east-1", name)
    backend.put_user_policy(name, "polysync", json.dumps(policy))
    key = backend.create_access_key(name)
    return str(key.access_key_id), str(key.secret_access_key)


def authorize(
    environ: Mapping[str, Any], body: bytes, service: str, operation: str, params: Any
) -> Denial | None:
    """None when the request may go on; else how the service refuses it. The jobs of a
    Batch bulk call IAM refuses one by one are kept for `take_item_denials`."""
    _ITEM_DENIALS.value = None
    if not _MODE.enforced or service not in SERVICES:
        return None
    from moto.iam.access_control import (
        CreateAccessKeyFailure,
        IAMPolicy,
        IAMRequest,
        PermissionResult,
        create_access_key,
    )
    from werkzeug.datastructures import EnvironHeaders

    authorization = str(environ.get("HTTP_AUTHORIZATION", ""))
    scope = _CREDENTIAL.search(authorization)
    if scope is None:
        return Denial("MissingAuthenticationTokenException", "Missing Authentication Token", 403)
    key_id, region = scope.group(1), scope.group(2)
    headers = dict(EnvironHeaders(dict(environ)))
    try:
        key = create_access_key(
            account_id=ACCOUNT_ID, partition="aws", access_key_id=key_id, headers=headers
        )
        path = str(environ.get("PATH_INFO", ""))
        if environ.get("QUERY_STRING"):
            path += "?" + str(environ["QUERY_STRING"])
        request = IAMRequest(
            account_id=ACCOUNT_ID,
            method=str(environ.get("REQUEST_METHOD", "POST")),
            path=path,
            data={},
            body=body,
            headers=headers,
            action=operation,
        )
        request.check_signature()
    except CreateAccessKeyFailure:
        return _unrecognized()
    except Exception as exc:  # moto's own errors: an unknown key or a bad signature
        if "signature" in str(getattr(exc, "description", exc)).lower():
            return Denial(
                "InvalidSignatureException",
                "The request signature we calculated does not match the signature you provided.",
                403,
            )
        return _unrecognized()
    policies = [IAMPolicy(policy) for policy in key.collect_policies()]
    for action, resource in required(service, operation, params or {}, region):
        results = [policy.is_action_permitted(action, resource) for policy in policies]
        if PermissionResult.DENIED in results or PermissionResult.PERMITTED not in results:
            on = "" if resource == "*" else f" on resource: {resource}"
            because = (
                "with an explicit deny in an identity-based policy"
                if PermissionResult.DENIED in results
                else f"because no identity-based policy allows the {action} action"
            )
            return Denial(
                "AccessDenied" if service == "sqs" else "AccessDeniedException",
                f"User: {key.arn} is not authorized to perform: {action}{on} {because}",
                # AWS's JSON services answer 400; Batch's REST front end 403.
                403 if service == "batch" else 400,
            )
    if operation in BATCH_BULK_ACTIONS and service == "batch":
        items = _item_denials(key.arn, policies, operation, params or {}, region)
        if items:
            _ITEM_DENIALS.value = items
    return None


# Batch's bulk calls have no IAM action of their own: "This operation requires
# batch:TerminateJob permission for each job in the request. There is no separate
# batch:TerminateJobs IAM action" (botocore 1.44.8 batch service-2.json, TerminateJobs;
# CancelJobs says the same of batch:CancelJob). A job the caller may not stop is one
# `AccessDenied` item of the answer's `errors`, the others are stopped.
BATCH_BULK_ACTIONS = {"TerminateJobs": "TerminateJob", "CancelJobs": "CancelJob"}


class _Items(threading.local):
    value: dict[str, str] | None = None


_ITEM_DENIALS = _Items()


def take_item_denials() -> dict[str, str]:
    """The jobs of the bulk request this thread is serving that IAM refuses (job id ->
    message), found by `authorize`; cleared as it is read."""
    found, _ITEM_DENIALS.value = _ITEM_DENIALS.value or {}, None
    return found


def _item_denials(
    caller: str, policies: list[Any], operation: str, params: Mapping[str, Any], region: str
) -> dict[str, str]:
    from moto.iam.access_control import PermissionResult

    action = f"batch:{BATCH_BULK_ACTIONS[operation]}"
    denied: dict[str, str] = {}
    for job_id in params.get("jobs") or []:
        resource = f"arn:aws:batch:{region}:{ACCOUNT_ID}:job/{job_id}"
        results = [policy.is_action_permitted(action, resource) for policy in policies]
        if PermissionResult.DENIED in results or PermissionResult.PERMITTED not in results:
            denied[str(job_id)] = (
                f"User: {caller} is not authorized to perform: {action} on resource: {resource}"
            )
    return denied


def _unrecognized() -> Denial:
    return Denial(
        "UnrecognizedClientException", "The security token included in the request is invalid.", 403
    )


def required(
    service: str, operation: str, params: Mapping[str, Any], region: str
) -> list[tuple[str, str]]:
    """(IAM action, resource ARN) pairs AWS authorises the request against: every one
    must be allowed. Actions without resource-level permissions are authorised against
    "*"."""
    action = f"{service}:{operation}"
    if service == "glue":
        return _glue(action, operation, params, region)
    if service == "batch":
        return _batch(action, operation, params, region)
    if service == "sqs":
        return _sqs(operation, params, region)
    if service == "events" and params.get("Name", params.get("Rule")):
        rule = params.get("Name", params.get("Rule"))
        return [(action, f"arn:aws:events:{region}:{ACCOUNT_ID}:rule/{rule}")]
    if service == "logs" and operation == "GetLogEvents":
        # A log stream's ARN: arn:aws:logs:REGION:ACCOUNT:log-group:GROUP:log-stream:STREAM
        # (CloudWatch Logs User Guide, "CloudWatch Logs resources and operations").
        group = str(params.get("logGroupIdentifier") or params.get("logGroupName") or "")
        if group.startswith("arn:"):
            group = group.split(":log-group:", 1)[-1].removesuffix(":*")
        stream = str(params.get("logStreamName", ""))
        arn = f"arn:aws:logs:{region}:{ACCOUNT_ID}:log-group:{group}:log-stream:{stream}"
        return [(action, arn)]
    return [(action, "*")]


def _glue(
    action: str, operation: str, params: Mapping[str, Any], region: str
) -> list[tuple[str, str]]:
    def job(name: Any) -> str:
        return f"arn:aws:glue:{region}:{ACCOUNT_ID}:job/{name}"

    if operation in GLUE_JOB_ACTIONS and params.get("JobName"):
        return [(action, job(params["JobName"]))]
    if operation == "BatchGetJobs":
        return [(action, job(name)) for name in params.get("JobNames") or []]
    return [(action, "*")]


def _batch(
    action: str, operation: str, params: Mapping[str, Any], region: str
) -> list[tuple[str, str]]:
    """SubmitJob: the queue and the definition revision it resolves to; TerminateJob and
    CancelJob: the job; TerminateJobs and CancelJobs: nothing as a whole, each job as
    TerminateJob / CancelJob would be. Every other call: "*". (AWS Batch User Guide, "Supported
    resource-level permissions for AWS Batch API actions" and "Accounting for job
    definition revisions": the definition ARN SubmitJob is checked against carries the
    revision.)"""
    prefix = f"arn:aws:batch:{region}:{ACCOUNT_ID}"
    if operation in ("TerminateJob", "CancelJob"):
        return [(action, f"{prefix}:job/{params.get('jobId', '')}")]
    if operation in BATCH_BULK_ACTIONS:
        return []  # authorised job by job (`_item_denials`), never as a whole
    if operation == "SubmitJob":
        queue = str(params.get("jobQueue", ""))
        queue_arn = queue if queue.startswith("arn:") else f"{prefix}:job-queue/{queue}"
        return [(action, queue_arn), (action, _definition_arn(params, region, prefix))]
    return [(action, "*")]


def _definition_arn(params: Mapping[str, Any], region: str, prefix: str) -> str:
    from moto.batch.models import batch_backends

    reference = str(params.get("jobDefinition", ""))
    found = batch_backends[ACCOUNT_ID][region].get_job_definition(reference)
    if found is not None:
        return str(found.arn)
    if reference.startswith("arn:"):
        return reference
    return f"{prefix}:job-definition/{reference}"


# SQS's batch calls are authorised as their single forms (Amazon SQS Developer Guide,
# "Amazon SQS API permissions: Actions and resource reference": DeleteMessageBatch needs
# sqs:DeleteMessage, ChangeMessageVisibilityBatch sqs:ChangeMessageVisibility,
# SendMessageBatch sqs:SendMessage); every SQS action takes the queue's ARN.
_SQS_BATCH = {
    "DeleteMessageBatch": "DeleteMessage",
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
    "SendMessageBatch": "SendMessage",
}


def _sqs(operation: str, params: Mapping[str, Any], region: str) -> list[tuple[str, str]]:
    """The queue's ARN, from its URL (`https://HOST/ACCOUNT/NAME`) or its name."""
    queue = str(
        params.get("QueueName") or str(params.get("QueueUrl", "")).rstrip("/").rsplit("/", 1)[-1]
    )
    action = f"sqs:{_SQS_BATCH.get(operation, operation)}"
    return [(action, f"arn:aws:sqs:{region}:{ACCOUNT_ID}:{queue}")]
