"""The only place that builds boto3 sessions and clients.

One session per platform, built lazily and shared by its clients. Region and
`endpoint_url` come from the platform; without an `endpoint_url`, botocore honours
`AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_<SERVICE>` itself. Retries use botocore's
adaptive mode, which also rate-limits the client when AWS throttles it.
"""

from __future__ import annotations

import functools
import os
import threading
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from polysync_spec import redact
from polysync_spec.errors import PolysyncError
from polysync_spec.manifest.models import (
    AccessKeyAuth,
    AssumeRoleAuth,
    BatchPlatform,
    GluePlatform,
    InstanceProfileAuth,
    ProfileAuth,
    WebIdentityAuth,
)
from polysync_spec.providers.base import SUBMIT_CONNECTIONS
from polysync_spec.providers.clock import AwsClock
from polysync_spec.providers.credentials import AzureCredential, core_session, federated_session
from polysync_spec.version import __version__

Platform = GluePlatform | BatchPlatform

DEFAULT_MAX_ATTEMPTS = 5
DEFAULT_RETRY_MODE = "adaptive"
# Seconds to wait for an answer. Submissions wait less than reads: the wait after an
# ambiguous submission (no answer) must outlast the time AWS may still act on it, and a
# shorter read timeout keeps that wait, and the whole exactly-once protocol, short.
READ_TIMEOUT = 60.0
CONNECT_TIMEOUT = 10.0
SUBMIT_READ_TIMEOUT = 20.0
CANCEL_READ_TIMEOUT = 10.0


def _observe_date(clock: AwsClock, http_response: Any = None, **_: Any) -> None:
    headers = getattr(http_response, "headers", None) or {}
    clock.observe(headers.get("Date") or headers.get("date"))


def _register_sent_token(request: Any = None, **_: Any) -> None:
    """After the signer (request-created): the session token a request carries, whichever
    provider produced it (a profile, the container or instance role, SSO), is registered
    as a secret before anything can echo it. The secret key itself never leaves the
    process; where polysync meets one (environment, manifests, STS) it registers it."""
    headers = getattr(request, "headers", None) or {}
    token = headers.get("X-Amz-Security-Token")
    redact.register(token.decode("utf-8", "replace") if isinstance(token, bytes) else token)


def watch_credentials(client: Any) -> Any:
    """`client`, with the session token of each of its requests registered as a secret
    (see `_register_sent_token`). Returns the client."""
    service_id = client.meta.service_model.service_id.hyphenize()
    # Registered last on the signer's own event, so that it runs after the signature.
    client.meta.events.register_last(f"request-created.{service_id}", _register_sent_token)
    return client


def client_config(
    max_attempts: int | None = None,
    read_timeout: float = READ_TIMEOUT,
    connect_timeout: float = CONNECT_TIMEOUT,
    max_pool_connections: int = 10,
) -> Config:
    """Retry settings: the user's AWS_MAX_ATTEMPTS / AWS_RETRY_MODE when set, else adaptive
    mode (client-side rate limiting under throttling) with 5 attempts. `max_attempts=1`
    turns retries off: for submissions, which must never be sent twice blindly."""
    attempts = os.environ.get("AWS_MAX_ATTEMPTS", "")
    mode = os.environ.get("AWS_RETRY_MODE", DEFAULT_RETRY_MODE)
    # `total_max_attempts` counts the first try; botocore's `max_attempts` key counts only
    # retries, so max_attempts=1 would still send a submission twice.
    retries: Any = {
        "mode": mode if mode in ("legacy", "standard", "adaptive") else DEFAULT_RETRY_MODE,
        "total_max_attempts": max_attempts
        or (int(attempts) if attempts.isdigit() else DEFAULT_MAX_ATTEMPTS),
    }
    return Config(
        retries=retries,
        user_agent_extra=f"polysync-spec/{__version__}",
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        max_pool_connections=max_pool_connections,
    )


class AwsError(PolysyncError):
    """An AWS call failed; the message names the object and, where the product documents
    know the cause, the remedy. It never carries credentials."""

    def __init__(
        self,
        message: str,
        code: str | None = None,
        *,
        throttled: bool = False,
        ambiguous: bool = False,
    ) -> None:
        super().__init__(message)
        self.code = code
        # Throttled: refused before it took effect, safe to send again after a pause.
        # Ambiguous: a server error or a lost connection; it may have taken effect.
        self.throttled = throttled
        self.ambiguous = ambiguous

    def with_message(self, message: str) -> AwsError:
        """The same error with a fuller message (e.g. the documented remedy)."""
        return AwsError(message, self.code, throttled=self.throttled, ambiguous=self.ambiguous)


