"""The agent's own tools: Claude Code calls them, they ask the host over host.ipc.<id>."""

from __future__ import annotations

from typing import Any

import pytest
from runner_harness import Host, RunnerFactory

from praktor_common.contracts.ipc import EMBEDDING_DIM
from praktor_common.testing.fake_anthropic import FakeAnthropic
from praktor_common.testing.nats import wait_until

pytestmark = pytest.mark.integration


async def test_a_memory_tool_call_goes_to_the_host_and_its_answer_back_to_the_model(
    host: Host, runners: RunnerFactory, fake_anthropic: FakeAnthropic
) -> None:
    store = fake_anthropic.reply_tool_use(
        "mcp__praktor-memory__memory_store",
        {"key": "favourite-colour", "content": "blue", "tags": "prefs"},
    )
    recall = fake_anthropic.reply_tool_use("mcp__praktor-memory__memory_recall", {"query": "x"})
    fake_anthropic.reply_text("Noted: blue.")

    def failing_recall(_payload: dict[str, Any]) -> dict[str, Any]:
        return {"error": "the memory store is offline"}

    host.ipc_answers["memory_recall"] = failing_recall
    await runners().start(host)

    turn = host.turn("Remember that my favourite colour is blue.")
    await host.send(turn)
    result = await host.result(turn.msg_id)

    assert result.content == "Noted: blue."
    [stored] = host.ipc_of("memory_store")
    embedding = stored["payload"].pop("embedding")
    assert stored["payload"] == {"key": "favourite-colour", "content": "blue", "tags": "prefs"}
    assert len(embedding) == EMBEDDING_DIM, "the runner embeds the memory with its own model"
    [recalled] = host.ipc_of("memory_recall")
    assert len(recalled["payload"]["embedding"]) == EMBEDDING_DIM
    after_store, after_recall = fake_anthropic.conversation[1], fake_anthropic.conversation[2]
    [store_result] = after_store.tool_results()
    assert store_result["tool_use_id"] == store.id
    assert store_result["content"].strip() == "Memory stored: favourite-colour"
    [recall_result] = after_recall.tool_results()
    assert recall_result["tool_use_id"] == recall.id
    assert recall_result["content"].strip() == "Error: the memory store is offline"
    await wait_until(host.all_settled, within=10)


async def test_the_system_prompt_lists_the_stored_memory_keys_the_host_reports(
    host: Host, runners: RunnerFactory, fake_anthropic: FakeAnthropic
) -> None:
    def memories(_payload: dict[str, Any]) -> dict[str, Any]:
        memory = {
            "key": "dentist",
            "content": "Tuesday 10:00",
            "tags": "health",
            "access_count": 2,
            "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-02T00:00:00Z",
        }
        return {"ok": True, "memories": [memory]}

    host.ipc_answers["memory_list"] = memories
    await runners().start(host)
    turn = host.turn("When is my appointment?")
    await host.send(turn)
    await host.result(turn.msg_id)

    system = fake_anthropic.conversation[0].system_text
    assert "You currently have 1 stored memories:\n- dentist [health] (2x)" in system
    assert "Tuesday 10:00" not in system, "the prompt lists keys, never contents"
