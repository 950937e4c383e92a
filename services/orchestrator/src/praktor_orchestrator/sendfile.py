"""Files an agent sends (spec §7.9 ``file_send``): to the chat of the turn that sent them.

``send_file`` names the turn (``msg_id``) its tool call belongs to; the file
goes to the origin of *that* turn's stored input — never to the agent's last
chat (spec §20 item 10: a task's file would land in whatever chat was last
used). The turn must be the caller's own.

The bytes come inline (base64) or as parts uploaded first
(:mod:`.fileparts`); an object-store ref from an agent is refused, since it
could name any object, e.g. a file another person sent. The orchestrator
stores the file under its own identity (agents cannot write the object store)
at ``agents/<agent>/<msg_id>/<file id>/<name>``, with the name and caption
cleaned of the agent's secrets (and the content too when it is text), then
publishes ``Delivery(kind="file")`` on ``deliver.<channel>.<chat>``.
"""

from __future__ import annotations

import base64
import itertools
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Final, Protocol

import structlog

from praktor_common import filestore
from praktor_common.contracts.base import MAX_FILE_BYTES
from praktor_common.contracts.deliver import Delivery
from praktor_common.contracts.files import FileRef
from praktor_common.contracts.ipc import SendFilePartPayload, SendFilePayload
from praktor_common.ids import new_id

from .fileparts import FileParts, PartError
from .redaction import Redactor, RedactorSource
from .turn_origins import Turn

if TYPE_CHECKING:
    from nats.js import JetStreamContext

log = structlog.get_logger(__name__)

_TEXT_TYPES: Final = frozenset(
    {"application/json", "application/xml", "application/javascript", "application/x-yaml"}
)


class SendFileError(Exception):
    """The file cannot be sent; the text is meant for the agent."""


class TurnLookup(Protocol):
    async def turn_of(self, agent_id: str, msg_id: str) -> Turn | None: ...


class FileStore(Protocol):
    async def put(self, key: str, data: bytes, *, name: str, mime_type: str) -> FileRef: ...


class DeliveryPublisher(Protocol):
    async def deliver(self, delivery: Delivery) -> None: ...


class ObjectStoreFiles:
    """The files bucket of the NATS object store, written with the orchestrator's identity."""

    def __init__(self, js: JetStreamContext) -> None:
        self._js = js

    async def put(self, key: str, data: bytes, *, name: str, mime_type: str) -> FileRef:
        bucket = await filestore.files_bucket(self._js)
        await bucket.put(key, data)
        return FileRef(
            bucket=filestore.FILES_BUCKET, key=key, name=name, mime_type=mime_type, size=len(data)
        )


def object_key(agent_id: str, msg_id: str, file_id: str, name: str) -> str:
    """Where a file an agent sends is stored."""
    return f"agents/{agent_id}/{msg_id}/{file_id}/{filestore.safe_file_name(name)}"


def is_text(mime_type: str) -> bool:
    kind = mime_type.lower()
    return (
        kind.startswith("text/")
        or kind in _TEXT_TYPES
        or kind.endswith("+json")
        or kind.endswith("+xml")
    )


def redact_content(redactor: Redactor, data: bytes, mime_type: str) -> bytes:
    """Text content cleaned of secrets; anything else as it is (it cannot be edited safely)."""
    if not is_text(mime_type):
        return data
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return data
    return redactor.redact(text).text.encode("utf-8")


def _seqs() -> Iterator[int]:
    """Delivery seqs: increasing across restarts (µs since the epoch), so the bus's
    dedupe (``<msg_id>:file:<seq>``) never drops a second file of a turn."""
    return itertools.count(time.time_ns() // 1000)


class FileSender:
    """Handles ``send_file_part`` and ``send_file`` for the calling agent."""

    def __init__(
        self,
        *,
        turns: TurnLookup,
        files: FileStore,
        redactors: RedactorSource,
        publisher: DeliveryPublisher,
        parts: FileParts | None = None,
    ) -> None:
        self._turns = turns
        self._files = files
        self._redactors = redactors
        self._publisher = publisher
        self.parts = parts or FileParts()
        self._seqs = _seqs()

    def part(self, agent_id: str, payload: SendFilePartPayload) -> None:
        try:
            self.parts.add(
                agent_id, payload.upload_id, payload.index, base64.b64decode(payload.data)
            )
        except PartError as exc:
            raise SendFileError(str(exc)) from None

    async def send(self, agent_id: str, payload: SendFilePayload) -> Delivery:
        """Store the file and deliver it to the chat of its turn."""
        if payload.msg_id is None:
            raise SendFileError(
                "send_file needs the msg_id of the turn it belongs to (the agent image is "
                "older than this orchestrator: rebuild it)"
            )
        if payload.file is not None:
            raise SendFileError("send the file's bytes (data or parts), not an object ref")
        data = self._bytes(agent_id, payload)
        turn = await self._turns.turn_of(agent_id, payload.msg_id)
        if turn is None:
            raise SendFileError(
                f"turn {payload.msg_id} is not one of yours: a file goes to the chat of one "
                "of your own turns"
            )
        if len(data) > MAX_FILE_BYTES:
            raise SendFileError(f"the file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")
        redactor = await self._redactors.redactor_for(agent_id)
        name = filestore.safe_file_name(redactor.redact(payload.name).text)
        caption = redactor.redact(payload.caption).text
        data = redact_content(redactor, data, payload.mime_type)
        key = object_key(agent_id, payload.msg_id, new_id(), name)
        ref = await self._files.put(key, data, name=name, mime_type=payload.mime_type)
        delivery = Delivery(
            **turn.correlation.model_dump(),
            origin=turn.origin,
            kind="file",
            agent_id=agent_id,
            content=caption,
            seq=next(self._seqs),
            file=ref,
            reply_to=turn.origin.message_id,
        )
        await self._publisher.deliver(delivery)
        log.info(
            "file sent",
            agent_id=agent_id,
            msg_id=payload.msg_id,
            channel=turn.origin.channel,
            chat_id=turn.origin.chat_id,
            size=ref.size,
            mime_type=ref.mime_type,
        )
        return delivery

    def _bytes(self, agent_id: str, payload: SendFilePayload) -> bytes:
        if payload.data is not None:
            return base64.b64decode(payload.data)
        if payload.upload_id is None:  # the contract guarantees one source
            raise SendFileError("send_file needs data or an upload_id")
        try:
            return self.parts.take(agent_id, payload.upload_id)
        except PartError as exc:
            raise SendFileError(str(exc)) from None
