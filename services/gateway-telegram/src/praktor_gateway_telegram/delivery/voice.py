"""Spoken replies (spec §11.7 step 2, §12.3).

A final answer is sent as a voice note when speech is configured
(``speech.api_key``), ``speech.tts_enabled`` is on and ``speech.tts_mode`` is
``always``, or ``voice`` and the person's message was a voice note (the
inbound side marks such turns with :meth:`VoiceTurns.mark`). Only answers of
at most 4096 bytes are spoken. When synthesis or sending fails, the answer
goes as text instead — it is never lost.

A voice note cannot be filled in by edits, so it is recorded as
``<msg_id>:voice`` before it is sent: a redelivery that finds that row
without a message id does not risk a second voice note and sends the text.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable

import structlog

from praktor_common.config.model import SpeechConfig
from praktor_gateway_telegram.delivery.records import ReplyRecords
from praktor_gateway_telegram.delivery.sender import DeliveryError, TelegramSender

log = structlog.get_logger(__name__)

Synthesize = Callable[[str], Awaitable[bytes]]
"""Text to OGG/Opus bytes (:func:`praktor_gateway_telegram.speech.synthesize`)."""

MAX_SPOKEN_BYTES = 4096
"""Longest answer (UTF-8 bytes) that is spoken rather than written."""
TURNS_KEPT = 1000


class VoiceTurns:
    """Turns whose message from the person was a voice note (most recent kept)."""

    def __init__(self, kept: int = TURNS_KEPT) -> None:
        self._kept = kept
        self._turns: OrderedDict[str, None] = OrderedDict()

    def mark(self, msg_id: str) -> None:
        """The message of turn ``msg_id`` was a voice note."""
        self._turns[msg_id] = None
        while len(self._turns) > self._kept:
            self._turns.popitem(last=False)

    def __contains__(self, msg_id: object) -> bool:
        return msg_id in self._turns

    def take(self, msg_id: str) -> bool:
        """Whether ``msg_id`` was a voice turn; forgets it."""
        return self._turns.pop(msg_id, False) is None


def speaks(speech: SpeechConfig, *, voice_turn: bool, available: bool) -> bool:
    """Whether an answer is spoken under ``speech`` (spec §11.7 step 2)."""
    if not available or not speech.tts_enabled or not speech.api_key.get_secret_value():
        return False
    return speech.tts_mode == "always" or (speech.tts_mode == "voice" and voice_turn)


class VoiceReplies:
    """Sends an answer as a voice note, recorded so it is never sent twice."""

    def __init__(
        self, records: ReplyRecords, sender: TelegramSender, synthesize: Synthesize | None
    ) -> None:
        self._records = records
        self._sender = sender
        self._synthesize = synthesize

    @property
    def available(self) -> bool:
        return self._synthesize is not None

    async def send(self, msg_id: str, chat_id: int, text: str, reply_to: int | None) -> bool:
        """True when the answer is (now or already) in the chat as a voice note."""
        if self._synthesize is None or len(text.encode()) > MAX_SPOKEN_BYTES or not text.strip():
            return False
        key = f"{msg_id}:voice"
        known = (await self._records.load(key, chat_id)).get(0)
        if known is not None:
            return known.state == "sent"
        await self._records.intend(key, chat_id, 0)
        try:
            audio = await self._synthesize(text)
        except Exception as error:
            log.warning("speech synthesis failed; answering in text", error=str(error))
            await self._records.failed(key, chat_id, 0, f"synthesis failed: {error}")
            return False
        try:
            message_id = await self._sender.send_voice(chat_id, audio, reply_to)
        except DeliveryError as error:
            log.warning("voice note refused; answering in text", reason=error.reason)
            await self._records.failed(key, chat_id, 0, f"voice note refused: {error.reason}")
            return False
        await self._records.placed(key, chat_id, 0, message_id)
        await self._records.sent(key, chat_id, 0)
        return True
