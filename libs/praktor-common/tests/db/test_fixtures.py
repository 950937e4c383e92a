"""The PostgreSQL fixtures give each test a clean database.

Some of these tests look at what the previous test in this file left behind,
so they rely on pytest's default in-file order.
"""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from praktor_common.db.agents import upsert_agent
from praktor_common.db.engine import make_engine, session_factory
from praktor_common.db.messages import insert_message
from praktor_common.db.migrate import check_schema
from praktor_common.db.models import Agent, Message

pytestmark = pytest.mark.integration

_seen: dict[str, str] = {}


async def _database_names(server_url: str) -> set[str]:
    engine = make_engine(server_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(text("SELECT datname FROM pg_database"))
            return {row[0] for row in rows}
    finally:
        await engine.dispose()


async def test_database_url_is_a_new_empty_database(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        async with engine.connect() as connection:
            name = await connection.scalar(text("SELECT current_database()"))
            tables = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
    finally:
        await engine.dispose()
    assert tables == []
    assert isinstance(name, str)
    assert name.startswith("praktor_test_")
    _seen["empty"] = name


async def test_each_test_gets_its_own_database_and_the_last_one_is_dropped(
    database_url: str, postgres_server_url: str
) -> None:
    engine = make_engine(database_url)
    try:
        async with engine.connect() as connection:
            name = await connection.scalar(text("SELECT current_database()"))
    finally:
        await engine.dispose()
    assert name != _seen["empty"]
    assert _seen["empty"] not in await _database_names(postgres_server_url)


async def test_migrated_database_url_is_at_head(migrated_database_url: str) -> None:
    engine = make_engine(migrated_database_url)
    try:
        await check_schema(engine)
    finally:
        await engine.dispose()


async def test_migrated_engine_is_at_head_and_writable(migrated_engine: AsyncEngine) -> None:
    await check_schema(migrated_engine)
    async with session_factory(migrated_engine).begin() as session:
        await upsert_agent(session, id="coder", workspace="coder")
        await insert_message(
            session, msg_id="m", agent_id="coder", sender="user", role="user", content="hi"
        )


async def test_migrated_engine_starts_with_empty_tables_and_fresh_ids(
    migrated_engine: AsyncEngine,
) -> None:
    sessions = session_factory(migrated_engine)
    async with sessions() as session:
        assert (await session.scalars(select(Agent))).all() == []
    async with sessions.begin() as session:
        await upsert_agent(session, id="coder", workspace="coder")
        new_id = await insert_message(
            session, msg_id="m", agent_id="coder", sender="user", role="user", content="hi"
        )
    assert new_id == 1
    async with sessions() as session:
        assert [m.msg_id for m in (await session.scalars(select(Message))).all()] == ["m"]
