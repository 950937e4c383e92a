"""A message a consumer gave up on, recorded on ``dlq.{stream}.{consumer}`` (captured).

The record names the original by stream and sequence and never carries its
body (bodies may hold personal text or secrets); ``praktor dlq`` shows and
replays the original from its stream.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from praktor_common.contracts.base import Contract, MsgId, UtcDatetime, utc_now
from praktor_common.contracts.origin import Origin

DeadLetterReason = Literal["validation", "max_deliver", "handler"]
"""``validation``: the body did not fit its contract (never retried); ``max_deliver``:
JetStream gave up after the last delivery; ``handler``: the handler refused it for good."""

ErrorSummary = Annotated[str, StringConstraints(max_length=2000)]


class DeadLetter(Contract):
    stream: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    consumer: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    subject: Annotated[str, StringConstraints(min_length=1, max_length=512)]
    """The original message's subject."""
    stream_seq: int = Field(ge=1)
    """The original's sequence in ``stream`` (what replay fetches)."""
    delivery_count: int = Field(ge=1)
    reason: DeadLetterReason
    error: ErrorSummary
    """Error type and message, without the body."""
    msg_id: MsgId | None = None
    """The turn's id, if the body had one."""
    nats_msg_id: str | None = None
    """The original's ``Nats-Msg-Id`` header."""
    origin: Origin | None = None
    """Where the original came from, if it could be read (that person is told)."""
    failed_at: UtcDatetime = Field(default_factory=utc_now)
