"""Each platform's client, built from `Sessions`: the registry of the parts that call AWS.

A new platform is one line here and one in `providers/registry.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from polysync_spec.providers.aws import CANCEL_READ_TIMEOUT
from polysync_spec.providers.base import EventFeed, PlatformClient
from polysync_spec.providers.batch.client import BatchClient
from polysync_spec.providers.glue.client import GlueClient
from polysync_spec.providers.registry import platform_of

if TYPE_CHECKING:
    from polysync_spec.manifest.project import Project
    from polysync_spec.providers.aws import Sessions

CLIENTS: dict[str, type[GlueClient] | type[BatchClient]] = {
    "glue": GlueClient,
    "batch": BatchClient,
}


def client_for(name: str, platform: Any, sessions: Sessions) -> PlatformClient:
    """The client of platform `name` (its manifest model `platform`), its boto3 clients
    built lazily from `sessions`."""
    service = platform_of(platform).service
    logs = sessions.client(name, platform, "logs")
    client = sessions.client(name, platform, service)
    # Submissions never retry by themselves (the executor decides, by the attempt's
    # identity) and wait less for an answer; cancellations have a connection pool of
    # their own, so that a hung poll or submission never holds back a cancel.
    submit = sessions.submit_client(name, platform, service)
    cancel = sessions.client(name, platform, service, read_timeout=CANCEL_READ_TIMEOUT)
    return CLIENTS[service](client, platform.region, logs, submit, cancel)


def clients_of(project: Project, sessions: Sessions) -> Callable[[str], PlatformClient]:
    """Platform name -> its client, each built once, on first use."""
    built: dict[str, PlatformClient] = {}

    def get(name: str) -> PlatformClient:
        if name not in built:
            built[name] = client_for(name, project.platforms[name], sessions)
        return built[name]

    return get


def event_feeds(platforms: dict[str, Any], sessions: Sessions) -> dict[str, EventFeed]:
    """Platform name -> the event queue of each of `platforms` (name -> manifest model)
    that names one (`events_queue`); platforms naming the same queue in one region share
    it. Each queue's URL is looked up here, so that a missing queue stops an apply
    before it submits anything. Raises `AwsError`."""
    from polysync_spec.providers.eventqueue.feed import SqsFeed

    shared: dict[tuple[str, str], SqsFeed] = {}
    feeds: dict[str, EventFeed] = {}
    for name, platform in sorted(platforms.items()):
        queue = getattr(platform, "events_queue", None)
        if not queue:
            continue
        key = (str(platform.region), str(queue))
        if key not in shared:
            shared[key] = SqsFeed(sessions.client(name, platform, "sqs"), str(queue))
            _ = shared[key].url
        feeds[name] = shared[key]
    return feeds
