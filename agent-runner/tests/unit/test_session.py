"""Claude Code processes: their options, and the warm conversation keyed by session."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import pytest
from claude_agent_sdk import ClaudeAgentOptions, Message, SystemMessage
from sdk_messages import result

from praktor_agent_runner.prompt import MemoryHint
from praktor_agent_runner.session import (
    ClaudeProcess,
    PromptSource,
    Sessions,
    claude_options,
)
from praktor_agent_runner.settings import AgentSettings

MISSING = "00000000-0000-4000-8000-000000000000"


def options(settings: AgentSettings, **kwargs: Any) -> ClaudeAgentOptions:
    values: dict[str, Any] = {
        "system_prompt": "SYSTEM",
        "env": {"HOME": "/h"},
        "mcp_servers": {"praktor-memory": {"type": "sdk", "name": "praktor-memory"}},
    }
    values.update(kwargs)
    return claude_options(settings, **values)


def test_a_conversation_process_gets_the_agents_setup(settings: AgentSettings) -> None:
    o = options(settings, resume="s-1")
    assert o.system_prompt == "SYSTEM"
    assert o.cwd == str(settings.workspace)
    assert o.setting_sources == ["user", "project", "local"], "CLAUDE.md files are memory"
    assert o.permission_mode == "bypassPermissions"
    assert o.model == "claude-sonnet-4-5"
    assert o.max_turns == 200
    assert o.resume == "s-1"
    assert o.include_partial_messages
    assert o.env == {"HOME": "/h"}
    assert list(o.mcp_servers) == ["praktor-memory"]  # type: ignore[arg-type]
    assert o.tools is None, "no restriction: every built-in tool, WebSearch and WebFetch included"


def test_allowed_tools_restrict_the_built_in_tools(settings: AgentSettings) -> None:
    restricted = dataclasses.replace(settings, allowed_tools=("Read", "WebFetch"))
    o = options(restricted)
    assert o.tools == ["Read", "WebFetch"]
    assert list(o.mcp_servers) == ["praktor-memory"], "the agent's own tools stay"  # type: ignore[arg-type]


def test_a_routing_process_gets_no_tools_and_one_turn(settings: AgentSettings) -> None:
    o = options(settings, routing=True)
    assert (o.tools, o.mcp_servers, o.strict_mcp_config, o.max_turns) == ([], {}, True, 1)
    assert o.resume is None


class FakeClient:
    """Plays ``ClaudeSDKClient``: each instance is one "CLI process"."""

    made: list[FakeClient] = []

    def __init__(self, opts: ClaudeAgentOptions) -> None:
        self.options = opts
        self.connected = False
        self.disconnected = False
        self.session = opts.resume or f"session-{len(FakeClient.made)}"
        FakeClient.made.append(self)

    async def connect(self) -> None:
        await asyncio.sleep(0)
        if self.options.resume == MISSING:
            raise RuntimeError(f"No conversation found with session ID: {MISSING}")
        self.connected = True

    async def query(self, prompt: str) -> None:
        self.prompt = prompt

    async def receive_response(self) -> AsyncIterator[Message]:
        yield SystemMessage(subtype="init", data={"session_id": self.session})
        yield result("ok", session_id=self.session)

    async def interrupt(self) -> None:
        pass

    async def disconnect(self) -> None:
        self.disconnected = True


class FakeCli:
    """The CLI subprocess the SDK's transport holds."""

    pid = 4242
    killed = False

    def kill(self) -> None:
        self.killed = True


class StuckClient(FakeClient):
    """A client whose disconnect never finishes."""

    def __init__(self, opts: ClaudeAgentOptions) -> None:
        super().__init__(opts)
        self.cli = FakeCli()
        self._transport = SimpleNamespace(_process=self.cli)

    async def disconnect(self) -> None:
        await asyncio.Event().wait()


@pytest.fixture
def sessions(settings: AgentSettings) -> Sessions:
    FakeClient.made = []
    (settings.workspace / "AGENT.md").write_text("# Jarvis")
    return Sessions(
        settings,
        PromptSource(settings),
        mcp_servers={},
        env={},
        client_factory=FakeClient,  # type: ignore[arg-type]
    )


