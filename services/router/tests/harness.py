"""The real router on a real, authenticated NATS and PostgreSQL, and the bus around it.

The router runs its own ``setup`` with the ``router`` identity. Other parties are
connections with *their* identities: the gateway publishes inbound messages,
``OrchestratorStandIn`` answers ``svc.orchestrator.*`` (it stands for the
orchestrator, whose real handlers need agent runtimes to answer), and a
connection with an agent's minted credentials answers ``agent.<id>.route`` as
that agent's runner would.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from nats.aio.client import Client
from nats.aio.msg import Msg
from sqlalchemy.ext.asyncio import AsyncEngine

from praktor_common import streams, subjects
from praktor_common.bus import make_broker
from praktor_common.config import ConfigFollower, PraktorConfig
from praktor_common.config.distribution import config_bucket, encode_envelope
from praktor_common.contracts.agent import AgentInput
from praktor_common.contracts.deliver import Delivery
from praktor_common.contracts.inbound import InboundMessage
from praktor_common.contracts.orchestrator import (
    AgentActionReply,
    AgentStarted,
    AgentStatus,
    AgentStatusList,
)
from praktor_common.contracts.origin import Origin
from praktor_common.contracts.service import ServiceError
from praktor_common.db.agents import upsert_agent
from praktor_common.db.engine import session_factory
from praktor_common.identities import ADMIN_IDENTITY
from praktor_common.ids import new_id
from praktor_common.runtime.health import HealthState
from praktor_common.runtime.spec import ServiceContext
from praktor_common.subjects import CONFIG_KV_KEY
from praktor_common.testing.nats import NatsTestServer, wait_until
from praktor_router.service import SERVICE, Router, setup
from praktor_router.settings import RouterSettings

ORIGIN = Origin(channel="telegram", chat_id="42", user_id="7", message_id="100")
FAST = RouterSettings(route_timeout=2.0, start_timeout=2.0, command_timeout=2.0, swarm_timeout=2.0)


def make_config(agents: dict[str, str], default: str) -> PraktorConfig:
    """A valid config with these agents (id → description)."""
    return PraktorConfig.model_validate(
        {
            "timezone": "UTC",
            "agents": {agent_id: {"description": d} for agent_id, d in agents.items()},
            "router": {"default_agent": default},
        }
    )


def inbound(text: str, origin: Origin = ORIGIN, **fields: Any) -> InboundMessage:
    return InboundMessage.model_validate(
        {"dedupe_id": f"telegram:{new_id()}", "origin": origin, "text": text, **fields}
    )


@dataclass
class OrchestratorStandIn:
    """Answers ``svc.orchestrator.*`` like the orchestrator (stands in for it in these tests)."""

    statuses: list[AgentStatus] = field(default_factory=list)
    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    async def on_request(self, msg: Msg) -> None:
        operation = msg.subject.rsplit(".", 1)[-1]
        body = json.loads(msg.data)
        self.requests.append((operation, body))
        answer: Any
        match operation:
            case "abort" | "reset":
                answer = AgentActionReply(agent_id=body["agent_id"], was_running=True)
            case "start":
                answer = AgentStarted(agent_id=body["agent_id"], already_running=True, ready=True)
            case "status":
                answer = AgentStatusList(agents=self.statuses)
            case _:
                answer = ServiceError(
                    error="nix is not available: agents run without a nix store in this runtime",
                    code="unavailable",
                )
        await msg.respond(answer.model_dump_json().encode())


@dataclass
class Bus:
    """The running router and what it published."""

    server: NatsTestServer
    router: Router
    engine: AsyncEngine
    gateway: Client
    admin: Client
    orchestrator: OrchestratorStandIn
    inputs: list[AgentInput] = field(default_factory=list)
    input_subjects: list[str] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)

    async def send(self, message: InboundMessage, msg_id: str | None = None) -> None:
        """What the gateway does: publish to INBOUND with the update's dedupe id."""
        js = self.gateway.jetstream()
        await js.publish(
            subjects.inbound(message.origin.channel, message.origin.chat_id),
            message.model_dump_json().encode(),
            headers={"Nats-Msg-Id": msg_id or message.dedupe_id},
        )

    async def answer_routes_as(self, agent_id: str, reply: Callable[[bytes], bytes]) -> None:
        """Answer ``agent.<agent_id>.route`` as that agent's runner (minted credentials)."""
        creds = self.server.authority.mint_agent_credentials(agent_id, timedelta(hours=1))
        agent = await self.server.connect(creds)

        async def respond(msg: Msg) -> None:
            await msg.respond(reply(msg.data))

        await agent.subscribe(subjects.agent_route(agent_id), cb=respond)
        await agent.flush()

    async def handled(self) -> None:
        """Wait until the router has taken and acknowledged every inbound message."""

        async def idle() -> bool:
            js = self.admin.jetstream()
            for part in streams.durable_consumers("router")[0].partitions:
                info = await js.consumer_info(part.stream, part.name)
                if info.num_pending or info.num_ack_pending:
                    return False
            return True

        await wait_until(idle, within=20.0, every=0.05)

    async def delivered(self, check: Callable[[Delivery], bool]) -> Delivery:
        await wait_until(lambda: any(check(d) for d in self.deliveries), within=15.0)
        return next(d for d in self.deliveries if check(d))

    async def routed(self, msg_id: str) -> AgentInput:
        await wait_until(lambda: any(i.msg_id == msg_id for i in self.inputs), within=15.0)
        return next(i for i in self.inputs if i.msg_id == msg_id)


