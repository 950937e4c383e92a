"""``praktor telegram pending | approve | deny`` through the bus to the gateway's commands."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner, Result

from praktor_common.bus import make_broker
from praktor_common.cli.doctor import diagnose
from praktor_common.cli.main import app
from praktor_common.contracts import telegram as contracts
from praktor_common.contracts.service import ServiceError
from praktor_common.identities.permissions import ADMIN_IDENTITY
from praktor_common.settings import RuntimeSettings
from praktor_common.testing.nats import NatsTestServer
from praktor_gateway_telegram import commands
from praktor_gateway_telegram.senders import SenderStore

pytestmark = pytest.mark.integration


@pytest_asyncio.fixture
async def store(
    nats_clients: NatsTestServer, migrated_engine: AsyncEngine
) -> AsyncIterator[SenderStore]:
    """The gateway answering its sender commands."""
    broker = make_broker(nats_clients.settings("gateway-telegram"), "gateway-telegram")
    store = SenderStore(migrated_engine)
    commands.register(broker, store)
    await broker.start()
    try:
        yield store
    finally:
        await broker.stop()


async def praktor(server: NatsTestServer, *args: str) -> Result:
    env = {
        "PRAKTOR_NATS_URL": server.url,
        "PRAKTOR_NATS_CREDS": str(server.creds_path(ADMIN_IDENTITY)),
    }
    return await asyncio.to_thread(
        CliRunner().invoke, app, ["telegram", *args], env=env, catch_exceptions=False
    )


async def test_pending_lists_refused_senders_and_approve_lets_them_in(
    nats_clients: NatsTestServer, store: SenderStore
) -> None:
    await store.refused(555, "eve", "Eve")
    listed = await praktor(nats_clients, "pending")
    assert listed.exit_code == 0, listed.output
    assert "555" in listed.output
    assert "@eve" in listed.output
    assert "praktor telegram approve ID" in listed.output

    approved = await praktor(nats_clients, "approve", "555")
    assert approved.exit_code == 0, approved.output
    assert "Approved 555." in approved.output
    assert await store.status(555) == "approved"
    nobody = await praktor(nats_clients, "pending")
    assert "Nobody is waiting." in nobody.output


async def test_approving_someone_who_never_wrote_says_so(
    nats_clients: NatsTestServer, store: SenderStore
) -> None:
    result = await praktor(nats_clients, "approve", "999")
    assert "have not written yet" in result.output
    assert await store.status(999) == "approved"


async def test_deny_refuses_silently_from_now_on(
    nats_clients: NatsTestServer, store: SenderStore
) -> None:
    await store.refused(556, None, "Mallory")
    result = await praktor(nats_clients, "deny", "556")
    assert result.exit_code == 0
    assert "Denied 556" in result.output
    assert await store.status(556) == "denied"
    assert not await store.refused(556, None, "Mallory")  # no more notices
    everyone = await praktor(nats_clients, "pending", "--all")
    assert "denied" in everyone.output


async def test_a_bad_id_is_refused_by_the_cli(nats_clients: NatsTestServer) -> None:
    result = await praktor(nats_clients, "approve", "0")
    assert result.exit_code != 0
    assert "positive number" in result.output


async def test_without_a_running_gateway_the_cli_says_what_to_do(
    nats_clients: NatsTestServer,
) -> None:
    result = await praktor(nats_clients, "pending")
    assert result.exit_code == 1
    assert "gateway-telegram service is not running" in result.output


async def test_a_malformed_request_gets_an_error_answer(
    nats_clients: NatsTestServer, store: SenderStore
) -> None:
    admin = await nats_clients.connect(ADMIN_IDENTITY)
    answer = await admin.request(contracts.SENDER_DECIDE.subject, b'{"user_id": -1}', timeout=5)
    reply = contracts.SENDER_DECIDE.parse_reply(answer.data)
    assert isinstance(reply, ServiceError)
    assert reply.code == "invalid"


def test_doctor_says_how_to_turn_voice_on(tmp_path: Path) -> None:
    config = tmp_path / "praktor.yaml"
    config.write_text("telegram:\n  token: '1:a'\n  allow_from: [42]\n")
    settings = RuntimeSettings(data_dir=tmp_path, config=config)
    [speech] = [f for f in diagnose(settings, {}) if f.topic == "speech"]
    assert speech.level == "warn"
    assert "speech.api_key" in speech.fix
