"""Names of the agent's own MCP servers and tools (as Claude Code sees them)."""

from __future__ import annotations

from typing import Final

PROFILE_SERVER: Final = "praktor-profile"
HISTORY_SERVER: Final = "praktor-history"
MEMORY_SERVER: Final = "praktor-memory"
FILE_SERVER: Final = "praktor-file"
BROWSER_SERVER: Final = "browser"
"""The Playwright MCP server (an external stdio server, see ``browser.py``)."""

USER_PROFILE_READ: Final = "user_profile_read"
USER_PROFILE_UPDATE: Final = "user_profile_update"
AGENT_IDENTITY_READ: Final = "agent_identity_read"
AGENT_IDENTITY_UPDATE: Final = "agent_identity_update"
HISTORY_SEARCH: Final = "history_search"
MEMORY_STORE: Final = "memory_store"
MEMORY_RECALL: Final = "memory_recall"
MEMORY_LIST: Final = "memory_list"
MEMORY_DELETE: Final = "memory_delete"
MEMORY_FORGET: Final = "memory_forget"
FILE_SEND: Final = "file_send"


def mcp_tool(server: str, tool: str) -> str:
    """The name Claude Code gives an MCP tool: ``mcp__<server>__<tool>``."""
    return f"mcp__{server}__{tool}"
