"""Files that travel through the NATS object store, and the KV buckets of leases.

Files a person sends are copied by their gateway into the object store bucket
:data:`FILES_BUCKET` under ``<channel>/<chat>/<message>/<safe name>`` (see
:func:`inbound_key`); the inbound message carries an
:class:`~praktor_common.contracts.files.Attachment` naming bucket and key, and
whoever saves it into an agent's workspace reads it from there. Objects expire
with the INBOUND stream (7 days), so a message waiting in the stream still
finds its files.

Names are made safe with :func:`safe_file_name` both when stored and when
saved: a base name only, no path separators, no control characters, no
leading dot, at most 255 bytes — so no name can climb out of ``uploads/``.

Buckets are created on first use by the services that own them
(idempotently; their identities may create exactly these).
"""

from __future__ import annotations

import base64
import hashlib
import re
import unicodedata
from datetime import timedelta
from typing import TYPE_CHECKING, Final

import nats.js.errors
from nats.js.api import KeyValueConfig, ObjectStoreConfig, StorageType

if TYPE_CHECKING:
    from nats.js import JetStreamContext
    from nats.js.kv import KeyValue
    from nats.js.object_store import ObjectStore

FILES_BUCKET: Final = "praktor-files"
FILES_TTL: Final = timedelta(days=7)
FILES_MAX_BYTES: Final = 8 * 1024**3
TELEGRAM_LEASE_BUCKET: Final = "praktor-telegram-lease"
NAME_MAX_BYTES: Final = 255

_UNSAFE = re.compile(r"[^\w.\- ()+,=@]+")


def safe_file_name(name: str, fallback: str = "file") -> str:
    """A base name safe to create inside a directory (see the module docstring)."""
    base = re.split(r"[/\\]", name)[-1]
    base = unicodedata.normalize("NFC", base)
    base = "".join(c for c in base if unicodedata.category(c)[0] != "C")
    base = _UNSAFE.sub("_", base).strip(" .")
    if not base:
        base = fallback
    stem, dot, suffix = base.rpartition(".")
    if not dot or not stem or len(suffix.encode()) > 16:
        stem, suffix = base, ""
    tail = f".{suffix}" if suffix else ""
    room = NAME_MAX_BYTES - len(tail.encode())
    stem = stem.encode()[:room].decode(errors="ignore").rstrip(" .") or fallback
    return stem + tail


def inbound_key(channel: str, chat_id: str | int, message_id: str | int, name: str) -> str:
    """The object key of a file a person sent."""
    return f"{channel}/{chat_id}/{message_id}/{safe_file_name(name)}"


async def files_bucket(js: JetStreamContext) -> ObjectStore:
    """The object store of files, created if missing."""
    try:
        return await js.object_store(FILES_BUCKET)
    except nats.js.errors.BucketNotFoundError:
        pass
    try:
        return await js.create_object_store(
            FILES_BUCKET,
            config=ObjectStoreConfig(
                description="Files people send and agents send back",
                ttl=FILES_TTL.total_seconds(),
                max_bytes=FILES_MAX_BYTES,
                storage=StorageType.FILE,
            ),
        )
    except nats.js.errors.APIError:
        return await js.object_store(FILES_BUCKET)  # another replica created it


async def lease_bucket(js: JetStreamContext, bucket: str, ttl: timedelta) -> KeyValue:
    """A KV bucket for leases whose entries vanish ``ttl`` after their last renewal."""
    try:
        return await js.key_value(bucket)
    except nats.js.errors.BucketNotFoundError:
        pass
    try:
        return await js.create_key_value(
            config=KeyValueConfig(
                bucket=bucket,
                description="Leases: which replica does a one-at-a-time job",
                history=1,
                ttl=ttl.total_seconds(),
                storage=StorageType.FILE,
            )
        )
    except nats.js.errors.APIError:
        return await js.key_value(bucket)


class ObjectUnreadableError(Exception):
    """An object that is missing, deleted or damaged."""


async def read_object(js: JetStreamContext, bucket: str, key: str) -> bytes:
    """An object's bytes, read chunk by chunk with stream message gets.

    Needs only stream info and message get on ``OBJ_<bucket>`` (no consumer),
    so an identity can be allowed to read files and nothing more.
    """
    store = await js.object_store(bucket)
    try:
        info = await store.get_info(key)
    except nats.js.errors.ObjectNotFoundError:
        raise ObjectUnreadableError(f"{key} is not in the object store") from None
    if info.deleted or not info.nuid:
        raise ObjectUnreadableError(f"{key} is no longer in the object store")
    stream, subject = f"OBJ_{bucket}", f"$O.{bucket}.C.{info.nuid}"
    data = bytearray()
    seq = 1
    for _ in range(info.chunks or 0):
        message = await js.get_msg(stream, seq=seq, subject=subject, next=True)
        data += message.data or b""
        seq = (message.seq or seq) + 1
    expected = (info.digest or "").split("=", 1)[-1].rstrip("=")
    actual = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).decode().rstrip("=")
    if expected and expected != actual:
        raise ObjectUnreadableError(f"{key} is damaged in the object store")
    return bytes(data)
