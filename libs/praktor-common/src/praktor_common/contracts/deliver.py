"""What goes out to a person, on ``deliver.{channel}.{chat}`` (captured).

The orchestrator republishes an agent's redacted output here; the router,
scheduler, swarm and the dead-letter handling publish :class:`Notice` s. A
gateway consumes ``deliver.<its channel>.>``.
"""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, model_validator

from praktor_common.contracts.base import (
    AgentId,
    Contract,
    TerminalReason,
    Text,
    Token,
    UtcDatetime,
    utc_now,
)
from praktor_common.contracts.files import FileRef
from praktor_common.contracts.origin import Correlation, Origin

DeliveryKind = Literal["text", "final", "notice", "error", "file"]
"""``text``: a streamed snapshot (like :class:`~praktor_common.contracts.agent.AgentText`,
``content`` is the whole text so far, highest ``seq`` wins); ``final``: the answer;
``notice``: a system message; ``error``: a system message about a failure;
``file``: a file the agent sent (``content`` is its caption)."""

NoticeCode = Literal[
    "dead_letter",
    "agent_unavailable",
    "waiting_for_capacity",
    "routing_failed",
    "agent_not_found",
    "swarm_launched",
    "swarm_failed",
    "task_failed",
    "info",
]


class Notice(Contract):
    """A system message for a person, not written by an agent."""

    code: NoticeCode
    """What happened, for a program (e.g. ``dead_letter``: a message could not be handled)."""
    text: Text
    """What happened, for a person (plain text unless :attr:`markdown`)."""
    markdown: bool = False
    """The text is Markdown the channel renders (``*bold*``, backticks), e.g. command
    replies; otherwise nothing in it is read as formatting."""


class Delivery(Correlation):
    """One thing to show in a chat.

    ``Nats-Msg-Id`` = :attr:`dedupe_id`, so a republished piece is dropped.
    """

    origin: Origin
    """The conversation the piece belongs to (the subject is built from it)."""
    kind: DeliveryKind
    agent_id: AgentId | None = None
    """The agent that wrote it (``None`` for notices and swarm summaries)."""
    content: str = ""
    seq: int = Field(default=0, ge=0)
    """Order of ``text`` snapshots of one ``msg_id``."""
    file: FileRef | None = None
    notice: Notice | None = None
    reply_to: Token | None = None
    """The channel message to answer to (usually the person's own message)."""
    terminal_reason: TerminalReason | None = None
    """Set on a ``final`` that ended early; the gateway adds the warning line."""
    created_at: UtcDatetime = Field(default_factory=utc_now)

    @model_validator(mode="after")
    def _kind_fits(self) -> Self:
        if (self.kind == "file") != (self.file is not None):
            raise ValueError("kind 'file' and a file ref go together")
        if (self.kind in ("notice", "error")) != (self.notice is not None):
            raise ValueError("kinds 'notice' and 'error' and a notice go together")
        if (
            self.kind in ("text", "final", "file")
            and self.agent_id is None
            and self.swarm_id is None
        ):
            raise ValueError(f"a {self.kind!r} delivery needs agent_id or swarm_id")
        return self

    @property
    def dedupe_id(self) -> str:
        """``Nats-Msg-Id`` for this piece: one per msg_id, kind and seq."""
        return f"{self.msg_id}:{self.kind}:{self.seq}"
