"""What was sent for each reply: the ``telegram_replies`` table (owner: gateway-telegram).

One row per (reply key, chat, chunk). A row is written *before* its message
exists (``pending``, no message id), gets the Telegram message id as soon as
the message exists, and becomes ``sent`` when its content is final, or
``failed`` with the reason. A redelivered reply reads the rows and only
fills in what is missing, so nothing is sent twice.

The reply key is the turn's ``msg_id`` for an agent's answer (its streamed
snapshots and its final text share the rows), and ``<msg_id>:<kind>:<what>``
for notices, files and voice notes of the same turn.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from praktor_common.db import session_factory, utcnow
from praktor_common.db.models import TelegramReply

ReplyState = Literal["pending", "sent", "failed"]

ERROR_CHARS = 500
"""Most characters of an error kept on a row."""


@dataclass(frozen=True)
class ChunkRecord:
    """One recorded message of a reply."""

    index: int
    message_id: int | None
    state: ReplyState
    error: str | None = None


class ReplyRecords:
    """Reads and writes ``telegram_replies``; every write commits at once."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._sessions = session_factory(engine)

    async def load(self, key: str, chat_id: int) -> dict[int, ChunkRecord]:
        """The recorded chunks of a reply, by chunk index."""
        async with self._sessions() as session:
            rows = await session.execute(
                select(
                    TelegramReply.chunk_index,
                    TelegramReply.telegram_message_id,
                    TelegramReply.state,
                    TelegramReply.error,
                ).where(TelegramReply.msg_id == key, TelegramReply.chat_id == chat_id)
            )
            return {
                index: ChunkRecord(index, message_id, _state(state), error)
                for index, message_id, state, error in rows
            }

    async def intend(self, key: str, chat_id: int, index: int) -> None:
        """Record that chunk ``index`` is about to be sent (kept if already there)."""
        async with self._sessions.begin() as session:
            await session.execute(
                insert(TelegramReply)
                .values(msg_id=key, chat_id=chat_id, chunk_index=index, state="pending")
                .on_conflict_do_nothing()
            )

    async def placed(self, key: str, chat_id: int, index: int, message_id: int | None) -> None:
        """The chunk's message now exists as ``message_id`` (None: it is gone)."""
        await self._update(key, chat_id, index, telegram_message_id=message_id)

    async def sent(self, key: str, chat_id: int, index: int) -> None:
        """The chunk shows its final content."""
        await self._update(key, chat_id, index, state="sent", error=None, sent_at=utcnow())

    async def failed(self, key: str, chat_id: int, index: int, error: str) -> None:
        """The chunk could not be delivered, and why."""
        async with self._sessions.begin() as session:
            await session.execute(
                insert(TelegramReply)
                .values(
                    msg_id=key,
                    chat_id=chat_id,
                    chunk_index=index,
                    state="failed",
                    error=error[:ERROR_CHARS],
                )
                .on_conflict_do_update(
                    index_elements=[
                        TelegramReply.msg_id,
                        TelegramReply.chat_id,
                        TelegramReply.chunk_index,
                    ],
                    set_={"state": "failed", "error": error[:ERROR_CHARS]},
                )
            )

    async def forget(self, key: str, chat_id: int, index: int) -> None:
        """Remove a chunk the reply no longer has."""
        async with self._sessions.begin() as session:
            await session.execute(
                delete(TelegramReply).where(
                    TelegramReply.msg_id == key,
                    TelegramReply.chat_id == chat_id,
                    TelegramReply.chunk_index == index,
                )
            )

    async def _update(self, key: str, chat_id: int, index: int, **values: object) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                update(TelegramReply)
                .where(
                    TelegramReply.msg_id == key,
                    TelegramReply.chat_id == chat_id,
                    TelegramReply.chunk_index == index,
                )
                .values(**values)
            )


def _state(value: str) -> ReplyState:
    if value == "sent":
        return "sent"
    if value == "failed":
        return "failed"
    return "pending"
