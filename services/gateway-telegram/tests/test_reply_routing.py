"""A reply to a bot message names the agent that wrote it (the router sends it there)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from nats.js import JetStreamContext
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from praktor_common.db.messages import insert_message
from praktor_common.db.models import Agent, TelegramReply
from praktor_common.ids import new_id
from praktor_common.testing.fake_telegram import FakeTelegram, RateLimits
from praktor_common.testing.nats import NatsTestServer
from praktor_gateway_telegram.testing import OWNER, Gateway, running_gateway

pytestmark = pytest.mark.integration


@pytest_asyncio.fixture
async def gateway(
    nats_clients: NatsTestServer, fresh_streams: JetStreamContext, migrated_engine: AsyncEngine
) -> AsyncIterator[Gateway]:
    async with (
        FakeTelegram(rate_limits=RateLimits.off()) as fake,
        running_gateway(nats_clients, fresh_streams, migrated_engine, fake) as running,
    ):
        fake.add_chat(OWNER)
        yield running


async def answered(gateway: Gateway, engine: AsyncEngine, agent_id: str, key_of: str = "{}") -> int:
    """A turn of ``agent_id`` whose message the bot sent and the gateway recorded (under
    ``key_of`` filled with the turn's msg_id); the Telegram message id."""
    msg_id = new_id()
    telegram_id = (await gateway.bot.send_message(OWNER, f"{agent_id} answers")).message_id
    async with AsyncSession(engine) as session, session.begin():
        await session.execute(
            insert(Agent)
            .values(id=agent_id, name=agent_id, workspace=agent_id)
            .on_conflict_do_nothing()
        )
        await insert_message(
            session, msg_id=msg_id, agent_id=agent_id, sender="user:7", role="user", content="hi"
        )
        await session.execute(
            insert(TelegramReply).values(
                msg_id=key_of.format(msg_id),
                chat_id=OWNER,
                chunk_index=0,
                telegram_message_id=telegram_id,
                state="sent",
            )
        )
    return telegram_id


async def reply(gateway: Gateway, to: int) -> str | None:
    gateway.fake.push_text(OWNER, "and what about this?", reply_to=to)
    await gateway.poller().poll_once(timeout=0)
    [message] = await gateway.inbound()
    assert message.reply_to is not None
    assert message.reply_to.message_id == str(to)
    return message.reply_to.agent_id


async def test_a_reply_to_an_agents_answer_names_that_agent(
    gateway: Gateway, migrated_engine: AsyncEngine
) -> None:
    await answered(gateway, migrated_engine, "coder")
    writers_answer = await answered(gateway, migrated_engine, "writer")
    assert await reply(gateway, writers_answer) == "writer"


async def test_a_reply_to_a_file_an_agent_sent_names_that_agent(
    gateway: Gateway, migrated_engine: AsyncEngine
) -> None:
    file_message = await answered(gateway, migrated_engine, "coder", "{}:file:agents/coder/x/a.png")
    assert await reply(gateway, file_message) == "coder"


async def test_a_reply_to_a_message_the_gateway_did_not_record_names_no_agent(
    gateway: Gateway,
) -> None:
    not_recorded = (await gateway.bot.send_message(OWNER, "sent by hand")).message_id
    assert await reply(gateway, not_recorded) is None
