"""Streams and durable consumers: what they capture, how they are declared, chat order."""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections import defaultdict
from dataclasses import dataclass

import pytest
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy
from pydantic import BaseModel

from praktor_common import streams, subjects
from praktor_common.bus import durable_subscriber, make_broker, publish_model
from praktor_common.contracts import catalog
from praktor_common.testing.nats import NatsTestServer

# --- what streams capture (pure) ----------------------------------------------------------

REQUEST_REPLY = (
    "agent.*.control",
    "agent.*.route",
    "agent.*.ready",
    "host.ipc.*",
    "svc.>",
    subjects.SWARM_CHAT_ALL,
    "$KV.>",
    "_INBOX.>",
)


def _stored_subjects(spec: streams.StreamSpec) -> list[str]:
    """Subjects a stream listens on and the subjects it stores after its transform."""
    out = [spec.subject]
    if spec.partitioning is not None:
        out.append(f"{spec.subject}.*")
    return out


@pytest.mark.parametrize(
    "pattern", [*REQUEST_REPLY, *(e.wildcard for e in catalog.entries(captured=False))]
)
def test_no_stream_captures_request_reply_or_uncaptured_subjects(pattern: str) -> None:
    for spec in streams.STREAMS:
        for stream_subject in _stored_subjects(spec):
            assert not streams.subjects_overlap(stream_subject, pattern), (spec.name, pattern)


@pytest.mark.parametrize("entry", list(catalog.entries(captured=True)), ids=lambda e: e.key)
def test_every_captured_subject_lands_in_exactly_one_stream(entry: catalog.SubjectEntry) -> None:
    owners = [
        s.name for s in streams.STREAMS if streams.subjects_overlap(s.subject, entry.wildcard)
    ]
    assert len(owners) == 1, (entry.address, owners)


def test_subject_overlap_rules() -> None:
    assert streams.subjects_overlap("agent.*.input", "agent.coder.*")
    assert streams.subjects_overlap("svc.>", "svc.vault.resolve")
    assert not streams.subjects_overlap("agent.*.input", "agent.*.control")
    assert not streams.subjects_overlap("deliver.*.*", "deliver.telegram")
    assert not streams.subjects_overlap("events.>", "events")


def test_stream_for_subject_finds_the_capturing_stream() -> None:
    def name(subject: str) -> str | None:
        spec = streams.stream_for_subject(subject)
        return spec.name if spec else None

    assert name(subjects.inbound("telegram", 42)) == streams.INBOUND
    assert name(subjects.agent_input("coder")) == streams.AGENT_INPUT
    assert name(subjects.agent_output("coder")) == streams.AGENT_OUTPUT
    assert name(subjects.deliver("web", "c1")) == streams.DELIVER
    assert name(subjects.EVENTS_TASK_EXECUTED) == streams.EVENTS
    assert name(subjects.dead_letter("INBOUND", "router")) == streams.DLQ
    assert name(subjects.agent_control("coder")) is None
    assert name(subjects.host_ipc("coder")) is None
    assert name(subjects.service_command("vault", "resolve")) is None


def test_stream_limits_are_days_with_dedupe_and_discard_new_for_work() -> None:
    for spec in streams.STREAMS:
        config = spec.config()
        # a consumer down for hours, back again, publishes no duplicate
        assert config.duplicate_window == 6 * 3600
        assert config.max_age is not None
        assert config.max_age >= 86_400
        assert config.max_bytes is not None
        assert config.max_bytes > 0
        expected = DiscardPolicy.OLD if spec.name == streams.EVENTS else DiscardPolicy.NEW
        assert config.discard == expected, spec.name
    assert streams.STREAMS_BY_NAME[streams.INBOUND].config().max_age == 7 * 86_400
    assert streams.STREAMS_BY_NAME[streams.EVENTS].config().max_age == 86_400


