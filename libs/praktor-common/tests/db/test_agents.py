"""Agents leave the config by being marked removed; their history stays."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from praktor_common.db.agents import mark_removed_except, upsert_agent
from praktor_common.db.engine import session_factory
from praktor_common.db.messages import agent_history, insert_message
from praktor_common.db.models import Agent, Message, ScheduledTask

pytestmark = pytest.mark.integration


async def test_an_agent_removed_from_the_config_is_marked_and_keeps_its_messages(
    migrated_engine: AsyncEngine,
) -> None:
    sessions = session_factory(migrated_engine)
    async with sessions.begin() as session:
        await upsert_agent(session, id="coder", workspace="coder")
        await upsert_agent(session, id="helper", workspace="helper")
        await insert_message(
            session, msg_id="m1", agent_id="coder", sender="user", role="user", content="hi"
        )

    async with sessions.begin() as session:
        removed = await mark_removed_except(session, ["helper"])

    assert removed == ["coder"]
    async with sessions() as session:
        coder = await session.get_one(Agent, "coder")
        helper = await session.get_one(Agent, "helper")
        history = await agent_history(session, "coder")
    assert coder.removed_at is not None
    assert helper.removed_at is None
    assert [m.content for m in history] == ["hi"]


async def test_marking_again_does_not_touch_agents_already_removed(
    migrated_engine: AsyncEngine,
) -> None:
    sessions = session_factory(migrated_engine)
    async with sessions.begin() as session:
        await upsert_agent(session, id="coder", workspace="coder")
        assert await mark_removed_except(session, []) == ["coder"]
        assert await mark_removed_except(session, []) == []


async def test_an_agent_added_back_to_the_config_is_live_again_with_its_session(
    migrated_engine: AsyncEngine,
) -> None:
    sessions = session_factory(migrated_engine)
    async with sessions.begin() as session:
        await upsert_agent(session, id="coder", workspace="coder", description="old")
        coder = await session.get_one(Agent, "coder")
        coder.session_id = "claude-session-1"
    async with sessions.begin() as session:
        await mark_removed_except(session, [])
    async with sessions.begin() as session:
        await upsert_agent(session, id="coder", workspace="coder", description="new")

    async with sessions() as session:
        coder = await session.get_one(Agent, "coder")
    assert coder.removed_at is None
    assert coder.description == "new"
    assert coder.name == "coder"
    assert coder.session_id == "claude-session-1"


async def test_deleting_an_agent_with_history_is_refused_by_the_database(
    migrated_engine: AsyncEngine,
) -> None:
    sessions = session_factory(migrated_engine)
    async with sessions.begin() as session:
        await upsert_agent(session, id="coder", workspace="coder")
        await insert_message(
            session, msg_id="m1", agent_id="coder", sender="user", role="user", content="hi"
        )

    with pytest.raises(IntegrityError, match="fk_messages_agent_id_agents"):
        async with sessions.begin() as session:
            await session.execute(delete(Agent).where(Agent.id == "coder"))

    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Message)) == 1


async def test_scheduled_tasks_also_keep_their_agent(migrated_engine: AsyncEngine) -> None:
    sessions = session_factory(migrated_engine)
    async with sessions.begin() as session:
        await upsert_agent(session, id="coder", workspace="coder")
        session.add(
            ScheduledTask(
                id="t1", agent_id="coder", name="n", schedule={"kind": "cron"}, prompt="p"
            )
        )

    with pytest.raises(IntegrityError, match="fk_scheduled_tasks_agent_id_agents"):
        async with sessions.begin() as session:
            await session.execute(delete(Agent))


async def test_two_live_agents_cannot_share_a_workspace_but_a_removed_one_frees_it(
    migrated_engine: AsyncEngine,
) -> None:
    sessions = session_factory(migrated_engine)
    async with sessions.begin() as session:
        await upsert_agent(session, id="coder", workspace="shared")

    with pytest.raises(IntegrityError, match="uq_agents_workspace_live"):
        async with sessions.begin() as session:
            await upsert_agent(session, id="helper", workspace="shared")

    async with sessions.begin() as session:
        await mark_removed_except(session, [])
        await upsert_agent(session, id="helper", workspace="shared")
