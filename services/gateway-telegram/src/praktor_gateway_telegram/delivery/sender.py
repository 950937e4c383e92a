"""The Bot API calls delivery makes, with Telegram's answers turned into decisions.

* 429: wait ``retry_after`` (the chat is held in :class:`Pacing` meanwhile) and
  try again, a few times;
* "message is not modified": the edit already happened, which is success
  (so an edit is safe to repeat);
* entities refused: the same text again without entities (link URLs written
  out, see :func:`plain_fallback`);
* the message to edit is gone: :class:`MessageGoneError` (send it anew);
* the chat cannot be reached (bot blocked, chat gone): :class:`ChatUnreachableError`;
* anything else Telegram refuses: :class:`RefusedError` (permanent);
* network and server errors propagate: the delivery is tried again later.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import structlog
from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNotFound,
    TelegramRetryAfter,
)
from aiogram.types import BufferedInputFile, MessageEntity, ReplyParameters

from praktor_gateway_telegram.delivery.pacing import Pacing
from praktor_gateway_telegram.render import FormattedText, plain_fallback

log = structlog.get_logger(__name__)

T = TypeVar("T")

PLACEHOLDER = "…"
"""What a message shows between being recorded and being filled in."""

MAX_RETRIES = 6
"""429 answers accepted for one call before giving up on it for now."""
MAX_RETRY_AFTER = 120.0
"""Longest single wait for a 429; longer means try the delivery later."""


class DeliveryError(Exception):
    """A send Telegram refused for good; ``reason`` says why, for a person."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RefusedError(DeliveryError):
    """Telegram refused this content (the chat can still be told)."""


class ChatUnreachableError(DeliveryError):
    """The chat cannot receive anything from the bot."""


class MessageGoneError(Exception):
    """The message to edit no longer exists."""


class FloodedError(Exception):
    """Telegram kept answering 429 (or asked for a very long wait): try later."""


class TelegramSender:
    """One bot's sends, paced and retried."""

    def __init__(
        self,
        bot: Bot,
        pacing: Pacing,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.bot = bot
        self.pacing = pacing
        self._sleep = sleep

    async def placeholder(self, chat_id: int, reply_to: int | None) -> int:
        """Send an empty-looking message; its id is recorded before it is filled in."""
        message = await self._call(
            chat_id,
            lambda: self.bot.send_message(
                chat_id,
                PLACEHOLDER,
                reply_parameters=_reply(reply_to),
            ),
        )
        return message.message_id

    async def fill(self, chat_id: int, message_id: int, content: FormattedText) -> None:
        """Make message ``message_id`` show ``content`` (safe to repeat)."""
        try:
            await self._edit(chat_id, message_id, content)
        except RefusedError as error:
            if not _entities_refused(error.reason) or not content.entities:
                raise
            log.warning("telegram refused entities; sending plain text", chat_id=chat_id)
            await self._edit(chat_id, message_id, plain_fallback(content))

    async def send(self, chat_id: int, content: FormattedText, reply_to: int | None = None) -> int:
        """A new message with ``content`` (for system messages that need no record)."""
        message = await self._call(
            chat_id,
            lambda: self.bot.send_message(
                chat_id,
                content.text,
                entities=_entities(content),
                reply_parameters=_reply(reply_to),
            ),
        )
        return message.message_id

    async def draft(self, chat_id: int, draft_id: int, content: FormattedText) -> None:
        """Stream ``content`` as the chat's draft (private chats; not a message)."""
        await self._call(
            chat_id,
            lambda: self.bot.send_message_draft(
                chat_id=chat_id,
                draft_id=draft_id,
                text=content.text,
                entities=_entities(content),
            ),
            paced=False,
        )

    async def chat_action(self, chat_id: int, action: str) -> None:
        await self._call(
            chat_id, lambda: self.bot.send_chat_action(chat_id, action), paced=False, retries=0
        )

    async def delete(self, chat_id: int, message_id: int) -> None:
        try:
            await self._call(
                chat_id, lambda: self.bot.delete_message(chat_id, message_id), paced=False
            )
        except (RefusedError, MessageGoneError):
            log.info("message already gone", chat_id=chat_id, message_id=message_id)

    async def send_file(
        self,
        chat_id: int,
        data: bytes,
        *,
        name: str,
        as_photo: bool,
        caption: str,
        reply_to: int | None,
    ) -> int:
        """A photo or a document with an optional plain caption."""
        upload = BufferedInputFile(data, filename=name)
        if as_photo:
            message = await self._call(
                chat_id,
                lambda: self.bot.send_photo(
                    chat_id, upload, caption=caption or None, reply_parameters=_reply(reply_to)
                ),
            )
        else:
            message = await self._call(
                chat_id,
                lambda: self.bot.send_document(
                    chat_id, upload, caption=caption or None, reply_parameters=_reply(reply_to)
                ),
            )
        return message.message_id

    async def send_voice(self, chat_id: int, data: bytes, reply_to: int | None) -> int:
        upload = BufferedInputFile(data, filename="voice.ogg")
        message = await self._call(
            chat_id,
            lambda: self.bot.send_voice(chat_id, upload, reply_parameters=_reply(reply_to)),
        )
        return message.message_id

    async def _edit(self, chat_id: int, message_id: int, content: FormattedText) -> None:
        try:
            await self._call(
                chat_id,
                lambda: self.bot.edit_message_text(
                    text=content.text,
                    chat_id=chat_id,
                    message_id=message_id,
                    entities=_entities(content),
                ),
            )
        except RefusedError as error:
            if "not modified" in error.reason:
                return
            if "message to edit not found" in error.reason:
                raise MessageGoneError(error.reason) from error
            raise

    async def _call(
        self,
        chat_id: int,
        call: Callable[[], Awaitable[T]],
        *,
        paced: bool = True,
        retries: int = MAX_RETRIES,
    ) -> T:
        attempt = 0
        while True:
            if paced:
                await self.pacing.acquire(chat_id)
            try:
                return await call()
            except TelegramRetryAfter as error:
                wait = float(error.retry_after)
                self.pacing.hold(chat_id, wait)
                attempt += 1
                if attempt > retries or wait > MAX_RETRY_AFTER:
                    raise FloodedError(
                        f"Telegram asked to wait {error.retry_after} s in chat {chat_id}"
                    ) from error
                log.info("telegram flood control", chat_id=chat_id, retry_after=wait)
                await self._sleep(wait)
            except TelegramForbiddenError as error:
                raise ChatUnreachableError(_reason(error)) from error
            except TelegramBadRequest as error:
                reason = _reason(error)
                if "chat not found" in reason:
                    raise ChatUnreachableError(reason) from error
                raise RefusedError(reason) from error
            except TelegramNotFound as error:
                raise RefusedError(_reason(error)) from error


def _reason(error: Exception) -> str:
    message = getattr(error, "message", None)
    return str(message) if message else str(error)


def _entities_refused(reason: str) -> bool:
    return "can't parse entities" in reason or "entit" in reason.lower()


def _entities(content: FormattedText) -> list[MessageEntity] | None:
    if not content.entities:
        return None
    return [MessageEntity(**entity.to_bot_api()) for entity in content.entities]


def _reply(reply_to: int | None) -> ReplyParameters | None:
    if reply_to is None:
        return None
    return ReplyParameters(message_id=reply_to, allow_sending_without_reply=True)
