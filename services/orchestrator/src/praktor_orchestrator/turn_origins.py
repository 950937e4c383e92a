"""Which chat a turn came from: its stored input (``messages``, owner: orchestrator).

An agent names the turn a tool call belongs to by its ``msg_id``; the input
row must be that agent's own, so an agent cannot send into a chat of another
agent's turn.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from praktor_common.contracts.origin import Correlation, Origin
from praktor_common.db.models import Message


@dataclass(frozen=True)
class Turn:
    """A turn's ids and the conversation it came from."""

    correlation: Correlation
    origin: Origin


class TurnOrigins:
    """Looks up an agent's turns by ``msg_id``."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    async def turn_of(self, agent_id: str, msg_id: str) -> Turn | None:
        """The turn ``msg_id`` of ``agent_id``; None when it is not that agent's stored input."""
        async with self._sessions() as session:
            row = (
                await session.execute(
                    select(Message.origin, Message.meta).where(
                        Message.msg_id == msg_id,
                        Message.agent_id == agent_id,
                        Message.role != "assistant",
                    )
                )
            ).first()
        if row is None or row.origin is None:
            return None
        meta = row.meta or {}
        try:
            return Turn(
                correlation=Correlation(
                    msg_id=msg_id,
                    task_id=meta.get("task_id"),
                    task_run_id=meta.get("task_run_id"),
                    swarm_id=meta.get("swarm_id"),
                ),
                origin=Origin.model_validate(row.origin),
            )
        except ValidationError:
            return None
