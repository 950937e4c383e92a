"""Pure pieces of a turn: the prompt sent, the text so far, the outcome (spec §7.5, §7.7).

Nothing here does I/O; :mod:`praktor_agent_runner.turns` wires it to Claude
Code and the bus.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Final

from claude_agent_sdk import (
    TERMINAL_TASK_STATUSES,
    AssistantMessage,
    Message,
    ResultMessage,
    StreamEvent,
    TaskNotificationMessage,
    TaskStartedMessage,
    TaskUpdatedMessage,
    TextBlock,
)

from praktor_common.contracts.agent import AgentInput, AgentResult, AgentText, Usage

BLOCK_SEPARATOR: Final = "\n\n"
_REASON: Final = re.compile(r"^[a-z][a-z0-9_]*$")


def retry_note(attempt: int) -> str:
    return (
        f"[Praktor: this message is delivered again (attempt {attempt}): an earlier attempt "
        "was interrupted before it finished. Part of the work may already be done; check "
        "before repeating anything with side effects, and do not apologise for the delay.]"
    )


SEQ_PER_ATTEMPT: Final = 10_000


def attempt_of(turn: AgentInput, delivered: int = 1) -> int:
    """Which try of the turn this is: the host's ``attempt`` or the bus's delivery count."""
    return max(turn.attempt, delivered)


def first_seq(turn: AgentInput, delivered: int = 1) -> int:
    """The ``seq`` of a try's first partial text: ``(attempt - 1) * 10 000``.

    A retried turn's partial texts must rank above (and not share their
    ``Nats-Msg-Id`` ``<msg_id>:text:<seq>`` with) those an interrupted try
    already published: readers keep the highest ``seq``, and the stream drops
    a repeated message id inside its duplicate window.
    """
    return (attempt_of(turn, delivered) - 1) * SEQ_PER_ATTEMPT


def compose_prompt(turn: AgentInput, delivered: int = 1) -> str:
    """The text sent to Claude Code: the input's, after a retry note when it is redelivered.

    ``attempt`` (raised by the host) or the bus's delivery count above 1 means
    an earlier try was interrupted; a ``retry_notice`` input is already such a note.
    """
    attempt = attempt_of(turn, delivered)
    if attempt <= 1 or turn.kind == "retry_notice":
        return turn.text
    return f"{retry_note(attempt)}\n\n{turn.text}"


def terminal_reason(text: str | None, default: str = "error") -> str:
    """A reason fit for the contract (lowercase word), else ``default``."""
    value = (text or "").strip().lower()
    return value[:64] if _REASON.match(value) else default


def infer_terminal_reason(message: str) -> str:
    """Why a turn failed, from an error text (spec §7.5; checked in this order)."""
    lowered = message.lower()
    if "maximum number of turns" in lowered:
        return "max_turns"
    if re.search(r"blocking.*limit", lowered):
        return "blocking_limit"
    if "abort" in lowered:
        return "aborted_tools"
    return "error"


@dataclass
class TextSoFar:
    """The whole text the agent has written in this turn (its own, not sub-agents').

    Stream deltas fill it as they come; an assistant message whose text was not
    streamed (partial messages off, or missed) is added whole. Blocks are
    joined by a blank line.
    """

    _blocks: dict[tuple[str, int], str] = field(default_factory=dict)
    _streamed: set[str] = field(default_factory=set)
    _message: str = ""

    @property
    def text(self) -> str:
        return BLOCK_SEPARATOR.join(t for t in self._blocks.values() if t.strip())

    def feed(self, message: Message) -> bool:
        """Take one SDK message; True when the text changed."""
        if isinstance(message, StreamEvent) and message.parent_tool_use_id is None:
            return self._event(message.event)
        if isinstance(message, AssistantMessage) and message.parent_tool_use_id is None:
            key = message.message_id or f"anon-{len(self._blocks)}"
            if key in self._streamed:
                return False
            texts = [b.text for b in message.content if isinstance(b, TextBlock) and b.text]
            base = sum(1 for k in self._blocks if k[0] == key)
            for offset, text in enumerate(texts):
                self._blocks[(key, base + offset)] = text
            return bool(texts)
        return False

    def _event(self, event: dict[str, Any]) -> bool:
        kind = event.get("type")
        if kind == "message_start":
            self._message = str((event.get("message") or {}).get("id") or "")
            self._streamed.add(self._message)
            return False
        if kind == "content_block_delta":
            delta = event.get("delta") or {}
            if delta.get("type") != "text_delta" or not delta.get("text"):
                return False
            key = (self._message, int(event.get("index", 0)))
            self._blocks[key] = self._blocks.get(key, "") + str(delta["text"])
            return True
        return False


def _finished_task(message: Message) -> str | None:
    """The id of a task this message reports as ended (notification or terminal update)."""
    if isinstance(message, TaskNotificationMessage):
        return message.task_id
    if isinstance(message, TaskUpdatedMessage) and message.status in TERMINAL_TASK_STATUSES:
        return message.task_id
    return None


@dataclass
class BackgroundTasks:
    """Sub-agent tasks started in a turn and not finished yet (for ``ping``)."""

    running: set[str] = field(default_factory=set)

    def observe(self, message: Message) -> None:
        if isinstance(message, TaskStartedMessage):
            self.running.add(message.task_id)
        elif (finished := _finished_task(message)) is not None:
            self.running.discard(finished)

    @property
    def count(self) -> int:
        return len(self.running)


@dataclass(frozen=True)
class Outcome:
    """What a finished turn publishes (before the correlation ids are added)."""

    content: str
    terminal_reason: str | None
    is_error: bool = False
    usage: Usage | None = None
    session_id: str | None = None


def usage_of(raw: dict[str, Any] | None) -> Usage | None:
    if not raw:
        return None

    def count(name: str) -> int:
        value = raw.get(name)
        return value if isinstance(value, int) and value >= 0 else 0

    return Usage(
        input_tokens=count("input_tokens"),
        output_tokens=count("output_tokens"),
        cache_read_input_tokens=count("cache_read_input_tokens"),
        cache_creation_input_tokens=count("cache_creation_input_tokens"),
    )


def result_outcome(result: ResultMessage, streamed: str) -> Outcome:
    """The outcome of a turn that reached Claude Code's result message.

    Content: the result text, else everything streamed in the turn (upstream
    sent the literal ``[response was streamed]`` there; the text itself is
    more useful), else for an error ``Error: …``. Terminal reason: the CLI's,
    else ``completed`` for a success or the subtype without ``error_``.
    """
    text = (result.result or "").strip()
    failed = result.is_error or result.subtype != "success"
    fallback = "completed" if not failed else "error"
    if result.subtype.startswith("error_"):
        fallback = terminal_reason(result.subtype.removeprefix("error_"))
    reason = terminal_reason(result.terminal_reason, fallback)
    content = text or streamed.strip()
    if not content and failed:
        errors = "; ".join(e for e in (result.errors or []) if e) or reason.replace("_", " ")
        content = f"Error: {errors}"
    return Outcome(
        content=content,
        terminal_reason=reason,
        is_error=failed,
        usage=usage_of(result.usage),
        session_id=result.session_id or None,
    )


def error_outcome(error: BaseException, streamed: str, session_id: str | None) -> Outcome:
    """The outcome of a turn whose Claude Code run failed before a result."""
    message = str(error) or type(error).__name__
    reported = getattr(error, "terminal_reason", None)
    reason = terminal_reason(reported, infer_terminal_reason(message))
    return Outcome(
        content=streamed.strip() or f"Error: {message}",
        terminal_reason=reason,
        is_error=True,
        session_id=session_id,
    )


def text_output(turn: AgentInput, seq: int, content: str) -> AgentText:
    return AgentText(**_ids(turn), seq=seq, content=content, origin=turn.origin)


def result_output(turn: AgentInput, outcome: Outcome) -> AgentResult:
    return AgentResult(
        **_ids(turn),
        content=outcome.content,
        terminal_reason=outcome.terminal_reason,
        is_error=outcome.is_error,
        usage=outcome.usage,
        session_id=outcome.session_id,
        origin=turn.origin,
    )


def _ids(turn: AgentInput) -> dict[str, Any]:
    ids = turn.correlation()
    return {
        "msg_id": ids.msg_id,
        "task_id": ids.task_id,
        "task_run_id": ids.task_run_id,
        "swarm_id": ids.swarm_id,
    }
