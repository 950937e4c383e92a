"""Event envelopes on ``events.*`` (spec §4.6): for the web hub and the Telegram gateway.

Every event has ``type`` and a UTC ``timestamp``; the web hub forwards them
verbatim to browsers. :data:`Event` reads any of them.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

from pydantic import Field, StringConstraints, TypeAdapter

from praktor_common.contracts.agent import SwarmRole
from praktor_common.contracts.base import (
    AgentId,
    Contract,
    MsgId,
    Name,
    SecretName,
    TerminalReason,
    UtcDatetime,
    Uuid,
    utc_now,
)


class _Event(Contract):
    timestamp: UtcDatetime = Field(default_factory=utc_now)


# ---------------------------------------------------------------- events.agent.{id}


class MessageEventData(Contract):
    id: int = Field(ge=1)
    """The stored message's id."""
    msg_id: MsgId | None = None
    role: Literal["user", "assistant"]
    text: str
    time: Annotated[str, StringConstraints(pattern=r"^\d{2}:\d{2}$")]
    """Local ``HH:MM`` in the configured time zone."""
    terminal_reason: TerminalReason | None = None


class AgentMessageEvent(_Event):
    """A message was stored (a person's input or an agent's answer)."""

    type: Literal["message"] = "message"
    agent_id: AgentId
    data: MessageEventData


class AgentStartedEvent(_Event):
    type: Literal["agent_started"] = "agent_started"
    agent_id: AgentId


StopReason = Literal["manual", "idle_timeout", "config_changed", "exited", "shutdown"]


class AgentStoppedEvent(_Event):
    type: Literal["agent_stopped"] = "agent_stopped"
    agent_id: AgentId
    reason: StopReason


AgentEvent = Annotated[
    AgentMessageEvent | AgentStartedEvent | AgentStoppedEvent, Field(discriminator="type")
]

# ---------------------------------------------------------------- events.task.executed


class TaskExecutedData(Contract):
    id: Uuid
    """The task."""
    name: Name
    status: Literal["success", "error"]
    agent_id: AgentId | None = None
    task_run_id: Uuid | None = None
    error: str | None = None


class TaskExecutedEvent(_Event):
    """A task run finished (``success``: the agent answered; ``error``: it did not)."""

    type: Literal["task_executed"] = "task_executed"
    data: TaskExecutedData


# ---------------------------------------------------------------- events.swarm.{id}


class SwarmStartedData(Contract):
    name: str
    agents: int = Field(ge=0)
    """How many roles the swarm has."""


class SwarmAgentStartedData(Contract):
    role: SwarmRole
    agent_id: AgentId
    """The container's agent id (``swarm-<8 hex>-<role>``)."""


class SwarmAgentCompletedData(Contract):
    role: SwarmRole
    status: Literal["completed", "error"]
    output: str
    """The first 200 bytes of the output, ``...`` appended when longer."""


class SwarmTierCompletedData(Contract):
    tier: int = Field(ge=0)
    total: int = Field(ge=1)


class SwarmFinishedData(Contract):
    results_count: int | None = Field(default=None, ge=0)
    error: str | None = None
    """Why the swarm failed, when it failed before running (e.g. a plan error)."""


class _SwarmEvent(_Event):
    swarm_id: Uuid


class SwarmStartedEvent(_SwarmEvent):
    type: Literal["swarm_started"] = "swarm_started"
    data: SwarmStartedData


class SwarmAgentStartedEvent(_SwarmEvent):
    type: Literal["swarm_agent_started"] = "swarm_agent_started"
    data: SwarmAgentStartedData


class SwarmAgentCompletedEvent(_SwarmEvent):
    type: Literal["swarm_agent_completed"] = "swarm_agent_completed"
    data: SwarmAgentCompletedData


class SwarmTierCompletedEvent(_SwarmEvent):
    type: Literal["swarm_tier_completed"] = "swarm_tier_completed"
    data: SwarmTierCompletedData


class SwarmCompletedEvent(_SwarmEvent):
    type: Literal["swarm_completed"] = "swarm_completed"
    data: SwarmFinishedData


class SwarmFailedEvent(_SwarmEvent):
    type: Literal["swarm_failed"] = "swarm_failed"
    data: SwarmFinishedData


class SwarmCancelledEvent(_SwarmEvent):
    type: Literal["swarm_cancelled"] = "swarm_cancelled"
    data: SwarmFinishedData


SwarmEvent = Annotated[
    SwarmStartedEvent
    | SwarmAgentStartedEvent
    | SwarmAgentCompletedEvent
    | SwarmTierCompletedEvent
    | SwarmCompletedEvent
    | SwarmFailedEvent
    | SwarmCancelledEvent,
    Field(discriminator="type"),
]

# ---------------------------------------------------------------- events.secret.{kind}


class SecretEventData(Contract):
    id: SecretName
    name: SecretName


class SecretCreatedEvent(_Event):
    """``type`` is the full subject, as in the original."""

    type: Literal["events.secret.created"] = "events.secret.created"
    data: SecretEventData


class SecretUpdatedEvent(_Event):
    type: Literal["events.secret.updated"] = "events.secret.updated"
    data: SecretEventData


class SecretDeletedEvent(_Event):
    type: Literal["events.secret.deleted"] = "events.secret.deleted"
    data: SecretEventData


SecretEvent = Annotated[
    SecretCreatedEvent | SecretUpdatedEvent | SecretDeletedEvent, Field(discriminator="type")
]

# ---------------------------------------------------------------- any event

AnyEvent = (
    AgentMessageEvent
    | AgentStartedEvent
    | AgentStoppedEvent
    | TaskExecutedEvent
    | SwarmStartedEvent
    | SwarmAgentStartedEvent
    | SwarmAgentCompletedEvent
    | SwarmTierCompletedEvent
    | SwarmCompletedEvent
    | SwarmFailedEvent
    | SwarmCancelledEvent
    | SecretCreatedEvent
    | SecretUpdatedEvent
    | SecretDeletedEvent
)

Event = Annotated[AnyEvent, Field(discriminator="type")]
"""Any event on ``events.>``, told apart by ``type``."""

EVENT: Final[TypeAdapter[AnyEvent]] = TypeAdapter(Event)
