"""The router's side of the bus: asking other services, and publishing what it decided.

* :class:`BusOrchestrator` — ``svc.orchestrator.*`` requests (commands, starting
  the default agent for smart routing); a missing or silent orchestrator becomes a
  :class:`ServiceError` the person can read.
* :class:`AgentRouteAsker` — the smart-routing question on ``agent.<default>.route``.
* :class:`BusSwarms` — ``svc.swarm.launch``.
* :class:`Outbox` — agent input and notices, published with ``Nats-Msg-Id``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import nats.errors
import structlog
from pydantic import ValidationError

from praktor_common import subjects
from praktor_common.bus import publish_model
from praktor_common.contracts.agent import AgentInput, RouteRequest
from praktor_common.contracts.base import Contract
from praktor_common.contracts.deliver import Delivery
from praktor_common.contracts.orchestrator import (
    AGENT_ABORT,
    AGENT_NIX,
    AGENT_RESET,
    AGENT_START,
    AGENT_STATUS,
    AgentActionReply,
    AgentRequest,
    AgentStarted,
    AgentStartRequest,
    AgentStatusList,
    AgentStatusRequest,
    NixReply,
    NixRequest,
)
from praktor_common.contracts.service import Command, ServiceError
from praktor_common.contracts.swarm import SWARM_LAUNCH, SwarmLaunchRequest, SwarmRunReply

from .settings import RouterSettings
from .swarms import NOT_AVAILABLE

if TYPE_CHECKING:
    from faststream.nats import NatsBroker
    from nats.aio.client import Client

log = structlog.get_logger(__name__)


async def _request(
    nc: Client,
    command: Command[Any, Any],
    request: Contract,
    timeout: float,
    who: str,
    *,
    not_running: str | None = None,
) -> Any:
    """The command's reply or a :class:`ServiceError` (also for no answer at all)."""
    try:
        reply = await nc.request(
            command.subject, request.model_dump_json().encode(), timeout=timeout
        )
    except nats.errors.NoRespondersError:
        return ServiceError(
            error=not_running
            or f"the {who} is not running; start Praktor (`praktor up`) and try again",
            code="unavailable",
        )
    except nats.errors.TimeoutError:
        return ServiceError(
            error=f"the {who} did not answer within {timeout:g} s; try again in a moment",
            code="unavailable",
        )
    try:
        return command.parse_reply(reply.data)
    except ValidationError:
        log.warning("unreadable reply", subject=command.subject)
        return ServiceError(error=f"the {who} sent an unreadable answer", code="internal")


class BusOrchestrator:
    """:class:`~praktor_router.commands.Orchestrator` over ``svc.orchestrator.*``."""

    def __init__(self, nc: Client, settings: RouterSettings) -> None:
        self._nc = nc
        self._settings = settings

    async def _ask(self, command: Command[Any, Any], request: Contract, timeout: float) -> Any:
        return await _request(self._nc, command, request, timeout, "orchestrator")

    async def abort(self, agent_id: str) -> AgentActionReply | ServiceError:
        reply: AgentActionReply | ServiceError = await self._ask(
            AGENT_ABORT, AgentRequest(agent_id=agent_id), self._settings.command_timeout
        )
        return reply

    async def reset(self, agent_id: str) -> AgentActionReply | ServiceError:
        reply: AgentActionReply | ServiceError = await self._ask(
            AGENT_RESET, AgentRequest(agent_id=agent_id), self._settings.command_timeout
        )
        return reply

    async def status(self) -> AgentStatusList | ServiceError:
        reply: AgentStatusList | ServiceError = await self._ask(
            AGENT_STATUS, AgentStatusRequest(), self._settings.command_timeout
        )
        return reply

    async def nix(self, request: NixRequest) -> NixReply | ServiceError:
        reply: NixReply | ServiceError = await self._ask(
            AGENT_NIX, request, self._settings.nix_timeout
        )
        return reply

    async def start(self, agent_id: str) -> AgentStarted | ServiceError:
        reply: AgentStarted | ServiceError = await self._ask(
            AGENT_START, AgentStartRequest(agent_id=agent_id), self._settings.start_timeout
        )
        return reply


class AgentRouteAsker:
    """:class:`~praktor_router.decision.SmartRouter`: start the default agent, then ask it."""

    def __init__(self, nc: Client, orchestrator: BusOrchestrator, settings: RouterSettings) -> None:
        self._nc = nc
        self._orchestrator = orchestrator
        self._timeout = settings.route_timeout

    async def ask(self, default_agent: str, prompt: str) -> bytes | None:
        started = await self._orchestrator.start(default_agent)
        if isinstance(started, ServiceError):
            log.warning("smart routing skipped: default agent not started", error=started.error)
            return None
        body = RouteRequest(text=prompt).model_dump_json().encode()
        try:
            reply = await self._nc.request(
                subjects.agent_route(default_agent), body, timeout=self._timeout
            )
        except (nats.errors.NoRespondersError, nats.errors.TimeoutError) as exc:
            log.warning("smart routing fell back", agent_id=default_agent, error=type(exc).__name__)
            return None
        data: bytes = reply.data
        return data


class BusSwarms:
    """``svc.swarm.launch``; a swarm service that is not running means swarms are not
    available yet."""

    def __init__(self, nc: Client, settings: RouterSettings) -> None:
        self._nc = nc
        self._timeout = settings.swarm_timeout

    async def launch(self, request: SwarmLaunchRequest) -> SwarmRunReply | ServiceError:
        reply: SwarmRunReply | ServiceError = await _request(
            self._nc,
            SWARM_LAUNCH,
            request,
            self._timeout,
            "swarm service",
            not_running=NOT_AVAILABLE,
        )
        return reply


class Outbox:
    """Publishes to JetStream with ``Nats-Msg-Id`` (a repeat inside the window is dropped)."""

    def __init__(self, broker: NatsBroker) -> None:
        self._broker = broker

    async def send_input(self, message: AgentInput) -> None:
        await publish_model(
            self._broker, subjects.agent_input(message.agent_id), message, message.msg_id
        )

    async def send_delivery(self, delivery: Delivery) -> None:
        subject = subjects.deliver(delivery.origin.channel, delivery.origin.chat_id)
        await publish_model(self._broker, subject, delivery, delivery.dedupe_id)
