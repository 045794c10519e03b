"""Federated credentials: web identity tokens and assumed roles, refreshed by botocore.

botocore's own fetchers (`AssumeRoleWithWebIdentityCredentialFetcher`,
`AssumeRoleCredentialFetcher`) wrapped in `DeferredRefreshableCredentials` do the work:
credentials are fetched on first use and refreshed before they expire (15 minutes ahead),
so an apply that waits for hours never dies on expiry. Token sources are re-read on every
refresh (a rotated token file is picked up).

No token, key or secret is ever put into a message: errors name the platform, the role,
the source and what to check, never the value. Every token read and every credential STS
hands out is registered with the redaction layer (`polysync_spec.redact`), so that text
which quotes one (an STS error, botocore's exception text) is masked wherever it shows.
"""

from __future__ import annotations

import functools
import json
import os
import re
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

import boto3
import botocore.loaders
import botocore.session
from botocore.credentials import (
    AssumeRoleCredentialFetcher,
    AssumeRoleWithWebIdentityCredentialFetcher,
    CredentialProvider,
    CredentialResolver,
    Credentials,
    DeferredRefreshableCredentials,
)
from botocore.exceptions import BotoCoreError, ClientError

from polysync_spec import redact
from polysync_spec.errors import Diagnostic, PolysyncError
from polysync_spec.manifest.models import (
    AssumeRoleAuth,
    AzureTokenSource,
    EnvTokenSource,
    FileTokenSource,
    GithubTokenSource,
    WebIdentityAuth,
)

TokenLoader = Callable[[], str]
GITHUB_ENV = ("ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN")
AZURE_ENV = ("AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_FEDERATED_TOKEN_FILE")
WEB_IDENTITY_HINT = (
    "check that the IAM OIDC identity provider matches the token's issuer "
    "(https://login.microsoftonline.com/<tenant-id>/v2.0 for Entra ID, "
    "https://token.actions.githubusercontent.com for GitHub), that its audience matches the "
    "token's aud, and that the role's trust policy allows the workload identity's sub / oid"
)


# One loader of botocore's service models for the whole process: a session of its own
# would parse the JSON models again for each client (about 0.1 s of CPU a client).
_LOADER = botocore.loaders.create_loader()


def core_session(profile: str | None = None) -> botocore.session.Session:
    """A botocore session (of the named AWS `profile`, else the default chain) that shares
    the process's loaded service models."""
    core = botocore.session.Session(profile=profile)
    core.register_component("data_loader", _LOADER)
    return core


class AuthError(PolysyncError):
    """Credentials could not be obtained. The message never holds a secret value."""


class AzureCredential(Protocol):
    """What polysync needs of an azure-identity credential."""

    def get_token(self, *scopes: str) -> Any: ...


def session_name(platform: str, configured: str | None) -> str:
    """RoleSessionName (2-64 of [\\w+=,.@-]): the configured one, else polysync-<platform>."""
    if configured:
        return configured
    return re.sub(r"[^\w+=,.@-]", "-", f"polysync-{platform}")[:64]


def token_loader(
    source: Any,
    *,
    azure_credential: AzureCredential | None = None,
    env: Mapping[str, str] | None = None,
) -> TokenLoader:
    """A zero-argument callable returning a fresh token from the configured source; each
    token it returns is registered as a secret first."""
    environ = os.environ if env is None else env
    load: TokenLoader
    if isinstance(source, FileTokenSource):
        load = functools.partial(_read_token_file, source.path)
    elif isinstance(source, EnvTokenSource):
        redact.register(environ.get(source.name))  # known now, used later
        load = functools.partial(_env_token, source.name, environ)
    elif isinstance(source, GithubTokenSource):
        # The bearer that asks GitHub for a token is a credential too.
        redact.register(environ.get(GITHUB_ENV[1]))
        load = functools.partial(_github_token, source.audience, environ)
    elif isinstance(source, AzureTokenSource):
        load = _azure_loader(source, azure_credential, environ)
    else:
        raise AuthError(f"unknown token source {getattr(source, 'source', source)!r}")

    def registered() -> str:
        token = load()
        redact.register(token)
        return token

    return registered


# A web identity token (a JWT) is a few KiB; the bound only stops a hostile path.
MAX_TOKEN_FILE_BYTES = 1024 * 1024


