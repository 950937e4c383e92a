"""``svc.orchestrator.*``: /stop, /reset, start, stop, /agents (contracts/orchestrator.py)."""

from __future__ import annotations

from typing import Protocol

import structlog

from praktor_common.contracts.events import StopReason
from praktor_common.contracts.orchestrator import (
    AgentActionReply,
    AgentRequest,
    AgentStarted,
    AgentStartRequest,
    AgentStatus,
    AgentStatusList,
    AgentStatusRequest,
    NixReply,
    NixRequest,
    SwarmMembership,
)
from praktor_common.contracts.service import ServiceError

from .lifecycle import CapacityError, ControlFailedError, StartFailedError, StartOutcome

log = structlog.get_logger(__name__)


class Agents(Protocol):
    def is_running(self, agent_id: str) -> bool: ...

    def known(self, agent_id: str) -> bool: ...

    async def ensure_running(
        self, agent_id: str, swarm: SwarmMembership | None = None
    ) -> StartOutcome: ...

    async def stop(self, agent_id: str, reason: StopReason = "manual") -> bool: ...

    async def abort(self, agent_id: str) -> bool: ...

    async def reset(self, agent_id: str) -> bool: ...

    async def status(
        self, agent_id: str | None, message_counts: dict[str, int]
    ) -> list[AgentStatus]: ...


class MessageCounts(Protocol):
    async def message_counts(self) -> dict[str, int]: ...


def _not_found(agent_id: str) -> ServiceError:
    return ServiceError(error=f"agent {agent_id} is not configured", code="not_found")


class OrchestratorCommands:
    """One method per command; each returns its reply or a :class:`ServiceError`."""

    def __init__(self, agents: Agents, counts: MessageCounts) -> None:
        self._agents = agents
        self._counts = counts

    async def abort(self, request: AgentRequest) -> AgentActionReply | ServiceError:
        if not self._agents.known(request.agent_id):
            return _not_found(request.agent_id)
        try:
            was_running = await self._agents.abort(request.agent_id)
        except ControlFailedError as exc:
            return ServiceError(error=str(exc), code="unavailable")
        return AgentActionReply(agent_id=request.agent_id, was_running=was_running)

    async def reset(self, request: AgentRequest) -> AgentActionReply | ServiceError:
        if not self._agents.known(request.agent_id):
            return _not_found(request.agent_id)
        try:
            was_running = await self._agents.reset(request.agent_id)
        except ControlFailedError as exc:
            return ServiceError(error=str(exc), code="unavailable")
        return AgentActionReply(agent_id=request.agent_id, was_running=was_running)

    async def start(self, request: AgentStartRequest) -> AgentStarted | ServiceError:
        if request.swarm is None and not self._agents.known(request.agent_id):
            return _not_found(request.agent_id)
        try:
            outcome = await self._agents.ensure_running(request.agent_id, request.swarm)
        except CapacityError as exc:
            return ServiceError(error=str(exc), code="unavailable")
        except StartFailedError as exc:
            return ServiceError(
                error=f"agent {request.agent_id} could not start: {exc}", code="unavailable"
            )
        return AgentStarted(
            agent_id=request.agent_id,
            already_running=outcome.already_running,
            ready=outcome.ready,
        )

    async def stop(self, request: AgentRequest) -> AgentActionReply | ServiceError:
        was_running = await self._agents.stop(request.agent_id, "manual")
        return AgentActionReply(agent_id=request.agent_id, was_running=was_running)

    async def status(self, request: AgentStatusRequest) -> AgentStatusList | ServiceError:
        if request.agent_id is not None and not self._agents.known(request.agent_id):
            return _not_found(request.agent_id)
        counts = await self._counts.message_counts()
        return AgentStatusList(agents=await self._agents.status(request.agent_id, counts))

    async def nix(self, request: NixRequest) -> NixReply | ServiceError:
        return ServiceError(
            error="nix is not available: agents run without a nix store in this runtime",
            code="unavailable",
        )
