"""The only place that builds boto3 sessions and clients.

One session per platform, built lazily and shared by its clients. Region and
`endpoint_url` come from the platform; without an `endpoint_url`, botocore honours
`AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_<SERVICE>` itself. Retries use botocore's
adaptive mode, which also rate-limits the client when AWS throttles it.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import boto3
import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from polysync_spec import __version__
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
from polysync_spec.providers.credentials import AzureCredential, federated_session

Platform = GluePlatform | BatchPlatform

DEFAULT_MAX_ATTEMPTS = 5
DEFAULT_RETRY_MODE = "adaptive"


def client_config() -> Config:
    """Retry settings: the user's AWS_MAX_ATTEMPTS / AWS_RETRY_MODE when set, else adaptive
    mode (client-side rate limiting under throttling) with 5 attempts."""
    attempts = os.environ.get("AWS_MAX_ATTEMPTS", "")
    mode = os.environ.get("AWS_RETRY_MODE", DEFAULT_RETRY_MODE)
    retries: Any = {
        "mode": mode if mode in ("legacy", "standard", "adaptive") else DEFAULT_RETRY_MODE,
        "max_attempts": int(attempts) if attempts.isdigit() else DEFAULT_MAX_ATTEMPTS,
    }
    return Config(
        retries=retries,
        user_agent_extra=f"polysync-spec/{__version__}",
        connect_timeout=10,
        read_timeout=60,
    )


class AwsError(PolysyncError):
    """An AWS call failed; the message names the object and, where the product documents
    know the cause, the remedy. It never carries credentials."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class Sessions:
    """Lazily built boto3 sessions, one per platform name.

    `sandbox_url` points every platform at the embedded sandbox with its fixed keys,
    whatever the manifests say about endpoints and auth (`--sandbox`).
    """

    def __init__(
        self, sandbox_url: str | None = None, azure_credential: AzureCredential | None = None
    ) -> None:
        self._sessions: dict[str, boto3.Session] = {}
        self._lock = threading.Lock()
        self.sandbox_url = sandbox_url
        self.azure_credential = azure_credential

    def session(self, name: str, platform: Platform) -> boto3.Session:
        with self._lock:
            if name not in self._sessions:
                if self.sandbox_url is not None:
                    self._sessions[name] = boto3.Session(
                        aws_access_key_id="sandbox",
                        aws_secret_access_key="sandbox",
                        region_name=platform.region,
                    )
                else:
                    self._sessions[name] = _build_session(name, platform, self.azure_credential)
            return self._sessions[name]

    def client(self, name: str, platform: Platform, service: str) -> Any:
        session = self.session(name, platform)
        return session.client(
            service,  # type: ignore[call-overload]
            region_name=platform.region,
            endpoint_url=self.sandbox_url or platform.endpoint_url,
            config=client_config(),
        )


def _build_session(
    name: str, platform: Platform, azure_credential: AzureCredential | None = None
) -> boto3.Session:
    auth = platform.auth
    if isinstance(auth, WebIdentityAuth | AssumeRoleAuth):
        return federated_session(name, platform.region, auth, azure_credential=azure_credential)
    if isinstance(auth, AccessKeyAuth):
        return boto3.Session(
            aws_access_key_id=auth.access_key_id,
            aws_secret_access_key=auth.secret_access_key,
            aws_session_token=auth.session_token,
            region_name=platform.region,
        )
    if isinstance(auth, ProfileAuth):
        try:
            return boto3.Session(profile_name=auth.profile, region_name=platform.region)
        except BotoCoreError as exc:
            raise PolysyncError(f"platform {name!r}: AWS profile {auth.profile!r}: {exc}") from None
    if isinstance(auth, InstanceProfileAuth):
        core = botocore.session.Session()
        resolver = core.get_component("credential_provider")
        # Only the host's credentials: ECS container role or EC2 instance metadata.
        resolver.providers = [
            p for p in resolver.providers if p.METHOD in ("container-role", "iam-role")
        ]
        return boto3.Session(botocore_session=core, region_name=platform.region)
    return boto3.Session(region_name=platform.region)


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
        return AwsError(text + _CREDENTIAL_HINTS.get(code, ""), code)
    return AwsError(f"{action}: {exc}")


def caller_identity(sessions: Sessions, name: str, platform: Platform) -> dict[str, str]:
    """sts:GetCallerIdentity with the platform's credentials: account and ARN only."""
    session = sessions.session(name, platform)
    client = session.client(
        "sts",
        region_name=platform.region,
        endpoint_url=sessions.sandbox_url,
        config=client_config(),
    )
    try:
        identity = client.get_caller_identity()
    except (ClientError, BotoCoreError) as exc:
        raise describe_client_error(exc, f"platform {name!r}: sts:GetCallerIdentity") from None
    return {"account": str(identity["Account"]), "arn": str(identity["Arn"])}