def _read_token_file(path: str) -> str:
    """The token in `path`, re-read at every refresh. The path comes from a manifest, so
    it is read like one: a regular file (a FIFO or `/dev/zero` would hang or exhaust
    memory), bounded in size; links are followed (Kubernetes projects tokens as links)."""
    from polysync_spec.manifest.loader import read_manifest

    problems: list[Diagnostic] = []
    raw = read_manifest(Path(path), None, problems, limit=MAX_TOKEN_FILE_BYTES, what="token files")
    if raw is None:
        reason = problems[0].message.removeprefix("cannot read file: ")
        raise AuthError(f"cannot read the web identity token file {path}: {reason}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise AuthError(f"the web identity token file {path} is not UTF-8 text") from None
    redact.register(text)  # as read, with its newline, and stripped
    token = text.strip()
    if not token:
        raise AuthError(f"the web identity token file {path} is empty")
    return token


def _env_token(name: str, environ: Mapping[str, str]) -> str:
    raw = environ.get(name, "")
    redact.register(raw)
    token = raw.strip()
    if not token:
        raise AuthError(f"the web identity token variable {name} is not set")
    return token


def _github_token(audience: str, environ: Mapping[str, str]) -> str:
    """The GitHub Actions OIDC token for `audience` (needs `permissions: id-token: write`)."""
    url, bearer = (environ.get(name, "") for name in GITHUB_ENV)
    if not url or not bearer:
        raise AuthError(
            "the github token source needs ACTIONS_ID_TOKEN_REQUEST_URL and "
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN: run in GitHub Actions with "
            "`permissions: id-token: write`"
        )
    separator = "&" if "?" in url else "?"
    request = urllib.request.Request(
        f"{url}{separator}audience={quote(audience, safe='')}",
        headers={"Authorization": f"bearer {bearer}", "Accept": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            value = json.load(response).get("value")
    except urllib.error.HTTPError as exc:
        raise AuthError(
            f"the GitHub OIDC token request failed: HTTP {exc.code} {exc.reason}"
        ) from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc.__class__.__name__)
        raise AuthError(f"the GitHub OIDC token request failed: {reason}") from None
    if not isinstance(value, str) or not value:
        raise AuthError("the GitHub OIDC token endpoint answered without a token")
    return value


def _azure_loader(
    source: AzureTokenSource, credential: AzureCredential | None, environ: Mapping[str, str]
) -> TokenLoader:
    scope = source.scope or f"{source.audience}/.default"

    def load() -> str:
        active = credential or _azure_credential(source, environ)
        try:
            return str(active.get_token(scope).token)
        except Exception as exc:  # azure-identity raises its own hierarchy
            # Masked before it is cut: a secret cut in half would no longer be recognised.
            text = redact.mask(str(exc)).strip()
            first_line = text.splitlines()[0][:200] if text else ""
            raise AuthError(
                f"could not get an Entra ID token for {scope} ({exc.__class__.__name__}"
                f"{': ' + first_line if first_line else ''}); azure-identity looks for "
                f"workload identity ({', '.join(AZURE_ENV)}), a managed identity, or the "
                "default credential chain"
            ) from None

    return load


def _azure_credential(source: AzureTokenSource, environ: Mapping[str, str]) -> AzureCredential:
    try:
        from azure import identity
    except ImportError:
        raise AuthError(
            "the azure token source needs azure-identity: pip install 'polysync-spec[azure]'"
        ) from None
    if environ.get("AZURE_FEDERATED_TOKEN_FILE"):
        return identity.WorkloadIdentityCredential(
            tenant_id=source.tenant_id or environ.get("AZURE_TENANT_ID"),
            client_id=source.client_id or environ.get("AZURE_CLIENT_ID"),
            token_file_path=environ["AZURE_FEDERATED_TOKEN_FILE"],
        )
    if source.client_id:
        return identity.ManagedIdentityCredential(client_id=source.client_id)
    return identity.DefaultAzureCredential()


class _Provider(CredentialProvider):
    METHOD = "polysync"

    def __init__(self, credentials: Any) -> None:
        super().__init__()
        self._credentials = credentials

    def load(self) -> Any:
        return self._credentials


def federated_session(
    platform: str,
    region: str,
    auth: WebIdentityAuth | AssumeRoleAuth,
    *,
    azure_credential: AzureCredential | None = None,
) -> boto3.Session:
    """A session whose credentials come from STS and refresh themselves."""
    sts_session = core_session()  # honours AWS_ENDPOINT_URL(_STS) and the like

    def create_client(service_name: str, **kwargs: Any) -> Any:
        kwargs.setdefault("region_name", region)
        return sts_session.create_client(service_name, **kwargs)

    extra: dict[str, Any] = {"RoleSessionName": session_name(platform, auth.session_name)}
    # AssumeRoleWithWebIdentity has no ExternalId (validate warns, PS609); AssumeRole does.
    if isinstance(auth, AssumeRoleAuth) and auth.external_id:
        extra["ExternalId"] = auth.external_id
    if auth.duration_seconds:
        extra["DurationSeconds"] = auth.duration_seconds
    fetcher: Any
    if isinstance(auth, WebIdentityAuth):
        fetcher = AssumeRoleWithWebIdentityCredentialFetcher(
            create_client,
            token_loader(auth.token, azure_credential=azure_credential),
            auth.role_arn,
            extra_args=extra,
        )
        method, source = "web-identity", f"{auth.token.source} token"
    else:
        fetcher = AssumeRoleCredentialFetcher(
            create_client,
            Credentials(auth.access_key_id, auth.secret_access_key),
            auth.role_arn,
            extra_args=extra,
        )
        method, source = "assume-role", "bootstrap access key"

    def refresh() -> Any:
        try:
            fetched = fetcher.fetch_credentials()
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = error.get("Code", "Error")
            message = str(error.get("Message", "")).strip()
            hint = f"; {WEB_IDENTITY_HINT}" if method == "web-identity" else ""
            raise AuthError(
                f"platform {platform!r}: STS refused to let the {source} assume "
                f"{auth.role_arn}: {code}{': ' + message if message else ''}{hint}"
            ) from None
        except BotoCoreError as exc:
            raise AuthError(f"platform {platform!r}: could not reach STS: {exc}") from None
        # The role's temporary secret key and session token: secrets from now on.
        redact.register(fetched.get("secret_key"))
        redact.register(fetched.get("token"))
        return fetched

    credentials = DeferredRefreshableCredentials(refresh_using=refresh, method=method)
    core = core_session()
    core.register_component("credential_provider", CredentialResolver([_Provider(credentials)]))
    return boto3.Session(botocore_session=core, region_name=region)
