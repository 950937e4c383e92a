"""Events the orchestrator publishes on ``events.agent.<id>`` (pure builders)."""

from __future__ import annotations

import datetime as dt
from typing import Literal
from zoneinfo import ZoneInfo

from praktor_common.contracts.events import (
    AgentMessageEvent,
    AgentStartedEvent,
    AgentStoppedEvent,
    MessageEventData,
    StopReason,
)


def message_event(
    agent_id: str,
    *,
    row_id: int,
    msg_id: str | None,
    role: Literal["user", "assistant"],
    text: str,
    created_at: dt.datetime,
    zone: ZoneInfo,
    terminal_reason: str | None = None,
) -> AgentMessageEvent:
    """A stored message; ``time`` is local ``HH:MM`` in the configured zone."""
    return AgentMessageEvent(
        agent_id=agent_id,
        data=MessageEventData(
            id=row_id,
            msg_id=msg_id,
            role=role,
            text=text,
            time=created_at.astimezone(zone).strftime("%H:%M"),
            terminal_reason=terminal_reason,
        ),
    )


def started_event(agent_id: str) -> AgentStartedEvent:
    return AgentStartedEvent(agent_id=agent_id)


def stopped_event(agent_id: str, reason: StopReason) -> AgentStoppedEvent:
    return AgentStoppedEvent(agent_id=agent_id, reason=reason)
