"""SDK messages as Claude Code produces them, built by hand for unit tests."""

from __future__ import annotations

from typing import Any

from claude_agent_sdk import (
    AssistantMessage,
    ResultMessage,
    StreamEvent,
    TaskNotificationMessage,
    TaskStartedMessage,
    TaskUpdatedMessage,
    TextBlock,
    ToolUseBlock,
)

SESSION = "3ecf7967-ab45-4e66-9c71-692341fdb140"


def event(payload: dict[str, Any], parent: str | None = None) -> StreamEvent:
    return StreamEvent(uuid="u", session_id=SESSION, event=payload, parent_tool_use_id=parent)


def streamed(message_id: str, *texts: str, parent: str | None = None) -> list[StreamEvent]:
    """The stream events of one API message whose block 0 is ``texts`` joined."""
    events = [
        event({"type": "message_start", "message": {"id": message_id}}, parent),
        event({"type": "content_block_start", "index": 0, "content_block": {"type": "text"}}),
    ]
    events += [
        event(
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": t}},
            parent,
        )
        for t in texts
    ]
    return events


def assistant(message_id: str, *texts: str, parent: str | None = None) -> AssistantMessage:
    return AssistantMessage(
        content=[TextBlock(text=t) for t in texts],
        model="claude-sonnet-4-5",
        parent_tool_use_id=parent,
        message_id=message_id,
    )


def tool_call(message_id: str, name: str) -> AssistantMessage:
    return AssistantMessage(
        content=[ToolUseBlock(id="toolu_1", name=name, input={})],
        model="claude-sonnet-4-5",
        message_id=message_id,
    )


def result(
    text: str | None = "Done.",
    *,
    subtype: str = "success",
    is_error: bool = False,
    terminal_reason: str | None = "completed",
    errors: list[str] | None = None,
    usage: dict[str, Any] | None = None,
    session_id: str = SESSION,
) -> ResultMessage:
    return ResultMessage(
        subtype=subtype,
        duration_ms=10,
        duration_api_ms=5,
        is_error=is_error,
        num_turns=1,
        session_id=session_id,
        result=text,
        terminal_reason=terminal_reason,
        errors=errors,
        usage=usage,
    )


def task_started(task_id: str) -> TaskStartedMessage:
    return TaskStartedMessage(
        subtype="task_started",
        data={},
        task_id=task_id,
        description="sub-agent",
        uuid="u",
        session_id=SESSION,
    )


def task_notified(task_id: str) -> TaskNotificationMessage:
    return TaskNotificationMessage(
        subtype="task_notification",
        data={},
        task_id=task_id,
        status="completed",
        output_file="",
        summary="",
        uuid="u",
        session_id=SESSION,
    )


def task_updated(task_id: str, status: str) -> TaskUpdatedMessage:
    return TaskUpdatedMessage(
        subtype="task_updated",
        data={},
        task_id=task_id,
        patch={"status": status},
        status=status,  # type: ignore[arg-type]
    )
