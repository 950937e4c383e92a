"""The chat commands (spec §11.13): which agent each one means and what the chat is told.

:class:`ScriptedOrchestrator` answers ``svc.orchestrator.*`` as the port
:class:`~praktor_router.commands.Orchestrator` describes (the bus version is
exercised by ``test_service.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from praktor_common.commands import commands_help, parse_command
from praktor_common.contracts.orchestrator import (
    AgentActionReply,
    AgentStatus,
    AgentStatusList,
    NixReply,
    NixRequest,
)
from praktor_common.contracts.service import ServiceError
from praktor_router.commands import ChatCommands, CommandOutcome, CommandReply, Greet, agents_text
from praktor_router.decision import AgentsView

AGENTS = AgentsView({"general": "Everyday", "coder": "Writes code"}, default_agent="general")
DOWN = ServiceError(error="the orchestrator is not running", code="unavailable")


@dataclass
class ScriptedOrchestrator:
    failing: bool = False
    statuses: list[AgentStatus] = field(default_factory=list)
    nix_reply: NixReply | ServiceError | None = None
    calls: list[tuple[str, object]] = field(default_factory=list)

    async def abort(self, agent_id: str) -> AgentActionReply | ServiceError:
        self.calls.append(("abort", agent_id))
        return DOWN if self.failing else AgentActionReply(agent_id=agent_id, was_running=True)

    async def reset(self, agent_id: str) -> AgentActionReply | ServiceError:
        self.calls.append(("reset", agent_id))
        return DOWN if self.failing else AgentActionReply(agent_id=agent_id, was_running=False)

    async def status(self) -> AgentStatusList | ServiceError:
        self.calls.append(("status", None))
        return DOWN if self.failing else AgentStatusList(agents=self.statuses)

    async def nix(self, request: NixRequest) -> NixReply | ServiceError:
        self.calls.append(("nix", request))
        if self.nix_reply is None:
            return ServiceError(error="nix is not available", code="unavailable")
        return self.nix_reply


async def run(
    text: str, orchestrator: ScriptedOrchestrator | None = None, current: str | None = None
) -> CommandOutcome:
    command = parse_command(text)
    assert command is not None, text
    return await ChatCommands(orchestrator or ScriptedOrchestrator()).run(command, AGENTS, current)


def reply(outcome: CommandOutcome) -> CommandReply:
    assert isinstance(outcome, CommandReply), outcome
    return outcome


@pytest.mark.parametrize(
    ("text", "agent"),
    [("/start", "general"), ("/start coder", "coder"), ("/start @coder hi", "coder")],
)
async def test_start_greets_the_named_agent_or_the_default(text: str, agent: str) -> None:
    assert await run(text) == Greet(agent)


async def test_start_with_an_unknown_agent_lists_the_defined_ones() -> None:
    answer = reply(await run("/start ghost"))
    assert answer.failed
    assert answer.code == "agent_not_found"
    assert answer.text == "There is no agent *ghost*. Defined agents: coder, general."


@pytest.mark.parametrize(("command", "verb"), [("stop", "abort"), ("reset", "reset")])
async def test_stop_and_reset_use_the_named_agent_then_the_chats_agent(
    command: str, verb: str
) -> None:
    orchestrator = ScriptedOrchestrator()
    await run(f"/{command} @coder", orchestrator, current="general")
    await run(f"/{command}", orchestrator, current="general")
    assert orchestrator.calls == [(verb, "coder"), (verb, "general")]


async def test_stop_reports_the_stopped_agent() -> None:
    assert reply(await run("/stop", current="coder")).text == "Stopped *coder*."


async def test_reset_reports_the_new_session() -> None:
    assert reply(await run("/reset coder")).text == "New session started for *coder*."


@pytest.mark.parametrize("command", ["stop", "reset"])
async def test_stop_and_reset_without_any_agent_show_the_usage(command: str) -> None:
    orchestrator = ScriptedOrchestrator()
    answer = reply(await run(f"/{command}", orchestrator))
    assert answer.failed
    assert answer.text.startswith(f"Usage: `/{command} [agent]`")
    assert orchestrator.calls == []


async def test_a_failed_stop_says_why() -> None:
    answer = reply(await run("/stop coder", ScriptedOrchestrator(failing=True)))
    assert answer.failed
    assert answer.text == "Failed to stop *coder*: the orchestrator is not running"


async def test_commands_lists_every_command_from_the_one_definition() -> None:
    assert reply(await run("/commands")).text == commands_help()


async def test_agents_shows_state_model_nix_and_messages() -> None:
    statuses = [
        AgentStatus(
            agent_id="general",
            description="Everyday",
            state="busy",
            active_jobs=2,
            model="claude-opus-4-7",
            message_count=12,
            is_default=True,
        ),
        AgentStatus(agent_id="coder", state="stopped", model="claude-sonnet-4-5", nix_enabled=True),
        AgentStatus(agent_id="ops", state="unresponsive", model="m"),
        AgentStatus(agent_id="idle-one", state="busy", active_jobs=1, model="m"),
    ]
    text = reply(await run("/agents", ScriptedOrchestrator(statuses=statuses))).text
    assert text == (
        "*Agents*\n\n"
        "*general* (default) — Everyday\n"
        "  Status: `active (2 jobs)` | Model: `claude-opus-4-7` | Messages: 12\n\n"
        "*coder*\n"
        "  Status: `stopped` | Model: `claude-sonnet-4-5` | Nix: `enabled`\n\n"
        "*ops*\n"
        "  Status: `running` | Model: `m`\n\n"
        "*idle-one*\n"
        "  Status: `active (1 job)` | Model: `m`"
    )


def test_agents_without_agents_says_how_to_add_one() -> None:
    assert "Add one under `agents:`" in agents_text(AgentStatusList(agents=[]))


async def test_agents_when_the_orchestrator_is_down() -> None:
    answer = reply(await run("/agents", ScriptedOrchestrator(failing=True)))
    assert answer.failed
    assert answer.text.startswith("Could not list the agents:")


async def test_nix_targets_the_default_agent_not_the_chats_agent() -> None:
    orchestrator = ScriptedOrchestrator()
    await run("/nix add jq", orchestrator, current="coder")
    assert orchestrator.calls == [
        ("nix", NixRequest(agent_id="general", action="add", packages=["jq"]))
    ]


async def test_nix_while_nix_is_not_available_says_so() -> None:
    answer = reply(await run("/nix list"))
    assert answer.failed
    assert answer.text == "Could not run `/nix list` for *general*: nix is not available"


async def test_nix_output_is_shown_in_a_code_block() -> None:
    done = NixReply(agent_id="coder", action="list", ok=True, output="jq 1.7\n")
    answer = reply(await run("/nix list @coder", ScriptedOrchestrator(nix_reply=done)))
    assert answer.text == "*coder* `list`:\n```\njq 1.7\n```"


async def test_nix_without_output_says_done() -> None:
    done = NixReply(agent_id="general", action="upgrade", ok=True, output="")
    answer = reply(await run("/nix upgrade", ScriptedOrchestrator(nix_reply=done)))
    assert answer.text == "*general* `upgrade`: Done (no output)."


async def test_nix_usage_and_unknown_agent_are_answered_without_asking() -> None:
    orchestrator = ScriptedOrchestrator()
    assert reply(await run("/nix", orchestrator)).text.startswith("Usage: `/nix <action>")
    assert reply(await run("/nix list @ghost", orchestrator)).code == "agent_not_found"
    assert orchestrator.calls == []
