"""Commands that act on a running bus with the CLI's admin identity."""

from __future__ import annotations

import asyncio
import signal

import nats
from nats.aio.client import Client
from rich.console import Console

from praktor_common.config import ConfigPublisher
from praktor_common.identities.permissions import ADMIN_IDENTITY, inbox_prefix
from praktor_common.settings import RuntimeSettings

__all__ = ["ADMIN_IDENTITY", "connect_admin", "init_bus", "publish_config"]


async def connect_admin(settings: RuntimeSettings) -> Client:
    """Connect with the admin credentials named by ``PRAKTOR_NATS_CREDS``."""
    if not settings.nats_url or not settings.nats_creds:
        raise RuntimeError(
            "set PRAKTOR_NATS_URL and PRAKTOR_NATS_CREDS (the cli-admin.creds file) to reach "
            "the bus; under `praktor up` they are in <data dir>/nats/creds/"
        )
    return await nats.connect(
        settings.nats_url,
        user_credentials=str(settings.nats_creds),
        inbox_prefix=inbox_prefix(ADMIN_IDENTITY).encode(),
        name="praktor-cli",
    )


async def init_bus(settings: RuntimeSettings, console: Console) -> None:
    """Create or update every stream and declared consumer (idempotent)."""
    from praktor_common.streams import ensure_streams

    client = await connect_admin(settings)
    try:
        results = await ensure_streams(client.jetstream())
    finally:
        await client.close()
    console.print(f"streams and consumers ready ({len(results)} checked)")


async def publish_config(settings: RuntimeSettings, *, watch: bool, console: Console) -> None:
    """Publish the config once, or keep republishing it on change / SIGHUP."""
    client = await connect_admin(settings)
    try:
        publisher = ConfigPublisher(settings.config_path(), client.jetstream())
        outcome = await publisher.publish()
        if outcome.status == "refused":
            raise RuntimeError(f"config refused, nothing published:\n{outcome.error}")
        console.print(f"config {outcome.status} (sha256 {outcome.sha256})")
        if watch:
            loop = asyncio.get_running_loop()
            loop.add_signal_handler(signal.SIGHUP, publisher.trigger)
            stop = asyncio.Event()
            loop.add_signal_handler(signal.SIGTERM, stop.set)
            loop.add_signal_handler(signal.SIGINT, stop.set)
            task = asyncio.create_task(publisher.watch())
            await stop.wait()
            task.cancel()
    finally:
        await client.close()
