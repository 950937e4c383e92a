"""Every timestamp is an instant in UTC, whatever the local or session time zone."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncEngine

from praktor_common.db.agents import upsert_agent
from praktor_common.db.engine import make_engine, session_factory
from praktor_common.db.messages import insert_message
from praktor_common.db.models import Agent, Message, NaiveDatetimeError, utcnow

pytestmark = pytest.mark.integration

KATHMANDU = dt.timezone(dt.timedelta(hours=5, minutes=45))


@pytest.fixture
def local_time_in_kathmandu(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "Asia/Kathmandu")
    time.tzset()
    assert time.strftime("%z") == "+0545"
    yield
    monkeypatch.undo()
    time.tzset()


def test_utcnow_is_aware_and_utc(local_time_in_kathmandu: None) -> None:
    now = utcnow()
    assert now.tzinfo is dt.UTC
    assert abs(now.timestamp() - time.time()) < 5


async def test_server_defaults_come_back_as_utc_instants(
    migrated_engine: AsyncEngine, local_time_in_kathmandu: None
) -> None:
    sessions = session_factory(migrated_engine)
    before = utcnow()
    async with sessions.begin() as session:
        await upsert_agent(session, id="coder", workspace="coder")
    after = utcnow()

    async with sessions() as session:
        agent = await session.get_one(Agent, "coder")
    assert agent.created_at.utcoffset() == dt.timedelta(0)
    assert before - dt.timedelta(seconds=5) <= agent.created_at <= after + dt.timedelta(seconds=5)


async def test_an_aware_value_in_another_zone_is_stored_as_the_same_instant(
    migrated_engine: AsyncEngine, local_time_in_kathmandu: None
) -> None:
    local = dt.datetime(2026, 2, 17, 10, 20, tzinfo=KATHMANDU)
    sessions = session_factory(migrated_engine)
    async with sessions.begin() as session:
        await upsert_agent(session, id="coder", workspace="coder")
        await insert_message(
            session,
            msg_id="m",
            agent_id="coder",
            sender="user",
            role="user",
            content="hi",
            created_at=local,
        )

    async with sessions() as session:
        stored = await session.scalar(select(Message.created_at))
        as_text = await session.scalar(text("SELECT created_at::text FROM messages"))
    assert stored == local
    assert stored is not None
    assert stored.utcoffset() == dt.timedelta(0)
    assert (stored.hour, stored.minute) == (4, 35)
    assert as_text == "2026-02-17 04:35:00+00"


async def test_a_naive_datetime_is_refused(migrated_engine: AsyncEngine) -> None:
    sessions = session_factory(migrated_engine)
    async with sessions.begin() as session:
        await upsert_agent(session, id="coder", workspace="coder")

    async def mark_removed(at: dt.datetime) -> None:
        async with sessions.begin() as session:
            agent = await session.get_one(Agent, "coder")
            agent.removed_at = at

    with pytest.raises(StatementError) as caught:
        await mark_removed(dt.datetime(2026, 2, 17, 10, 20))
    assert isinstance(caught.value.orig, NaiveDatetimeError)


async def test_values_are_utc_even_when_the_session_time_zone_is_not(
    migrated_database_url: str,
) -> None:
    engine = make_engine(
        migrated_database_url, connect_args={"server_settings": {"timezone": "Asia/Kathmandu"}}
    )
    try:
        sessions = session_factory(engine)
        async with sessions.begin() as session:
            assert await session.scalar(text("SHOW timezone")) == "Asia/Kathmandu"
            await upsert_agent(session, id="coder", workspace="coder")
            agent = await session.get_one(Agent, "coder")
            await session.refresh(agent)
        assert agent.created_at.utcoffset() == dt.timedelta(0)
    finally:
        await engine.dispose()


async def test_engine_sessions_run_in_utc(migrated_engine: AsyncEngine) -> None:
    async with migrated_engine.connect() as connection:
        assert await connection.scalar(text("SHOW timezone")) == "UTC"
