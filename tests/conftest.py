from __future__ import annotations

import socket
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from polysync_spec import redact
from polysync_spec.sandbox.seed import apply_seed, load_seed
from polysync_spec.sandbox.server import Sandbox, apply_outcomes

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
CORPUS = Path(__file__).resolve().parent / "corpus"


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests may talk to loopback only; anything else is a bug in the test."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and not (
            host.startswith("127.") or host in ("localhost", "::1") or host.startswith("/")
        ):
            raise RuntimeError(f"test tried to reach {host}: only loopback is allowed")
        return real_connect(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture(autouse=True)
def _fake_aws_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test may pick up a developer's real credentials or config."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)


@pytest.fixture(autouse=True)
def _own_sandbox_state(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test uses a developer's running `polysync sandbox` (or records one): `--sandbox`
    looks in a state directory of the test's own."""
    monkeypatch.setenv("POLYSYNC_SANDBOX_DIR", str(tmp_path / "sandbox-state"))


@pytest.fixture(autouse=True)
def _no_secrets_of_other_tests() -> Iterator[None]:
    """The redaction registry is process-wide: each test starts knowing no secret, so one
    test's secret (say "secret") never masks another test's expected text."""
    with redact.isolated():
        yield


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[Sandbox]:
    """One emulator per test session (moto's state is process-wide)."""
    with Sandbox() as server:
        yield server


@pytest.fixture
def sandbox(sandbox_server: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    """A freshly reset and seeded sandbox, reachable through AWS_ENDPOINT_URL, with fast
    default lifecycles (tests script slower or failing ones where they need them)."""
    sandbox_server.reset()
    apply_seed(sandbox_server, load_seed())
    apply_outcomes({"default": {"starting_seconds": 0.2, "running_seconds": 0.3}})
    sandbox_server.log.clear()
    monkeypatch.setenv("AWS_ENDPOINT_URL", sandbox_server.endpoint_url)
    return sandbox_server


@pytest.fixture
def as_iam_user(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[Mapping[str, Any]], tuple[str, str]]]:
    """`as_iam_user(policy)`: an IAM user of the sandbox with `policy`, whose access keys
    the tool then finds in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, and the sandbox's IAM
    enforcement on: every call is authorised against the policy. Off again afterwards."""
    made = iter(range(1000))

    def grant(policy: Mapping[str, Any]) -> tuple[str, str]:
        key, secret = sandbox.iam_user(f"polysync-{next(made)}", policy)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", key)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
        sandbox.enforce_iam(True)
        return key, secret

    yield grant
    sandbox.enforce_iam(False)
