"""Storing and reading conversation messages (owner: orchestrator)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from praktor_common.db.models import Message

DEFAULT_HISTORY_LIMIT = 50


async def insert_message(
    session: AsyncSession,
    *,
    msg_id: str,
    agent_id: str,
    sender: str,
    role: str,
    content: str,
    meta: dict[str, Any] | None = None,
    origin: dict[str, Any] | None = None,
    created_at: dt.datetime | None = None,
) -> int | None:
    """Store a message once per ``msg_id``.

    Returns the new row id, or ``None`` when a message with this ``msg_id``
    is already stored (a redelivery); the stored row is left unchanged.
    ``created_at`` defaults to the database's ``now()``.
    """
    values: dict[str, Any] = {
        "msg_id": msg_id,
        "agent_id": agent_id,
        "sender": sender,
        "role": role,
        "content": content,
        "meta": meta,
        "origin": origin,
    }
    if created_at is not None:
        values["created_at"] = created_at
    stmt = (
        insert(Message)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[Message.msg_id])
        .returning(Message.id)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def agent_history(
    session: AsyncSession, agent_id: str, limit: int = DEFAULT_HISTORY_LIMIT
) -> Sequence[Message]:
    """The newest ``limit`` messages of ``agent_id``, oldest first (``limit <= 0`` means 50).

    Order is ``(created_at, id)``: messages stored in the same instant keep
    their insertion order.
    """
    newest = (
        select(Message)
        .where(Message.agent_id == agent_id)
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(limit if limit > 0 else DEFAULT_HISTORY_LIMIT)
    )
    rows = (await session.scalars(newest)).all()
    return list(reversed(rows))


async def latest_messages(session: AsyncSession, limit: int = 10) -> Sequence[Message]:
    """The newest ``limit`` messages of all agents, newest first."""
    stmt = select(Message).order_by(Message.created_at.desc(), Message.id.desc()).limit(limit)
    return (await session.scalars(stmt)).all()
