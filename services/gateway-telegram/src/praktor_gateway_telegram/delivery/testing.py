"""Test support for delivery: the fake Bot API, a real aiogram Bot, a database.

:class:`Harness` builds :class:`TelegramDelivery` objects the way the service
does (each one is "a process": a new one after a crash has none of the old
one's memory) and deliveries as the orchestrator publishes them. The pytest
fixture that makes one lives in the tests' ``conftest.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiogram import Bot
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from praktor_common.config import PraktorConfig
from praktor_common.contracts.deliver import Delivery, Notice
from praktor_common.contracts.files import FileRef
from praktor_common.contracts.origin import Origin
from praktor_common.db import session_factory
from praktor_common.db.models import TelegramReply
from praktor_common.ids import new_id
from praktor_common.testing.fake_telegram import FakeTelegram
from praktor_gateway_telegram.delivery.deliverer import TelegramDelivery
from praktor_gateway_telegram.delivery.pacing import Limits

PRIVATE = 4242
"""A private chat (positive id: the person's id)."""
GROUP = -100777
"""A supergroup."""
PERSON_MESSAGE = 1
"""The person's message every reply answers (pushed first into each chat)."""


def make_config(**speech: Any) -> PraktorConfig:
    return PraktorConfig.model_validate(
        {
            "timezone": "UTC",
            "agents": {"main": {}, "coder": {}},
            "router": {"default_agent": "main"},
            "speech": speech,
        }
    )


class MemoryFiles:
    """Files by object key (the object store is tested on its own)."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}

    async def read(self, ref: FileRef) -> bytes:
        return self.files[ref.key]


@dataclass
class Harness:
    fake: FakeTelegram
    bot: Bot
    engine: AsyncEngine
    config: PraktorConfig = field(default_factory=make_config)
    files: MemoryFiles = field(default_factory=MemoryFiles)
    made: list[TelegramDelivery] = field(default_factory=list)

    def delivery(self, **overrides: Any) -> TelegramDelivery:
        """A fresh gateway process (no pacing unless ``limits`` is given)."""
        options: dict[str, Any] = {"limits": Limits.off(), "files": self.files}
        options.update(overrides)
        made = TelegramDelivery(
            bot=self.bot, engine=self.engine, config=lambda: self.config, **options
        )
        self.made.append(made)
        return made

    def person_writes(self, chat_id: int, text: str = "question") -> int:
        """The person's message a reply answers; returns its message id."""
        update = self.fake.push_text(chat_id, text)
        return int(update["message"]["message_id"])

    @staticmethod
    def origin(chat_id: int) -> Origin:
        return Origin(
            channel="telegram",
            chat_id=str(chat_id),
            user_id=str(chat_id if chat_id > 0 else 7),
            message_id=str(PERSON_MESSAGE),
        )

    def final(
        self,
        chat_id: int,
        content: str,
        *,
        msg_id: str | None = None,
        agent: str = "main",
        terminal_reason: str | None = None,
    ) -> Delivery:
        return Delivery(
            msg_id=msg_id or new_id(),
            origin=self.origin(chat_id),
            kind="final",
            agent_id=agent,
            content=content,
            reply_to=str(PERSON_MESSAGE),
            terminal_reason=terminal_reason,
        )

    def snapshot(self, chat_id: int, content: str, seq: int, msg_id: str) -> Delivery:
        return Delivery(
            msg_id=msg_id,
            origin=self.origin(chat_id),
            kind="text",
            agent_id="main",
            content=content,
            seq=seq,
            reply_to=str(PERSON_MESSAGE),
        )

    def notice(
        self,
        chat_id: int,
        text: str,
        *,
        error: bool = False,
        msg_id: str | None = None,
        markdown: bool = False,
    ) -> Delivery:
        return Delivery(
            msg_id=msg_id or new_id(),
            origin=self.origin(chat_id),
            kind="error" if error else "notice",
            notice=Notice(code="info", text=text, markdown=markdown),
            reply_to=str(PERSON_MESSAGE),
        )

    def file(
        self,
        chat_id: int,
        data: bytes,
        *,
        name: str,
        mime_type: str,
        caption: str = "",
        msg_id: str | None = None,
    ) -> Delivery:
        key = f"files/{new_id()}/{name}"
        self.files.files[key] = data
        ref = FileRef(
            bucket="praktor-files", key=key, name=name, mime_type=mime_type, size=len(data)
        )
        return Delivery(
            msg_id=msg_id or new_id(),
            origin=self.origin(chat_id),
            kind="file",
            agent_id="main",
            content=caption,
            file=ref,
            reply_to=str(PERSON_MESSAGE),
        )

    def texts(self, chat_id: int) -> list[str]:
        """What the bot's messages in the chat show now, oldest first."""
        return [m.text for m in self.fake.sent_messages(chat_id)]

    async def rows(self, key: str) -> list[tuple[int, int | None, str, str | None]]:
        """``telegram_replies`` of a reply: (chunk, message id, state, error)."""
        async with session_factory(self.engine)() as session:
            found = await session.execute(
                select(
                    TelegramReply.chunk_index,
                    TelegramReply.telegram_message_id,
                    TelegramReply.state,
                    TelegramReply.error,
                )
                .where(TelegramReply.msg_id == key)
                .order_by(TelegramReply.chunk_index)
            )
            return [tuple(row) for row in found]  # type: ignore[misc]
