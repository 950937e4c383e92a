"""A message from a person, as a channel gateway publishes it on ``inbound.{channel}.{chat}``."""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import Field, StringConstraints, model_validator

from praktor_common.contracts.base import AgentId, Contract, MsgId, Token, UtcDatetime, utc_now
from praktor_common.contracts.files import Attachment
from praktor_common.contracts.origin import Origin
from praktor_common.ids import new_id

DedupeId = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^\S+$")]


class ReplyTo(Contract):
    """The message a person replied to."""

    message_id: Token
    """The channel's id of the replied-to message."""
    agent_id: AgentId | None = None
    """The agent that wrote it, when the gateway knows (routes the reply straight there)."""
    text: str | None = None
    """The quoted text, used for the ``[Replying to message: …]`` prefix."""


class InboundMessage(Contract):
    """One message (or one album) from a person, before routing.

    Published with ``Nats-Msg-Id`` = :attr:`dedupe_id`, so a retried publish of
    the same update is dropped. The router reuses :attr:`msg_id` for the agent
    input it produces, so a redelivered inbound message yields the same input.
    """

    dedupe_id: DedupeId
    """The channel's unique id of this update, e.g. ``telegram:<update_id>``."""
    msg_id: MsgId = Field(default_factory=new_id)
    """The turn's message id (UUIDv7), carried on to the agent input."""
    origin: Origin
    sender_name: str | None = None
    """How the sender shows in the channel (display name or @username)."""
    text: str = ""
    """The message text (empty for a bare file; then :attr:`caption` or a placeholder)."""
    caption: str | None = None
    """A file's caption (for albums: the first non-empty caption)."""
    reply_to: ReplyTo | None = None
    attachments: list[Attachment] = []
    """Files sent with the message, in the object store (several for an album)."""
    media_group_id: str | None = None
    """The album's id when several files were sent together (one inbound per album)."""
    voice_transcript: str | None = None
    """Transcript of a voice note or video note, when speech-to-text ran."""
    agent_id: AgentId | None = None
    """An explicit target that skips routing (``/start agent``, a web chat with one agent)."""
    received_at: UtcDatetime = Field(default_factory=utc_now)

    @model_validator(mode="after")
    def _has_content(self) -> Self:
        if not (self.text or self.caption or self.attachments or self.voice_transcript):
            raise ValueError("an inbound message needs text, a caption, a transcript or a file")
        return self
