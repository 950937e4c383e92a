"""The chat commands (spec §11.13), defined once.

The Telegram gateway registers :data:`BOT_COMMANDS` with ``setMyCommands``;
the ``/commands`` reply is :func:`commands_help`. Both come from this list, so
a command added here shows in the menu and in the help at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class ChatCommand:
    """One slash command."""

    name: str
    """Without the slash, e.g. ``stop``."""
    description: str
    """Short text for the bot menu (Telegram allows 1 to 256 characters)."""
    usage: str = ""
    """Argument hint for ``/commands``, e.g. ``[agent]``."""


BOT_COMMANDS: Final[tuple[ChatCommand, ...]] = (
    ChatCommand("agents", "List agents"),
    ChatCommand("commands", "Show commands"),
    ChatCommand("start", "Greet an agent", "[agent]"),
    ChatCommand("stop", "Abort the active run", "[agent]"),
    ChatCommand("reset", "Start a new session", "[agent]"),
    ChatCommand("nix", "Manage nix packages", "<action> [package] [@agent]"),
)

COMMAND_NAMES: Final[frozenset[str]] = frozenset(c.name for c in BOT_COMMANDS)

_COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]{1,64}))?(?:\s+(.*))?$", re.DOTALL)


@dataclass(frozen=True)
class ParsedCommand:
    name: str
    """Lower-cased, without the slash."""
    payload: str
    """Everything after the command, stripped."""


def parse_command(text: str, bot_username: str | None = None) -> ParsedCommand | None:
    """``/cmd`` or ``/cmd@botname`` followed by a payload, when ``cmd`` is one of ours.

    A command addressed to another bot (``/stop@otherbot``) and unknown
    commands give ``None``: they are routed like normal text (spec §11.1).
    """
    match = _COMMAND.match(text.strip())
    if match is None:
        return None
    name = match.group(1).lower()
    if name not in COMMAND_NAMES:
        return None
    addressed = match.group(2)
    if addressed and bot_username and addressed.lower() != bot_username.lower():
        return None
    return ParsedCommand(name=name, payload=(match.group(3) or "").strip())


def commands_help() -> str:
    """The ``/commands`` reply (Markdown)."""
    lines = ["*Commands*", ""]
    for command in BOT_COMMANDS:
        usage = f" {command.usage}" if command.usage else ""
        lines.append(f"`/{command.name}{usage}` — {command.description}")
    lines += [
        "",
        "Start a message with `@agent_name` to talk to one agent; without it, "
        "the message goes to the agent that fits best (or the one you used last).",
        "`@swarm agent1, agent2: task` runs several agents together.",
    ]
    return "\n".join(lines)