async def publish_config(admin: Client, config: PraktorConfig) -> None:
    kv = await config_bucket(admin.jetstream())
    await kv.put(CONFIG_KV_KEY, encode_envelope(config, source="test"))


async def add_agents(engine: AsyncEngine, *agent_ids: str) -> None:
    """Agents as the orchestrator would have synced them from the config."""
    async with session_factory(engine)() as session, session.begin():
        for agent_id in agent_ids:
            await upsert_agent(session, id=agent_id, workspace=agent_id)


@contextlib.asynccontextmanager
async def running_router(
    server: NatsTestServer, engine: AsyncEngine, config: PraktorConfig
) -> AsyncIterator[Bus]:
    admin = await server.connect(ADMIN_IDENTITY)
    await publish_config(admin, config)
    await add_agents(engine, *config.agents)
    settings = server.settings("router")
    broker = make_broker(settings, "router")
    nc = await broker.connect()
    js = nc.jetstream()
    follower = ConfigFollower(js)
    await follower.start()
    ctx = ServiceContext(
        spec=SERVICE,
        settings=settings,
        broker=broker,
        nats=nc,
        js=js,
        config=follower,
        health=HealthState("router"),
        engine=engine,
    )
    await streams.ensure_consumers(js, "router")
    router = await setup(ctx, settings=FAST)
    stand_in = OrchestratorStandIn()
    orchestrator = await server.connect("orchestrator")
    await orchestrator.subscribe("svc.orchestrator.*", cb=stand_in.on_request)
    await orchestrator.flush()
    gateway = await server.connect("gateway-telegram")
    bus = Bus(server, router, engine, gateway, admin, stand_in)

    async def on_input(msg: Msg) -> None:
        bus.input_subjects.append(msg.subject)
        bus.inputs.append(AgentInput.model_validate_json(msg.data))
        await msg.ack()

    async def on_delivery(msg: Msg) -> None:
        bus.deliveries.append(Delivery.model_validate_json(msg.data))
        await msg.ack()

    admin_js = admin.jetstream()
    input_sub = await admin_js.subscribe(
        subjects.AGENT_INPUT_ALL, stream="AGENT_INPUT", cb=on_input
    )
    delivery_sub = await admin_js.subscribe("deliver.>", stream="DELIVER", cb=on_delivery)
    await broker.start()
    try:
        yield bus
    finally:
        for sub in (input_sub, delivery_sub):
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
        await follower.stop()
        await broker.stop()
        await asyncio.sleep(0)
