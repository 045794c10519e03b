"""PS6xx: authentication and secrets."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from polysync_spec.errors import Diagnostic, DocPath, Severity
from polysync_spec.manifest import codes
from polysync_spec.manifest.rules.base import CheckContext, Rule, lookup

ENV_ONLY = re.compile(r"^\$\{\s*env\.[A-Za-z_][A-Za-z0-9_-]*\s*\}$")


def _literal_secrets(ctx: CheckContext) -> Iterator[Diagnostic]:
    """A secret never sits in a manifest: an `auth` block's `secret_access_key` and
    `session_token`, and the value of any parameter marked `secret: true` (on the job or
    in a run), are written as exactly `${env.NAME}` and read from the environment."""
    for name, platform in ctx.raw_section("platforms").items():
        auth = platform.get("auth") if isinstance(platform, dict) else None
        if not isinstance(auth, dict):
            continue
        for key in ("secret_access_key", "session_token"):
            if key in auth and auth[key] is not None and not _from_env(auth[key]):
                yield LITERAL_SECRET.at(
                    ("platforms", name, "auth", key),
                    f"'{key}' must be given as ${{env.NAME}}, never as a literal in a manifest",
                )
    raw_jobs = ctx.raw_section("jobs")
    for name, job in ctx.jobs.items():
        raw_params = lookup(raw_jobs, name, "parameters")
        for key, param in job.parameters.items():
            if not param.secret or param.value is None:
                continue
            if not _from_env(_raw_value(raw_params, key)):
                yield LITERAL_SECRET.at(
                    _value_path(raw_params, ("jobs", name, "parameters", key)),
                    f"secret parameter '{key}' must take its value from ${{env.NAME}}",
                )
    raw_plans = ctx.raw_section("run_plans")
    for plan_name, plan in ctx.run_plans.items():
        for index, run in enumerate(plan.runs):
            run_job = ctx.jobs.get(run.job)
            if run_job is None:
                continue
            raw_params = lookup(raw_plans, plan_name, "runs", index, "parameters")
            for key, value in run.parameters.items():
                declared = run_job.parameters.get(key)
                if declared is None or not declared.secret or value.value is None:
                    continue
                if not _from_env(_raw_value(raw_params, key)):
                    yield LITERAL_SECRET.at(
                        _value_path(
                            raw_params, ("run_plans", plan_name, "runs", index, "parameters", key)
                        ),
                        f"parameter '{key}' of job '{run.job}' is secret; its value must "
                        "come from ${env.NAME}",
                    )


def _value_path(raw_params: Any, path: DocPath) -> DocPath:
    """Point at `value:` of a long-form parameter, at the value itself for shorthand."""
    spec = raw_params.get(path[-1]) if isinstance(raw_params, dict) else None
    return (*path, "value") if isinstance(spec, dict) else path


def _raw_value(raw_params: Any, key: str) -> Any:
    value = raw_params.get(key) if isinstance(raw_params, dict) else None
    return value.get("value") if isinstance(value, dict) else value


def _from_env(value: Any) -> bool:
    return isinstance(value, str) and bool(ENV_ONLY.match(value))


LITERAL_SECRET = Rule(
    codes.LITERAL_SECRET,
    "secret given as a literal instead of ${env.NAME}",
    check=_literal_secrets,
)


def _token_audience(ctx: CheckContext) -> Iterator[Diagnostic]:
    """An `azure` token source of `web_identity` asks Entra ID for a token for exactly one
    of `audience` (the app ID URI, e.g. `api://polysync-aws`) or `scope` (e.g.
    `api://polysync-aws/.default`)."""
    for name, platform in ctx.platforms.items():
        auth = platform.auth
        token = getattr(auth, "token", None)
        if token is None or getattr(token, "source", None) != "azure":
            continue
        if (token.audience is None) == (token.scope is None):
            yield AUTH_TOKEN_AUDIENCE.at(
                ("platforms", name, "auth", "token"),
                "azure token source needs exactly one of `audience` (the app ID URI, "
                "e.g. api://polysync-aws) or `scope` (e.g. api://polysync-aws/.default)",
                at_key=True,
            )


AUTH_TOKEN_AUDIENCE = Rule(
    codes.AUTH_TOKEN_AUDIENCE,
    "azure token source needs exactly one of audience or scope",
    check=_token_audience,
)
ROLE_ARN = Rule(
    codes.ROLE_ARN,
    "invalid IAM role ARN",
    doc="`role_arn` is an IAM role ARN: `arn:aws:iam::<12-digit account>:role/<name>`.",
)
STS_DURATION = Rule(
    codes.STS_DURATION,
    "STS duration_seconds must be 900..43200",
    doc="""`duration_seconds`, the lifetime STS gives the role's credentials, is 900 to
    43200 seconds. The credentials refresh on their own before they expire.""",
)
STS_SESSION_NAME = Rule(
    codes.STS_SESSION_NAME,
    "invalid STS session name",
    doc="`session_name` is 2 to 64 characters of letters, digits and `+=,.@_-`.",
)
STS_EXTERNAL_ID = Rule(
    codes.STS_EXTERNAL_ID,
    "invalid STS external id",
    doc="An `auth` block's `external_id` is 2 to 1224 characters of letters, digits and `+=,.@:/_-`.",
)


def _web_identity_external_id(ctx: CheckContext) -> Iterator[Diagnostic]:
    """`external_id` is accepted for `web_identity`, but sts:AssumeRoleWithWebIdentity
    has no ExternalId parameter: the value is not sent. Restrict the role's trust policy
    on the token's `sub` and `aud` claims instead."""
    for name, platform in ctx.platforms.items():
        auth = platform.auth
        if getattr(auth, "method", None) == "web_identity" and auth.external_id:
            yield WEB_IDENTITY_EXTERNAL_ID.at(
                ("platforms", name, "auth", "external_id"),
                "sts:AssumeRoleWithWebIdentity has no ExternalId, so this value is not sent; "
                "restrict the role's trust policy on the token's sub and aud claims instead",
                at_key=True,
            )


WEB_IDENTITY_EXTERNAL_ID = Rule(
    codes.WEB_IDENTITY_EXTERNAL_ID,
    "external_id has no effect with web_identity",
    Severity.WARNING,
    check=_web_identity_external_id,
)

RULES = (
    LITERAL_SECRET,
    AUTH_TOKEN_AUDIENCE,
    ROLE_ARN,
    STS_DURATION,
    STS_SESSION_NAME,
    STS_EXTERNAL_ID,
    WEB_IDENTITY_EXTERNAL_ID,
)
