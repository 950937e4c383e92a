"""The delivery consumer on the real bus: ``register`` as the service calls it.

The gateway connects with its own identity; deliveries are published the way
the orchestrator publishes them (its identity, ``Nats-Msg-Id`` = dedupe id).
Files come from the real object store.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from faststream.nats import NatsBroker
from nats.js import JetStreamContext

from praktor_common import subjects
from praktor_common.bus import make_broker, publish_model
from praktor_common.commands import BOT_COMMANDS
from praktor_common.config import ConfigFollower
from praktor_common.config.distribution import config_bucket, encode_envelope
from praktor_common.contracts.deliver import Delivery
from praktor_common.contracts.files import FileRef
from praktor_common.filestore import FILES_BUCKET, files_bucket
from praktor_common.ids import new_id
from praktor_common.runtime.health import HealthState
from praktor_common.runtime.spec import ServiceContext
from praktor_common.subjects import CONFIG_KV_KEY
from praktor_common.testing.nats import NatsTestServer, wait_until
from praktor_gateway_telegram.delivery import TelegramDelivery, register
from praktor_gateway_telegram.delivery.testing import GROUP, PRIVATE, Harness, make_config
from praktor_gateway_telegram.service import SERVICE

pytestmark = pytest.mark.integration


@pytest_asyncio.fixture
async def gateway(
    harness: Harness, nats_clients: NatsTestServer, fresh_streams: JetStreamContext
) -> AsyncIterator[TelegramDelivery]:
    """The gateway's delivery side, registered and running on the bus."""
    kv = await config_bucket(fresh_streams)
    await kv.put(CONFIG_KV_KEY, encode_envelope(make_config(), source="test"))
    settings = nats_clients.settings("gateway-telegram")
    broker = make_broker(settings, "gateway-telegram")
    nc = await broker.connect()
    follower = ConfigFollower(nc.jetstream())
    await follower.start()
    ctx = ServiceContext(
        spec=SERVICE,
        settings=settings,
        broker=broker,
        nats=nc,
        js=nc.jetstream(),
        config=follower,
        health=HealthState("gateway-telegram"),
        engine=harness.engine,
    )
    delivery = await register(ctx, harness.bot)
    await broker.start()
    try:
        yield delivery
    finally:
        for hook in reversed(ctx.on_stop):
            with contextlib.suppress(Exception):
                await hook()
        await follower.stop()
        await broker.stop()


@pytest_asyncio.fixture
async def orchestrator(nats_clients: NatsTestServer) -> AsyncIterator[NatsBroker]:
    broker = make_broker(nats_clients.settings("orchestrator"), "orchestrator")
    await broker.connect()
    try:
        yield broker
    finally:
        await broker.stop()


async def _publish(broker: NatsBroker, delivery: Delivery) -> None:
    subject = subjects.deliver(delivery.origin.channel, delivery.origin.chat_id)
    await publish_model(broker, subject, delivery, delivery.dedupe_id)


async def test_registering_puts_the_commands_in_the_bot_menu(
    harness: Harness, gateway: TelegramDelivery
) -> None:
    assert harness.fake.commands() == [
        {"command": c.name, "description": c.description} for c in BOT_COMMANDS
    ]


async def test_answers_published_for_two_chats_arrive_in_order_in_each(
    harness: Harness, gateway: TelegramDelivery, orchestrator: NatsBroker
) -> None:
    for n in range(3):
        for chat in (PRIVATE, GROUP):
            await _publish(orchestrator, harness.final(chat, f"Answer {n} to {chat}."))

    def arrived() -> bool:
        return all(
            harness.texts(chat) == [f"Answer {n} to {chat}." for n in range(3)]
            for chat in (PRIVATE, GROUP)
        )

    await wait_until(arrived, 15)


async def test_a_file_an_agent_stored_arrives_in_the_chat_of_its_turn(
    harness: Harness,
    gateway: TelegramDelivery,
    orchestrator: NatsBroker,
    nats_clients: NatsTestServer,
) -> None:
    writer = await nats_clients.connect("gateway-telegram")  # may write the files bucket
    store = await files_bucket(writer.jetstream())
    key = f"agents/main/{new_id()}/summary.txt"
    content = b"the summary, line after line\n" * 12_000  # several object store chunks
    await store.put(key, content)
    ref = FileRef(
        bucket=FILES_BUCKET, key=key, name="summary.txt", mime_type="text/plain", size=len(content)
    )
    delivery = Delivery(
        msg_id=new_id(),
        origin=harness.origin(GROUP),
        kind="file",
        agent_id="main",
        content="Here you go",
        file=ref,
    )

    await _publish(orchestrator, delivery)

    [message] = await harness.fake.wait_for_messages(GROUP, 1, timeout=15)
    assert (message.kind, message.file_name, message.file) == (
        "document",
        "summary.txt",
        content,
    )
    assert message.text == "Here you go"
