"""The agent's tools over host.ipc.<id>: what they send, what they show the model."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest

from praktor_agent_runner.ipc import IpcClient, IpcCommandError, IpcUnavailableError
from praktor_agent_runner.prompt import MemoryHint
from praktor_agent_runner.tools import (
    TOOL_NAMES,
    AgentTools,
    format_history,
    format_memory_list,
    format_recall,
    memory_index,
)
from praktor_common.contracts.ipc import (
    EMBEDDING_DIM,
    HistoryMessage,
    IpcContent,
    IpcMemoryList,
    IpcReadUserMd,
    Memory,
)

WHEN = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


class Host:
    """Answers IPC requests from a table of replies; records what it was asked."""

    def __init__(self, replies: dict[str, Any] | None = None) -> None:
        self.replies = replies or {}
        self.asked: list[tuple[str, dict[str, Any]]] = []

    async def request(self, subject: str, body: bytes, timeout: float) -> bytes:
        request = json.loads(body)
        self.asked.append((subject, request))
        reply = self.replies.get(request["type"], {"ok": True})
        if isinstance(reply, BaseException):
            raise reply
        return reply if isinstance(reply, bytes) else json.dumps(reply).encode()


def no_model(texts: Any) -> None:
    """An embedder without a model (memory then works by full text only)."""
    del texts


def tools(host: Host, embedder: Any = no_model) -> AgentTools:
    return AgentTools(IpcClient("coder", host.request), embedder=embedder)


def text(result: dict[str, Any]) -> str:
    [item] = result["content"]
    assert item["type"] == "text"
    return str(item["text"])


def memory(key: str, tags: str = "", count: int = 0) -> dict[str, Any]:
    return {
        "key": key,
        "content": f"about {key}",
        "tags": tags,
        "access_count": count,
        "created_at": WHEN.isoformat(),
        "updated_at": WHEN.isoformat(),
    }


# --- the IPC client -------------------------------------------------------------------


async def test_a_request_goes_to_the_agents_own_subject_and_the_reply_is_typed() -> None:
    host = Host({"read_user_md": {"ok": True, "content": "# Alex"}})
    reply = await IpcClient("coder", host.request).call(IpcReadUserMd(), IpcContent)
    assert reply.content == "# Alex"
    assert host.asked == [("host.ipc.coder", {"type": "read_user_md", "payload": {}})]


@pytest.mark.parametrize(
    ("reply", "error", "says"),
    [
        ({"error": "no such file"}, IpcCommandError, "no such file"),
        (TimeoutError(), IpcUnavailableError, "did not answer read_user_md within 30 s"),
        (ConnectionError("gone"), IpcUnavailableError, "could not be asked (read_user_md)"),
        (b"not json", IpcUnavailableError, "was not understood"),
        ({"ok": True}, IpcUnavailableError, "was not understood"),
    ],
)
async def test_failures_are_told_apart(reply: Any, error: type[Exception], says: str) -> None:
    client = IpcClient("coder", Host({"read_user_md": reply}).request)
    with pytest.raises(error, match=re.escape(says)):
        await client.call(IpcReadUserMd(), IpcContent)


# --- tools ----------------------------------------------------------------------------


async def test_memory_store_without_a_model_sends_key_content_tags_and_no_embedding() -> None:
    host = Host()
    result = await tools(host).memory_store({"key": " k ", "content": "v", "tags": "a,b"})
    assert text(result) == "Memory stored: k"
    assert host.asked[0][1] == {
        "type": "memory_store",
        "payload": {"key": "k", "content": "v", "tags": "a,b", "embedding": None},
    }


async def test_an_embedding_from_the_seam_travels_with_the_memory() -> None:
    host = Host()
    vector = [0.5] * EMBEDDING_DIM
    seen: list[list[str]] = []

    def embedder(texts: Any) -> list[list[float]]:
        seen.append(list(texts))
        return [vector]

    await tools(host, embedder).memory_store({"key": "k", "content": "v", "tags": "t"})
    assert seen == [["k t v"]]
    assert host.asked[0][1]["payload"]["embedding"] == vector


async def test_by_default_memories_and_queries_are_embedded_by_the_bundled_model() -> None:
    host = Host({"memory_recall": {"ok": True, "memories": []}})
    agent_tools = AgentTools(IpcClient("coder", host.request))
    await agent_tools.memory_store({"key": "boiler", "content": "serviced every October"})
    await agent_tools.memory_recall({"query": "when is the boiler serviced?"})
    stored = host.asked[0][1]["payload"]["embedding"]
    query = host.asked[1][1]["payload"]["embedding"]
    assert len(stored) == len(query) == EMBEDDING_DIM
    assert sum(a * b for a, b in zip(stored, query, strict=True)) > 0.5


async def test_recall_shows_each_memory_with_its_tags_and_use() -> None:
    host = Host({"memory_recall": {"ok": True, "memories": [memory("a", "x", 3), memory("b")]}})
    shown = text(await tools(host).memory_recall({"query": "a"}))
    assert shown == (
        "## a [x]\nabout a\n_(updated: 2026-03-01T09:30:00Z, accessed: 3x)_\n\n"
        "## b\nabout b\n_(updated: 2026-03-01T09:30:00Z, accessed: 0x)_"
    )
    assert host.asked[0][1]["payload"] == {"query": "a", "embedding": None, "limit": 20}


async def test_delete_and_forget_say_what_happened() -> None:
    host = Host({"memory_delete": {"ok": True, "deleted": 0}})
    assert text(await tools(host).memory_delete({"key": "k"})) == "No memory found with key: k"
    host.replies["memory_delete"] = {"ok": True, "deleted": 1}
    assert text(await tools(host).memory_delete({"key": "k"})) == "Memory deleted: k"
    host.replies["memory_forget"] = {"ok": True, "deleted": 0}
    nothing = text(await tools(host).memory_forget({"query": "q"}))
    assert nothing == 'No memories found matching "q".'
    host.replies["memory_forget"] = {"ok": True, "deleted": 2}
    forgot = text(await tools(host).memory_forget({"query": "q"}))
    assert forgot == 'Deleted 2 memory(ies) matching "q".'


async def test_a_host_error_is_shown_to_the_model_as_text() -> None:
    host = Host({"memory_list": {"error": "database is down"}})
    handler = next(t for t in tools(host).memory_tools() if t.name == "memory_list").handler
    assert text(await handler({})) == "Error: database is down"


async def test_history_search_errors_are_search_errors() -> None:
    host = Host({"search_history": TimeoutError()})
    handler = tools(host).history_tools()[0].handler
    shown = text(await handler({"query": "dentist"}))
    assert shown == "Search error: the host did not answer search_history within 30 s"
    assert text(await handler({"query": " "})) == "Search error: query is required"


async def test_profile_and_identity_are_read_and_replaced() -> None:
    host = Host({"read_user_md": {"ok": True, "content": ""}})
    t = tools(host)
    assert text(await t.user_profile_read({})) == "(No user profile set)"
    assert text(await t.user_profile_update({"content": "# Alex"})) == "User profile updated."
    assert text(await t.agent_identity_update({"content": "# Jarvis"})) == "Identity updated."
    assert [r["type"] for _, r in host.asked] == [
        "read_user_md",
        "update_user_md",
        "update_agent_md",
    ]
    assert host.asked[2][1]["payload"] == {"content": "# Jarvis"}


def test_every_tool_is_served_under_its_mcp_name() -> None:
    t = tools(Host())
    servers = t.servers()
    listed = {
        f"mcp__{server}__{tool.name}"
        for server, tool_list in (
            ("praktor-profile", t.profile_tools()),
            ("praktor-history", t.history_tools()),
            ("praktor-memory", t.memory_tools()),
        )
        for tool in tool_list
    }
    assert listed == set(TOOL_NAMES)
    assert set(servers) == {"praktor-profile", "praktor-history", "praktor-memory"}
    assert all(config["type"] == "sdk" for config in servers.values())


def test_formatting_of_empty_answers() -> None:
    assert format_recall([]) == "No memories found matching that query."
    assert format_memory_list([]) == "No memories stored yet."
    assert format_history([]) == "No messages found matching that query."


def test_history_names_who_spoke_and_when() -> None:
    messages = [
        HistoryMessage(sender="user:7", content="hi", created_at=WHEN),
        HistoryMessage(sender="agent", content="hello", created_at=WHEN),
    ]
    assert format_history(messages) == (
        "**User** (2026-03-01T09:30:00Z):\nhi\n\n---\n\n"
        "**Assistant** (2026-03-01T09:30:00Z):\nhello"
    )


def test_the_memory_list_shows_one_line_per_memory() -> None:
    memories = [Memory.model_validate(memory("a", "x", 2)), Memory.model_validate(memory("b"))]
    assert format_memory_list(memories) == (
        "- a [x] (updated: 2026-03-01T09:30:00Z, accessed: 2x)\n"
        "- b (updated: 2026-03-01T09:30:00Z, accessed: 0x)"
    )


async def test_the_memory_index_for_the_prompt_comes_from_memory_list() -> None:
    host = Host({"memory_list": {"ok": True, "memories": [memory("a", "x", 2)]}})
    index = memory_index(IpcClient("coder", host.request))
    assert await index() == [MemoryHint("a", "x", 2)]
    assert host.asked[0][1] == IpcMemoryList().model_dump()
