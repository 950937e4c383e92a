"""The bus against a real, authenticated nats-server: durability, dedupe, dead letters."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from faststream.nats import NatsBroker
from faststream.nats.annotations import NatsMessage
from nats.js import JetStreamContext
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import get_current_span
from structlog.testing import capture_logs

from praktor_common import streams, subjects
from praktor_common.bus import (
    NATS_MSG_ID,
    PublishError,
    RetryBackoff,
    durable_subscriber,
    keep_in_progress,
    list_dead_letters,
    make_broker,
    publish_model,
)
from praktor_common.contracts import DeadLetter, Delivery, InboundMessage, Origin
from praktor_common.identities import ADMIN_IDENTITY
from praktor_common.testing.nats import NatsTestServer, wait_until

pytestmark = pytest.mark.integration

SECRET = "my-bank-pin-4711"
ORIGIN = Origin(channel="telegram", chat_id="42", message_id="900")
FAST_RETRY = RetryBackoff(base=0.02, cap=0.1)


async def _any_dead_letter(js: JetStreamContext) -> bool:
    return bool(await list_dead_letters(js))


def inbound(text: str, dedupe: str = "telegram:1") -> InboundMessage:
    return InboundMessage(dedupe_id=dedupe, origin=ORIGIN, text=text)


async def eventually(check: Callable[[], bool], within: float = 10.0) -> None:
    await wait_until(check, within)


async def stays(check: Callable[[], bool], during: float = 1.0) -> None:
    end = asyncio.get_running_loop().time() + during
    while asyncio.get_running_loop().time() < end:
        assert check()
        await asyncio.sleep(0.05)


@pytest.fixture
async def gateway(nats_clients: NatsTestServer) -> AsyncIterator[NatsBroker]:
    broker = make_broker(nats_clients.settings("gateway-telegram"), "gateway-telegram")
    await broker.connect()
    try:
        yield broker
    finally:
        await broker.stop()


def router_broker(
    server: NatsTestServer, handler: Callable[..., Awaitable[Any]], **kwargs: Any
) -> NatsBroker:
    broker = make_broker(server.settings("router"), "router", retry_backoff=FAST_RETRY, **kwargs)
    durable_subscriber(broker, streams.durable_consumers("router")[0], fetch_timeout=1.0)(handler)
    return broker


async def test_a_message_sent_while_the_consumer_was_down_is_handled_once_when_it_returns(
    fresh_streams: JetStreamContext, nats_clients: NatsTestServer, gateway: NatsBroker
) -> None:
    seen: list[str] = []

    async def handle(message: InboundMessage) -> None:
        seen.append(message.text)

    first = router_broker(nats_clients, handle)
    await first.start()
    await publish_model(gateway, subjects.inbound("telegram", 42), inbound("before"), "u1")
    await eventually(lambda: seen == ["before"])
    await first.stop()

    await publish_model(gateway, subjects.inbound("telegram", 42), inbound("while down"), "u2")
    await asyncio.sleep(0.3)
    assert seen == ["before"]

    second = router_broker(nats_clients, handle)
    await second.start()
    try:
        await eventually(lambda: seen == ["before", "while down"])
        await stays(lambda: seen == ["before", "while down"], during=1.5)
    finally:
        await second.stop()
    pending = [
        (await fresh_streams.consumer_info(streams.INBOUND, p.name)).num_ack_pending
        for p in streams.durable_consumers("router")[0].partitions
    ]
    assert pending == [0] * len(pending)


async def test_a_retried_publish_with_the_same_msg_id_is_stored_once(
    fresh_streams: JetStreamContext, gateway: NatsBroker
) -> None:
    subject = subjects.inbound("telegram", 42)
    first = await publish_model(gateway, subject, inbound("hi"), msg_id="telegram:555")
    again = await publish_model(gateway, subject, inbound("hi"), msg_id="telegram:555")
    other = await publish_model(gateway, subject, inbound("hi"), msg_id="telegram:556")
    assert first is not None
    assert again is not None
    assert other is not None
    assert not first.duplicate
    assert again.duplicate
    assert again.seq == first.seq
    assert other.seq == first.seq + 1
    assert (await fresh_streams.stream_info(streams.INBOUND)).state.messages == 2
    stored = await fresh_streams.get_msg(streams.INBOUND, first.seq)
    assert (stored.headers or {})[NATS_MSG_ID] == "telegram:555"


async def test_a_publish_the_bus_does_not_confirm_raises(
    fresh_streams: JetStreamContext, nats_clients: NatsTestServer
) -> None:
    router = make_broker(nats_clients.settings("router"), "router")
    await router.connect()
    try:  # the router may not publish inbound messages: no stream ever acknowledges it
        with pytest.raises(PublishError, match=r"inbound\.telegram\.42 \(stream INBOUND\)"):
            await publish_model(
                router, subjects.inbound("telegram", 42), inbound("x"), ack_timeout=0.5
            )
    finally:
        await router.stop()
    await fresh_streams.delete_stream(streams.EVENTS)
    admin = make_broker(nats_clients.settings(ADMIN_IDENTITY), ADMIN_IDENTITY)
    await admin.connect()
    try:
        with pytest.raises(PublishError, match="stream EVENTS"):
            await publish_model(admin, subjects.EVENTS_TASK_EXECUTED, inbound("x"))
    finally:
        await admin.stop()


async def test_a_malformed_payload_is_dead_lettered_and_the_next_message_still_handled(
    fresh_streams: JetStreamContext,
    nats_clients: NatsTestServer,
    gateway: NatsBroker,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []

    async def handle(message: InboundMessage) -> None:
        seen.append(message.text)

    broker = router_broker(nats_clients, handle)
    await broker.start()
    subject = subjects.inbound("telegram", 42)
    try:
        with capture_logs() as events:
            bad = {**inbound("bad").model_dump(mode="json"), "text": {"pin": SECRET}}
            ack = await gateway.publish(bad, subject, stream=streams.INBOUND)
            await publish_model(gateway, subject, inbound("next"))
            await eventually(lambda: seen == ["next"])
    finally:
        await broker.stop()
    [entry] = await list_dead_letters(fresh_streams)
    record = entry.record
    assert record.reason == "validation"
    assert record.stream == streams.INBOUND
    assert record.stream_seq == ack.seq
    assert record.consumer.startswith("router-p")
    assert record.subject == subject
    assert record.delivery_count == 1
    assert entry.subject == "dlq.INBOUND.router"
    assert SECRET not in repr(events)
    assert SECRET not in caplog.text
    assert any(e["event"] == "message dead-lettered" for e in events)


async def test_a_handler_failing_every_time_ends_in_the_dlq_and_the_person_is_told(
    fresh_streams: JetStreamContext, nats_clients: NatsTestServer, gateway: NatsBroker
) -> None:
    attempts: list[int] = []
    notices: list[Delivery] = []

    async def handle(message: InboundMessage, msg: NatsMessage) -> None:
        attempts.append(msg.raw_message.metadata.num_delivered)
        raise RuntimeError("downstream is down")

    broker = router_broker(nats_clients, handle)
    telegram = make_broker(nats_clients.settings("gateway-telegram"), "gateway-telegram")

    @durable_subscriber(telegram, streams.durable_consumers("gateway-telegram")[0])
    async def deliver(delivery: Delivery) -> None:
        notices.append(delivery)

    await broker.start()
    await telegram.start()
    try:
        await publish_model(gateway, subjects.inbound("telegram", 42), inbound("help"))
        await eventually(lambda: len(notices) == 1, within=20)
        await stays(lambda: len(attempts) == streams.MAX_DELIVER, during=1.0)
    finally:
        await broker.stop()
        await telegram.stop()
    assert attempts == [1, 2, 3, 4, 5]
    [entry] = await list_dead_letters(fresh_streams)
    assert entry.record.reason == "max_deliver"
    assert entry.record.delivery_count == 5
    assert entry.record.error == "RuntimeError: downstream is down"
    [notice] = notices
    assert notice.origin == ORIGIN
    assert notice.notice is not None
    assert notice.notice.code == "dead_letter"


async def test_long_work_keeps_its_message_with_in_progress(
    fresh_streams: JetStreamContext, nats_clients: NatsTestServer
) -> None:
    quick = streams.ConsumerSpec(
        stream=streams.INBOUND,
        name="slow-test",
        filter_subject="inbound.web.*.*",
        service=ADMIN_IDENTITY,
        group="slow-test",
        ack_wait=timedelta(seconds=1),
    )
    deliveries: list[int] = []
    explicit: list[int] = []
    admin = make_broker(nats_clients.settings(ADMIN_IDENTITY), ADMIN_IDENTITY)

    @durable_subscriber(admin, quick, fetch_timeout=1.0, in_progress_every=0.3)
    async def slow(message: InboundMessage, msg: NatsMessage) -> None:
        deliveries.append(msg.raw_message.metadata.num_delivered)
        if message.text == "explicit":
            return
        await asyncio.sleep(2.5)  # well past the 1 s ack wait

    await admin.start()
    try:
        web = Origin(channel="web", chat_id="c1")
        await publish_model(
            admin,
            subjects.inbound("web", "c1"),
            InboundMessage(dedupe_id="w:1", origin=web, text="x"),
        )
        await eventually(lambda: len(deliveries) == 1)
        await asyncio.sleep(3.5)
        assert deliveries == [1]
    finally:
        await admin.stop()

    # the helper does the same inside a handler
    raw = await nats_clients.connect(ADMIN_IDENTITY)
    js = raw.jetstream()
    await js.publish(subjects.inbound("web", "c2"), b"{}")
    sub = await js.pull_subscribe_bind("slow-test", stream=streams.INBOUND)
    [message] = await sub.fetch(1, timeout=2)

    class Wrapped:
        async def in_progress(self) -> None:
            explicit.append(1)
            await message.in_progress()

    async with keep_in_progress(Wrapped(), every=0.3):  # type: ignore[arg-type]
        await asyncio.sleep(2.0)
    await message.ack_sync()
    assert len(explicit) >= 5
    info = await js.consumer_info(streams.INBOUND, "slow-test")
    assert info.num_redelivered == 0


async def test_trace_context_travels_in_the_headers(
    fresh_streams: JetStreamContext, nats_clients: NatsTestServer
) -> None:
    provider = TracerProvider()
    tracer = provider.get_tracer("test")
    seen: list[tuple[str | None, int]] = []

    async def handle(message: InboundMessage, msg: NatsMessage) -> None:
        seen.append(
            (msg.headers.get("traceparent"), get_current_span().get_span_context().trace_id)
        )

    broker = router_broker(nats_clients, handle, tracer_provider=provider)
    gateway = make_broker(
        nats_clients.settings("gateway-telegram"), "gateway-telegram", tracer_provider=provider
    )
    await broker.start()
    await gateway.connect()
    try:
        with tracer.start_as_current_span("update") as span:
            await publish_model(gateway, subjects.inbound("telegram", 7), inbound("traced"))
            trace_id = span.get_span_context().trace_id
        await eventually(lambda: len(seen) == 1)
    finally:
        await broker.stop()
        await gateway.stop()
    [(traceparent, handler_trace)] = seen
    assert traceparent is not None
    assert traceparent.split("-")[1] == format(trace_id, "032x")
    assert handler_trace == trace_id


async def test_dead_letter_records_are_contracts_on_the_dlq_stream(
    fresh_streams: JetStreamContext, nats_clients: NatsTestServer, gateway: NatsBroker
) -> None:
    async def handle(message: InboundMessage) -> None:
        return None

    broker = router_broker(nats_clients, handle)
    await broker.start()
    try:
        await gateway.publish(b"not json", subjects.inbound("telegram", 3), stream=streams.INBOUND)
        await wait_until(lambda: _any_dead_letter(fresh_streams))
    finally:
        await broker.stop()
    msg = await fresh_streams.get_msg(streams.DLQ, 1)
    record = DeadLetter.model_validate_json(msg.data or b"")
    assert record.stream == streams.INBOUND
    assert (msg.headers or {})[NATS_MSG_ID] == f"dlq:INBOUND:{record.stream_seq}"
