"""Providers: one module per platform behind the small vocabulary of `base`.

`provider_for` is the registry: a new platform type is one new module and one line here.
The provider modules import boto3/botocore only where they call AWS, so the pure planner
can use their request builders without loading the SDK.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from polysync_spec.manifest.models import BatchPlatform, GluePlatform
    from polysync_spec.providers.aws import Sessions
    from polysync_spec.providers.batch import BatchProvider
    from polysync_spec.providers.glue import GlueProvider

    Provider = GlueProvider | BatchProvider


def provider_for(
    name: str, platform: GluePlatform | BatchPlatform, sessions: Sessions
) -> GlueProvider | BatchProvider:
    """The provider for a platform, with its client built lazily from `sessions`."""
    from polysync_spec.manifest.models import GluePlatform
    from polysync_spec.providers.aws import CANCEL_READ_TIMEOUT
    from polysync_spec.providers.batch import BatchProvider
    from polysync_spec.providers.glue import GlueProvider

    service = "glue" if isinstance(platform, GluePlatform) else "batch"
    logs = sessions.client(name, platform, "logs")
    client = sessions.client(name, platform, service)
    # Submissions never retry by themselves (the executor decides, by the attempt's
    # identity) and wait less for an answer; cancellations have a connection pool of
    # their own, so that a hung poll or submission never holds back a cancel.
    submit = sessions.submit_client(name, platform, service)
    cancel = sessions.client(name, platform, service, read_timeout=CANCEL_READ_TIMEOUT)
    kind = GlueProvider if service == "glue" else BatchProvider
    return kind(client, platform.region, logs, submit, cancel)
