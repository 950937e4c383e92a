"""Running the real orchestrator in a test: its setup on a broker with its own identity.

Everything is real: the authenticated NATS of ``praktor_common.testing.nats``
(the orchestrator connects with ``creds_path("orchestrator")``), PostgreSQL,
the config published on the KV like ``praktor up`` does. Other services are
played by connections with *their* identities (router publishes input, a
gateway reads deliveries, the scheduler answers commands), never by fakes of
the orchestrator itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from faststream.nats import NatsBroker
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncEngine

from praktor_common import subjects
from praktor_common.bus import RetryBackoff, make_broker, publish_model
from praktor_common.config import ConfigDiff, ConfigFollower, PraktorConfig
from praktor_common.config.distribution import config_bucket, encode_envelope
from praktor_common.contracts.agent import AgentInput, AgentResult, AgentText, InputKind
from praktor_common.contracts.deliver import Delivery
from praktor_common.contracts.events import EVENT, AnyEvent
from praktor_common.contracts.origin import Origin
from praktor_common.identities import ADMIN_IDENTITY
from praktor_common.ids import new_id
from praktor_common.runtime.health import HealthState
from praktor_common.runtime.spec import ServiceContext
from praktor_common.streams import original_subject
from praktor_common.subjects import CONFIG_KV_KEY
from praktor_common.testing.nats import NatsTestServer, wait_until
from praktor_orchestrator.runtime import AgentRuntime, UnavailableRuntime
from praktor_orchestrator.service import SERVICE, Orchestrator, setup
from praktor_orchestrator.settings import OrchestratorSettings

FAKE_RUNNER = Path(__file__).with_name("fake_runner.py")
ORIGIN = Origin(channel="telegram", chat_id="42", user_id="7", message_id="100")
FAST_RETRY = RetryBackoff(base=0.05, cap=0.2)


def make_config(agents: dict[str, dict[str, Any]], **defaults: Any) -> PraktorConfig:
    """A valid config with these agents (the first is the default one)."""
    return PraktorConfig.model_validate(
        {
            "timezone": "UTC",
            "defaults": defaults,
            "agents": agents,
            "router": {"default_agent": next(iter(agents), "")},
        }
    )


@contextlib.contextmanager
def private_data_dir() -> Any:
    """A data directory outside pytest's (0700) tree, so an agent user can be given a way in."""
    path = Path(tempfile.mkdtemp(prefix="praktor-orch-test-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


async def publish_config(admin_js: JetStreamContext, config: PraktorConfig) -> None:
    kv = await config_bucket(admin_js)
    await kv.put(CONFIG_KV_KEY, encode_envelope(config, source="test"))


@dataclass
class Running:
    """A running orchestrator and the bus around it."""

    server: NatsTestServer
    ctx: ServiceContext
    orchestrator: Orchestrator
    admin: Client
    router: NatsBroker
    deliveries: list[Delivery] = field(default_factory=list)
    delivery_subjects: list[str] = field(default_factory=list)
    events: list[AnyEvent] = field(default_factory=list)
    _applied: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def admin_js(self) -> JetStreamContext:
        return self.admin.jetstream()

    @property
    def data_dir(self) -> Path:
        return self.ctx.settings.data_dir

    async def change_config(self, config: PraktorConfig) -> None:
        """Publish ``config`` and wait until the orchestrator has applied it."""
        self._applied.clear()
        await publish_config(self.admin_js, config)
        await asyncio.wait_for(self._applied.wait(), 15)

    async def send_input(
        self,
        agent_id: str,
        text: str,
        *,
        origin: Origin = ORIGIN,
        kind: InputKind = "conversational",
        msg_id: str | None = None,
    ) -> AgentInput:
        """What the router does: publish agent input to JetStream."""
        message = AgentInput(
            msg_id=msg_id or new_id(),
            agent_id=agent_id,
            text=text,
            origin=origin,
            sender=f"user:{origin.user_id}" if origin.user_id else "user",
            kind=kind,
        )
        await publish_model(self.router, subjects.agent_input(agent_id), message, message.msg_id)
        return message

    async def as_agent(self, agent_id: str) -> Client:
        """A connection with credentials minted for ``agent_id`` (what its runner holds)."""
        creds = self.server.authority.mint_agent_credentials(agent_id, timedelta(hours=1))
        return await self.server.connect(creds)

    async def publish_output(self, agent_id: str, output: AgentText | AgentResult) -> None:
        """What a runner does: publish raw output (a new Nats-Msg-Id each time, like a
        runner that crashed and published again)."""
        nc = await self.as_agent(agent_id)
        await nc.jetstream().publish(
            subjects.agent_output(agent_id),
            output.model_dump_json().encode(),
            headers={"Nats-Msg-Id": new_id()},
        )

    async def delivered(self, check: Callable[[Delivery], bool], within: float = 45.0) -> Delivery:
        await wait_until(lambda: any(check(d) for d in self.deliveries), within)
        return next(d for d in self.deliveries if check(d))

    async def evented(self, check: Callable[[AnyEvent], bool], within: float = 45.0) -> AnyEvent:
        await wait_until(lambda: any(check(e) for e in self.events), within)
        return next(e for e in self.events if check(e))


@contextlib.asynccontextmanager
async def running_orchestrator(
    server: NatsTestServer,
    engine: AsyncEngine,
    data_dir: Path,
    config: PraktorConfig,
    *,
    runtime: Callable[[Path, str], AgentRuntime] | None = None,
    settings: OrchestratorSettings | None = None,
    install_id: str | None = None,
    on_ready: Callable[[Running], Awaitable[None]] | None = None,
) -> AsyncIterator[Running]:
    """The orchestrator's real setup, run on a broker with its own identity."""
    install = install_id or f"pk-test-{new_id()[-12:]}"
    admin = await server.connect(ADMIN_IDENTITY)
    await publish_config(admin.jetstream(), config)
    service_settings = server.settings("orchestrator", data_dir=data_dir, install_id=install)
    broker = make_broker(service_settings, "orchestrator", retry_backoff=FAST_RETRY)
    nc = await broker.connect()
    js = nc.jetstream()
    follower = ConfigFollower(js)
    await follower.start()
    ctx = ServiceContext(
        spec=SERVICE,
        settings=service_settings,
        broker=broker,
        nats=nc,
        js=js,
        config=follower,
        health=HealthState("orchestrator"),
        engine=engine,
    )
    own = settings or OrchestratorSettings(
        nats_authority_dir=server.authority.directory,
        ready_timeout=30.0,
        sweep_interval=0.5,
        idle_check_interval=0.5,
    )
    made = runtime(data_dir, install) if runtime is not None else None
    orchestrator = await setup(ctx, settings=own, runtime=made)
    router = make_broker(server.settings("router"), "router")
    await router.connect()
    running = Running(server, ctx, orchestrator, admin, router)

    async def applied(_old: PraktorConfig, _new: PraktorConfig, _diff: ConfigDiff) -> None:
        running._applied.set()

    follower.on_change(applied)

    async def on_delivery(msg: Msg) -> None:
        running.delivery_subjects.append(original_subject("DELIVER", msg.subject))
        running.deliveries.append(Delivery.model_validate_json(msg.data))
        await msg.ack()

    async def on_event(msg: Msg) -> None:
        running.events.append(EVENT.validate_json(msg.data))

    admin_js = admin.jetstream()
    delivery_sub = await admin_js.subscribe("deliver.>", stream="DELIVER", cb=on_delivery)
    event_sub = await admin.subscribe(subjects.EVENTS_ALL, cb=on_event)
    await broker.start()
    try:
        if on_ready is not None:
            await on_ready(running)
        yield running
    finally:
        with contextlib.suppress(Exception):
            await delivery_sub.unsubscribe()
        with contextlib.suppress(Exception):
            await event_sub.unsubscribe()
        for hook in reversed(ctx.on_stop):
            with contextlib.suppress(Exception):
                await hook()
        await follower.stop()
        await broker.stop()
        await router.stop()


def no_agents(_data_dir: Path, _install_id: str) -> AgentRuntime:
    """A runtime that starts nothing: for tests of the orchestrator's bus side alone."""
    return UnavailableRuntime("none", "no agents run in this test")


@contextlib.asynccontextmanager
async def orchestrator_without_agents(
    server: NatsTestServer, engine: AsyncEngine, data_dir: Path, config: PraktorConfig
) -> AsyncIterator[Running]:
    """The real orchestrator with agents configured but never started."""
    async with running_orchestrator(server, engine, data_dir, config, runtime=no_agents) as run:
        yield run
