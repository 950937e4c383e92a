"""Files an agent sends (spec §7.9, §11.8): from the object store to the chat of the turn.

An ``image/…`` file goes as a photo (as a document when Telegram refuses it as
a photo, or when it is larger than a photo may be), anything else as a
document, under its own name. A caption that fits (1024 UTF-16 units) goes
under the file; a longer one follows it as a text message.

A file cannot be filled in by edits, so it is recorded before it is sent
(``<msg_id>:file:<object key>``) and counts as delivered once its message id
is recorded. A crash between the upload and that record resends the file on
redelivery: a file may, rarely, arrive twice; it never gets lost.
"""

from __future__ import annotations

import base64
import hashlib
from typing import TYPE_CHECKING, Final, Protocol

import structlog

from praktor_common.contracts.files import FileRef
from praktor_gateway_telegram.delivery.records import ReplyRecords
from praktor_gateway_telegram.delivery.sender import RefusedError, TelegramSender

if TYPE_CHECKING:
    from nats.js import JetStreamContext

log = structlog.get_logger(__name__)

PHOTO_LIMIT: Final = 10 * 1024 * 1024
"""Largest photo the Bot API takes (bigger images go as documents)."""
_PHOTO_TYPES: Final = frozenset({"image/jpeg", "image/png", "image/webp", "image/bmp"})


class FileSource(Protocol):
    """Where files named by a :class:`FileRef` are read from."""

    async def read(self, ref: FileRef) -> bytes: ...


class FileUnreadableError(Exception):
    """The object is missing, deleted or damaged."""


class ObjectStoreFiles:
    """Files in the NATS object store (the bucket and key of the ref).

    Reads the object's chunks one by one with stream message gets rather than
    through a consumer, so reading needs only what the gateway's identity
    already has for the files bucket (stream info and message get).
    """

    def __init__(self, js: JetStreamContext) -> None:
        self._js = js

    async def read(self, ref: FileRef) -> bytes:
        store = await self._js.object_store(ref.bucket)
        info = await store.get_info(ref.key)
        if info.deleted or not info.nuid:
            raise FileUnreadableError(f"{ref.name} is no longer in the object store")
        stream = f"OBJ_{ref.bucket}"
        subject = f"$O.{ref.bucket}.C.{info.nuid}"
        data = bytearray()
        seq = 1
        for _ in range(info.chunks or 0):
            message = await self._js.get_msg(stream, seq=seq, subject=subject, next=True)
            data += message.data or b""
            seq = (message.seq or seq) + 1
        if info.digest and _digest(bytes(data)) != info.digest.split("=", 1)[-1].rstrip("="):
            raise FileUnreadableError(f"{ref.name} is damaged in the object store")
        return bytes(data)


def _digest(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).decode().rstrip("=")


def as_photo(ref: FileRef) -> bool:
    """Whether a file is sent as a photo rather than as a document."""
    return ref.mime_type.lower() in _PHOTO_TYPES and ref.size <= PHOTO_LIMIT


class FileReplies:
    """Sends one file of a turn, recorded so a redelivery does not send it again."""

    def __init__(self, records: ReplyRecords, sender: TelegramSender, source: FileSource) -> None:
        self._records = records
        self._sender = sender
        self._source = source

    async def send(
        self, key: str, chat_id: int, ref: FileRef, caption: str, reply_to: int | None
    ) -> bool:
        """Send the file (False: it was already delivered)."""
        known = (await self._records.load(key, chat_id)).get(0)
        if known is not None and known.message_id is not None:
            return False
        await self._records.intend(key, chat_id, 0)
        data = await self._source.read(ref)
        photo = as_photo(ref)
        try:
            message_id = await self._sender.send_file(
                chat_id, data, name=ref.name, as_photo=photo, caption=caption, reply_to=reply_to
            )
        except RefusedError as error:
            if not photo:
                raise
            log.info("photo refused; sending it as a document", reason=error.reason)
            message_id = await self._sender.send_file(
                chat_id, data, name=ref.name, as_photo=False, caption=caption, reply_to=reply_to
            )
        await self._records.placed(key, chat_id, 0, message_id)
        await self._records.sent(key, chat_id, 0)
        return True
