"""Token usage is counted per agent, UTC day and model, atomically."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from praktor_common.db.engine import session_factory
from praktor_common.db.models import AgentTokenUsage, utcnow
from praktor_common.db.usage import record_token_usage

pytestmark = pytest.mark.integration


async def test_concurrent_requests_add_up(migrated_engine: AsyncEngine) -> None:
    sessions = session_factory(migrated_engine)

    async def request() -> None:
        async with sessions.begin() as session:
            await record_token_usage(
                session,
                agent_id="swarm-1234abcd-writer",  # not in agents: swarm members count too
                model="claude-sonnet",
                input_tokens=100,
                output_tokens=10,
                cache_read_input_tokens=5,
            )

    await asyncio.gather(*(request() for _ in range(10)))

    async with sessions() as session:
        rows = (await session.scalars(select(AgentTokenUsage))).all()
    assert [
        (r.agent_id, r.day, r.model, r.requests, r.input_tokens, r.output_tokens) for r in rows
    ] == [("swarm-1234abcd-writer", utcnow().date(), "claude-sonnet", 10, 1000, 100)]
    assert rows[0].cache_read_input_tokens == 50


async def test_days_and_models_are_counted_apart(migrated_engine: AsyncEngine) -> None:
    sessions = session_factory(migrated_engine)
    day = dt.date(2026, 2, 17)
    async with sessions.begin() as session:
        await record_token_usage(session, agent_id="coder", model="a", input_tokens=1, day=day)
        await record_token_usage(session, agent_id="coder", model="b", input_tokens=2, day=day)
        await record_token_usage(
            session, agent_id="coder", model="a", input_tokens=4, day=day + dt.timedelta(days=1)
        )

    async with sessions() as session:
        rows = (
            await session.scalars(
                select(AgentTokenUsage).order_by(AgentTokenUsage.day, AgentTokenUsage.model)
            )
        ).all()
    assert [(r.day.day, r.model, r.input_tokens) for r in rows] == [
        (17, "a", 1),
        (17, "b", 2),
        (18, "a", 4),
    ]
