"""Showing a reply as recorded messages: placeholder first, then edits (never doubled).

For each chunk of a reply:

1. the row is written (``pending``, no message yet);
2. a placeholder message (``…``) is sent and its id recorded at once;
3. the placeholder is edited to the chunk's content (an edit is safe to repeat);
4. on the final content the row becomes ``sent``.

A crash between any two steps is repaired by the redelivery: a row with a
message id is edited again (no new message); a row without one gets its
placeholder. The only trace a crash can leave is one placeholder sent but not
yet recorded: a ``…`` message, never the reply's text twice.
"""

from __future__ import annotations

from collections.abc import Sequence

import structlog

from praktor_gateway_telegram.delivery.records import ReplyRecords
from praktor_gateway_telegram.delivery.sender import (
    DeliveryError,
    MessageGoneError,
    TelegramSender,
)
from praktor_gateway_telegram.render import FormattedText

log = structlog.get_logger(__name__)


class ReplyWriter:
    """Makes a chat show a reply's chunks, using the records to never send one twice."""

    def __init__(self, records: ReplyRecords, sender: TelegramSender) -> None:
        self.records = records
        self.sender = sender

    async def finished(self, key: str, chat_id: int) -> bool:
        """True when the reply's final content is already shown (or failed for good)."""
        records = await self.records.load(key, chat_id)
        return any(record.state != "pending" for record in records.values())

    async def show(
        self,
        key: str,
        chat_id: int,
        chunks: Sequence[FormattedText],
        *,
        reply_to: int | None,
        final: bool,
    ) -> None:
        """Show ``chunks`` as the reply ``key`` in ``chat_id``.

        ``final=False`` (a streamed snapshot) leaves the rows ``pending``;
        ``final=True`` marks them ``sent`` and removes messages of chunks the
        final text no longer has.
        """
        records = await self.records.load(key, chat_id)
        for index, chunk in enumerate(chunks):
            record = records.get(index)
            if record is not None and record.state == "sent":
                continue
            if record is None:
                await self.records.intend(key, chat_id, index)
            message_id = record.message_id if record is not None else None
            try:
                await self._fill(
                    key, chat_id, index, message_id, chunk, reply_to if index == 0 else None
                )
            except DeliveryError as error:
                await self.records.failed(key, chat_id, index, error.reason)
                raise
            if final:
                await self.records.sent(key, chat_id, index)
        if final:
            for index in sorted(set(records) - set(range(len(chunks)))):
                extra = records[index]
                if extra.message_id is not None:
                    await self.sender.delete(chat_id, extra.message_id)
                await self.records.forget(key, chat_id, index)

    async def settle(self, key: str, chat_id: int) -> None:
        """Keep what the chat shows as the final reply (an empty final after a stream)."""
        for index, record in (await self.records.load(key, chat_id)).items():
            if record.state == "pending" and record.message_id is not None:
                await self.records.sent(key, chat_id, index)

    async def _fill(
        self,
        key: str,
        chat_id: int,
        index: int,
        message_id: int | None,
        chunk: FormattedText,
        reply_to: int | None,
    ) -> None:
        for _ in range(2):
            if message_id is None:
                message_id = await self.sender.placeholder(chat_id, reply_to)
                await self.records.placed(key, chat_id, index, message_id)
            try:
                await self.sender.fill(chat_id, message_id, chunk)
            except MessageGoneError:
                log.info("recorded message is gone; sending it anew", chat_id=chat_id, key=key)
                await self.records.placed(key, chat_id, index, None)
                message_id = None
            else:
                return
        raise MessageGoneError(f"message of chunk {index} disappeared twice")
