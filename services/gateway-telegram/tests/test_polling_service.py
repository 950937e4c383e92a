"""The whole service as ``praktor service gateway-telegram`` runs it: disabled, or polling."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from praktor_common.config.distribution import config_bucket, encode_envelope
from praktor_common.config.model import PraktorConfig
from praktor_common.runtime import runner
from praktor_common.runtime.health import HealthState
from praktor_common.subjects import CONFIG_KV_BUCKET, CONFIG_KV_KEY
from praktor_common.testing.fake_telegram import FakeTelegram, RateLimits
from praktor_common.testing.nats import NatsTestServer, wait_until
from praktor_gateway_telegram.service import SERVICE
from praktor_gateway_telegram.testing import OWNER

pytestmark = pytest.mark.integration


@pytest_asyncio.fixture
async def admin(fresh_streams: JetStreamContext) -> AsyncIterator[JetStreamContext]:
    """The admin's JetStream; the config bucket is removed afterwards (other tests expect none)."""
    try:
        yield fresh_streams
    finally:
        with contextlib.suppress(NotFoundError):
            await fresh_streams.delete_key_value(CONFIG_KV_BUCKET)


async def publish_config(admin: JetStreamContext, config: dict[str, Any]) -> None:
    kv = await config_bucket(admin)
    validated = PraktorConfig.model_validate({"timezone": "UTC", **config})
    await kv.put(CONFIG_KV_KEY, encode_envelope(validated, source="test"))


@contextlib.asynccontextmanager
async def running_service(server: NatsTestServer, database_url: str) -> AsyncIterator[HealthState]:
    """The service started as the runner starts it (logging left alone); its health state."""
    settings = server.settings("gateway-telegram", database_url=database_url)
    health = HealthState(SERVICE.name)
    ctx = await runner._start(SERVICE, settings, health)
    health.started = True
    try:
        yield health
    finally:
        await runner._stop(ctx)


async def readyz(health: HealthState) -> dict[str, Any]:
    """What ``/readyz`` would answer."""
    checks = await health.run_checks()
    return {"ready": all(v == "ok" for v in checks.values()), "checks": checks, **health.info}


async def test_without_a_token_the_service_is_ready_and_reports_itself_disabled(
    nats_clients: NatsTestServer,
    admin: JetStreamContext,
    module_migrated_database_url: str,
) -> None:
    await publish_config(admin, {})
    async with running_service(nats_clients, module_migrated_database_url) as health:
        body = await readyz(health)
        assert body["ready"] is True
        assert body["telegram"].startswith("disabled")
        assert "praktor doctor" in body["telegram"]


async def test_with_a_token_it_polls_and_publishes(
    nats_clients: NatsTestServer,
    admin: JetStreamContext,
    module_migrated_database_url: str,
) -> None:
    async with FakeTelegram(rate_limits=RateLimits.off()) as fake:
        await publish_config(
            admin,
            {
                "telegram": {
                    "token": fake.token,
                    "allow_from": [OWNER],
                    "api_base_url": fake.base_url,
                }
            },
        )
        async with running_service(nats_clients, module_migrated_database_url) as health:
            body = await readyz(health)
            assert body["telegram"] == "enabled"
            assert body["checks"]["telegram-poller"] == "ok"
            fake.push_text(OWNER, "hi from the service test")

            async def published() -> bool:
                info = await admin.stream_info("INBOUND")
                return info.state.messages == 1

            await wait_until(published, within=20, every=0.1)
            assert fake.commands()  # the delivery side registered the bot menu
