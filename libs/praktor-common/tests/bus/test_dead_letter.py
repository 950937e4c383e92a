"""The dead-letter path on FastStream's in-memory broker.

A JetStream delivery is simulated by its ack subject
(``$JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<ts>.<pending>``),
which is where the real client reads a message's metadata from.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from faststream.nats import JStream, NatsBroker, TestNatsBroker
from pydantic import BaseModel, ValidationError
from structlog.testing import capture_logs

from praktor_common import streams
from praktor_common.bus import (
    NOTICE_TEXT,
    DeadLetterError,
    InvalidPayloadError,
    RetryBackoff,
    durable_subscriber,
    error_summary,
    make_broker,
)
from praktor_common.contracts import DeadLetter, Delivery, InboundMessage, Origin
from praktor_common.ids import new_id
from praktor_common.settings import RuntimeSettings

SECRET = "my-bank-pin-4711"
ORIGIN = {"channel": "telegram", "chat_id": "42", "message_id": "900"}


def js_ack(stream: str, consumer: str, *, delivered: int = 1, seq: int = 17) -> str:
    return f"$JS.ACK.{stream}.{consumer}.{delivered}.{seq}.{seq}.1700000000000000000.0"


@dataclass
class Bus:
    broker: NatsBroker
    handled: list[InboundMessage] = field(default_factory=list)
    dead: list[DeadLetter] = field(default_factory=list)
    delivered: list[Delivery] = field(default_factory=list)
    failures: dict[str, Exception] = field(default_factory=dict)

    async def inbound(self, body: Any, *, delivered: int = 1, partition: int = 3) -> None:
        await self.broker.publish(
            body,
            f"inbound.telegram.42.{partition}",
            stream=streams.INBOUND,
            reply_to=js_ack(streams.INBOUND, f"router-p{partition}", delivered=delivered),
        )


@pytest.fixture
async def bus() -> AsyncIterator[Bus]:
    broker = make_broker(
        RuntimeSettings(nats_url="nats://127.0.0.1:1"),
        "router",
        retry_backoff=RetryBackoff(base=0.01, cap=0.05),
    )
    state = Bus(broker)
    [router] = streams.durable_consumers("router")

    @durable_subscriber(broker, router)
    async def route(message: InboundMessage) -> None:
        if (failure := state.failures.get(message.text)) is not None:
            raise failure
        state.handled.append(message)

    @broker.subscriber("dlq.>", stream=JStream(streams.DLQ, declare=False))
    async def dead(record: DeadLetter) -> None:
        state.dead.append(record)

    @broker.subscriber("deliver.>", stream=JStream(streams.DELIVER, declare=False))
    async def deliver(delivery: Delivery) -> None:
        state.delivered.append(delivery)

    async with TestNatsBroker(broker):
        yield state


def _inbound(text: str = "hello") -> dict[str, Any]:
    return InboundMessage(
        dedupe_id="telegram:1", origin=Origin.model_validate(ORIGIN), text=text
    ).model_dump(mode="json")


def _no_secret_logged(
    events: Sequence[MutableMapping[str, Any]], caplog: pytest.LogCaptureFixture
) -> None:
    assert SECRET not in repr(events)
    assert SECRET not in caplog.text


async def test_a_valid_message_is_handled(bus: Bus) -> None:
    await bus.inbound(_inbound())
    assert [m.text for m in bus.handled] == ["hello"]
    assert bus.dead == []


async def test_an_invalid_payload_is_dead_lettered_once_without_its_body(
    bus: Bus, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    payload = {**_inbound(), "received_at": SECRET}
    with capture_logs() as events:
        await bus.inbound(payload, delivered=1)
    assert bus.handled == []
    [record] = bus.dead
    assert record.reason == "validation"
    assert (record.stream, record.consumer, record.stream_seq) == ("INBOUND", "router-p3", 17)
    assert record.subject == "inbound.telegram.42"  # as published, without the partition
    assert record.delivery_count == 1
    assert record.origin == Origin.model_validate(ORIGIN)
    assert record.msg_id == payload["msg_id"]
    assert "received_at" in record.error
    assert SECRET not in record.model_dump_json()
    [failure] = [e for e in events if e["event"] == "message dead-lettered"]
    assert failure["stream_seq"] == 17
    assert failure["subject"] == "inbound.telegram.42.3"
    _no_secret_logged(events, caplog)


async def test_the_person_is_told_when_their_message_is_dead_lettered(bus: Bus) -> None:
    await bus.inbound({**_inbound(), "text": 12})
    [notice] = bus.delivered
    assert notice.kind == "error"
    assert notice.origin == Origin.model_validate(ORIGIN)
    assert notice.notice is not None
    assert notice.notice.code == "dead_letter"
    assert notice.notice.text == NOTICE_TEXT
    assert notice.reply_to == "900"


async def test_malformed_json_is_dead_lettered_without_a_notice(
    bus: Bus, caplog: pytest.LogCaptureFixture
) -> None:
    with capture_logs() as events:
        await bus.inbound(f'{{"text": "{SECRET}", broken'.encode())
    [record] = bus.dead
    assert record.reason == "validation"
    assert record.origin is None
    assert record.msg_id is None
    assert bus.delivered == []  # no origin, nobody to tell
    _no_secret_logged(events, caplog)


async def test_a_failing_handler_is_retried_with_backoff_before_the_last_delivery(
    bus: Bus,
) -> None:
    bus.failures["hello"] = RuntimeError("database unavailable")
    with capture_logs() as events:
        await bus.inbound(_inbound(), delivered=2)
    assert bus.dead == []
    assert bus.delivered == []
    [retry] = [e for e in events if e["event"] == "handler failed, will retry"]
    assert retry["delivered"] == 2
    assert 0 < retry["retry_in"] <= 0.05
    assert retry["error"] == "RuntimeError: database unavailable"


async def test_the_last_allowed_delivery_is_dead_lettered_and_the_person_told(bus: Bus) -> None:
    bus.failures["hello"] = RuntimeError("database unavailable")
    await bus.inbound(_inbound(), delivered=streams.MAX_DELIVER)
    [record] = bus.dead
    assert record.reason == "max_deliver"
    assert record.delivery_count == streams.MAX_DELIVER
    assert record.error == "RuntimeError: database unavailable"
    [notice] = bus.delivered
    assert notice.notice is not None
    assert notice.notice.code == "dead_letter"


async def test_a_handler_can_give_up_at_once(bus: Bus) -> None:
    bus.failures["hello"] = DeadLetterError("agent was removed")
    await bus.inbound(_inbound(), delivered=1)
    [record] = bus.dead
    assert record.reason == "handler"
    assert record.error == "DeadLetterError: agent was removed"


async def test_a_handler_bug_raising_validation_error_is_retried_not_dead_lettered(
    bus: Bus,
) -> None:
    class Other(BaseModel):
        n: int

    try:
        Other.model_validate({"n": "x"})
    except ValidationError as exc:
        bus.failures["hello"] = exc
    await bus.inbound(_inbound(), delivered=1)
    assert bus.dead == []


async def test_failed_deliveries_tell_nobody() -> None:
    broker = make_broker(RuntimeSettings(nats_url="nats://127.0.0.1:1"), "gateway-telegram")
    notices: list[Delivery] = []
    dead: list[DeadLetter] = []
    [gateway] = streams.durable_consumers("gateway-telegram")

    @durable_subscriber(broker, gateway)
    async def send(delivery: Delivery) -> None:
        raise RuntimeError("telegram refused")

    @broker.subscriber("dlq.>", stream=JStream(streams.DLQ, declare=False))
    async def on_dead(record: DeadLetter) -> None:
        dead.append(record)

    @broker.subscriber("deliver.telegram.*.*", stream=JStream("OTHER", declare=False))
    async def on_notice(delivery: Delivery) -> None:
        notices.append(delivery)

    async with TestNatsBroker(broker):
        body = Delivery(
            msg_id=new_id(),
            origin=Origin.model_validate(ORIGIN),
            kind="final",
            agent_id="coder",
            content="hi",
        )
        await broker.publish(
            body,
            "deliver.telegram.42.1",
            stream=streams.DELIVER,
            reply_to=js_ack(streams.DELIVER, "gateway-telegram-p1", delivered=5),
        )
    [record] = dead
    assert record.reason == "max_deliver"
    assert notices == []


async def test_a_core_message_with_an_invalid_payload_never_logs_its_body(
    caplog: pytest.LogCaptureFixture,
) -> None:
    broker = make_broker(RuntimeSettings(nats_url="nats://127.0.0.1:1"), "vault")

    @broker.subscriber("svc.vault.resolve")
    async def resolve(request: InboundMessage) -> None:
        raise AssertionError("not reached")

    caplog.set_level(logging.DEBUG)
    with capture_logs() as events:
        async with TestNatsBroker(broker):
            with pytest.raises(InvalidPayloadError) as raised:
                await broker.publish({"origin": SECRET}, "svc.vault.resolve")
    assert SECRET not in str(raised.value)
    assert raised.value.__suppress_context__
    [logged] = [e for e in events if e["event"] == "invalid payload"]
    assert logged["subject"] == "svc.vault.resolve"
    _no_secret_logged(events, caplog)


def test_error_summaries_name_fields_and_kinds_never_values() -> None:
    try:
        InboundMessage.model_validate({"dedupe_id": SECRET, "origin": {"channel": SECRET}})
    except ValidationError as exc:
        summary = error_summary(exc)
    assert summary.startswith("ValidationError: ")
    assert "origin.channel: literal_error" in summary
    assert "origin.chat_id: missing" in summary
    assert SECRET not in summary
    assert error_summary(ValueError()) == "ValueError"
    assert len(error_summary(RuntimeError("x" * 5000))) == 400


def test_retry_backoff_grows_and_is_capped() -> None:
    backoff = RetryBackoff(base=1.0, cap=10.0)
    assert 0.75 <= backoff.delay(1) <= 1.0
    assert 3.0 <= backoff.delay(3) <= 4.0
    assert 7.5 <= backoff.delay(9) <= 10.0
