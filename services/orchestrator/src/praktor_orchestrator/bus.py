"""The orchestrator's bus adapter: agents' consumers, control requests, ready, publishing."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Final

import nats.errors
import structlog
from nats.js.errors import NotFoundError
from pydantic import BaseModel, ValidationError

from praktor_common import streams, subjects
from praktor_common.bus import publish_model
from praktor_common.contracts.agent import (
    CONTROL_REPLY,
    ControlCommand,
    ControlError,
    ControlOk,
    ControlRequest,
    PingReply,
)
from praktor_common.contracts.deliver import Delivery

if TYPE_CHECKING:
    from faststream.nats import NatsBroker
    from nats.aio.client import Client
    from nats.aio.msg import Msg
    from nats.aio.subscription import Subscription
    from nats.js import JetStreamContext

log = structlog.get_logger(__name__)

PING_TIMEOUT: Final = 3.0
ABORT_TIMEOUT: Final = 5.0
CLEAR_TIMEOUT: Final = 5.0

ControlAnswer = PingReply | ControlOk | ControlError


class ReadyWaiter:
    """A subscription to ``agent.<id>.ready`` made before the agent starts (spec §4.7)."""

    def __init__(self) -> None:
        self._ready = asyncio.Event()
        self._subscription: Subscription | None = None

    async def open(self, nc: Client, agent_id: str) -> ReadyWaiter:
        async def on_ready(_msg: Msg) -> None:
            self._ready.set()

        self._subscription = await nc.subscribe(subjects.agent_ready(agent_id), cb=on_ready)
        await nc.flush()
        return self

    @property
    def is_ready(self) -> bool:
        return self._ready.is_set()

    async def wait(self, timeout: float) -> bool:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ready.wait(), timeout)
        return self._ready.is_set()

    async def close(self) -> None:
        if self._subscription is not None:
            with contextlib.suppress(nats.errors.Error):
                await self._subscription.unsubscribe()
            self._subscription = None


class NatsAgentBus:
    """What the lifecycle does on the bus, in one place."""

    def __init__(self, broker: NatsBroker, nc: Client, js: JetStreamContext) -> None:
        self._broker = broker
        self._nc = nc
        self._js = js

    async def ensure_consumer(self, agent_id: str) -> None:
        await streams.ensure_agent_consumer(self._js, agent_id)

    async def waiting_input(self, agent_id: str) -> int:
        """Inputs not yet acknowledged by the agent (waiting or being worked on)."""
        try:
            info = await self._js.consumer_info(
                streams.AGENT_INPUT, streams.agent_consumer_name(agent_id)
            )
        except NotFoundError:
            return 0
        return int(info.num_pending or 0) + int(info.num_ack_pending or 0)

    async def drop_input(self, agent_id: str) -> None:
        """Forget a removed agent's waiting input and its consumer."""
        await self._js.purge_stream(streams.AGENT_INPUT, subject=subjects.agent_input(agent_id))
        await streams.delete_agent_consumer(self._js, agent_id)

    async def ready_waiter(self, agent_id: str) -> ReadyWaiter:
        return await ReadyWaiter().open(self._nc, agent_id)

    async def control(
        self, agent_id: str, command: ControlCommand, timeout: float
    ) -> ControlAnswer | None:
        """Ask the runner; None when it does not answer in time (or not at all)."""
        body = ControlRequest(command=command).model_dump_json().encode()
        try:
            reply = await self._nc.request(subjects.agent_control(agent_id), body, timeout=timeout)
        except (nats.errors.TimeoutError, nats.errors.NoRespondersError):
            return None
        try:
            answer: ControlAnswer = CONTROL_REPLY.validate_json(reply.data)
        except ValidationError:
            log.warning("unreadable control reply", agent_id=agent_id, command=command)
            return None
        return answer

    async def publish_event(self, agent_id: str, event: BaseModel) -> None:
        try:
            await publish_model(self._broker, subjects.events_agent(agent_id), event)
        except Exception as exc:  # events are a live feed: never fail the work for one
            log.warning("event not published", agent_id=agent_id, error=type(exc).__name__)

    async def deliver(self, delivery: Delivery) -> None:
        subject = subjects.deliver(delivery.origin.channel, delivery.origin.chat_id)
        await publish_model(self._broker, subject, delivery, delivery.dedupe_id)