class Sessions:
    """Lazily built boto3 sessions, one per platform name.

    `sandbox_url` points every platform at the embedded sandbox with its fixed keys,
    whatever the manifests say about endpoints and auth (`--sandbox`).
    """

    def __init__(
        self,
        sandbox_url: str | None = None,
        azure_credential: AzureCredential | None = None,
        *,
        read_timeout: float = READ_TIMEOUT,
        submit_read_timeout: float = SUBMIT_READ_TIMEOUT,
        clock: AwsClock | None = None,
    ) -> None:
        self._sessions: dict[str, boto3.Session] = {}
        # How long to wait for an answer before the connection counts as lost (ambiguous).
        self.read_timeout = read_timeout
        self.submit_read_timeout = min(submit_read_timeout, read_timeout)
        # A submission's connection is given no longer than its answer.
        self.submit_connect_timeout = min(CONNECT_TIMEOUT, self.submit_read_timeout)
        # AWS's clock, read from the Date of every answer of every client built here.
        self.clock = clock or AwsClock()
        self._lock = threading.Lock()
        self.sandbox_url = sandbox_url
        self.azure_credential = azure_credential

    def session(self, name: str, platform: Platform) -> boto3.Session:
        with self._lock:
            if name not in self._sessions:
                if self.sandbox_url is not None:
                    self._sessions[name] = boto3.Session(
                        botocore_session=core_session(),
                        aws_access_key_id="sandbox",
                        aws_secret_access_key="sandbox",
                        region_name=platform.region,
                    )
                else:
                    self._sessions[name] = _build_session(name, platform, self.azure_credential)
            return self._sessions[name]

    @property
    def answer_window(self) -> float:
        """Seconds from sending a submission to the latest moment its answer can come:
        the connection's timeout, then the read's. AWS can act on it only in between."""
        return self.submit_connect_timeout + self.submit_read_timeout

    def submit_client(self, name: str, platform: Platform, service: str) -> Any:
        """The client of submissions: no automatic retries, the submission timeouts."""
        return self.client(
            name,
            platform,
            service,
            max_attempts=1,
            read_timeout=self.submit_read_timeout,
            connect_timeout=self.submit_connect_timeout,
            max_pool_connections=SUBMIT_CONNECTIONS,
        )

    def client(
        self,
        name: str,
        platform: Platform,
        service: str,
        *,
        max_attempts: int | None = None,
        read_timeout: float | None = None,
        connect_timeout: float = CONNECT_TIMEOUT,
        max_pool_connections: int = 10,
    ) -> Any:
        """A client of `service` for platform `name`: its own connection pool, AWS's clock
        read from every answer. `max_attempts=1` for submissions (never retried blindly);
        `read_timeout` in seconds (default: the sessions' read timeout)."""
        session = self.session(name, platform)
        client = session.client(
            service,  # type: ignore[call-overload]
            region_name=platform.region,
            endpoint_url=self.sandbox_url or platform.endpoint_url,
            config=client_config(
                max_attempts,
                read_timeout or self.read_timeout,
                connect_timeout,
                max_pool_connections,
            ),
        )
        client.meta.events.register("after-call", functools.partial(_observe_date, self.clock))
        if self.sandbox_url is None:  # the sandbox's keys are public
            watch_credentials(client)
        return client


def _build_session(
    name: str, platform: Platform, azure_credential: AzureCredential | None = None
) -> boto3.Session:
    auth = platform.auth
    if isinstance(auth, WebIdentityAuth | AssumeRoleAuth):
        return federated_session(name, platform.region, auth, azure_credential=azure_credential)
    if isinstance(auth, AccessKeyAuth):
        return boto3.Session(
            botocore_session=core_session(),
            aws_access_key_id=auth.access_key_id,
            aws_secret_access_key=auth.secret_access_key,
            aws_session_token=auth.session_token,
            region_name=platform.region,
        )
    if isinstance(auth, ProfileAuth):
        try:
            core = core_session(auth.profile)
            core.get_scoped_config()  # a profile that does not exist fails here, by its name
            return boto3.Session(botocore_session=core, region_name=platform.region)
        except BotoCoreError as exc:
            raise PolysyncError(f"platform {name!r}: AWS profile {auth.profile!r}: {exc}") from None
    if isinstance(auth, InstanceProfileAuth):
        core = core_session()
        resolver = core.get_component("credential_provider")
        # Only the host's credentials: ECS container role or EC2 instance metadata.
        resolver.providers = [
            p for p in resolver.providers if p.METHOD in ("container-role", "iam-role")
        ]
        return boto3.Session(botocore_session=core, region_name=platform.region)
    return boto3.Session(botocore_session=core_session(), region_name=platform.region)


THROTTLING_CODES = frozenset(
    {"ThrottlingException", "TooManyRequestsException", "Throttling", "RequestLimitExceeded"}
)

_CREDENTIAL_HINTS = {
    "ExpiredToken": " (the credentials have expired: renew the session token or the keys)",
    "ExpiredTokenException": " (the credentials have expired: renew the session token or the keys)",
    "InvalidClientTokenId": " (AWS does not recognise the access key: rotated or deleted?)",
    "UnrecognizedClientException": " (AWS does not recognise the access key: rotated or deleted?)",
    "SignatureDoesNotMatch": " (the secret access key does not match the access key id)",
}


def describe_client_error(exc: ClientError | BotoCoreError, action: str) -> AwsError:
    """A botocore failure as one line: what was being done, the AWS error code and text."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "Error"))
        message = str(error.get("Message", "")).strip()
        text = f"{action}: {code}: {message}" if message else f"{action}: {code}"
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        throttled = code in THROTTLING_CODES or status == 429
        return AwsError(
            text + _CREDENTIAL_HINTS.get(code, ""),
            code,
            throttled=throttled,
            ambiguous=status >= 500,
        )
    return AwsError(f"{action}: {exc}", ambiguous=True)  # the connection, not AWS, failed


def caller_identity(sessions: Sessions, name: str, platform: Platform) -> dict[str, str]:
    """sts:GetCallerIdentity with the platform's credentials: account and ARN only."""
    session = sessions.session(name, platform)
    client = session.client(
        "sts",
        region_name=platform.region,
        endpoint_url=sessions.sandbox_url,
        config=client_config(),
    )
    if sessions.sandbox_url is None:
        watch_credentials(client)
    try:
        identity = client.get_caller_identity()
    except (ClientError, BotoCoreError) as exc:
        raise describe_client_error(exc, f"platform {name!r}: sts:GetCallerIdentity") from None
    return {"account": str(identity["Account"]), "arn": str(identity["Arn"])}
