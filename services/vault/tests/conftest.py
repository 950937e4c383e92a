"""A vault on a real PostgreSQL, and the vault service on a real, authenticated NATS."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from nats.js import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncEngine

from praktor_common.bus import make_broker
from praktor_common.testing.nats import NatsTestServer
from praktor_vault.handlers import event_publisher, register
from praktor_vault.vault import Vault
from services.vault.tests.support import EventFeed, RunningVault, add_agents, passphrase


@pytest.fixture
async def vault(migrated_engine: AsyncEngine) -> Vault:
    """An unlocked vault on an empty database (no bus), with agents ``coder`` and ``writer``."""
    await add_agents(migrated_engine, "coder", "writer")
    return await Vault.open(migrated_engine, passphrase())


@pytest.fixture
async def running_vault(
    nats_clients: NatsTestServer, fresh_streams: JetStreamContext, migrated_engine: AsyncEngine
) -> AsyncIterator[RunningVault]:
    """The vault service's handlers, answering on the bus as the ``vault`` identity."""
    await add_agents(migrated_engine, "coder", "writer")
    broker = make_broker(nats_clients.settings("vault"), "vault", graceful_timeout=2.0)
    vault = await Vault.open(migrated_engine, passphrase(), events=event_publisher(broker))
    register(broker, vault)
    await broker.start()
    feed = EventFeed()
    web = await nats_clients.connect("web")
    await web.subscribe("events.secret.*", cb=feed.on_message)
    await web.flush()
    try:
        yield RunningVault(vault, broker, nats_clients, migrated_engine, feed)
    finally:
        await broker.stop()
