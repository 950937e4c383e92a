"""Where a message came from, and the ids that tie a conversation turn together."""

from __future__ import annotations

from praktor_common.contracts.base import Contract, MsgId, Token, Uuid
from praktor_common.subjects import Channel


class Origin(Contract):
    """Where a message came from, so every answer finds its way back.

    ``chat_id`` is what ``deliver.{channel}.{chat}`` is built from: a Telegram
    chat id, a web conversation, a task id (``scheduler``), a swarm id (``swarm``).
    """

    channel: Channel
    chat_id: Token
    """The channel's conversation id (Telegram chat id as decimal text)."""
    user_id: Token | None = None
    """The person who wrote, in the channel's own ids (Telegram ``from.id``)."""
    message_id: Token | None = None
    """The channel's own id of the message (for reply-to), e.g. Telegram message id."""


class Correlation(Contract):
    """Ids that tie input, output and delivery of one turn together.

    Payloads that belong to a turn inherit these fields (they stay flat on the
    wire, as in the original's ``msg_id``).
    """

    msg_id: MsgId
    """The turn's message id (UUIDv7), born with the inbound message or the task run."""
    task_id: Uuid | None = None
    """The scheduled task, when the turn is a task run."""
    task_run_id: Uuid | None = None
    """The task run, when the turn is a task run."""
    swarm_id: Uuid | None = None
    """The swarm run (the id used on ``swarm.{id}.*`` and ``events.swarm.{id}``)."""

    def correlation(self) -> Correlation:
        """Just the correlation ids of this payload."""
        return Correlation(
            msg_id=self.msg_id,
            task_id=self.task_id,
            task_run_id=self.task_run_id,
            swarm_id=self.swarm_id,
        )
