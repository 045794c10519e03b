"""Authentication against the sandbox's STS, over the wire: every method and token
source, refresh across expiry, failures that say what to fix, and no secret anywhere."""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import boto3
import pytest

from polysync_spec import load_project
from polysync_spec.cli import run
from polysync_spec.engine.ledger import SqliteLedger, open_ledger
from polysync_spec.errors import PolysyncError
from polysync_spec.providers.aws import AwsError, Sessions, caller_identity
from polysync_spec.providers.clients import client_for
from polysync_spec.providers.credentials import AuthError
from polysync_spec.providers.glue.client import GlueClient
from polysync_spec.sandbox.lifecycle import Outcome
from polysync_spec.sandbox.seed import apply_seed, load_seed
from polysync_spec.sandbox.server import Fault, Sandbox
from tests.helpers import write

ROLE = "arn:aws:iam::123456789012:role/polysync-runner"
CANARY = "CANARY-7d1f-secret"

MANIFEST = """\
version: 1
platforms:
  glue:
    type: aws_glue
    region: us-east-1
    auth: {auth}
"""


def _platform(tmp_path: Path, auth: str, env: dict[str, str] | None = None) -> Any:
    project = load_project(write(tmp_path, MANIFEST.format(auth=auth)), env=env or {})
    assert project.ok, project.diagnostics
    return project.platforms["glue"]


def _web_identity(token: str, extra: str = "") -> str:
    return f"{{method: web_identity, role_arn: '{ROLE}', token: {token}{extra}}}"


def _glue(sessions: Sessions, platform: Any) -> GlueClient:
    provider = client_for("glue", platform, sessions)
    assert isinstance(provider, GlueClient)
    return provider


# ------------------------------------------------------------------ token sources


def test_file_token_assumes_the_role_with_a_session_name(sandbox: Sandbox, tmp_path: Path) -> None:
    """external_id is not an AssumeRoleWithWebIdentity parameter: not sent (PS609 warns)."""
    token_file = tmp_path / "token"
    token_file.write_text("file-token-1\n")
    platform = _platform(
        tmp_path, _web_identity(f"{{source: file, path: '{token_file}'}}", ", external_id: ext-42")
    )
    identity = caller_identity(Sessions(), "glue", platform)
    assert identity["arn"].startswith("arn:aws:sts::123456789012:assumed-role/polysync-runner/")
    [call] = sandbox.requests("AssumeRoleWithWebIdentity")
    assert call.params["RoleArn"] == ROLE
    assert call.params["RoleSessionName"] == "polysync-glue"
    assert call.params["WebIdentityToken"] == "file-token-1"
    assert "ExternalId" not in call.params


