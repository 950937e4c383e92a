"""Files people send: from Telegram into the NATS object store.

A file is downloaded through the Bot API (``getFile`` + download; a cloud Bot
API hands out at most 20 MB) and stored under
:func:`praktor_common.filestore.inbound_key` with a safe name. Whoever saves
it into an agent's workspace reads it from there.
"""

from __future__ import annotations

import asyncio
import io
import re
from pathlib import Path, PurePosixPath
from typing import Final

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from nats.js.api import ObjectMeta
from nats.js.object_store import ObjectStore

from praktor_common.contracts.files import Attachment
from praktor_common.filestore import FILES_BUCKET, inbound_key, safe_file_name
from praktor_gateway_telegram.updates import FileToFetch, Incoming

DOWNLOAD_LIMIT: Final = 20 * 1024 * 1024
"""Largest file the Bot API lets a bot download."""
_MIME: Final = re.compile(r"^[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+$")


class FileUnavailableError(Exception):
    """A local Bot API server named a file this host cannot read: the sender is told."""


class FileTooLargeError(Exception):
    """A file over :data:`DOWNLOAD_LIMIT`: the sender is told, the file is dropped."""

    def __init__(self, file: FileToFetch) -> None:
        super().__init__(file.name)
        self.file = file


def too_large(file: FileToFetch) -> bool:
    return file.size is not None and file.size > DOWNLOAD_LIMIT


def too_large_text(name: str, size: int | None) -> str:
    shown = f" ({size / 1024 / 1024:.1f} MB)" if size else ""
    return (
        f"I could not take {name}{shown}: Telegram lets bots download files of at most "
        "20 MB. Please send a smaller file, or share a link to it."
    )


async def download(bot: Bot, file: FileToFetch) -> bytes:
    """The file's bytes; :class:`FileTooLargeError` when Telegram will not hand it out."""
    if too_large(file):
        raise FileTooLargeError(file)
    try:
        found = await bot.get_file(file.file_id)
    except TelegramBadRequest as exc:
        if "too big" in exc.message.lower():
            raise FileTooLargeError(file) from None
        raise
    if found.file_path is None:
        raise FileTooLargeError(file)
    if PurePosixPath(found.file_path).is_absolute():
        return await read_local(Path(found.file_path))
    buffer = io.BytesIO()
    await bot.download_file(found.file_path, destination=buffer, timeout=120)
    return buffer.getvalue()


async def read_local(path: Path) -> bytes:
    """A file a local Bot API server (``--local``) keeps on a disk this host shares."""
    try:
        return await asyncio.to_thread(path.read_bytes)
    except OSError as exc:
        raise FileUnavailableError(str(path)) from exc


async def store(
    objects: ObjectStore, message: Incoming, file: FileToFetch, data: bytes
) -> Attachment:
    """Put ``data`` into the files bucket; the attachment that names it."""
    name = safe_file_name(file.name)
    mime = file.mime_type if _MIME.match(file.mime_type) else "application/octet-stream"
    key = inbound_key("telegram", message.chat_id, message.message_id, name)
    await objects.put(key, data, meta=ObjectMeta(name=key, description=mime))
    return Attachment(
        bucket=FILES_BUCKET,
        key=key,
        name=name,
        mime_type=mime,
        size=len(data),
        kind=file.kind,
    )
