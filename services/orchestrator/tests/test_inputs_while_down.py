"""Input published while no orchestrator runs is not lost to history: the orchestrator
reads agent input through its own durable consumer and catches up when it starts."""

from __future__ import annotations

from pathlib import Path

import pytest
from nats.js import JetStreamContext
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from praktor_common import subjects
from praktor_common.contracts.agent import AgentInput
from praktor_common.db.models import Message
from praktor_common.ids import new_id
from praktor_common.testing.nats import NatsTestServer, wait_until
from services.orchestrator.tests.harness import ORIGIN, make_config, orchestrator_without_agents

pytestmark = pytest.mark.integration


async def stored(engine: AsyncEngine, msg_id: str) -> list[str]:
    async with AsyncSession(engine) as session:
        rows = await session.scalars(select(Message.content).where(Message.msg_id == msg_id))
        return list(rows)


async def test_input_published_before_the_orchestrator_starts_is_stored_once_it_runs(
    fresh_streams: JetStreamContext,
    nats_clients: NatsTestServer,
    migrated_engine: AsyncEngine,
    data_dir: Path,
) -> None:
    router = (await nats_clients.connect("router")).jetstream()
    message = AgentInput(
        msg_id=new_id(),
        agent_id="coder",
        text="sent while it was down",
        origin=ORIGIN,
        sender="user:7",
    )
    await router.publish(
        subjects.agent_input("coder"),
        message.model_dump_json().encode(),
        headers={"Nats-Msg-Id": message.msg_id},
    )

    config = make_config({"coder": {}})
    async with orchestrator_without_agents(nats_clients, migrated_engine, data_dir, config):

        async def caught_up() -> bool:
            return await stored(migrated_engine, message.msg_id) == ["sent while it was down"]

        await wait_until(caught_up, 30)
