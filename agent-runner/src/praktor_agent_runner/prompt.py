"""The system prompt (spec §7.3): a pure function of what the agent knows.

Sections are joined by a separator line and each appears only when its
condition holds, in this order: USER.md, the agent's identity (not for routing
queries), the global CLAUDE.md, messaging, formatting, security, conversation
history, memory (with the stored keys, when given), the browser.

The workspace and global ``CLAUDE.md`` are *also* loaded by Claude Code as
memory (see :mod:`praktor_agent_runner.session`); the global one is repeated
here on purpose, as upstream does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from praktor_agent_runner import toolnames as t

SEPARATOR: Final = "\n\n---\n\n"


@dataclass(frozen=True)
class MemoryHint:
    """A stored memory as the prompt lists it (its key, never its content)."""

    key: str
    tags: str = ""
    access_count: int = 0


@dataclass(frozen=True)
class PromptInputs:
    """What the system prompt is built from (read by the caller, so this stays pure)."""

    user_md: str | None = None
    agent_md: str | None = None
    global_claude_md: str | None = None
    agent_md_path: str = "AGENT.md"
    """Where the identity lives, as the agent should call it."""
    memories: Sequence[MemoryHint] = ()
    browser_tools: str | None = None
    """The browser's MCP tool prefix (e.g. ``mcp__browser__``) when a browser is installed."""
    routing: bool = False
    """A routing query: the identity is left out."""


def _memory(key: str) -> str:
    return t.mcp_tool(t.MEMORY_SERVER, key)


def _identity(inputs: PromptInputs) -> str | None:
    if inputs.routing or not (inputs.agent_md or "").strip():
        return None
    update = t.mcp_tool(t.PROFILE_SERVER, t.AGENT_IDENTITY_UPDATE)
    return (
        "## Your identity\n"
        f"What follows is your identity, stored in `{inputs.agent_md_path}`. You may change it "
        f"(your name, vibe, expertise) by editing that file with your file tools or with "
        f"`{update}`.\n\n" + (inputs.agent_md or "").strip()
    )


_MESSAGING: Final = (
    "## Messaging\n"
    "Your plain-text reply is delivered to the user automatically (in Telegram or Mission "
    "Control): no tool is needed to answer. Never create .txt or other text files to carry "
    "a message; write the text in your reply. During a scheduled task your reply *is* the "
    "notification the user receives: keep it short and to the point."
)

_FORMATTING: Final = (
    "## Formatting\n"
    "Replies are shown in Telegram, which supports only a limited Markdown: *bold* (single "
    "asterisks), _italic_ (underscores), `inline code`, ```code blocks``` and [text](url) "
    "links. Do not use # headers, - bullets, --- rules or image embeds: write a bold line "
    "instead of a header and use • or numbers instead of dash bullets."
)

_SECURITY: Final = (
    "## Security (mandatory)\n"
    "• Never reveal the value of an environment variable that holds a secret, token, key, "
    "password or credential.\n"
    "• Never output the contents of secret files.\n"
    "• Never put secrets in emails or in messages to anyone.\n"
    "• When asked for a secret, answer with [REDACTED] and explain that secret values are "
    "never shown. You may confirm that a secret exists, never its value."
)


def _history() -> str:
    search = t.mcp_tool(t.HISTORY_SERVER, t.HISTORY_SEARCH)
    return (
        "## Conversation history\n"
        f"`{search}` searches your whole conversation history with the user. When the user "
        "refers to something that is not in your current context, always search the history "
        "before saying you do not know it, especially after a session restart."
    )


def _memory_line(memory: MemoryHint) -> str:
    line = f"- {memory.key}"
    if memory.tags.strip():
        line += f" [{memory.tags.strip()}]"
    if memory.access_count > 0:
        line += f" ({memory.access_count}x)"
    return line


def _memory_section(memories: Sequence[MemoryHint]) -> str:
    text = (
        "## Memory\n"
        "You have a long-term memory that survives session restarts:\n"
        f"• `{_memory(t.MEMORY_STORE)}(key, content, tags?)` stores or replaces a memory: "
        "facts about the user, preferences, decisions, anything worth keeping.\n"
        f"• `{_memory(t.MEMORY_RECALL)}(query)` finds memories by keywords and meaning.\n"
        f"• `{_memory(t.MEMORY_LIST)}()` lists every memory.\n"
        f"• `{_memory(t.MEMORY_DELETE)}(key)` deletes one memory by its key.\n"
        f"• `{_memory(t.MEMORY_FORGET)}(query)` deletes every memory matching a query.\n"
        "Store what the user asks you to remember and what you will need again; forget what "
        "the user asks you to forget."
    )
    if memories:
        lines = "\n".join(_memory_line(m) for m in memories)
        text += (
            f"\n\nYou currently have {len(memories)} stored memories:\n{lines}\n\n"
            f"Call `{_memory(t.MEMORY_RECALL)}` before answering anything these memories may "
            "cover. Recall is hybrid: it matches keywords and meaning."
        )
    return text


def _browser(prefix: str) -> str:
    return (
        "## Browser\n"
        f"Browser tools (`{prefix}*`) drive the Chromium installed in this machine. Never "
        "install a browser (npm, npx, pip, nix or anything else) and never drive a browser "
        f"through Bash. Open a page with `{prefix}browser_navigate`, then look at it with "
        f"`{prefix}browser_snapshot` (its elements carry the refs that `{prefix}browser_click` "
        f"and `{prefix}browser_type` take). The browser stays open between messages: reuse "
        f"it. During a scheduled task always call `{prefix}browser_close` when you are done."
    )


def build_system_prompt(inputs: PromptInputs) -> str:
    """The system prompt for a query (spec §7.3)."""
    sections: list[str | None] = [
        (inputs.user_md or "").strip() or None,
        _identity(inputs),
        (inputs.global_claude_md or "").strip() or None,
        _MESSAGING,
        _FORMATTING,
        _SECURITY,
        _history(),
        _memory_section(inputs.memories),
        _browser(inputs.browser_tools) if inputs.browser_tools else None,
    ]
    return SEPARATOR.join(s for s in sections if s)
