"""The router service: how it is wired and started.

Consumes ``inbound.*.*`` through its partitioned durable consumers (one message
in flight per chat partition, so a chat's messages are handled in order) and
turns each into agent input, a swarm launch, a command reply or a notice (see
:mod:`.handler`). Smart routing can take a while (starting the default agent,
then up to 30 s for its answer), so the message is kept in progress meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog

from praktor_common import streams
from praktor_common.bus import durable_subscriber
from praktor_common.contracts.inbound import InboundMessage
from praktor_common.runtime.runner import StartupError
from praktor_common.runtime.runner import main as run_service
from praktor_common.runtime.spec import ServiceContext, ServiceSpec

from .bus import AgentRouteAsker, BusOrchestrator, BusSwarms, Outbox
from .chat_routes import ChatRoutes
from .commands import ChatCommands
from .handler import InboundHandler
from .settings import RouterSettings

log = structlog.get_logger(__name__)

IN_PROGRESS_EVERY = 10.0
"""Seconds between ``in_progress`` beats while a message is handled (ack wait: 30 s)."""


@dataclass
class Router:
    """The running parts, for tests."""

    handler: InboundHandler
    chats: ChatRoutes


async def setup(ctx: ServiceContext, *, settings: RouterSettings | None = None) -> Router:
    """Wire the router onto ``ctx.broker`` (before the broker starts)."""
    if ctx.engine is None:
        raise StartupError("the router needs its database (table chat_routes)")
    own = settings or RouterSettings()
    orchestrator = BusOrchestrator(ctx.nats, own)
    chats = ChatRoutes(ctx.engine)
    handler = InboundHandler(
        config=ctx.config,
        chats=chats,
        publisher=Outbox(ctx.broker),
        commands=ChatCommands(orchestrator),
        swarms=BusSwarms(ctx.nats, own),
        smart=AgentRouteAsker(ctx.nats, orchestrator, own),
    )
    consumer = streams.durable_consumers(SERVICE.name)[0]

    @durable_subscriber(ctx.broker, consumer, in_progress_every=IN_PROGRESS_EVERY)
    async def on_inbound(inbound: InboundMessage) -> None:
        await handler.handle(inbound)

    log.info("router wired", agents=sorted(ctx.config.current.agents))
    return Router(handler=handler, chats=chats)


async def _setup(ctx: ServiceContext) -> None:
    await setup(ctx)


SERVICE = ServiceSpec(
    name="router",
    description="Routes inbound messages to agents",
    setup=_setup,
    default_health_port=9102,
)


def main() -> None:
    run_service(SERVICE)
