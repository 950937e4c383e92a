"""The agent last used in each chat (table ``chat_routes``, owned by the router)."""

from __future__ import annotations

import structlog
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from praktor_common.db.models import ChatRoute

log = structlog.get_logger(__name__)


class ChatRoutes:
    """Read and remember the last agent per ``(channel, chat)``."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def last_agent(self, channel: str, chat_id: str) -> str | None:
        async with self._engine.connect() as conn:
            found = await conn.scalar(
                select(ChatRoute.agent_id).where(
                    ChatRoute.channel == channel, ChatRoute.chat_id == chat_id
                )
            )
        return found

    async def remember(self, channel: str, chat_id: str, agent_id: str) -> bool:
        """Make ``agent_id`` the chat's agent; False when the agent has no row yet.

        The orchestrator writes ``agents`` from the config; an agent added a moment
        ago may not be there yet, and the chat simply keeps its previous agent.
        """
        stmt = insert(ChatRoute).values(channel=channel, chat_id=chat_id, agent_id=agent_id)
        stmt = stmt.on_conflict_do_update(
            index_elements=[ChatRoute.channel, ChatRoute.chat_id],
            set_={"agent_id": stmt.excluded.agent_id, "updated_at": func.now()},
        )
        try:
            async with self._engine.begin() as conn:
                await conn.execute(stmt)
        except IntegrityError:
            log.warning(
                "chat's agent not remembered: agent not in the database yet", agent_id=agent_id
            )
            return False
        return True
