"""The agent's own tools: in-process SDK MCP servers, each a thin call over IPC.

Servers (tool names as Claude Code sees them: ``mcp__<server>__<tool>``):

* ``praktor-profile`` — ``user_profile_read`` / ``user_profile_update`` (the
  human's USER.md), ``agent_identity_read`` / ``agent_identity_update`` (the
  agent's AGENT.md);
* ``praktor-history`` — ``history_search``;
* ``praktor-memory`` — ``memory_store``, ``memory_recall``, ``memory_list``,
  ``memory_delete``, ``memory_forget``.

Tool results are one text item; failures are text too (``Error: …``), never
MCP errors (spec §7.9). Memories and recall queries are embedded in the runner
(:func:`praktor_agent_runner.embedding.embed`, in a worker thread) and the
vector travels to the host; without a model the host matches by full text only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, Final

from claude_agent_sdk import McpSdkServerConfig, SdkMcpTool, create_sdk_mcp_server, tool

from praktor_agent_runner import toolnames as t
from praktor_agent_runner.embedding import embed
from praktor_agent_runner.ipc import IpcClient, IpcCommandError, IpcUnavailableError
from praktor_agent_runner.prompt import MemoryHint
from praktor_common.contracts.ipc import (
    EMBEDDING_DIM,
    ContentPayload,
    HistoryMessage,
    IpcContent,
    IpcDeletedCount,
    IpcHistory,
    IpcMemories,
    IpcMemoryDelete,
    IpcMemoryForget,
    IpcMemoryList,
    IpcMemoryRecall,
    IpcMemoryStore,
    IpcOk,
    IpcReadAgentMd,
    IpcReadUserMd,
    IpcSearchHistory,
    IpcUpdateAgentMd,
    IpcUpdateUserMd,
    Memory,
    MemoryForgetPayload,
    MemoryKeyPayload,
    MemoryRecallPayload,
    MemoryStorePayload,
    SearchHistoryPayload,
)

ToolResult = dict[str, Any]
Embedder = Callable[[Sequence[str]], list[list[float]] | None]


def text_result(text: str) -> ToolResult:
    return {"content": [{"type": "text", "text": text}]}


# --- formatting (pure) ------------------------------------------------------------------


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def format_recall(memories: Sequence[Memory]) -> str:
    if not memories:
        return "No memories found matching that query."
    blocks = []
    for m in memories:
        head = f"## {m.key}" + (f" [{m.tags}]" if m.tags else "")
        foot = f"_(updated: {_iso(m.updated_at)}, accessed: {m.access_count}x)_"
        blocks.append(f"{head}\n{m.content}\n{foot}")
    return "\n\n".join(blocks)


def format_memory_list(memories: Sequence[Memory]) -> str:
    if not memories:
        return "No memories stored yet."
    return "\n".join(
        f"- {m.key}"
        + (f" [{m.tags}]" if m.tags else "")
        + f" (updated: {_iso(m.updated_at)}, accessed: {m.access_count}x)"
        for m in memories
    )


def format_history(messages: Sequence[HistoryMessage]) -> str:
    if not messages:
        return "No messages found matching that query."
    return "\n\n---\n\n".join(
        f"**{'Assistant' if m.sender == 'agent' else 'User'}** ({_iso(m.created_at)}):\n{m.content}"
        for m in messages
    )


# --- tools ------------------------------------------------------------------------------

Handler = Callable[[dict[str, Any]], Awaitable[ToolResult]]


def _schema(required: dict[str, str], optional: dict[str, tuple[str, str]] | None = None) -> Any:
    """A JSON schema: required strings (name: description), optional (name: (type, description))."""
    properties: dict[str, Any] = {
        name: {"type": "string", "description": desc} for name, desc in required.items()
    }
    for name, (kind, desc) in (optional or {}).items():
        properties[name] = {"type": kind, "description": desc}
    return {"type": "object", "properties": properties, "required": list(required)}


def _guarded(handler: Handler, error_prefix: str = "Error") -> Handler:
    async def run(args: dict[str, Any]) -> ToolResult:
        try:
            return await handler(args)
        except (IpcCommandError, IpcUnavailableError) as exc:
            return text_result(f"{error_prefix}: {exc}")

    return run


def _make(name: str, description: str, schema: Any, handler: Handler, prefix: str = "Error") -> Any:
    return tool(name, description, schema)(_guarded(handler, prefix))


class AgentTools:
    """Builds the SDK MCP servers over one :class:`IpcClient`."""

    def __init__(self, ipc: IpcClient, embedder: Embedder = embed) -> None:
        self.ipc = ipc
        self.embedder = embedder

    async def _embedding(self, text: str) -> list[float] | None:
        vectors = await asyncio.to_thread(self.embedder, [text])
        if not vectors or len(vectors[0]) != EMBEDDING_DIM:
            return None
        return list(vectors[0])

    # profile ----------------------------------------------------------------------------

    async def user_profile_read(self, _args: dict[str, Any]) -> ToolResult:
        reply = await self.ipc.call(IpcReadUserMd(), IpcContent)
        return text_result(reply.content or "(No user profile set)")

    async def user_profile_update(self, args: dict[str, Any]) -> ToolResult:
        payload = ContentPayload(content=str(args["content"]))
        await self.ipc.call(IpcUpdateUserMd(payload=payload), IpcOk)
        return text_result("User profile updated.")

    async def agent_identity_read(self, _args: dict[str, Any]) -> ToolResult:
        reply = await self.ipc.call(IpcReadAgentMd(), IpcContent)
        return text_result(reply.content or "(No identity set)")

    async def agent_identity_update(self, args: dict[str, Any]) -> ToolResult:
        payload = ContentPayload(content=str(args["content"]))
        await self.ipc.call(IpcUpdateAgentMd(payload=payload), IpcOk)
        return text_result("Identity updated.")

    # history ----------------------------------------------------------------------------

    async def history_search(self, args: dict[str, Any]) -> ToolResult:
        query = str(args.get("query") or "").strip()
        if not query:
            return text_result("Search error: query is required")
        limit = int(args.get("limit") or 20)
        payload = SearchHistoryPayload(query=query, limit=max(1, min(limit, 200)))
        reply = await self.ipc.call(IpcSearchHistory(payload=payload), IpcHistory)
        return text_result(format_history(reply.messages))

    # memory -----------------------------------------------------------------------------

    async def memory_store(self, args: dict[str, Any]) -> ToolResult:
        key, content = str(args["key"]).strip(), str(args["content"])
        tags = str(args.get("tags") or "").strip()
        if not key or not content.strip():
            return text_result("Error: key and content are required")
        embedding = await self._embedding(f"{key} {tags} {content}")
        payload = MemoryStorePayload(key=key, content=content, tags=tags, embedding=embedding)
        await self.ipc.call(IpcMemoryStore(payload=payload), IpcOk)
        return text_result(f"Memory stored: {key}")

    async def memory_recall(self, args: dict[str, Any]) -> ToolResult:
        query = str(args["query"]).strip()
        if not query:
            return text_result("Error: query is required")
        payload = MemoryRecallPayload(query=query, embedding=await self._embedding(query))
        reply = await self.ipc.call(IpcMemoryRecall(payload=payload), IpcMemories)
        return text_result(format_recall(reply.memories))

    async def memory_list(self, _args: dict[str, Any]) -> ToolResult:
        reply = await self.ipc.call(IpcMemoryList(), IpcMemories)
        return text_result(format_memory_list(reply.memories))

    async def memory_delete(self, args: dict[str, Any]) -> ToolResult:
        key = str(args["key"]).strip()
        if not key:
            return text_result("Error: key is required")
        payload = MemoryKeyPayload(key=key)
        reply = await self.ipc.call(IpcMemoryDelete(payload=payload), IpcDeletedCount)
        if reply.deleted == 0:
            return text_result(f"No memory found with key: {key}")
        return text_result(f"Memory deleted: {key}")

    async def memory_forget(self, args: dict[str, Any]) -> ToolResult:
        query = str(args["query"]).strip()
        if not query:
            return text_result("Error: query is required")
        payload = MemoryForgetPayload(query=query)
        reply = await self.ipc.call(IpcMemoryForget(payload=payload), IpcDeletedCount)
        if reply.deleted == 0:
            return text_result(f'No memories found matching "{query}".')
        return text_result(f'Deleted {reply.deleted} memory(ies) matching "{query}".')

    # servers ----------------------------------------------------------------------------

    def profile_tools(self) -> list[SdkMcpTool[Any]]:
        content = {"content": "The complete new content (replaces the whole file)"}
        return [
            _make(
                t.USER_PROFILE_READ,
                "Read the profile of the HUMAN you work for (USER.md: name, preferences, "
                "context). This is not your own identity.",
                _schema({}),
                self.user_profile_read,
            ),
            _make(
                t.USER_PROFILE_UPDATE,
                "Replace the HUMAN's profile (USER.md) with new content. Read it first and keep "
                "what is still true. This is not your own identity.",
                _schema(content),
                self.user_profile_update,
            ),
            _make(
                t.AGENT_IDENTITY_READ,
                "Read your own identity (AGENT.md: your name, vibe, expertise).",
                _schema({}),
                self.agent_identity_read,
            ),
            _make(
                t.AGENT_IDENTITY_UPDATE,
                "Replace your own identity (AGENT.md) with new content.",
                _schema(content),
                self.agent_identity_update,
            ),
        ]

    def history_tools(self) -> list[SdkMcpTool[Any]]:
        return [
            _make(
                t.HISTORY_SEARCH,
                "Search the full history of your conversations with the user (full-text; "
                "words, quoted phrases, OR). Use it whenever the user refers to something "
                "that is not in your current context.",
                _schema(
                    {"query": "What to look for"},
                    {"limit": ("integer", "Most messages to return (default 20)")},
                ),
                self.history_search,
                prefix="Search error",
            )
        ]

    def memory_tools(self) -> list[SdkMcpTool[Any]]:
        return [
            _make(
                t.MEMORY_STORE,
                "Store a memory under a key (an existing key is replaced). Use short, "
                "descriptive keys.",
                _schema(
                    {"key": "A short unique key", "content": "What to remember"},
                    {"tags": ("string", "Optional comma-separated tags")},
                ),
                self.memory_store,
            ),
            _make(
                t.MEMORY_RECALL,
                "Recall memories matching a query (keywords and meaning), best first.",
                _schema({"query": "What to recall"}),
                self.memory_recall,
            ),
            _make(t.MEMORY_LIST, "List every stored memory.", _schema({}), self.memory_list),
            _make(
                t.MEMORY_DELETE,
                "Delete one memory by its exact key.",
                _schema({"key": "The memory's key"}),
                self.memory_delete,
            ),
            _make(
                t.MEMORY_FORGET,
                "Delete every memory matching a query.",
                _schema({"query": "What to forget"}),
                self.memory_forget,
            ),
        ]

    def servers(self) -> dict[str, McpSdkServerConfig]:
        """The SDK MCP servers, keyed by server name (for ``ClaudeAgentOptions.mcp_servers``)."""
        return {
            t.PROFILE_SERVER: create_sdk_mcp_server(t.PROFILE_SERVER, tools=self.profile_tools()),
            t.HISTORY_SERVER: create_sdk_mcp_server(t.HISTORY_SERVER, tools=self.history_tools()),
            t.MEMORY_SERVER: create_sdk_mcp_server(t.MEMORY_SERVER, tools=self.memory_tools()),
        }


def memory_index(ipc: IpcClient) -> Callable[[], Awaitable[list[MemoryHint]]]:
    """The memory keys for the system prompt (spec §7.3 item 9), asked of the host."""

    async def index() -> list[MemoryHint]:
        reply = await ipc.call(IpcMemoryList(), IpcMemories)
        return [MemoryHint(m.key, m.tags, m.access_count) for m in reply.memories]

    return index


TOOL_NAMES: Final = tuple(
    t.mcp_tool(server, name)
    for server, names in (
        (
            t.PROFILE_SERVER,
            (
                t.USER_PROFILE_READ,
                t.USER_PROFILE_UPDATE,
                t.AGENT_IDENTITY_READ,
                t.AGENT_IDENTITY_UPDATE,
            ),
        ),
        (t.HISTORY_SERVER, (t.HISTORY_SEARCH,)),
        (
            t.MEMORY_SERVER,
            (t.MEMORY_STORE, t.MEMORY_RECALL, t.MEMORY_LIST, t.MEMORY_DELETE, t.MEMORY_FORGET),
        ),
    )
    for name in names
)
"""Every tool of :meth:`AgentTools.servers`, as Claude Code names it."""
