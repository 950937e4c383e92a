"""Counting model tokens per agent and day (owner: model-proxy)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from praktor_common.db.models import AgentTokenUsage, utcnow


async def record_token_usage(
    session: AsyncSession,
    *,
    agent_id: str,
    model: str = "",
    input_tokens: int = 0,
    output_tokens: int = 0,
    cache_creation_input_tokens: int = 0,
    cache_read_input_tokens: int = 0,
    day: dt.date | None = None,
) -> None:
    """Add one request's usage to the ``(agent, UTC day, model)`` counters, atomically."""
    table = AgentTokenUsage.__table__
    stmt = insert(AgentTokenUsage).values(
        agent_id=agent_id,
        day=day if day is not None else utcnow().date(),
        model=model,
        requests=1,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cache_creation_input_tokens=cache_creation_input_tokens,
        cache_read_input_tokens=cache_read_input_tokens,
    )
    counters = (
        "requests",
        "input_tokens",
        "output_tokens",
        "cache_creation_input_tokens",
        "cache_read_input_tokens",
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[AgentTokenUsage.agent_id, AgentTokenUsage.day, AgentTokenUsage.model],
        set_={
            **{name: table.c[name] + stmt.excluded[name] for name in counters},
            "updated_at": func.now(),
        },
    )
    await session.execute(stmt)
