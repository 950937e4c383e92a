"""Reading and replaying dead letters (what ``praktor dlq`` runs).

A dead letter is a :class:`~praktor_common.contracts.DeadLetter` record on the
DLQ stream; it names the original by stream and sequence. The original stays
in its stream (retention by age, 7 days), so it can be shown and replayed
until then.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Final

from nats.js.errors import NotFoundError
from pydantic import ValidationError

from praktor_common import streams
from praktor_common.bus.publish import NATS_MSG_ID
from praktor_common.contracts import DeadLetter

if TYPE_CHECKING:
    from nats.js import JetStreamContext
    from nats.js.api import PubAck, RawStreamMsg

# Headers a replay must not copy: they belong to the first publish.
_DROP_ON_REPLAY: Final = frozenset(
    {
        NATS_MSG_ID.lower(),
        "nats-expected-stream",
        "nats-expected-last-sequence",
        "nats-expected-last-msg-id",
        "nats-expected-last-subject-sequence",
    }
)


class DeadLetterNotFoundError(LookupError):
    """No dead letter with that sequence in the DLQ stream."""


class OriginalGoneError(LookupError):
    """The original message is no longer in its stream (expired or deleted)."""


@dataclass(frozen=True)
class DeadLetterEntry:
    """One record of the DLQ stream."""

    seq: int
    """Sequence in the DLQ stream (what ``show`` and ``replay`` take)."""
    time: datetime | None
    subject: str
    record: DeadLetter


@dataclass(frozen=True)
class Original:
    """The message a dead letter names, as its stream holds it."""

    stream: str
    seq: int
    subject: str
    """The subject it was published on."""
    headers: dict[str, str]
    data: bytes


def _entry(msg: RawStreamMsg) -> DeadLetterEntry | None:
    try:
        record = DeadLetter.model_validate_json(msg.data or b"")
    except ValidationError:
        return None
    return DeadLetterEntry(
        seq=int(msg.seq or 0), time=msg.time, subject=msg.subject or "", record=record
    )


async def list_dead_letters(
    js: JetStreamContext, *, stream: str | None = None, limit: int = 100
) -> list[DeadLetterEntry]:
    """The newest ``limit`` dead letters, oldest first (of one original ``stream`` if given)."""
    subject = f"dlq.{stream}.*" if stream else "dlq.>"
    entries: list[DeadLetterEntry] = []
    seq = 1
    while True:
        try:
            msg = await js.get_msg(streams.DLQ, seq=seq, subject=subject, next=True)
        except NotFoundError:
            break
        if (entry := _entry(msg)) is not None:
            entries.append(entry)
            entries = entries[-limit:]
        seq = int(msg.seq or seq) + 1
    return entries


async def get_dead_letter(js: JetStreamContext, seq: int) -> DeadLetterEntry:
    try:
        msg = await js.get_msg(streams.DLQ, seq=seq)
    except NotFoundError:
        raise DeadLetterNotFoundError(f"no dead letter {seq}") from None
    entry = _entry(msg)
    if entry is None:
        raise DeadLetterNotFoundError(f"message {seq} of {streams.DLQ} is not a dead letter")
    return entry


async def get_original(js: JetStreamContext, record: DeadLetter) -> Original:
    """The original message named by ``record`` (raises :class:`OriginalGoneError`)."""
    try:
        msg = await js.get_msg(record.stream, seq=record.stream_seq)
    except NotFoundError:
        raise OriginalGoneError(
            f"message {record.stream_seq} is no longer in stream {record.stream}"
        ) from None
    return Original(
        stream=record.stream,
        seq=record.stream_seq,
        subject=streams.original_subject(record.stream, msg.subject or ""),
        headers=dict(msg.headers or {}),
        data=msg.data or b"",
    )


async def replay_dead_letter(js: JetStreamContext, seq: int) -> PubAck:
    """Republish the original of dead letter ``seq`` to its subject, then delete the letter.

    The copy gets a new ``Nats-Msg-Id`` (derived from the dead letter, so a
    replay repeated within the duplicate window is stored once).
    """
    entry = await get_dead_letter(js, seq)
    original = await get_original(js, entry.record)
    headers = {k: v for k, v in original.headers.items() if k.lower() not in _DROP_ON_REPLAY}
    headers[NATS_MSG_ID] = f"replay:{original.stream}:{original.seq}:{seq}"
    ack: PubAck = await js.publish(
        original.subject, original.data, headers=headers, stream=original.stream
    )
    await js.delete_msg(streams.DLQ, seq)
    return ack