def test_partitioned_streams_append_a_partition_token() -> None:
    transform = streams.STREAMS_BY_NAME[streams.INBOUND].config().subject_transform
    assert transform is not None
    assert transform.src == "inbound.*.*"
    assert transform.dest == "inbound.{{wildcard(1)}}.{{wildcard(2)}}.{{partition(8,1,2)}}"
    output = streams.STREAMS_BY_NAME[streams.AGENT_OUTPUT].config().subject_transform
    assert output is not None
    assert output.dest == "agent.{{wildcard(1)}}.output.{{partition(8,1)}}"
    assert (
        streams.original_subject(streams.INBOUND, "inbound.telegram.42.5") == "inbound.telegram.42"
    )
    assert streams.original_subject(streams.AGENT_INPUT, "agent.coder.input") == "agent.coder.input"


def test_service_consumers_are_one_per_partition_with_one_message_in_flight() -> None:
    [router] = streams.durable_consumers("router")
    assert router.stream == streams.INBOUND
    assert [p.name for p in router.partitions] == [f"router-p{i}" for i in range(8)]
    assert [p.filter_subject for p in router.partitions] == [f"inbound.*.*.{i}" for i in range(8)]
    config = router.partitions[3].config()
    assert config.durable_name == "router-p3"
    assert config.max_ack_pending == 1
    assert config.max_deliver == 5
    assert config.ack_wait == 30
    assert router.dead_letter_subject == "dlq.INBOUND.router"
    [gateway] = streams.durable_consumers("gateway-telegram")
    assert gateway.partitions[0].filter_subject == "deliver.telegram.*.0"
    assert streams.durable_consumers("orchestrator")[0].stream == streams.AGENT_OUTPUT
    assert streams.durable_consumers("web")[0].subject == "deliver.web.*"


def test_agent_consumers_are_named_after_the_agent() -> None:
    spec = streams.agent_consumer("coder")
    assert (spec.stream, spec.name, spec.filter_subject) == (
        streams.AGENT_INPUT,
        "agent-coder",
        "agent.coder.input",
    )
    assert spec.dead_letter_subject == "dlq.AGENT_INPUT.agent-coder"
    assert streams.find_consumer(streams.AGENT_INPUT, "agent-coder") == spec
    assert streams.find_consumer(streams.INBOUND, "router-p2") is not None
    assert streams.find_consumer(streams.INBOUND, "nobody") is None
    with pytest.raises(ValueError, match="invalid agent id"):
        streams.agent_consumer("Not.Valid")


# --- against the real server ---------------------------------------------------------------


@pytest.mark.integration
async def test_ensure_streams_twice_changes_nothing(fresh_streams: JetStreamContext) -> None:
    await fresh_streams.publish(subjects.inbound("telegram", 1), b"{}")
    before = {s.name: (await fresh_streams.stream_info(s.name)).state for s in streams.STREAMS}
    outcome = await streams.ensure_streams(fresh_streams)
    assert set(outcome.values()) == {"unchanged"}
    assert len(outcome) == len(streams.STREAMS) + sum(
        len(d.partitions) for d in streams.DURABLE_CONSUMERS
    )
    after = {s.name: (await fresh_streams.stream_info(s.name)).state for s in streams.STREAMS}
    assert after == before


@pytest.mark.integration
async def test_ensure_streams_repairs_a_drifted_stream_and_consumer(
    fresh_streams: JetStreamContext,
) -> None:
    inbound = streams.STREAMS_BY_NAME[streams.INBOUND].config()
    inbound.max_age = 2 * 86_400
    await fresh_streams.update_stream(inbound)
    part = streams.durable_consumers("router")[0].partitions[0]
    drifted = part.config()
    drifted.max_deliver = 99
    await fresh_streams.add_consumer(part.stream, drifted)
    outcome = await streams.ensure_streams(fresh_streams)
    assert outcome[streams.INBOUND] == "updated"
    assert outcome[f"{streams.INBOUND}/{part.name}"] == "updated"
    assert (await fresh_streams.stream_info(streams.INBOUND)).config.max_age == 7 * 86_400
    assert (await fresh_streams.consumer_info(part.stream, part.name)).config.max_deliver == 5


