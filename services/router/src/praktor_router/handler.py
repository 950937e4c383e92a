"""One inbound message, handled: a chat command, an agent turn, a swarm, or a notice.

Redelivery is harmless: the agent input reuses the inbound ``msg_id`` as its
``Nats-Msg-Id`` and notices are keyed by ``msg_id`` and a sequence, so a message
handled twice within the streams' duplicate window reaches its agent and its
chat once. The input is published before the chat's agent is remembered, so a
failure in between is retried without a second turn.
"""

from __future__ import annotations

from typing import Protocol

import structlog

from praktor_common.commands import parse_command
from praktor_common.config import PraktorConfig
from praktor_common.contracts.agent import AgentInput
from praktor_common.contracts.deliver import Delivery, Notice, NoticeCode
from praktor_common.contracts.inbound import InboundMessage
from praktor_common.contracts.service import ServiceError
from praktor_common.contracts.swarm import SwarmLaunchRequest, SwarmRunReply

from .commands import GREETING, ChatCommands, CommandReply
from .decision import AgentsView, Refusal, SmartRouter, ToAgent, ToSwarm, decide
from .swarms import launch_request, launched_text

log = structlog.get_logger(__name__)

_SENDER_ID_MAX = 128


class ConfigSource(Protocol):
    @property
    def current(self) -> PraktorConfig: ...


class ChatAgents(Protocol):
    async def last_agent(self, channel: str, chat_id: str) -> str | None: ...

    async def remember(self, channel: str, chat_id: str, agent_id: str) -> bool: ...


class Swarms(Protocol):
    async def launch(self, request: SwarmLaunchRequest) -> SwarmRunReply | ServiceError: ...


class Publisher(Protocol):
    async def send_input(self, message: AgentInput) -> None: ...

    async def send_delivery(self, delivery: Delivery) -> None: ...


def agents_view(config: PraktorConfig) -> AgentsView:
    """The defined agents and the default one, as routing sees them."""
    return AgentsView(
        {agent_id: agent.description for agent_id, agent in config.agents.items()},
        config.router.default_agent or None,
    )


class _Replies:
    """Notices answering one inbound message: ``msg_id`` + a sequence make each unique."""

    def __init__(self, inbound: InboundMessage, publisher: Publisher) -> None:
        self._inbound = inbound
        self._publisher = publisher
        self._seq = 0

    async def send(self, text: str, code: NoticeCode = "info", *, failed: bool = False) -> None:
        delivery = Delivery(
            msg_id=self._inbound.msg_id,
            origin=self._inbound.origin,
            kind="error" if failed else "notice",
            notice=Notice(code=code, text=text, markdown=True),
            seq=self._seq,
            reply_to=self._inbound.origin.message_id,
        )
        self._seq += 1
        await self._publisher.send_delivery(delivery)


class InboundHandler:
    """Routes one :class:`InboundMessage` (see :mod:`.decision`) and acts on the outcome."""

    def __init__(
        self,
        *,
        config: ConfigSource,
        chats: ChatAgents,
        publisher: Publisher,
        commands: ChatCommands,
        swarms: Swarms,
        smart: SmartRouter | None,
    ) -> None:
        self._config = config
        self._chats = chats
        self._publisher = publisher
        self._commands = commands
        self._swarms = swarms
        self._smart = smart

    async def handle(self, inbound: InboundMessage) -> None:
        origin = inbound.origin
        agents = agents_view(self._config.current)
        last = await self._chats.last_agent(origin.channel, origin.chat_id)
        replies = _Replies(inbound, self._publisher)
        command = parse_command(inbound.text) if inbound.text else None
        if command is not None:
            outcome = await self._commands.run(command, agents, inbound.agent_id or last)
            if isinstance(outcome, CommandReply):
                await replies.send(outcome.text, outcome.code, failed=outcome.failed)
                return
            await self._to_agent(inbound, ToAgent(outcome.agent_id, GREETING, "explicit"))
            return
        decision = await decide(inbound, agents, last_used=last, smart=self._smart)
        match decision:
            case ToAgent():
                await self._to_agent(inbound, decision)
            case ToSwarm():
                await self._to_swarm(inbound, decision, replies)
            case Refusal():
                await replies.send(decision.text, decision.code, failed=True)

    async def _to_agent(self, inbound: InboundMessage, route: ToAgent) -> None:
        origin = inbound.origin
        user = origin.user_id
        message = AgentInput(
            msg_id=inbound.msg_id,
            agent_id=route.agent_id,
            text=route.text,
            origin=origin,
            sender=f"user:{user}" if user and len(user) <= _SENDER_ID_MAX else "user",
            attachments=list(route.attachments),
        )
        await self._publisher.send_input(message)
        await self._chats.remember(origin.channel, origin.chat_id, route.agent_id)
        log.info(
            "routed",
            agent_id=route.agent_id,
            reason=route.reason,
            msg_id=inbound.msg_id,
            channel=origin.channel,
        )

    async def _to_swarm(self, inbound: InboundMessage, route: ToSwarm, replies: _Replies) -> None:
        request = launch_request(route.command, inbound.origin, inbound.msg_id)
        if isinstance(request, str):
            await replies.send(request, "swarm_failed", failed=True)
            return
        reply = await self._swarms.launch(request)
        text, failed = launched_text(route.command, reply)
        await replies.send(text, "swarm_failed" if failed else "swarm_launched", failed=failed)
