"""One unit of updates → access check → files and voice → one published inbound message.

:class:`InboundHandler` is what the poller calls for every
:class:`~praktor_gateway_telegram.albums.Unit`. It returns once the unit is
dealt with: published and acknowledged by JetStream, or deliberately not
published (a refused sender, a voice note with voice off, nothing left). It
raises when the unit should be tried again (the bus or the database did not
answer); the poller then keeps the offset where it is.

Voice notes (not in albums) are transcribed before publishing, so the router
routes on what was said (spec §20 item 15): the transcript travels as
``voice_transcript`` and the audio is not kept. When transcription fails the
note is passed on as an ordinary file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import aiohttp
import structlog
from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from faststream.nats import NatsBroker
from nats.js.object_store import ObjectStore
from pydantic import ValidationError

from praktor_common.bus import publish_model
from praktor_common.config.model import PraktorConfig
from praktor_common.contracts.files import Attachment
from praktor_common.contracts.inbound import InboundMessage, ReplyTo
from praktor_common.contracts.origin import Origin
from praktor_common.subjects import inbound
from praktor_gateway_telegram import access, files, replies
from praktor_gateway_telegram.albums import Unit
from praktor_gateway_telegram.speech import SpeechClient, SpeechError, SpeechSettings
from praktor_gateway_telegram.updates import FileToFetch, Incoming

log = structlog.get_logger(__name__)


class Senders(Protocol):
    """What the handler needs of :class:`~praktor_gateway_telegram.senders.SenderStore`."""

    async def status(self, user_id: int) -> access.SenderStatus | None: ...

    async def refused(
        self, user_id: int, username: str | None, display_name: str | None
    ) -> bool: ...


class ReplyAuthorLookup(Protocol):
    """What the handler needs of :class:`~praktor_gateway_telegram.reply_authors.ReplyAuthors`."""

    async def agent_of(self, chat_id: int, message_id: int) -> str | None: ...


@dataclass
class Gathered:
    """What the files of a unit turned into."""

    attachments: list[Attachment] = field(default_factory=list)
    transcript: str | None = None
    notices: list[str] = field(default_factory=list)
    stop: bool = False
    """True when the unit must not be published (the sender was told why)."""


class InboundHandler:
    """Publishes units; see the module docstring."""

    def __init__(
        self,
        bot: Bot,
        broker: NatsBroker,
        objects: Callable[[], ObjectStore] | ObjectStore,
        senders: Senders,
        config: Callable[[], PraktorConfig],
        *,
        on_published: Callable[[InboundMessage], None] | None = None,
        reply_authors: ReplyAuthorLookup | None = None,
    ) -> None:
        self.bot = bot
        self.reply_authors = reply_authors
        self.on_published = on_published
        self.broker = broker
        self._objects = objects
        self.senders = senders
        self.config = config

    @property
    def objects(self) -> ObjectStore:
        return self._objects if isinstance(self._objects, ObjectStore) else self._objects()

    async def handle(self, unit: Unit) -> InboundMessage | None:
        """Deal with ``unit``; the published message, or None when nothing was published."""
        first = unit.first
        if not await self.admitted(first):
            return None
        gathered = await self.gather(unit)
        for notice in gathered.notices:
            await self.say(first.chat_id, notice, first.message_id)
        if gathered.stop:
            return None
        message = build_message(
            unit, gathered.attachments, gathered.transcript, await self.reply_author(first)
        )
        if message is None:
            return None
        await publish_model(
            self.broker, inbound("telegram", first.chat_id), message, message.dedupe_id
        )
        log.info(
            "inbound published",
            dedupe_id=message.dedupe_id,
            chat_id=first.chat_id,
            files=len(message.attachments),
            voice=message.voice_transcript is not None,
        )
        if self.on_published is not None:
            self.on_published(message)
        return message

    async def reply_author(self, first: Incoming) -> str | None:
        """The agent that wrote the bot message ``first`` replies to, when recorded."""
        if first.reply_to_message_id is None or self.reply_authors is None:
            return None
        return await self.reply_authors.agent_of(first.chat_id, first.reply_to_message_id)

    async def admitted(self, first: Incoming) -> bool:
        """True when the sender may talk to the bot; tells a new refused sender why not."""
        allow_from = self.config().telegram.allow_from
        if first.user_id in allow_from:
            return True
        status = await self.senders.status(first.user_id)
        if access.allowed(first.user_id, allow_from, status):
            return True
        log.warning("sender refused", user_id=first.user_id, chat_id=first.chat_id, status=status)
        if status != "denied" and await self.senders.refused(
            first.user_id, first.username, first.display_name
        ):
            await self.say(first.chat_id, access.refusal_text(first.user_id), first.message_id)
        return False

    async def gather(self, unit: Unit) -> Gathered:
        """Download each file into the object store; transcribe a voice note."""
        gathered = Gathered()
        for part in unit.parts:
            file = part.file
            if file is None:
                continue
            voice_note = file.kind == "voice" and not unit.is_album
            speech = SpeechClient(SpeechSettings.from_config(self.config().speech))
            if voice_note and not speech.enabled:
                gathered.notices.append(replies.VOICE_NOT_SET_UP)
                continue
            data = await self.fetch(file, gathered)
            if data is None:
                continue
            if voice_note:
                text = await transcribe(speech, data, file)
                if text:
                    gathered.transcript = text
                    continue
                if text == "":
                    gathered.notices.append(replies.VOICE_NOT_UNDERSTOOD)
                    continue
            gathered.attachments.append(await files.store(self.objects, part, file, data))
        lost_every_file = any(p.file for p in unit.parts) and not gathered.attachments
        gathered.stop = lost_every_file and gathered.transcript is None
        return gathered

    async def fetch(self, file: FileToFetch, gathered: Gathered) -> bytes | None:
        """The file's bytes, or None with a notice for the sender when it cannot be had."""
        try:
            return await files.download(self.bot, file)
        except files.FileTooLargeError:
            gathered.notices.append(files.too_large_text(file.name, file.size))
        except TelegramBadRequest as exc:
            log.warning("download refused", file=file.name, error=exc.message)
            gathered.notices.append(replies.could_not_download(file.name))
        except files.FileUnavailableError as exc:
            log.warning("local Bot API file not readable here", file=file.name, path=str(exc))
            gathered.notices.append(replies.could_not_download(file.name))
        return None

    async def say(self, chat_id: int, text: str, reply_to: int | None = None) -> None:
        """Tell the person something; a failure is logged, never raised."""
        try:
            await self.bot.send_message(
                chat_id,
                text,
                reply_to_message_id=reply_to,
                allow_sending_without_reply=True,
            )
        except TelegramAPIError as exc:
            log.warning("could not tell the sender", chat_id=chat_id, error=exc.message)


