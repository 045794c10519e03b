"""The redaction layer itself: what it registers, how it masks, and its sinks (streams,
logging, exception text, persisted documents), each on its own."""

from __future__ import annotations

import io
import json
import logging
import os
import sys
import threading
from pathlib import Path
from typing import Any

import boto3
import click
import pytest

from polysync_spec import load_project, redact
from polysync_spec.cli import run
from polysync_spec.engine.ledger import S3Ledger, SqliteLedger
from polysync_spec.engine.model import PlannedRun
from polysync_spec.engine.phase import RunPhase
from polysync_spec.errors import PolysyncError
from polysync_spec.sandbox.server import SANDBOX_KEY, Sandbox
from tests.helpers import write

SECRET = "hunter2-7f3a"


# ------------------------------------------------------------------ registry and mask


def test_a_registered_value_is_masked_wherever_it_occurs() -> None:
    redact.register(SECRET)
    assert redact.mask(f"a={SECRET}; b={SECRET}!") == "a=***; b=***!"
    assert redact.mask("nothing to hide") == "nothing to hide"


def test_surrounding_whitespace_is_no_disguise() -> None:
    """A token read with its newline shows with or without it, and quoted by repr."""
    redact.register(f"{SECRET}\n")
    assert redact.mask(f"token {SECRET}.") == "token ***."
    assert redact.mask(f"Invalid header value b'{SECRET}\\n'") == "Invalid header value b'***'"
    assert redact.mask(f"raw {SECRET}\nnext") == "raw ***next"


def test_each_line_of_a_multi_line_secret_is_masked_on_its_own() -> None:
    """Streams are masked a line at a time: every line of a key must be known alone."""
    redact.register("-----BEGIN KEY-----\nAAAAline1\nBBBBline2\n-----END KEY-----\n")
    assert redact.mask("AAAAline1") == "***"
    assert redact.mask("x BBBBline2 y") == "x *** y"


def test_escaped_forms_are_masked() -> None:
    secret = 'pa"ss\\word'
    redact.register(secret)
    assert redact.mask(json.dumps({"v": secret})) == '{"v": "***"}'
    assert redact.mask("pa%22ss%5Cword") == "***"


def test_short_values_and_the_sandbox_keys_are_never_registered() -> None:
    for value in ("abc", " ab\n", "", SANDBOX_KEY, None, 12345):
        redact.register(value)
    assert redact.known() == frozenset()
    assert redact.mask("abc sandbox") == "abc sandbox"


def test_a_secret_containing_another_is_masked_whole() -> None:
    redact.register("abcd")
    redact.register("xxabcdyy")
    assert redact.mask("xxabcdyy abcd") == "*** ***"


def test_mask_data_masks_keys_and_values_deep() -> None:
    redact.register(SECRET)
    data = {SECRET: [SECRET, {"k": f"v {SECRET}"}, 3, None], "n": 1.5}
    assert redact.mask_data(data) == {"***": ["***", {"k": "v ***"}, 3, None], "n": 1.5}


def test_isolated_starts_empty_and_restores() -> None:
    redact.register(SECRET)
    with redact.isolated():
        assert redact.mask(SECRET) == SECRET
        redact.register("inner-secret")
    assert redact.mask(SECRET) == "***"
    assert redact.mask("inner-secret") == "inner-secret"


def test_registering_while_masking_from_other_threads_is_safe() -> None:
    errors: list[BaseException] = []

    def work(index: int) -> None:
        try:
            for n in range(200):
                redact.register(f"secret-{index}-{n:04d}")
                assert f"secret-{index}-{n:04d}" not in redact.mask(f"x secret-{index}-{n:04d} y")
        except BaseException as exc:  # handed to the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(redact.known()) >= 800


