"""Messages are stored once per bus msg_id and read back in (created_at, id) order."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from praktor_common.db.agents import upsert_agent
from praktor_common.db.engine import session_factory
from praktor_common.db.messages import agent_history, insert_message, latest_messages
from praktor_common.db.models import Message

pytestmark = pytest.mark.integration

T0 = dt.datetime(2026, 2, 17, 4, 35, tzinfo=dt.UTC)


@pytest.fixture
async def sessions(migrated_engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    factory = session_factory(migrated_engine)
    async with factory.begin() as session:
        await upsert_agent(session, id="coder", workspace="coder")
        await upsert_agent(session, id="helper", workspace="helper")
    return factory


async def _add(
    session: AsyncSession,
    msg_id: str,
    content: str,
    *,
    agent_id: str = "coder",
    at: dt.datetime | None = None,
) -> int | None:
    return await insert_message(
        session,
        msg_id=msg_id,
        agent_id=agent_id,
        sender="user",
        role="user",
        content=content,
        created_at=at,
    )


async def test_the_same_msg_id_twice_is_stored_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        first = await _add(session, "msg-1", "hello")
    async with sessions.begin() as session:
        again = await _add(session, "msg-1", "hello, redelivered")

    assert first is not None
    assert again is None
    async with sessions() as session:
        rows = (await session.scalars(select(Message))).all()
    assert [(m.msg_id, m.content) for m in rows] == [("msg-1", "hello")]


async def test_concurrent_redeliveries_store_one_row(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async def deliver() -> int | None:
        async with sessions.begin() as session:
            return await _add(session, "msg-1", "hello")

    results = await asyncio.gather(*(deliver() for _ in range(8)))

    assert sum(r is not None for r in results) == 1
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Message)) == 1


async def test_metadata_and_origin_round_trip_as_json(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        await insert_message(
            session,
            msg_id="m",
            agent_id="coder",
            sender="agent",
            role="assistant",
            content="done",
            meta={"terminal_reason": "max_turns"},
            origin={"channel": "telegram", "chat_id": 42},
        )
    async with sessions() as session:
        message = await session.scalar(select(Message))
    assert message is not None
    assert message.meta == {"terminal_reason": "max_turns"}
    assert message.origin == {"channel": "telegram", "chat_id": 42}


async def test_an_unknown_role_is_refused(sessions: async_sessionmaker[AsyncSession]) -> None:
    with pytest.raises(IntegrityError, match="ck_messages_role"):
        async with sessions.begin() as session:
            await insert_message(
                session, msg_id="m", agent_id="coder", sender="x", role="robot", content="c"
            )


async def test_history_is_the_newest_messages_oldest_first_with_id_breaking_ties(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        await _add(session, "a", "first", at=T0)
        # Same instant: insertion order (id) decides.
        await _add(session, "b", "second", at=T0 + dt.timedelta(seconds=1))
        await _add(session, "c", "third", at=T0 + dt.timedelta(seconds=1))
        await _add(session, "d", "fourth", at=T0 + dt.timedelta(seconds=1))
        await _add(session, "x", "other agent", agent_id="helper", at=T0)

    async with sessions() as session:
        everything = await agent_history(session, "coder")
        newest_two = await agent_history(session, "coder", limit=2)

    assert [m.content for m in everything] == ["first", "second", "third", "fourth"]
    assert [m.content for m in newest_two] == ["third", "fourth"]


async def test_history_with_no_limit_returns_the_last_fifty(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        for i in range(55):
            await _add(session, f"m{i}", f"message {i}", at=T0)

    async with sessions() as session:
        history = await agent_history(session, "coder", limit=0)

    assert len(history) == 50
    assert history[0].content == "message 5"
    assert history[-1].content == "message 54"


async def test_latest_messages_of_all_agents_come_newest_first(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        await _add(session, "a", "coder old", at=T0)
        await _add(session, "b", "helper new", agent_id="helper", at=T0 + dt.timedelta(hours=1))
        await _add(session, "c", "coder new", at=T0 + dt.timedelta(hours=1))

    async with sessions() as session:
        latest = await latest_messages(session, limit=2)

    assert [m.content for m in latest] == ["coder new", "helper new"]
