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
    from polysync_spec.providers.batch import BatchProvider
    from polysync_spec.providers.glue import GlueProvider

    logs = sessions.client(name, platform, "logs")
    if isinstance(platform, GluePlatform):
        glue, submit = (sessions.client(name, platform, "glue", max_attempts=n) for n in (None, 1))
        return GlueProvider(glue, platform.region, logs, submit)
    batch, submit = (sessions.client(name, platform, "batch", max_attempts=n) for n in (None, 1))
    return BatchProvider(batch, platform.region, logs, submit)
