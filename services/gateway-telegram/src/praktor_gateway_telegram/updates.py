"""What one Telegram update says, read into plain values (no I/O).

:func:`read_update` turns an aiogram ``Update`` into an :class:`Incoming`
message, or ``None`` when there is nothing to publish: an update that is not
a ``message`` (edits, channel posts, callbacks, types this code does not
know), a message without a sender, or one with neither text nor a file.
Nothing here raises on odd input; an update Telegram adds tomorrow is skipped.

Attachment names and MIME types follow spec §11.6; only the first file found
is taken (a message carries one; albums are several messages).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from aiogram.types import Message, Update

from praktor_common.contracts.files import AttachmentKind

MAX_TEXT_CHARS: Final = 32_768
"""Longest text (or caption) passed on; Telegram's own limit is 4096, a local
Bot API server or a future change may allow more, the bus must not choke."""
DEFAULT_MIME: Final = "application/octet-stream"


@dataclass(frozen=True)
class FileToFetch:
    """A file a message carries, still on Telegram's side."""

    file_id: str
    name: str
    mime_type: str
    size: int | None
    kind: AttachmentKind


@dataclass(frozen=True)
class Incoming:
    """A message from a person, as far as the gateway needs it."""

    update_id: int
    chat_id: int
    user_id: int
    message_id: int
    username: str | None
    display_name: str | None
    text: str
    caption: str | None
    file: FileToFetch | None = None
    media_group_id: str | None = None
    reply_to_message_id: int | None = None
    reply_to_text: str | None = None

    @property
    def sender_name(self) -> str | None:
        """How the sender shows: ``@username``, else the display name."""
        return f"@{self.username}" if self.username else self.display_name

    @property
    def is_voice(self) -> bool:
        return self.file is not None and self.file.kind == "voice"


def cut(text: str | None, limit: int = MAX_TEXT_CHARS) -> str | None:
    """``text`` at most ``limit`` characters, saying so when it was cut."""
    if text is None or len(text) <= limit:
        return text
    note = f"\n[… cut here: the message was {len(text)} characters long]"
    return text[: limit - len(note)] + note


def read_update(update: Update) -> Incoming | None:
    """The person's message in ``update``, or ``None`` when there is none to pass on."""
    message = update.message
    if message is None or message.from_user is None or message.from_user.is_bot:
        return None
    user = message.from_user
    text = cut(message.text) or ""
    caption = cut(message.caption) or None
    file = find_file(message)
    if not text and file is None:
        return None
    reply = message.reply_to_message
    return Incoming(
        update_id=update.update_id,
        chat_id=message.chat.id,
        user_id=user.id,
        message_id=message.message_id,
        username=user.username,
        display_name=user.full_name or None,
        text=text,
        caption=caption,
        file=file,
        media_group_id=message.media_group_id,
        reply_to_message_id=reply.message_id if reply is not None else None,
        reply_to_text=cut(reply.text or reply.caption) if reply is not None else None,
    )


def find_file(message: Message) -> FileToFetch | None:
    """The message's file, in spec §11.6's order, with its name and MIME defaults."""
    if (doc := message.document) is not None:
        return FileToFetch(
            doc.file_id,
            doc.file_name or "document",
            doc.mime_type or DEFAULT_MIME,
            doc.file_size,
            "document",
        )
    if message.photo:
        largest = message.photo[-1]
        return FileToFetch(largest.file_id, "photo.jpg", "image/jpeg", largest.file_size, "photo")
    if (audio := message.audio) is not None:
        return FileToFetch(
            audio.file_id,
            audio.file_name or "audio.mp3",
            audio.mime_type or "audio/mpeg",
            audio.file_size,
            "audio",
        )
    if (video := message.video) is not None:
        return FileToFetch(
            video.file_id,
            video.file_name or "video.mp4",
            video.mime_type or "video/mp4",
            video.file_size,
            "video",
        )
    if (voice := message.voice) is not None:
        return FileToFetch(
            voice.file_id, "voice.ogg", voice.mime_type or "audio/ogg", voice.file_size, "voice"
        )
    if (note := message.video_note) is not None:
        return FileToFetch(note.file_id, "videonote.mp4", "video/mp4", note.file_size, "video_note")
    if (animation := message.animation) is not None:
        return FileToFetch(
            animation.file_id,
            animation.file_name or "animation.mp4",
            animation.mime_type or "video/mp4",
            animation.file_size,
            "animation",
        )
    return None
