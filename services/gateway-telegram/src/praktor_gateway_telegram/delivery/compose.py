"""What a delivery looks like in Telegram: its Markdown, rendered and cut into messages (pure).

* an agent's text gets ``_<agent>:_`` in front when the agent is not the
  router's default one (spec §11.7 step 4);
* a ``final`` that ended early gets the warning line
  ``⚠️ _Agent stopped: <reason>_`` (spec §11.7, orchestrator step 5);
* notices are plain text (nothing in them is read as Markdown) unless the
  notice says it is Markdown (the router's command replies).
"""

from __future__ import annotations

from praktor_common.contracts.deliver import Delivery
from praktor_gateway_telegram.render import (
    CAPTION_LIMIT,
    FormattedText,
    render_markdown,
    split_message,
)
from praktor_gateway_telegram.render.text import MESSAGE_LIMIT


def warning_line(terminal_reason: str) -> str:
    """The line added under an answer that ended early."""
    return f"⚠️ _Agent stopped: {terminal_reason.replace('_', ' ')}_"


def reply_markdown(delivery: Delivery, default_agent: str) -> str:
    """The Markdown of a ``text`` or ``final`` delivery as the chat should show it.

    Empty when there is nothing to show (an empty answer that ended normally).
    """
    body = delivery.content.strip()
    if delivery.kind == "final" and delivery.terminal_reason:
        body = f"{body}\n\n{warning_line(delivery.terminal_reason)}".strip()
    if not body:
        return ""
    agent = delivery.agent_id
    if agent and agent != default_agent:
        body = f"_{agent}:_ {body}"
    return body


def reply_messages(markdown: str, limit: int = MESSAGE_LIMIT) -> list[FormattedText]:
    """``markdown`` rendered for Telegram and cut into messages of at most ``limit`` units."""
    if not markdown.strip():
        return []
    return split_message(render_markdown(markdown), limit)


def notice_messages(delivery: Delivery, limit: int = MESSAGE_LIMIT) -> list[FormattedText]:
    """A notice or error as messages: rendered when it is Markdown, else plain."""
    notice = delivery.notice
    text = notice.text.strip() if notice is not None else ""
    if not text:
        return []
    if notice is not None and notice.markdown:
        return reply_messages(text, limit)
    return split_message(FormattedText(text), limit)


def caption_fits(caption: str) -> bool:
    """True when ``caption`` can go under a file (Telegram allows 1024 UTF-16 units)."""
    return len(caption.encode("utf-16-le", "surrogatepass")) // 2 <= CAPTION_LIMIT
