"""Fixtures for the config tests: a clean environment, and a private NATS with JetStream."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext

from praktor_common.embedded.nats import EmbeddedNats
from praktor_common.embedded.ports import free_port


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[EmbeddedNats]:
    port = free_port()
    store = tmp_path / "jetstream"
    config_file = tmp_path / "nats.conf"
    config_file.write_text(
        f'listen: 127.0.0.1:{port}\njetstream {{ store_dir: "{store}" }}\n', encoding="utf-8"
    )
    server = EmbeddedNats(
        config_file=config_file, host="127.0.0.1", port=port, log_file=tmp_path / "nats.log"
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def nats_client(nats_server: EmbeddedNats) -> AsyncIterator[Client]:
    client = await nats.connect(nats_server.url, connect_timeout=5, max_reconnect_attempts=0)
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
def js(nats_client: Client) -> JetStreamContext:
    return nats_client.jetstream()