def build_message(
    unit: Unit,
    attachments: list[Attachment],
    transcript: str | None,
    reply_agent: str | None = None,
) -> InboundMessage | None:
    """The inbound contract for ``unit``; None when nothing is left to pass on.

    ``reply_agent`` is the agent that wrote the message replied to (the router
    sends the reply straight to it)."""
    first = unit.first
    caption = next((p.caption for p in unit.parts if p.caption), None)
    reply = None
    if first.reply_to_message_id is not None:
        reply = ReplyTo(
            message_id=str(first.reply_to_message_id),
            agent_id=reply_agent,
            text=first.reply_to_text,
        )
    try:
        return InboundMessage(
            dedupe_id=unit.dedupe_id,
            origin=Origin(
                channel="telegram",
                chat_id=str(first.chat_id),
                user_id=str(first.user_id),
                message_id=str(first.message_id),
            ),
            sender_name=first.sender_name,
            text=first.text,
            caption=caption,
            reply_to=reply,
            attachments=attachments,
            media_group_id=first.media_group_id,
            voice_transcript=transcript,
        )
    except ValidationError:
        return None


async def transcribe(speech: SpeechClient, data: bytes, file: FileToFetch) -> str | None:
    """The transcript ("" when nothing was said), or None when the speech API failed."""
    try:
        return await speech.transcribe(data, file.name, file.mime_type)
    except (SpeechError, aiohttp.ClientError, TimeoutError) as exc:
        log.warning("transcription failed; passing the voice note on as a file", error=str(exc))
        return None