@pytest.mark.integration
async def test_stored_subjects_carry_the_chat_partition(fresh_streams: JetStreamContext) -> None:
    for chat in range(20):
        await fresh_streams.publish(subjects.inbound("telegram", chat), b"{}")
    info = await fresh_streams.stream_info(streams.INBOUND, subjects_filter=">")
    stored = info.state.subjects or {}
    assert len(stored) == 20
    partitions = {s.rsplit(".", 1)[1] for s in stored}
    assert partitions <= {str(i) for i in range(8)}
    assert len(partitions) > 1
    # the same chat always lands in the same partition
    await fresh_streams.publish(subjects.inbound("telegram", 7), b"{}")
    info = await fresh_streams.stream_info(streams.INBOUND, subjects_filter="inbound.telegram.7.*")
    assert list((info.state.subjects or {}).values()) == [2]


def test_a_subject_outside_the_declared_shape_is_not_captured() -> None:
    # stored subjects carry a partition token; a publisher must not be able to
    # place a message into a partition directly (nor may anyone publish there)
    assert streams.stream_for_subject("inbound.telegram.42.5") is None
    assert streams.stream_for_subject("deliver.web.c1.extra") is None
    assert streams.stream_for_subject("agent.coder.output.3") is None


@pytest.mark.integration
async def test_orchestrator_creates_and_removes_agent_consumers(
    fresh_streams: JetStreamContext, nats_clients: NatsTestServer
) -> None:
    orchestrator = (await nats_clients.connect("orchestrator")).jetstream()
    await fresh_streams.publish(subjects.agent_input("coder"), b'{"early": true}')
    assert await streams.ensure_agent_consumer(orchestrator, "coder") == "created"
    assert await streams.ensure_agent_consumer(orchestrator, "coder") == "unchanged"
    info = await fresh_streams.consumer_info(streams.AGENT_INPUT, "agent-coder")
    assert info.num_pending == 1  # input published before the consumer existed still waits
    assert info.config.filter_subject == "agent.coder.input"
    assert await streams.delete_agent_consumer(orchestrator, "coder") is True
    assert await streams.delete_agent_consumer(orchestrator, "coder") is False


class ChatMessage(BaseModel):
    chat: int
    n: int


@dataclass
class Span:
    chat: int
    n: int
    start: float
    end: float
    replica: str


@pytest.mark.integration
async def test_two_replicas_never_handle_one_chat_out_of_order(
    fresh_streams: JetStreamContext, nats_clients: NatsTestServer
) -> None:
    chats, per_chat = 6, 8
    spans: list[Span] = []
    done = asyncio.Event()
    [consumer] = streams.durable_consumers("router")
    brokers = []
    for replica in ("a", "b"):
        broker = make_broker(nats_clients.settings("router"), "router")

        def handler_for(name: str):  # type: ignore[no-untyped-def]
            async def handle(body: ChatMessage) -> None:
                start = time.monotonic()
                await asyncio.sleep(random.uniform(0, 0.03))
                spans.append(Span(body.chat, body.n, start, time.monotonic(), name))
                if len(spans) == chats * per_chat:
                    done.set()

            return handle

        durable_subscriber(broker, consumer, fetch_timeout=1.0)(handler_for(replica))
        brokers.append(broker)
    for broker in brokers:
        await broker.start()
    try:
        gateway = make_broker(nats_clients.settings("gateway-telegram"), "gateway-telegram")
        async with gateway:
            await gateway.connect()
            for n in range(per_chat):
                for chat in range(chats):
                    await publish_model(
                        gateway, subjects.inbound("telegram", chat), ChatMessage(chat=chat, n=n)
                    )
        await asyncio.wait_for(done.wait(), timeout=30)
    finally:
        for broker in brokers:
            await broker.stop()

    by_chat: dict[int, list[Span]] = defaultdict(list)
    for span in sorted(spans, key=lambda s: s.start):
        by_chat[span.chat].append(span)
    for chat, handled in by_chat.items():
        assert [s.n for s in handled] == list(range(per_chat)), chat
        for earlier, later in itertools.pairwise(handled):
            assert earlier.end <= later.start, f"chat {chat}: {earlier} overlaps {later}"
    assert {s.replica for s in spans} == {"a", "b"}, "both replicas should have pulled"
    overlapping_chats = any(
        a.chat != b.chat and a.start < b.end and b.start < a.end for a in spans for b in spans
    )
    assert overlapping_chats, "different chats should be handled in parallel"