def test_short_lived_credentials_refresh_and_reread_the_token_file(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """900 s credentials are inside botocore's 15-minute refresh window: every use
    refreshes, transparently, and each refresh reads the (rotated) token file again."""
    token_file = tmp_path / "token"
    token_file.write_text("first")
    platform = _platform(
        tmp_path,
        _web_identity(f"{{source: file, path: '{token_file}'}}", ", duration_seconds: 900"),
    )
    glue = _glue(Sessions(), platform)
    glue.discover(["orders-etl"])
    token_file.write_text("rotated")
    glue.discover(["orders-etl"])
    calls = sandbox.requests("AssumeRoleWithWebIdentity")
    assert [c.params["WebIdentityToken"] for c in calls] == ["first", "rotated"]
    assert all(c.params["DurationSeconds"] == "900" for c in calls)
    assert len(sandbox.requests("BatchGetJobs")) == 2


def test_long_lived_credentials_are_fetched_once(sandbox: Sandbox, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("token-t")
    platform = _platform(tmp_path, _web_identity(f"{{source: file, path: '{token_file}'}}"))
    glue = _glue(Sessions(), platform)
    for _ in range(3):
        glue.discover(["orders-etl"])
    assert len(sandbox.requests("AssumeRoleWithWebIdentity")) == 1


def test_env_token_source(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MY_OIDC_TOKEN", "env-token")
    platform = _platform(tmp_path, _web_identity("{source: env, name: MY_OIDC_TOKEN}"))
    caller_identity(Sessions(), "glue", platform)
    [call] = sandbox.requests("AssumeRoleWithWebIdentity")
    assert call.params["WebIdentityToken"] == "env-token"


def test_unset_env_token_names_the_variable(sandbox: Sandbox, tmp_path: Path) -> None:
    platform = _platform(tmp_path, _web_identity("{source: env, name: MISSING_TOKEN_VAR}"))
    with pytest.raises(AuthError, match="MISSING_TOKEN_VAR is not set"):
        caller_identity(Sessions(), "glue", platform)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_token_path_that_is_not_a_regular_file_is_refused_unopened(tmp_path: Path) -> None:
    # The path comes from a manifest: a FIFO would hang the apply, /dev/zero exhaust memory.
    from polysync_spec.manifest.models import FileTokenSource
    from polysync_spec.providers.credentials import token_loader
    from tests.test_loader import _fifos_end_at_once

    fifo = tmp_path / "token"
    os.mkfifo(fifo)
    with _fifos_end_at_once(fifo), pytest.raises(AuthError, match="is a named pipe"):
        token_loader(FileTokenSource(source="file", path=str(fifo)))()
    binary = tmp_path / "binary-token"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(AuthError, match=f"token file {binary} is not UTF-8 text"):
        token_loader(FileTokenSource(source="file", path=str(binary)))()


class _GithubTokenService(BaseHTTPRequestHandler):
    seen: list[dict[str, Any]] = []  # noqa: RUF012

    def do_GET(self) -> None:
        query = parse_qs(urlparse(self.path).query)
        self.seen.append(
            {"audience": query.get("audience", [""])[0], "auth": self.headers.get("Authorization")}
        )
        if self.headers.get("Authorization") != "bearer runner-request-token":
            self.send_response(403)
            self.end_headers()
            return
        body = json.dumps({"value": f"gh-oidc-for-{query['audience'][0]}"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def github_token_service(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Stands in for the GitHub Actions OIDC token endpoint, on 127.0.0.1."""
    _GithubTokenService.seen = []
    server = HTTPServer(("127.0.0.1", 0), _GithubTokenService)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/token?api-version=2.0"
    monkeypatch.setenv("ACTIONS_ID_TOKEN_REQUEST_URL", url)
    monkeypatch.setenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "runner-request-token")
    yield url
    server.shutdown()
    server.server_close()


def test_github_token_source_asks_for_sts_audience(
    sandbox: Sandbox, tmp_path: Path, github_token_service: str
) -> None:
    platform = _platform(tmp_path, _web_identity("{source: github}"))
    caller_identity(Sessions(), "glue", platform)
    assert _GithubTokenService.seen == [
        {"audience": "sts.amazonaws.com", "auth": "bearer runner-request-token"}
    ]
    [call] = sandbox.requests("AssumeRoleWithWebIdentity")
    assert call.params["WebIdentityToken"] == "gh-oidc-for-sts.amazonaws.com"


def test_github_token_refused_is_a_clear_error(
    sandbox: Sandbox, tmp_path: Path, github_token_service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN", CANARY)
    platform = _platform(tmp_path, _web_identity("{source: github, audience: custom-aud}"))
    with pytest.raises(AuthError, match="GitHub OIDC token request failed: HTTP 403") as raised:
        caller_identity(Sessions(), "glue", platform)
    assert CANARY not in str(raised.value)


def test_github_token_outside_actions_says_what_is_needed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ACTIONS_ID_TOKEN_REQUEST_URL", raising=False)
    platform = _platform(tmp_path, _web_identity("{source: github}"))
    with pytest.raises(AuthError, match="id-token: write"):
        caller_identity(Sessions(), "glue", platform)


class _FakeAzureCredential:
    def __init__(self, fail: bool = False) -> None:
        self.scopes: list[str] = []
        self.fail = fail

    def get_token(self, *scopes: str) -> Any:
        self.scopes.extend(scopes)
        if self.fail:
            raise RuntimeError("WorkloadIdentityCredential authentication unavailable")
        return type("AccessToken", (), {"token": "entra-token", "expires_on": 0})()


def test_azure_token_source_uses_audience_default_scope(sandbox: Sandbox, tmp_path: Path) -> None:
    credential = _FakeAzureCredential()
    platform = _platform(tmp_path, _web_identity("{source: azure, audience: 'api://polysync-aws'}"))
    caller_identity(Sessions(azure_credential=credential), "glue", platform)
    assert credential.scopes == ["api://polysync-aws/.default"]
    [call] = sandbox.requests("AssumeRoleWithWebIdentity")
    assert call.params["WebIdentityToken"] == "entra-token"


def test_azure_failure_names_what_azure_identity_looked_for(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    platform = _platform(tmp_path, _web_identity("{source: azure, scope: 'api://x/.default'}"))
    with pytest.raises(AuthError) as raised:
        caller_identity(
            Sessions(azure_credential=_FakeAzureCredential(fail=True)), "glue", platform
        )
    message = str(raised.value)
    assert "api://x/.default" in message
    assert "AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_FEDERATED_TOKEN_FILE" in message


# ------------------------------------------------------------------ other methods


def test_assume_role_uses_bootstrap_keys_and_external_id(sandbox: Sandbox, tmp_path: Path) -> None:
    auth = (
        "{method: assume_role, access_key_id: AKIABOOTSTRAP, secret_access_key: '${env.BOOT}', "
        f"role_arn: '{ROLE}', external_id: ext-1234, session_name: nightly}}"
    )
    platform = _platform(tmp_path, auth, {"BOOT": CANARY})
    identity = caller_identity(Sessions(), "glue", platform)
    assert identity["arn"].endswith("assumed-role/polysync-runner/nightly")
    [call] = sandbox.requests("AssumeRole")
    assert (call.params["RoleArn"], call.params["ExternalId"], call.params["RoleSessionName"]) == (
        ROLE,
        "ext-1234",
        "nightly",
    )


@pytest.mark.parametrize(
    "auth",
    [
        "{method: default}",
        "{method: access_key, access_key_id: AKIASTATIC, secret_access_key: '${env.S}'}",
    ],
)
def test_static_and_default_methods(sandbox: Sandbox, tmp_path: Path, auth: str) -> None:
    platform = _platform(tmp_path, auth, {"S": "secret"})
    assert caller_identity(Sessions(), "glue", platform)["account"] == "123456789012"


class _ContainerCredentials(BaseHTTPRequestHandler):
    """Stands in for the ECS agent's task-credentials endpoint."""

    def do_GET(self) -> None:
        body = json.dumps(
            {
                "AccessKeyId": "ASIACONTAINER",
                "SecretAccessKey": "container-secret",
                "Token": "container-token",
                "Expiration": "2099-01-01T00:00:00Z",
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: Any) -> None:
        pass


def test_instance_profile_uses_the_hosts_credentials_only(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = HTTPServer(("127.0.0.1", 0), _ContainerCredentials)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        uri = f"http://127.0.0.1:{server.server_address[1]}/creds"
        monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", uri)
        # The environment's keys (set by the test fixtures) must not win: instance_profile
        # means the host's own role.
        platform = _platform(tmp_path, "{method: instance_profile}")
        credentials = Sessions().session("glue", platform).get_credentials()
        assert credentials is not None
        assert credentials.access_key == "ASIACONTAINER"
        assert caller_identity(Sessions(), "glue", platform)["account"] == "123456789012"
    finally:
        server.shutdown()
        server.server_close()


# ------------------------------------------------------------------ failures


def test_sts_denial_names_the_role_and_the_remedy(sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.fail(
        "AssumeRoleWithWebIdentity", Fault("InvalidIdentityToken", "Incorrect token audience")
    )
    token_file = tmp_path / "token"
    token_file.write_text(CANARY)
    platform = _platform(tmp_path, _web_identity(f"{{source: file, path: '{token_file}'}}"))
    with pytest.raises(AuthError) as raised:
        _glue(Sessions(), platform).discover(["orders-etl"])
    message = str(raised.value)
    assert f"assume {ROLE}: InvalidIdentityToken: Incorrect token audience" in message
    assert "issuer" in message and "audience" in message and "sub / oid" in message
    assert CANARY not in message


def test_an_expired_static_key_says_so(sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.fail(
        "GetJobs",
        Fault("ExpiredTokenException", "The security token included in the request is expired"),
    )
    platform = _platform(
        tmp_path,
        "{method: access_key, access_key_id: AKIAOLD, secret_access_key: '${env.S}'}",
        {"S": "s"},
    )
    with pytest.raises(AwsError, match="the credentials have expired"):
        _glue(Sessions(), platform).discover()


def test_auth_check_reports_each_platform(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("token-t")
    text = MANIFEST.format(auth=_web_identity(f"{{source: file, path: '{token_file}'}}")) + (
        "  broken:\n    type: aws_batch\n    region: us-east-1\n    auth: {method: web_identity, role_arn: "
        f"'{ROLE}', token: {{source: env, name: NOPE}}}}\n"
    )
    path = write(tmp_path, text)
    assert run(["auth", "check", str(path)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("broken: FAILED: ") and "NOPE is not set" in out[0]
    assert out[1].startswith(
        "glue: web_identity -> account 123456789012, arn:aws:sts::123456789012:assumed-role/"
    )


def test_a_platform_with_an_unset_secret_is_refused_before_any_call(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(
        tmp_path,
        MANIFEST.format(
            auth="{method: access_key, access_key_id: AKIA, secret_access_key: '${env.UNSET_SECRET}'}"
        ),
    )
    assert run(["discover", str(path), "-p", "glue"]) == 1
    err = capsys.readouterr().err
    assert "PS202" in err and "UNSET_SECRET" in err and "has errors" in err
    assert sandbox.requests() == []


# ------------------------------------------------------------------ canaries


def test_no_secret_reaches_any_output_or_log(
    sandbox: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Recognisable secrets in every place a manifest takes one; every command and output
    mode, success and failure, at the most verbose log level: zero occurrences."""
    caplog.set_level(logging.DEBUG)
    token_file = tmp_path / "token"
    token_file.write_text(f"{CANARY}-file")
    monkeypatch.setenv("SECRET_KEY", f"{CANARY}-key")
    monkeypatch.setenv("SESSION_TOKEN", f"{CANARY}-session")
    monkeypatch.setenv("PARAM_SECRET", f"{CANARY}-param")
    text = f"""\
version: 1
platforms:
  glue:
    type: aws_glue
    region: us-east-1
    auth: {{method: web_identity, role_arn: '{ROLE}', token: {{source: file, path: '{token_file}'}}}}
  batch:
    type: aws_batch
    region: us-east-1
    default_job_queue: etl-standard
    auth: {{method: access_key, access_key_id: AKIAX, secret_access_key: '${{env.SECRET_KEY}}', session_token: '${{env.SESSION_TOKEN}}'}}
jobs:
  etl:
    platform: glue
    external_id: orders-etl
    parameters:
      token: {{value: '${{env.PARAM_SECRET}}', secret: true}}
      note: {{value: 'x'}}
run_plans:
  p:
    runs: [{{job: etl}}]
"""
    path = write(tmp_path, text)
    state = str(tmp_path / "state.db")
    plan_file = str(tmp_path / "plan.json")
    commands = [
        ["validate", str(path)],
        ["validate", str(path), "-o", "json", "--require-env"],
        ["validate", str(path), "-o", "github"],
        ["discover", str(path), "-p", "glue", "-o", "json"],
        ["discover", str(path), "-p", "batch"],
        ["auth", "check", str(path)],
        ["auth", "check", str(path), "-o", "json"],
        *(
            ["plan", str(path), "--sandbox", "-o", fmt]
            for fmt in ("text", "json", "markdown", "github")
        ),
        ["plan", str(path), "--sandbox", "--out", plan_file],
        ["show", plan_file, "-o", "markdown"],
        ["graph", str(path)],
        ["fmt", "--check", str(path)],
        ["import", str(path), "-p", "glue", "--sandbox", "--dry-run"],
    ]
    for command in commands:
        run(["--verbose", *command])
    # apply through the real auth flows (STS with the file token, static keys), failing so
    # that the log tail is printed too; --sandbox would bypass auth and reset the emulator
    sandbox.reset()
    apply_seed(sandbox, load_seed())
    failing = Outcome(result="FAILED", starting_seconds=0.05, running_seconds=0.05)
    sandbox.script("glue", "orders-etl", failing)
    applying = ["apply", str(path), "--auto-approve", "--state", state, "--poll-interval", "0.05"]
    run(["--verbose", *applying, "-o", "json"])
    run(["--verbose", *applying, "-o", "markdown", "--rerun"])
    run(["--verbose", "status", "--state", state])
    sandbox.fail("AssumeRoleWithWebIdentity", Fault("AccessDenied", "Not authorized"))
    run(["--verbose", "auth", "check", str(path), "-p", "glue"])
    out, err = capsys.readouterr()
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for place, content in (("stdout", out), ("stderr", err), ("logs", logged)):
        assert CANARY not in content, f"a secret reached {place}"
    assert CANARY not in Path(plan_file).read_text()
    assert CANARY.encode() not in Path(state).read_bytes()  # the ledger
    assert '"status": "Failed"' in out  # the apply really ran, and failed
    assert "log line(s) from /aws-glue/jobs/error" in err  # with its log tail (on stderr)
    assert "Not authorized" in out  # the failure itself was reported
    with pytest.raises(PolysyncError) as raised:
        caller_identity(Sessions(), "glue", load_project(path).platforms["glue"])
    assert CANARY not in str(raised.value)


# ------------------------------------------------------------------ echoed secrets
# AWS and the jobs hand secrets back: in a run's ErrorMessage / statusReason, its log
# lines, an API error that quotes an argument, an STS error that quotes the token, and
# botocore's text for a token that ends in a newline. Every command and output mode, at
# --verbose: zero occurrences, the plan file and the ledger (SQLite and S3) included.

ECHO_PROJECT = """\
version: 1
platforms:
  glue:
    type: aws_glue
    region: us-east-1
    auth: {{method: web_identity, role_arn: '{role}', token: {token}}}
  batch:
    type: aws_batch
    region: us-east-1
    default_job_queue: etl-standard
    auth: {batch_auth}
jobs:
  etl:
    platform: glue
    external_id: orders-etl
    parameters:
      token: {{value: '${{env.PARAM_SECRET}}', secret: true}}
      note: {{value: 'x'}}
  export:
    platform: batch
    external_id: nightly-export
    parameters:
      partners: {{value: '${{env.BATCH_SECRET}}', secret: true}}
run_plans:
  p:
    runs: [{{job: etl}}, {{job: export}}]
"""
STATIC_KEYS = (
    "{method: access_key, access_key_id: AKIAX, secret_access_key: '${env.SECRET_KEY}', "
    "session_token: '${env.SESSION_TOKEN}'}"
)
ECHOING = Outcome(
    result="FAILED", message="bad input", starting_seconds=0.05, running_seconds=0.05,
    echo_arguments=True,
)  # fmt: skip


@pytest.fixture
def canaries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A secret in every place a process holds one, each recognisable by CANARY."""
    secrets = {
        "file_token": f"{CANARY}-file",
        "env_token": f"{CANARY}-env-token",
        "SECRET_KEY": f"{CANARY}-key",
        "SESSION_TOKEN": f"{CANARY}-session",
        "PARAM_SECRET": f"{CANARY}-param",
        "BATCH_SECRET": f"{CANARY}-batch",
    }
    (tmp_path / "token").write_text(secrets["file_token"] + "\n")  # as a CI runner writes it
    monkeypatch.setenv("OIDC_TOKEN", secrets["env_token"])
    for name in ("SECRET_KEY", "SESSION_TOKEN", "PARAM_SECRET", "BATCH_SECRET"):
        monkeypatch.setenv(name, secrets[name])
    return secrets


def _echo_project(tmp_path: Path, token: str = "file", batch_auth: str = STATIC_KEYS) -> Path:
    source = (
        f"{{source: file, path: '{tmp_path / 'token'}'}}"
        if token == "file"
        else "{source: env, name: OIDC_TOKEN}"
    )
    return write(tmp_path, ECHO_PROJECT.format(role=ROLE, token=source, batch_auth=batch_auth))


def _sweep(*commands: list[str]) -> None:
    for command in commands:
        run(["--verbose", *command])


def _outputs(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> tuple[str, str, str]:
    out, err = capsys.readouterr()
    logged = "\n".join(r.getMessage() for r in caplog.records) + "\n" + caplog.text
    return out, err, logged


def _assert_nowhere(
    secret: str,
    out: str,
    err: str,
    logged: str,
    files: tuple[Path, ...] = (),
    objects: tuple[bytes, ...] = (),
) -> None:
    for place, content in (("stdout", out), ("stderr", err), ("logs", logged)):
        assert secret not in content, f"a secret reached {place}"
    for file in files:
        assert secret.encode() not in file.read_bytes(), f"a secret reached {file.name}"
    for body in objects:
        assert secret.encode() not in body, "a secret reached an S3 ledger object"


def _ledger_files(state: Path) -> tuple[Path, ...]:
    """The SQLite ledger and its journals, as they are on disk."""
    return tuple(p for p in state.parent.iterdir() if p.name.startswith(state.name))


def _s3_objects(sandbox: Sandbox) -> tuple[bytes, ...]:
    s3 = boto3.client("s3", endpoint_url=sandbox.endpoint_url, region_name="us-east-1")
    listed = s3.list_objects_v2(Bucket="polysync-state").get("Contents", [])
    return tuple(
        s3.get_object(Bucket="polysync-state", Key=item["Key"])["Body"].read() for item in listed
    )


@pytest.mark.parametrize("ledger", ["sqlite", "s3"])
def test_secrets_a_run_echoes_are_masked_in_every_output_and_the_ledger(
    sandbox: Sandbox,
    tmp_path: Path,
    canaries: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    ledger: str,
) -> None:
    """The Glue run's ErrorMessage, the Batch job's statusReason and both runs' log lines
    repeat their arguments, secret parameters included."""
    caplog.set_level(logging.DEBUG)
    path = _echo_project(tmp_path)
    sandbox.script("glue", "orders-etl", ECHOING)
    sandbox.script("batch", "nightly-export", ECHOING)
    if ledger == "s3":
        boto3.client(
            "s3", endpoint_url=sandbox.endpoint_url, region_name="us-east-1"
        ).create_bucket(Bucket="polysync-state")
        state = "s3://polysync-state/ci"
    else:
        state = str(tmp_path / "state.db")
    plan_file = tmp_path / "plan.json"
    applying = ["--auto-approve", "--state", state, "--poll-interval", "0.05"]
    _sweep(
        ["apply", str(path), *applying, "-o", "json"],
        ["apply", str(path), *applying, "-o", "markdown", "--rerun"],
        ["apply", str(path), *applying, "--rerun"],
        ["plan", str(path), "--state", state, "--out", str(plan_file)],
        ["apply", str(plan_file), *applying, "--rerun", "-o", "json"],
        ["status", "--state", state],
    )
    opened = open_ledger(
        state, boto3.client("s3", endpoint_url=sandbox.endpoint_url, region_name="us-east-1")
    )
    try:
        [(apply_id, _, _)] = opened.applies()
        run_ids = [r.run_id or "" for r in opened.runs(apply_id).values()]
    finally:
        opened.close()
    _sweep(
        ["status", apply_id, "--state", state],
        ["status", apply_id, "--state", state, "-o", "markdown"],
        ["status", apply_id, "--state", state, "--watch", "--interval", "0.05"],
        *(["logs", run_id, "--state", state] for run_id in run_ids),
    )
    out, err, logged = _outputs(capsys, caplog)
    files = (plan_file, *(_ledger_files(Path(state)) if ledger == "sqlite" else ()))
    objects = _s3_objects(sandbox) if ledger == "s3" else ()
    _assert_nowhere(CANARY, out, err, logged, files, objects)
    # The secrets were sent, and came back: masked, not missing.
    [glue_run, *_] = sandbox.requests("StartJobRun")
    assert glue_run.params["Arguments"]["--token"] == canaries["PARAM_SECRET"]
    assert "bad input (arguments: " in out and "--token=***" in out
    assert "partners=***" in out
    assert re.search(r"^arguments: .*--token=\*\*\*", out, re.MULTILINE)  # a log line (`logs`)
    assert '"status": "Failed"' in out
    stored = b"".join(objects) + b"".join(p.read_bytes() for p in files)
    assert b"--token=***" in stored


@pytest.mark.parametrize("operation", ["StartJobRun", "SubmitJob"])
def test_an_api_error_quoting_a_secret_argument_is_masked(
    sandbox: Sandbox,
    tmp_path: Path,
    canaries: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    operation: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    path = _echo_project(tmp_path)
    echoed = canaries["PARAM_SECRET" if operation == "StartJobRun" else "BATCH_SECRET"]
    sandbox.fail(operation, Fault("ValidationException", f"value {echoed} is not allowed"))
    state = tmp_path / "state.db"
    applying = ["--auto-approve", "--state", str(state), "--poll-interval", "0.05"]
    _sweep(
        ["apply", str(path), *applying, "-o", "json"],
        ["apply", str(path), *applying, "-o", "markdown", "--rerun"],
        ["apply", str(path), *applying, "--rerun"],
        ["status", "--state", str(state)],
    )
    ledger = SqliteLedger(state)
    try:
        [(apply_id, _, _)] = ledger.applies()
    finally:
        ledger.close()
    _sweep(
        ["status", apply_id, "--state", str(state)],
        ["status", apply_id, "--state", str(state), "-o", "markdown"],
    )
    out, err, logged = _outputs(capsys, caplog)
    _assert_nowhere(CANARY, out, err, logged, _ledger_files(state))
    assert "value *** is not allowed" in out + err  # the refusal itself is reported


@pytest.mark.parametrize("token", ["file", "env"])
def test_an_sts_error_quoting_the_token_is_masked(
    sandbox: Sandbox,
    tmp_path: Path,
    canaries: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    token: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # the failure is certain: no retries
    path = _echo_project(tmp_path, token)
    quoted = canaries["file_token" if token == "file" else "env_token"]
    sandbox.fail(
        "AssumeRoleWithWebIdentity",
        Fault("InvalidIdentityToken", f"the token {quoted} has expired"),
    )
    state = str(tmp_path / "state.db")
    _sweep(
        ["auth", "check", str(path)],
        ["auth", "check", str(path), "-o", "json"],
        ["discover", str(path), "-p", "glue"],
        ["discover", str(path), "-p", "glue", "-o", "json"],
        *(["plan", str(path), "-o", fmt] for fmt in ("text", "json", "markdown", "github")),
        ["apply", str(path), "--auto-approve", "--state", state, "-o", "json"],
        ["apply", str(path), "--auto-approve", "--state", state, "-o", "markdown"],
        ["import", str(path), "-p", "glue", "--dry-run"],
    )
    out, err, logged = _outputs(capsys, caplog)
    _assert_nowhere(CANARY, out, err, logged)
    assert "InvalidIdentityToken: the token *** has expired" in out + err
    # exception text, outside the CLI too
    with pytest.raises(AuthError) as raised:
        caller_identity(Sessions(), "glue", load_project(path).platforms["glue"])
    assert "the token *** has expired" in str(raised.value)


@pytest.mark.parametrize("source", ["manifest", "environment"])
def test_a_session_token_ending_in_a_newline_is_never_shown(
    sandbox: Sandbox,
    tmp_path: Path,
    canaries: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    source: str,
) -> None:
    """botocore refuses the header ("Invalid header value b'...\\n'") and says what it
    held: the token, with or without its newline, must not show."""
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # the failure is certain: no retries
    if source == "manifest":
        monkeypatch.setenv("SESSION_TOKEN", canaries["SESSION_TOKEN"] + "\n")
        path = _echo_project(tmp_path)
    else:
        monkeypatch.setenv("AWS_SESSION_TOKEN", canaries["SESSION_TOKEN"] + "\n")
        path = _echo_project(tmp_path, batch_auth="{method: default}")
    state = str(tmp_path / "state.db")
    _sweep(
        ["auth", "check", str(path), "-p", "batch"],
        ["auth", "check", str(path), "-p", "batch", "-o", "json"],
        ["discover", str(path), "-p", "batch"],
        ["discover", str(path), "-p", "batch", "-o", "json"],
        *(["plan", str(path), "-o", fmt] for fmt in ("text", "json", "markdown", "github")),
        ["apply", str(path), "--auto-approve", "--state", state],
        ["apply", str(path), "--auto-approve", "--state", state, "-o", "json"],
        ["apply", str(path), "--auto-approve", "--state", state, "-o", "markdown"],
        ["import", str(path), "-p", "batch", "--dry-run"],
    )
    out, err, logged = _outputs(capsys, caplog)
    _assert_nowhere(CANARY, out, err, logged)
    assert "Invalid header value b'***'" in out + err  # the failure is still explained


def test_ps408_does_not_repeat_a_value_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("EXPORT_DEFINITION", f"not a definition {CANARY}")
    path = write(
        tmp_path,
        """\
        version: 1
        platforms:
          batch: {type: aws_batch, region: us-east-1, default_job_queue: q}
        jobs:
          export: {platform: batch, external_id: '${env.EXPORT_DEFINITION}'}
        """,
    )
    for output in ("text", "json", "github"):
        assert run(["--verbose", "validate", str(path), "-o", output, "--require-env"]) == 1
    out, err = capsys.readouterr()
    assert CANARY not in out + err
    assert (
        "PS408" in out and "'${env.EXPORT_DEFINITION}' does not resolve to a job definition" in out
    )
