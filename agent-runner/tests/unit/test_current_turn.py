"""A process's own tools know its turn: each process has a slot, each turn fills it."""

from __future__ import annotations

from typing import Any

import pytest
from fake_claude import FakeClaude, FakeSink, job, manager
from test_session import FakeClient

from praktor_agent_runner.current_turn import TurnSlot
from praktor_agent_runner.session import PromptSource, Sessions
from praktor_agent_runner.settings import AgentSettings


@pytest.fixture
def bound(settings: AgentSettings) -> tuple[Sessions, list[TurnSlot]]:
    FakeClient.made = []
    slots: list[TurnSlot] = []

    def servers(slot: TurnSlot) -> dict[str, Any]:
        slots.append(slot)
        return {"praktor-file": {"type": "sdk", "name": f"file-{len(slots)}"}}

    sessions = Sessions(
        settings,
        PromptSource(settings),
        mcp_servers={"praktor-memory": {"type": "sdk", "name": "praktor-memory"}},  # type: ignore[dict-item]
        env={},
        client_factory=FakeClient,  # type: ignore[arg-type]
        turn_servers=servers,
    )
    return sessions, slots


async def test_each_process_gets_servers_bound_to_its_own_turn(
    bound: tuple[Sessions, list[TurnSlot]],
) -> None:
    sessions, slots = bound
    conversation = await sessions.conversation()
    task = await sessions.fresh()

    assert slots[0] is conversation.turn
    assert slots[1] is task.turn
    for made, name in zip(FakeClient.made, ("file-1", "file-2"), strict=True):
        servers: Any = made.options.mcp_servers
        assert servers["praktor-file"]["name"] == name
        assert "praktor-memory" in servers


async def test_asking_a_turn_fills_the_slot_and_routing_gets_no_turn_servers(
    bound: tuple[Sessions, list[TurnSlot]],
) -> None:
    sessions, slots = bound
    process = await sessions.conversation()
    async for _ in process.ask("hi", "turn-1"):
        assert process.turn.msg_id == "turn-1"
    assert process.turn.msg_id == "turn-1", "kept for late calls of the same turn"

    await sessions.fresh(routing=True)
    assert len(slots) == 1, "a routing query has no tools"


async def test_the_turn_manager_names_each_turn_to_its_process() -> None:
    claude, sink = FakeClaude(), FakeSink()
    turns = manager(claude, sink)
    chat, task = job("hello"), job("report", kind="task")
    await turns.submit(chat)
    await turns.submit(task)
    await turns.wait_idle()
    asked = {p.prompts[0]: p.msg_ids[0] for p in claude.processes}
    assert asked == {"hello": chat.turn.msg_id, "report": task.turn.msg_id}
