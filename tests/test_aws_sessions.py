"""Sessions per auth method: built lazily, one per platform, secrets never in errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from polysync_spec.errors import PolysyncError
from polysync_spec.manifest import load_project
from polysync_spec.providers.aws import Sessions
from tests.helpers import write

PLATFORM = """\
version: 1
platforms:
  glue:
    type: aws_glue
    region: eu-west-1
    auth: {auth}
"""


def _platform(tmp_path: Path, auth: str, env: dict[str, str] | None = None) -> object:
    project = load_project(write(tmp_path, PLATFORM.format(auth=auth)), env=env or {})
    assert project.ok, project.diagnostics
    return project.platforms["glue"]


def test_access_key_session_uses_the_manifest_keys(tmp_path: Path) -> None:
    platform = _platform(
        tmp_path,
        "{method: access_key, access_key_id: AKIAMANIFEST, secret_access_key: '${env.SECRET}'}",
        {"SECRET": "CANARY-secret-key"},
    )
    session = Sessions().session("glue", platform)  # type: ignore[arg-type]
    credentials = session.get_credentials()
    assert credentials is not None
    assert credentials.access_key == "AKIAMANIFEST"
    assert credentials.secret_key == "CANARY-secret-key"
    assert session.region_name == "eu-west-1"


def test_one_session_per_platform(tmp_path: Path) -> None:
    platform = _platform(tmp_path, "{method: default}")
    sessions = Sessions()
    assert sessions.session("glue", platform) is sessions.session("glue", platform)  # type: ignore[arg-type]


def test_a_missing_profile_names_the_profile(tmp_path: Path) -> None:
    platform = _platform(tmp_path, "{method: profile, profile: nonexistent}")
    with pytest.raises(PolysyncError, match="AWS profile 'nonexistent'"):
        Sessions().session("glue", platform)  # type: ignore[arg-type]


def test_federated_sessions_fetch_nothing_until_first_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ACTIONS_ID_TOKEN_REQUEST_URL", raising=False)
    platform = _platform(
        tmp_path,
        "{method: web_identity, role_arn: 'arn:aws:iam::123456789012:role/r', token: {source: github}}",
    )
    session = Sessions().session("glue", platform)  # type: ignore[arg-type]  # no token needed yet
    with pytest.raises(PolysyncError, match="id-token: write") as raised:
        session.get_credentials().get_frozen_credentials()  # type: ignore[union-attr]
    assert "CANARY" not in str(raised.value)


def test_endpoint_comes_from_the_environment_when_the_platform_sets_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_GLUE", "http://127.0.0.1:4599")
    platform = _platform(tmp_path, "{method: default}")
    client = Sessions().client("glue", platform, "glue")  # type: ignore[arg-type]
    assert client.meta.endpoint_url == "http://127.0.0.1:4599"
    assert client.meta.region_name == "eu-west-1"
