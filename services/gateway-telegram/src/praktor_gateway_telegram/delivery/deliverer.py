"""One delivery from ``deliver.telegram.<chat>`` shown in its chat.

========  ==============================================================
kind      what the chat gets
========  ==============================================================
text      the answer so far, streamed (throttled) into one growing message
          or draft; the typing indicator runs meanwhile
final     the answer (Markdown rendered, chunked), replacing the stream; or
          a voice note when spoken replies apply (:mod:`.voice`)
notice    a system message (plain text)
error     the same, and the typing indicator stops
file      the file, as a photo or a document (:mod:`.files`)
========  ==============================================================

A reply Telegram refuses for good is recorded as ``failed`` and the chat is
told (unless the chat itself is unreachable). Network errors, server errors
and long flood waits raise, so the bus delivers the message again later.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable

import structlog
from aiogram import Bot
from aiogram.types import BotCommand
from sqlalchemy.ext.asyncio import AsyncEngine

from praktor_common.bus import DeadLetterError
from praktor_common.commands import BOT_COMMANDS
from praktor_common.config import PraktorConfig
from praktor_common.contracts.deliver import Delivery
from praktor_gateway_telegram.delivery.chat_action import ChatActions
from praktor_gateway_telegram.delivery.compose import (
    caption_fits,
    notice_messages,
    reply_markdown,
    reply_messages,
)
from praktor_gateway_telegram.delivery.files import FileReplies, FileSource
from praktor_gateway_telegram.delivery.pacing import Limits, Pacing
from praktor_gateway_telegram.delivery.records import ReplyRecords
from praktor_gateway_telegram.delivery.replies import ReplyWriter
from praktor_gateway_telegram.delivery.sender import (
    ChatUnreachableError,
    DeliveryError,
    TelegramSender,
)
from praktor_gateway_telegram.delivery.stream import Streams
from praktor_gateway_telegram.delivery.voice import (
    Synthesize,
    VoiceReplies,
    VoiceTurns,
    speaks,
)
from praktor_gateway_telegram.render import FormattedText, render_markdown, split_message

log = structlog.get_logger(__name__)


def failure_text(reason: str) -> str:
    """What the chat is told when a reply could not be shown."""
    return (
        f"⚠️ A reply could not be shown here (Telegram said: {reason}). "
        "Ask the agent again, or read the answer in Mission Control."
    )


def bot_commands() -> list[BotCommand]:
    """The bot menu, from the one definition of the chat commands."""
    return [BotCommand(command=c.name, description=c.description) for c in BOT_COMMANDS]


class TelegramDelivery:
    """Shows deliveries in Telegram chats; see the module docstring."""

    def __init__(
        self,
        *,
        bot: Bot,
        engine: AsyncEngine,
        config: Callable[[], PraktorConfig],
        files: FileSource | None = None,
        synthesize: Synthesize | None = None,
        limits: Limits | None = None,
        drafts: bool = True,
        typing_refresh: float = 4.0,
    ) -> None:
        self.bot = bot
        self._config = config
        self.pacing = Pacing(limits or Limits())
        self.sender = TelegramSender(bot, self.pacing)
        self.records = ReplyRecords(engine)
        self.writer = ReplyWriter(self.records, self.sender)
        self.typing = ChatActions(self.sender, refresh_every=typing_refresh)
        self.voice_turns = VoiceTurns()
        """Mark turns whose message was a voice note: ``delivery.voice_turns.mark(msg_id)``."""
        self._voice = VoiceReplies(self.records, self.sender, synthesize)
        self._files = FileReplies(self.records, self.sender, files) if files else None
        self._locks: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
        self.streams = Streams(
            self.sender, self._show_snapshot, self._lock, self.pacing.limits, drafts=drafts
        )

    async def register_commands(self) -> None:
        """``setMyCommands`` with :data:`~praktor_common.commands.BOT_COMMANDS` (errors logged)."""
        try:
            await self.bot.set_my_commands(bot_commands())
        except Exception as error:  # the menu is a convenience; delivery works without it
            log.warning("could not register the bot commands", error=str(error))

    async def close(self) -> None:
        await self.streams.close()
        await self.typing.close()

    async def handle(self, delivery: Delivery) -> None:
        """Show one delivery in its chat (see the module docstring)."""
        chat_id = _chat_id(delivery)
        reply_to = _message_id(delivery.reply_to)
        if delivery.kind == "text":
            self._stream(delivery, chat_id, reply_to)
            return
        if delivery.kind == "final":
            await self.streams.finish(delivery.msg_id)
        key = _key(delivery)
        try:
            async with self._lock(chat_id):
                if delivery.kind == "final":
                    await self._final(delivery, chat_id, reply_to)
                elif delivery.kind == "file":
                    await self._file(delivery, key, chat_id, reply_to)
                else:
                    chunks = notice_messages(delivery)
                    await self.writer.show(key, chat_id, chunks, reply_to=reply_to, final=True)
        except DeliveryError as error:
            await self._failed(delivery, chat_id, error)
        finally:
            if delivery.kind in ("final", "error"):
                await self.typing.stop(chat_id)

    def _lock(self, chat_id: int) -> asyncio.Lock:
        return self._locks[chat_id]

    def _speaks(self, delivery: Delivery) -> bool:
        return speaks(
            self._config().speech,
            voice_turn=delivery.msg_id in self.voice_turns,
            available=self._voice.available,
        )

    def _stream(self, delivery: Delivery, chat_id: int, reply_to: int | None) -> None:
        if self._speaks(delivery):
            self.typing.start(chat_id, "record_voice")
            return
        self.typing.start(chat_id)
        markdown = reply_markdown(delivery, self._config().router.default_agent)
        self.streams.offer(
            delivery.msg_id, chat_id, delivery.seq, reply_messages(markdown), reply_to
        )

    async def _show_snapshot(
        self, key: str, chat_id: int, chunks: list[FormattedText], reply_to: int | None
    ) -> None:
        if await self.writer.finished(key, chat_id):
            return
        await self.writer.show(key, chat_id, chunks, reply_to=reply_to, final=False)

    async def _final(self, delivery: Delivery, chat_id: int, reply_to: int | None) -> None:
        spoken = self._speaks(delivery) and not delivery.terminal_reason
        self.voice_turns.take(delivery.msg_id)
        if spoken:
            text = render_markdown(delivery.content).text
            if await self._voice.send(delivery.msg_id, chat_id, text, reply_to):
                return
        markdown = reply_markdown(delivery, self._config().router.default_agent)
        chunks = reply_messages(markdown)
        if chunks:
            await self.writer.show(delivery.msg_id, chat_id, chunks, reply_to=reply_to, final=True)
        else:
            await self.writer.settle(delivery.msg_id, chat_id)

    async def _file(self, delivery: Delivery, key: str, chat_id: int, reply_to: int | None) -> None:
        ref = delivery.file
        if ref is None:  # the contract guarantees a ref for kind "file"
            return
        if self._files is None:
            raise DeliveryError("this gateway cannot read files from the object store")
        caption = delivery.content.strip()
        fits = caption_fits(caption)
        await self._files.send(key, chat_id, ref, caption if fits else "", reply_to)
        if caption and not fits:
            chunks = split_message(FormattedText(caption))
            await self.writer.show(f"{key}:caption", chat_id, chunks, reply_to=None, final=True)

    async def _failed(self, delivery: Delivery, chat_id: int, error: DeliveryError) -> None:
        log.error(
            "reply not delivered",
            chat_id=chat_id,
            msg_id=delivery.msg_id,
            kind=delivery.kind,
            reason=error.reason,
        )
        if isinstance(error, ChatUnreachableError):
            return
        try:
            await self.sender.send(chat_id, FormattedText(failure_text(error.reason)))
        except Exception as report_error:
            log.error("could not tell the chat", chat_id=chat_id, error=str(report_error))


def _key(delivery: Delivery) -> str:
    """The records key of a delivery (see :mod:`.records`)."""
    if delivery.kind in ("text", "final"):
        return delivery.msg_id
    if delivery.kind == "file" and delivery.file is not None:
        return f"{delivery.msg_id}:file:{delivery.file.key}"
    code = delivery.notice.code if delivery.notice is not None else ""
    return f"{delivery.msg_id}:{delivery.kind}:{code}:{delivery.seq}"


def _chat_id(delivery: Delivery) -> int:
    try:
        return int(delivery.origin.chat_id)
    except ValueError:
        raise DeadLetterError(
            f"chat id {delivery.origin.chat_id!r} is not a Telegram chat id"
        ) from None


def _message_id(token: str | None) -> int | None:
    if token is None:
        return None
    try:
        return int(token)
    except ValueError:
        return None