def test_the_environment_credentials_and_token_files_are_registered(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("file-token-abc\n")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    redact.register_environment(
        {
            "AWS_SESSION_TOKEN": "env-session-abc\n",
            "AWS_SECRET_ACCESS_KEY": "env-secret-abc",
            "AWS_WEB_IDENTITY_TOKEN_FILE": str(token_file),
            "AZURE_FEDERATED_TOKEN_FILE": str(fifo),  # never opened: it would block
            "AWS_REGION": "us-east-1",
        }
    )
    text = "env-session-abc env-secret-abc file-token-abc us-east-1"
    assert redact.mask(text) == "*** *** *** us-east-1"


def test_env_references_of_a_plan_are_registered() -> None:
    plan = {"runs": [{"request": {"Arguments": {"--t": {"$env": "TOK"}, "--n": "x"}}}]}
    redact.register_env_references(plan, {"TOK": SECRET, "OTHER": "not-a-secret"})
    assert redact.mask(f"{SECRET} not-a-secret") == "*** not-a-secret"


# ------------------------------------------------------------------ where secrets become known


def test_loading_manifests_registers_every_secret_slot(tmp_path: Path) -> None:
    env = {
        "KEY": "manifest-key-1",
        "TOKEN": "manifest-token-1\n",
        "P": "param-secret-1",
        "R": "run-secret-1",
        "OIDC": "oidc-token-1",
        "PUBLIC": "plain-value-1",
    }
    path = write(
        tmp_path,
        """\
        version: 1
        platforms:
          g:
            type: aws_glue
            region: us-east-1
            auth: {method: access_key, access_key_id: AKIA, secret_access_key: '${env.KEY}', session_token: '${env.TOKEN}'}
          w:
            type: aws_glue
            region: us-east-1
            auth: {method: web_identity, role_arn: 'arn:aws:iam::123456789012:role/r', token: {source: env, name: OIDC}}
        jobs:
          etl:
            platform: g
            external_id: orders-etl
            parameters:
              token: {value: '${env.P}', secret: true}
              note: {value: '${env.PUBLIC}'}
        run_plans:
          p:
            runs: [{job: etl, parameters: {token: '${env.R}'}}]
        """,
    )
    project = load_project(path, env=env)
    assert project.ok, project.diagnostics
    shown = redact.mask(" ".join(env.values()))
    assert shown.split() == ["***", "***", "***", "***", "***", "plain-value-1"]


def test_an_unresolved_secret_reference_is_not_taken_for_a_secret(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        version: 1
        platforms:
          g:
            type: aws_glue
            region: us-east-1
            auth: {method: access_key, access_key_id: AKIA, secret_access_key: '${env.UNSET_KEY}'}
        """,
    )
    load_project(path, env={})
    assert redact.known() == frozenset()


def test_a_plan_file_secret_is_registered_when_it_is_resolved() -> None:
    planned = PlannedRun(
        key="etl", job="etl", platform="g", service="glue", region="us-east-1",
        api="StartJobRun", request={"Arguments": {"--t": {"$env": "TOK"}}}, live=None,
    )  # fmt: skip
    resolved = planned.resolved_request({"TOK": SECRET}, "attempt-1")
    assert resolved["Arguments"]["--t"] == SECRET  # sent as it is
    assert redact.mask(SECRET) == "***"


# ------------------------------------------------------------------ sinks


def test_exception_text_is_masked() -> None:
    redact.register(SECRET)
    error = PolysyncError(f"AWS said: {SECRET} is wrong")
    assert str(error) == "AWS said: *** is wrong"


def test_the_stream_masks_a_secret_written_in_pieces() -> None:
    redact.register(SECRET)
    inner = io.StringIO()
    stream = redact.MaskingStream(inner)
    stream.write(f"token {SECRET[:5]}")
    assert inner.getvalue() == ""  # held until the line is whole
    stream.write(f"{SECRET[5:]} ok\nrest {SECRET}")
    assert inner.getvalue() == "token *** ok\n"
    stream.flush()
    assert inner.getvalue() == "token *** ok\nrest ***"


def test_the_stream_has_no_binary_way_around_it() -> None:
    stream = redact.MaskingStream(io.StringIO())
    assert not hasattr(stream, "buffer")
    with pytest.raises(TypeError):
        stream.write(b"bytes")  # type: ignore[arg-type]


def test_click_echo_writes_through_the_stream() -> None:
    redact.register(SECRET)
    inner = io.StringIO()
    click.echo(f"value {SECRET}", file=redact.MaskingStream(inner))  # type: ignore[arg-type]
    assert inner.getvalue() == "value ***\n"


def test_guarded_output_masks_print_and_logging_and_restores_everything(
    capsys: pytest.CaptureFixture[str],
) -> None:
    redact.register(SECRET)
    before = (sys.stdout, sys.stderr, logging.getLogRecordFactory())
    caught = io.StringIO()
    with redact.guarded_output():
        # A handler added after the layer was installed, on a child logger's ancestor.
        handler = logging.StreamHandler(caught)
        handler.setFormatter(logging.Formatter("%(message)s"))
        parent = logging.getLogger("redaction-test")
        parent.addHandler(handler)
        try:
            print(f"printed {SECRET}")
            print(f"warned {SECRET}", file=sys.stderr)
            logging.getLogger("redaction-test.child").warning("logged %s", SECRET)
            try:
                raise ValueError(f"boom {SECRET}")
            except ValueError:
                logging.getLogger("redaction-test.child").exception("failed")
        finally:
            parent.removeHandler(handler)
    assert (sys.stdout, sys.stderr, logging.getLogRecordFactory()) == before
    out, err = capsys.readouterr()
    assert out == "printed ***\n" and err == "warned ***\n"
    assert "logged ***" in caught.getvalue() and "ValueError: boom ***" in caught.getvalue()
    assert SECRET not in caught.getvalue()


def test_run_installs_the_layer_for_the_call_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tests call run() again and again: no wrapper may stay behind or stack up, and each
    call knows only its own secrets."""
    monkeypatch.setenv("AWS_SESSION_TOKEN", "env-session-token-1")
    before = (sys.stdout, sys.stderr, logging.getLogRecordFactory())
    seen: list[Any] = []

    @click.command()
    def probe() -> None:
        seen.append((sys.stdout, sys.stderr))
        click.echo("token env-session-token-1")

    from polysync_spec.cli.group import cli

    cli.add_command(probe, "redaction-probe")
    try:
        for _ in range(3):
            assert run(["redaction-probe"]) == 0
    finally:
        cli.commands.pop("redaction-probe")
    assert (sys.stdout, sys.stderr, logging.getLogRecordFactory()) == before
    assert all(isinstance(s, redact.MaskingStream) and s.inner is before[0] for s, _ in seen)
    assert capsys.readouterr().out == "token ***\n" * 3
    assert redact.known() == frozenset()  # the call's secrets went with it


def test_sqlite_ledger_writes_are_masked(tmp_path: Path) -> None:
    redact.register(SECRET)
    planned = PlannedRun("etl", "etl", "g", "glue", "us-east-1", "StartJobRun", {}, None)
    ledger = SqliteLedger(tmp_path / "state.db")
    try:
        ledger.begin("a1", {"run_plan": "p", "runs": [{"key": "etl", "note": SECRET}]})
        ledger.intent("a1", planned, "attempt-1", 0.0)
        ledger.status("a1", "etl", RunPhase.FAILED, f"ErrorMessage: {SECRET}", True)
        ledger.skipped("a1", PlannedRun("b", "b", "g", "glue", "us-east-1", "x", {}, None), SECRET)
        assert ledger.runs("a1")["etl"].message == "ErrorMessage: ***"
    finally:
        ledger.close()
    stored = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert SECRET.encode() not in stored and b"ErrorMessage: ***" in stored


def test_s3_ledger_objects_are_masked(sandbox: Sandbox) -> None:
    redact.register(SECRET)
    s3 = boto3.client("s3", endpoint_url=sandbox.endpoint_url, region_name="us-east-1")
    s3.create_bucket(Bucket="polysync-state")
    ledger = S3Ledger("s3://polysync-state/ci", s3)
    planned = PlannedRun("etl", "etl", "g", "glue", "us-east-1", "StartJobRun", {}, None)
    ledger.begin("a1", {"run_plan": "p", "note": SECRET})
    ledger.intent("a1", planned, "attempt-1", 0.0)
    ledger.status("a1", "etl", RunPhase.FAILED, f"statusReason: {SECRET}", True)
    bodies = [
        s3.get_object(Bucket="polysync-state", Key=item["Key"])["Body"].read()
        for item in s3.list_objects_v2(Bucket="polysync-state")["Contents"]
    ]
    assert len(bodies) == 2
    assert all(SECRET.encode() not in body for body in bodies)
    assert any(b"statusReason: ***" in body for body in bodies)
