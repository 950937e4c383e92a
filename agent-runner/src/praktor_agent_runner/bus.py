"""The runner on the bus: its own consumer, outputs, control, routing, IPC.

Connects with the agent's minted credentials and its inbox prefix
(``_INBOX_agent_<id>``, the only inbox it may use). It pulls input from the
durable consumer ``agent-<id>`` that the orchestrator created — bound to it,
never creating one (:class:`BusStartError` when it is missing). A pulled input
is kept ``in_progress`` until its turn has been settled: acknowledged when the
result is published, handed back (nak) when it must run again, terminated
and dead-lettered when it is not an input at all.

Outputs go to ``agent.<id>.output`` through JetStream with ``Nats-Msg-Id``
``<msg_id>:text:<seq>`` / ``<msg_id>:result``, so a republished output is
stored once. ``agent.<id>.control`` and ``agent.<id>.route`` are answered
here; ``agent.<id>.ready`` is published once everything is subscribed.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any, Final

import structlog
from faststream.middlewares import AckPolicy
from faststream.nats import JStream, PullSub
from faststream.nats.annotations import NatsMessage
from nats.js.errors import NotFoundError
from pydantic import ValidationError

from praktor_agent_runner.settings import AgentSettings
from praktor_agent_runner.turns import Job, TurnManager
from praktor_common import streams, subjects
from praktor_common.bus import error_summary, keep_in_progress, make_broker, publish_model
from praktor_common.bus.dead_letter import Delivered
from praktor_common.contracts import DeadLetter
from praktor_common.contracts.agent import (
    AgentInput,
    AgentReady,
    AgentResult,
    AgentText,
    ControlError,
    ControlOk,
    RouteReply,
    RouteRequest,
)
from praktor_common.contracts.deadletter import DeadLetterReason
from praktor_common.identities.permissions import agent_identity, inbox_prefix
from praktor_common.settings import RuntimeSettings

if TYPE_CHECKING:
    from nats.aio.client import Client
    from pydantic import BaseModel

log = structlog.get_logger(__name__)

FETCH_TIMEOUT: Final = 5.0
ABORT_REPLY_WITHIN: Final = 4.0
"""The host waits 5 s for ``abort``: answer by then even if a turn is slow to stop."""


class BusStartError(RuntimeError):
    """The runner cannot take its place on the bus (its consumer is missing…)."""


class NatsJob:
    """A pulled input on the bus: heartbeats until settled (the :class:`JobHandle`)."""

    def __init__(self, message: NatsMessage, heartbeat: float) -> None:
        self.message = message
        self.heartbeat = heartbeat
        self._stack = AsyncExitStack()
        self._settled = False

    async def start(self) -> NatsJob:
        await self._stack.enter_async_context(keep_in_progress(self.message, self.heartbeat))
        return self

    @property
    def delivered(self) -> int:
        delivered = Delivered.of(self.message.raw_message)
        return delivered.delivered if delivered is not None else 1

    async def _stop(self) -> bool:
        if self._settled:
            return False
        self._settled = True
        await self._stack.aclose()
        return True

    async def ack(self) -> None:
        if await self._stop():
            await self.message.ack_sync()

    async def nak(self) -> None:
        if await self._stop():
            await self.message.nack()


class OutputPublisher:
    """Publishes a turn's outputs on ``agent.<id>.output`` (the turns' output sink)."""

    def __init__(self, agent_id: str, publish: Callable[[str, BaseModel, str], Any]) -> None:
        self.subject = subjects.agent_output(agent_id)
        self._publish = publish

    async def text(self, output: AgentText) -> None:
        await self._publish(self.subject, output, f"{output.msg_id}:text:{output.seq}")

    async def result(self, output: AgentResult) -> None:
        await self._publish(self.subject, output, f"{output.msg_id}:result")


class AgentBus:
    """The agent's connection: consumer, outputs, control, route, IPC requests."""

    def __init__(self, settings: AgentSettings) -> None:
        self.agent_id = settings.agent_id
        self.identity = agent_identity(settings.agent_id)
        self.consumer = streams.agent_consumer(settings.agent_id)
        runtime = RuntimeSettings(nats_url=settings.nats_url, nats_creds=settings.nats_creds)
        self.broker = make_broker(runtime, self.identity, notices=False)
        self.sink = OutputPublisher(settings.agent_id, self._publish)
        self.heartbeat = streams.AGENT_ACK_WAIT.total_seconds() / 3
        self._nc: Client | None = None
        self._input: Any = None

    # --- connecting ----------------------------------------------------------------------

    async def connect(self) -> None:
        """Connect and check that the agent's consumer exists (its ack wait sets the beat)."""
        self._nc = await self.broker.connect()
        js = self._nc.jetstream()
        try:
            info = await js.consumer_info(self.consumer.stream, self.consumer.name)
        except NotFoundError:
            raise BusStartError(
                f"consumer {self.consumer.name} does not exist on stream {self.consumer.stream}: "
                "the orchestrator creates it before it starts the agent"
            ) from None
        ack_wait = info.config.ack_wait or streams.AGENT_ACK_WAIT.total_seconds()
        self.heartbeat = max(0.5, ack_wait / 3)

    @property
    def nc(self) -> Client:
        if self._nc is None:
            raise BusStartError("not connected")
        return self._nc

    async def _publish(self, subject: str, model: BaseModel, msg_id: str) -> None:
        await publish_model(self.broker, subject, model, msg_id)

    async def request(self, subject: str, data: bytes, timeout: float) -> bytes:
        """Core request/reply (IPC): the reply's body."""
        reply = await self.nc.request(subject, data, timeout=timeout)
        return bytes(reply.data)

    # --- serving -------------------------------------------------------------------------

    def serve(self, turns: TurnManager[Any], on_shutdown: Callable[[], None]) -> None:
        """Subscribe input, control and route (before :meth:`start`)."""
        self._serve_input(turns)
        self._serve_control(turns, on_shutdown)
        self._serve_route(turns)

    def _serve_input(self, turns: TurnManager[Any]) -> None:
        spec = self.consumer
        subscriber = self.broker.subscriber(
            spec.filter_subject,
            stream=JStream(spec.stream, declare=False),
            durable=spec.name,
            pull_sub=PullSub(batch_size=1, timeout=FETCH_TIMEOUT),
            inbox_prefix=f"{inbox_prefix(self.identity)}.".encode(),
            ack_policy=AckPolicy.MANUAL,
            title=f"{spec.name}:input",
        )

        async def on_input(message: NatsMessage) -> None:
            try:
                turn = AgentInput.model_validate_json(message.body)
            except ValidationError as exc:
                await self._dead_letter(message, "validation", error_summary(exc))
                return
            if turn.agent_id != self.agent_id:
                summary = f"input names agent {turn.agent_id!r}, not {self.agent_id!r}"
                await self._dead_letter(message, "handler", summary)
                return
            job = await NatsJob(message, self.heartbeat).start()
            log.info("input received", msg_id=turn.msg_id, kind=turn.kind, delivered=job.delivered)
            await turns.submit(Job(turn=turn, handle=job))

        subscriber(on_input)
        self._input = subscriber

    async def _dead_letter(
        self, message: NatsMessage, reason: DeadLetterReason, summary: str
    ) -> None:
        """Record an input that is not one (never its body) and terminate it."""
        delivered = Delivered.of(message.raw_message)
        if delivered is None:
            return
        log.error("invalid input dead-lettered", **delivered.log_fields(), error=summary)
        record = DeadLetter(
            stream=delivered.stream,
            consumer=delivered.consumer,
            subject=delivered.subject,
            stream_seq=delivered.stream_seq,
            delivery_count=delivered.delivered,
            reason=reason,
            error=summary,
            nats_msg_id=delivered.nats_msg_id,
        )
        try:
            await self._publish(
                self.consumer.dead_letter_subject,
                record,
                f"dlq:{delivered.stream}:{delivered.stream_seq}",
            )
        except Exception as exc:
            log.error("dead letter not recorded; input left for redelivery", error=str(exc))
            return
        await message.reject()

    def _serve_control(self, turns: TurnManager[Any], on_shutdown: Callable[[], None]) -> None:
        async def on_control(message: NatsMessage) -> None:
            command = _command(message.body)
            reply: BaseModel | None
            if command == "ping":
                reply = turns.ping()
            elif command == "abort":
                log.info("abort requested")
                work = asyncio.ensure_future(turns.abort())
                await asyncio.wait({work}, timeout=ABORT_REPLY_WITHIN)
                reply = ControlOk()
            elif command == "clear_session":
                log.info("clear_session requested")
                await turns.clear_session()
                reply = ControlOk()
            elif command == "shutdown":
                log.info("shutdown requested")
                on_shutdown()
                reply = None
            else:
                reply = ControlError(error=f"unknown command: {command}")
            if reply is not None and message.reply_to:
                await message.raw_message.respond(reply.model_dump_json().encode())

        self.broker.subscriber(
            subjects.agent_control(self.agent_id), no_reply=True, title="control"
        )(on_control)

    def _serve_route(self, turns: TurnManager[Any]) -> None:
        async def on_route(request: RouteRequest) -> RouteReply:
            return RouteReply(agent=await turns.route(request.text))

        self.broker.subscriber(subjects.agent_route(self.agent_id), title="route")(on_route)

    async def start(self) -> None:
        """Start consuming, then announce readiness (spec §4.7)."""
        await self.broker.start()
        await self.nc.flush()
        await publish_model(self.broker, subjects.agent_ready(self.agent_id), AgentReady())
        log.info("ready", consumer=self.consumer.name)

    async def stop_intake(self) -> None:
        """Pull no more input (what was pulled stays with the turns)."""
        if self._input is not None:
            await self._input.stop()

    async def close(self) -> None:
        await self.broker.stop()


def _command(body: bytes) -> str:
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return "<invalid>"
    command = doc.get("command") if isinstance(doc, dict) else None
    return str(command) if command is not None else "<missing>"
