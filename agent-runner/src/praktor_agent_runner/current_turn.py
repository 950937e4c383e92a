"""Which turn a Claude Code process is working on, for tools that act on a turn's behalf.

Each process gets its own :class:`TurnSlot`; the process sets it when a turn
is asked of it. A conversational process serves one turn at a time and a task
runs in a process of its own, so a tool bound to a process's slot knows the
turn of each of its calls, even with tasks running in parallel.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from claude_agent_sdk import McpServerConfig


@dataclass(eq=False)
class TurnSlot:
    """The ``msg_id`` of the turn the process works on (the last one, once it ended)."""

    msg_id: str | None = None


TurnServers = Callable[[TurnSlot], Mapping[str, McpServerConfig]]
"""MCP servers made for one process, bound to that process's turn."""