async def turn(sessions: Sessions) -> ClaudeProcess:
    process = await sessions.conversation()
    async for _ in process.ask("hi"):
        pass
    await sessions.finished(process, healthy=True)
    return process


def client(process: ClaudeProcess) -> FakeClient:
    return process._client  # type: ignore[return-value]


async def test_turns_reuse_the_prewarmed_process_of_the_session(sessions: Sessions) -> None:
    await sessions.prewarm()
    first = await turn(sessions)
    second = await turn(sessions)
    third = await turn(sessions)
    assert first is second is third
    assert len(FakeClient.made) == 1
    assert sessions.session_id == "session-0"
    assert not client(first).disconnected


async def test_a_changed_system_prompt_warms_a_replacement_resuming_the_session(
    sessions: Sessions, settings: AgentSettings
) -> None:
    first = await turn(sessions)
    (settings.workspace / "AGENT.md").write_text("# Friday")
    await sessions.prewarm()
    await asyncio.sleep(0.01)
    second = await sessions.conversation()
    assert second is not first
    assert client(first).disconnected
    assert client(second).options.resume == "session-0"
    assert "# Friday" in str(client(second).options.system_prompt)


async def test_an_unhealthy_process_is_ended_and_replaced(sessions: Sessions) -> None:
    first = await sessions.conversation()
    async for _ in first.ask("hi"):
        pass
    await sessions.finished(first, healthy=False)
    assert client(first).disconnected
    second = await sessions.conversation()
    assert second is not first
    assert client(second).options.resume == "session-0"


async def test_clear_forgets_the_session_even_if_a_running_turn_ends_afterwards(
    sessions: Sessions, settings: AgentSettings
) -> None:
    running = await sessions.conversation()
    async for _ in running.ask("hi"):
        pass
    (settings.home / ".claude" / "projects").mkdir(parents=True)
    await sessions.clear()
    await sessions.finished(running, healthy=True)

    assert sessions.session_id is None
    assert client(running).disconnected, "a process of the old session is not kept"
    assert not (settings.home / ".claude" / "projects").exists()
    fresh = await sessions.conversation()
    assert client(fresh).options.resume is None


async def test_a_session_that_cannot_be_resumed_is_replaced_by_a_new_one(
    settings: AgentSettings,
) -> None:
    FakeClient.made = []
    gone = Sessions(
        dataclasses.replace(settings, session_id=MISSING),
        PromptSource(settings),
        mcp_servers={},
        env={},
        client_factory=FakeClient,  # type: ignore[arg-type]
    )
    process = await gone.conversation()
    assert process.resumed_from is None
    assert gone.session_id is None


async def test_the_prompt_lists_memories_and_survives_an_unavailable_index(
    settings: AgentSettings,
) -> None:
    async def index() -> list[MemoryHint]:
        return [MemoryHint("dentist")]

    async def broken() -> list[MemoryHint]:
        raise TimeoutError

    assert "- dentist" in await PromptSource(settings, index).system_prompt()
    assert "stored memories" not in await PromptSource(settings, broken).system_prompt()
    assert "- dentist" not in await PromptSource(settings, index).system_prompt(routing=True)


async def test_closing_ends_every_process(sessions: Sessions) -> None:
    first = await turn(sessions)
    await sessions.close()
    assert client(first).disconnected
    await sessions.prewarm()
    assert len(FakeClient.made) == 1, "nothing is started once closed"


async def test_closing_a_process_whose_disconnect_hangs_kills_its_cli(
    settings: AgentSettings,
) -> None:
    process = ClaudeProcess(options(settings), client_factory=StuckClient)  # type: ignore[arg-type]
    await process.start()
    process.close_timeout = 0.1
    async with asyncio.timeout(1):
        await process.close()
    stuck = client(process)
    assert isinstance(stuck, StuckClient)
    assert stuck.cli.killed
    assert process.closed
