"""The chat commands of spec §11.13, answered by the router.

Commands arrive as ordinary inbound messages (the gateway publishes every
update); :func:`praktor_common.commands.parse_command` recognises them, and the
bot menu and ``/commands`` come from the same list. Each command becomes either
a reply for the chat (Markdown the gateway renders) or, for ``/start``, a
greeting turn for an agent. The orchestrator answers ``/stop``, ``/reset``,
``/agents`` and ``/nix`` over ``svc.orchestrator.*`` through the
:class:`Orchestrator` port.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Protocol

from praktor_common.commands import ParsedCommand, commands_help
from praktor_common.contracts.deliver import NoticeCode
from praktor_common.contracts.orchestrator import (
    AgentActionReply,
    AgentStatus,
    AgentStatusList,
    NixReply,
    NixRequest,
)
from praktor_common.contracts.service import ServiceError

from .decision import AgentsView
from .nix import NixUsage, parse_nix

__all__ = [
    "GREETING",
    "ChatCommands",
    "CommandOutcome",
    "CommandReply",
    "Greet",
    "Orchestrator",
    "agents_text",
]

GREETING: Final = "Hello!"
"""What ``/start`` sends the agent (spec §11.13)."""


class Orchestrator(Protocol):
    """``svc.orchestrator.*`` as the commands need it; failures come back as ServiceError."""

    async def abort(self, agent_id: str) -> AgentActionReply | ServiceError: ...

    async def reset(self, agent_id: str) -> AgentActionReply | ServiceError: ...

    async def status(self) -> AgentStatusList | ServiceError: ...

    async def nix(self, request: NixRequest) -> NixReply | ServiceError: ...


@dataclass(frozen=True)
class CommandReply:
    """A reply for the chat."""

    text: str
    code: NoticeCode = "info"
    failed: bool = False


@dataclass(frozen=True)
class Greet:
    """``/start``: send the greeting to ``agent_id`` and make it the chat's agent."""

    agent_id: str


CommandOutcome = CommandReply | Greet


def _first_agent_word(payload: str) -> str | None:
    words = payload.split()
    if not words:
        return None
    name = words[0].removeprefix("@")
    return name or None


def _unknown(agent_id: str, agents: AgentsView) -> CommandReply:
    defined = ", ".join(sorted(agents.descriptions)) or "none"
    return CommandReply(
        f"There is no agent *{agent_id}*. Defined agents: {defined}.",
        code="agent_not_found",
        failed=True,
    )


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _state(status: AgentStatus) -> str:
    match status.state:
        case "busy":
            return f"active ({_plural(status.active_jobs, 'job')})"
        case "unresponsive":
            return "running"
        case state:
            return state


def agents_text(statuses: AgentStatusList) -> str:
    """The ``/agents`` reply (spec §11.13), agents in the order the orchestrator gives."""
    if not statuses.agents:
        return "*Agents*\n\nNo agents are configured. Add one under `agents:` in the config."
    lines = ["*Agents*", ""]
    for status in statuses.agents:
        head = f"*{status.agent_id}*"
        if status.is_default:
            head += " (default)"
        if status.description:
            head += f" — {status.description}"
        details = f"  Status: `{_state(status)}` | Model: `{status.model}`"
        if status.nix_enabled:
            details += " | Nix: `enabled`"
        if status.message_count:
            details += f" | Messages: {status.message_count}"
        lines += [head, details, ""]
    return "\n".join(lines).rstrip()


def _nix_text(reply: NixReply) -> str:
    output = reply.output.strip()
    if not output:
        return f"*{reply.agent_id}* `{reply.action}`: Done (no output)."
    return f"*{reply.agent_id}* `{reply.action}`:\n```\n{output}\n```"


class ChatCommands:
    """One method per command; :meth:`run` picks it."""

    def __init__(self, orchestrator: Orchestrator) -> None:
        self._orchestrator = orchestrator

    async def run(
        self, command: ParsedCommand, agents: AgentsView, current: str | None
    ) -> CommandOutcome:
        """Answer ``command``; ``current`` is the chat's agent (last used), if any."""
        match command.name:
            case "start":
                return self.start(command.payload, agents)
            case "stop":
                return await self.stop(command.payload, agents, current)
            case "reset":
                return await self.reset(command.payload, agents, current)
            case "agents":
                return await self.agents()
            case "nix":
                return await self.nix(command.payload, agents)
            case _:
                return CommandReply(commands_help())

    def start(self, payload: str, agents: AgentsView) -> CommandOutcome:
        agent_id = _first_agent_word(payload) or agents.default_agent
        if agent_id is None:
            return CommandReply(
                "Usage: `/start [agent]` — there is no default agent, so name one, "
                "e.g. `/start coder`.",
                failed=True,
            )
        if not agents.defined(agent_id):
            return _unknown(agent_id, agents)
        return Greet(agent_id)

    def _target(
        self, name: str, payload: str, agents: AgentsView, current: str | None
    ) -> str | CommandReply:
        agent_id = _first_agent_word(payload) or current
        if agent_id is None:
            return CommandReply(
                f"Usage: `/{name} [agent]` — no agent has answered in this chat yet, "
                f"so name one, e.g. `/{name} coder`.",
                failed=True,
            )
        if not agents.defined(agent_id):
            return _unknown(agent_id, agents)
        return agent_id

    async def stop(self, payload: str, agents: AgentsView, current: str | None) -> CommandReply:
        target = self._target("stop", payload, agents, current)
        if isinstance(target, CommandReply):
            return target
        reply = await self._orchestrator.abort(target)
        if isinstance(reply, ServiceError):
            return CommandReply(
                f"Failed to stop *{target}*: {reply.error}", "agent_unavailable", failed=True
            )
        return CommandReply(f"Stopped *{target}*.")

    async def reset(self, payload: str, agents: AgentsView, current: str | None) -> CommandReply:
        target = self._target("reset", payload, agents, current)
        if isinstance(target, CommandReply):
            return target
        reply = await self._orchestrator.reset(target)
        if isinstance(reply, ServiceError):
            return CommandReply(
                f"Failed to reset *{target}*: {reply.error}", "agent_unavailable", failed=True
            )
        return CommandReply(f"New session started for *{target}*.")

    async def agents(self) -> CommandReply:
        reply = await self._orchestrator.status()
        if isinstance(reply, ServiceError):
            return CommandReply(
                f"Could not list the agents: {reply.error}", "agent_unavailable", failed=True
            )
        return CommandReply(agents_text(reply))

    async def nix(self, payload: str, agents: AgentsView) -> CommandReply:
        call = parse_nix(payload, agents.default_agent)
        if isinstance(call, NixUsage):
            return CommandReply(call.text, failed=True)
        if call.agent_id is None:
            return CommandReply(
                "There is no default agent: add `@agent` to say which agent, "
                "e.g. `/nix list @coder`.",
                failed=True,
            )
        if not agents.defined(call.agent_id):
            return _unknown(call.agent_id, agents)
        request = NixRequest(
            agent_id=call.agent_id, action=call.action, packages=list(call.packages)
        )
        reply = await self._orchestrator.nix(request)
        if isinstance(reply, ServiceError):
            return CommandReply(
                f"Could not run `/nix {call.action}` for *{call.agent_id}*: {reply.error}",
                "agent_unavailable",
                failed=True,
            )
        if not reply.ok and not reply.output.strip():
            return CommandReply(f"*{call.agent_id}* `{call.action}`: Failed.", failed=True)
        return CommandReply(_nix_text(reply), failed=not reply.ok)
