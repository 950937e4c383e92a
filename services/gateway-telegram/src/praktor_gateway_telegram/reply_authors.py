"""Which agent wrote the bot message a person replies to, so the reply goes to that agent.

Every message the gateway sends for a turn is recorded in ``telegram_replies``
under the turn's ``msg_id`` (or ``<msg_id>:<kind>:<what>`` for its notices,
files and voice notes); the turn's input is stored in ``messages`` with its
agent (owner: orchestrator). Joining the two names the agent; a message the
gateway did not record (older, or a swarm's) names none, and the router
routes the reply as usual.
"""

from __future__ import annotations

import structlog
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from praktor_common.db import session_factory
from praktor_common.db.models import Message, TelegramReply

log = structlog.get_logger(__name__)


class ReplyAuthors:
    """Looks up the agent behind a recorded bot message."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._sessions = session_factory(engine)

    async def agent_of(self, chat_id: int, message_id: int) -> str | None:
        """The agent whose turn produced Telegram message ``message_id`` in ``chat_id``."""
        turn = func.split_part(TelegramReply.msg_id, ":", 1)
        query = (
            select(Message.agent_id)
            .join(TelegramReply, Message.msg_id == turn)
            .where(
                TelegramReply.chat_id == chat_id,
                TelegramReply.telegram_message_id == message_id,
            )
            .limit(1)
        )
        try:
            async with self._sessions() as session:
                agent: str | None = await session.scalar(query)
        except (SQLAlchemyError, OSError) as exc:  # routing then goes on without it
            log.warning("reply author unknown: database error", error=type(exc).__name__)
            return None
        return agent
