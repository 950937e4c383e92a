"""What the orchestrator tells a chat: clean agent output and notices about agents (pure)."""

from __future__ import annotations

from praktor_common.contracts.agent import AgentResult, AgentText
from praktor_common.contracts.base import utc_now
from praktor_common.contracts.deliver import Delivery, Notice, NoticeCode
from praktor_common.contracts.origin import Correlation, Origin


def text_delivery(agent_id: str, text: AgentText, content: str) -> Delivery:
    """A streamed snapshot, already redacted."""
    return Delivery(
        **text.correlation().model_dump(),
        origin=text.origin,
        kind="text",
        agent_id=agent_id,
        content=content,
        seq=text.seq,
        reply_to=text.origin.message_id,
    )


def final_delivery(agent_id: str, result: AgentResult, content: str) -> Delivery:
    """The answer of a turn, already redacted."""
    return Delivery(
        **result.correlation().model_dump(),
        origin=result.origin,
        kind="final",
        agent_id=agent_id,
        content=content,
        reply_to=result.origin.message_id,
        terminal_reason=result.terminal_reason if result.abnormal else None,
    )


def notice_delivery(
    correlation: Correlation,
    origin: Origin,
    code: NoticeCode,
    text: str,
    *,
    error: bool = False,
    agent_id: str | None = None,
) -> Delivery:
    """A system message about an agent, for the chat an input came from."""
    return Delivery(
        **correlation.correlation().model_dump(),
        origin=origin,
        kind="error" if error else "notice",
        agent_id=agent_id,
        notice=Notice(code=code, text=text),
        reply_to=origin.message_id,
        created_at=utc_now(),
    )


def waiting_for_capacity_text(agent_id: str, max_running: int) -> str:
    return (
        f"All {max_running} agent slots are busy (defaults.max_running), so {agent_id} "
        "cannot start yet. Your message waits and is answered as soon as a slot frees up."
    )


def start_failed_text(agent_id: str, reason: str) -> str:
    return (
        f"Agent {agent_id} could not start: {reason.rstrip('.')}. "
        "Your message waits; Praktor tries again when you write next."
    )
