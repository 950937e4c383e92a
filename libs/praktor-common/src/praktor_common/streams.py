"""Every JetStream stream and durable consumer, declared as data.

Streams capture only one-way traffic (see :mod:`praktor_common.subjects`)::

    INBOUND       inbound.{channel}.{chat}    7 days  partitioned by chat
    AGENT_INPUT   agent.{id}.input            7 days  one consumer per agent
    AGENT_OUTPUT  agent.{id}.output           7 days  partitioned by agent
    DELIVER       deliver.{channel}.{chat}    7 days  partitioned by chat
    EVENTS        events.>                    1 day   live feed (drops oldest when full)
    DLQ           dlq.{stream}.{consumer}    14 days  dead-letter records (no bodies)

All keep messages by limits (age, bytes), not by acknowledgement: a message
a consumer gave up on is still in its stream when ``praktor dlq replay``
fetches it by sequence (dead-letter records never carry bodies). Every stream
has a two-minute duplicate window, so a publish retried with the same
``Nats-Msg-Id`` is stored once. Streams that hold work refuse new messages
when full (``discard=new``: the publisher gets an error instead of an old
message vanishing unseen); EVENTS is a live feed nothing waits on, so when
full it drops its oldest event rather than failing a publisher.

Consumers are durable, pull, explicit-ack, ``deliver_policy=all`` (a message
published before a consumer existed still reaches it, so consumers must be
idempotent by message id), ``max_deliver`` 5 (the last delivery is dead
lettered by :mod:`praktor_common.bus`) and an ack wait that long handlers
extend with ``in_progress`` (:func:`praktor_common.bus.keep_in_progress`).
An agent's consumer (``agent-<id>``, filter ``agent.<id>.input``) is created by
the orchestrator; its container may only pull from it and acknowledge.

Per-chat order with any number of replicas. The stream partitions: a subject
transform appends ``{{partition(N, …)}}`` of the chat (or agent) tokens to the
stored subject (``inbound.telegram.42`` is stored as ``inbound.telegram.42.5``).
A service consumes through N durable consumers, one per partition
(``router-p0`` … ``router-p7``), each with ``max_ack_pending=1``. Whatever the
number of replicas pulling, a partition has at most one message in flight; a
message nak'ed for a retry stays in flight, so the next message of the same
chat waits for it. Different chats spread over N partitions and proceed in
parallel. N is fixed (changing it remaps chats: drain the consumers first).
Handlers read the chat from the payload's ``origin``; :func:`original_subject`
strips the partition token where the published subject is needed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Final, Literal

from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    DiscardPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
    SubjectTransform,
)
from nats.js.errors import NotFoundError

from praktor_common import subjects
from praktor_common.ids import validate_agent_id

if TYPE_CHECKING:
    from nats.js import JetStreamContext

PARTITIONS: Final = 8
DUPLICATE_WINDOW: Final = timedelta(hours=6)
"""How long a ``Nats-Msg-Id`` is remembered. Long enough that a consumer which
published, then died before acknowledging, and came back hours later, does not
publish the same message twice (at personal scale the id set stays small)."""
MAX_DELIVER: Final = 5
ACK_WAIT: Final = timedelta(seconds=30)
AGENT_ACK_WAIT: Final = timedelta(seconds=60)
AGENT_MAX_ACK_PENDING: Final = 16
_GiB: Final = 1024**3
_MiB: Final = 1024**2

INBOUND: Final = "INBOUND"
AGENT_INPUT: Final = "AGENT_INPUT"
AGENT_OUTPUT: Final = "AGENT_OUTPUT"
DELIVER: Final = "DELIVER"
EVENTS: Final = "EVENTS"
DLQ: Final = "DLQ"

Outcome = Literal["created", "updated", "unchanged"]


class StreamConfigError(RuntimeError):
    """A stream exists with settings that cannot be changed in place."""


@dataclass(frozen=True)
class Partitioning:
    """Stored subject = published subject + ``.{{partition(count, key tokens)}}``."""

    key_tokens: tuple[int, ...]
    count: int = PARTITIONS

    def transform(self, source: str) -> SubjectTransform:
        dest = source
        for index in range(1, source.count("*") + 1):
            dest = dest.replace("*", f"{{{{wildcard({index})}}}}", 1)
        keys = ",".join(str(k) for k in self.key_tokens)
        return SubjectTransform(src=source, dest=f"{dest}.{{{{partition({self.count},{keys})}}}}")


@dataclass(frozen=True)
class StreamSpec:
    name: str
    subject: str
    description: str
    retention: RetentionPolicy
    max_age: timedelta
    max_bytes: int
    discard: DiscardPolicy = DiscardPolicy.NEW
    partitioning: Partitioning | None = None
    notify_dead_letters: bool = False
    """Tell the person in a message's ``origin`` when it is dead-lettered (not for
    messages that were already on their way out to a person, or for records)."""

    def config(self, replicas: int = 1) -> StreamConfig:
        return StreamConfig(
            name=self.name,
            description=self.description,
            subjects=[self.subject],
            retention=self.retention,
            max_age=self.max_age.total_seconds(),
            max_bytes=self.max_bytes,
            discard=self.discard,
            storage=StorageType.FILE,
            num_replicas=replicas,
            duplicate_window=DUPLICATE_WINDOW.total_seconds(),
            subject_transform=(
                self.partitioning.transform(self.subject) if self.partitioning else None
            ),
        )

    def captures(self, subject: str) -> bool:
        return subject_matches(self.subject, subject)


@dataclass(frozen=True)
class ConsumerSpec:
    """One durable pull consumer on one stream."""

    stream: str
    name: str
    filter_subject: str
    service: str
    group: str
    """The logical consumer (all partitions): names its dead-letter subject."""
    max_ack_pending: int = 1
    max_deliver: int = MAX_DELIVER
    ack_wait: timedelta = ACK_WAIT
    deliver_policy: DeliverPolicy = DeliverPolicy.ALL
    """Where a newly created consumer starts (``NEW`` for observers of past traffic)."""

    def config(self) -> ConsumerConfig:
        return ConsumerConfig(
            name=self.name,
            durable_name=self.name,
            description=f"{self.service}: {self.filter_subject}",
            filter_subject=self.filter_subject,
            deliver_policy=self.deliver_policy,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=self.ack_wait.total_seconds(),
            max_deliver=self.max_deliver,
            max_ack_pending=self.max_ack_pending,
        )

    @property
    def dead_letter_subject(self) -> str:
        return subjects.dead_letter(self.stream, self.group)


@dataclass(frozen=True)
class DurableConsumer:
    """A service's durable consumer of one subject, split over the stream's partitions."""

    service: str
    stream: str
    subject: str
    name: str
    partitions: tuple[ConsumerSpec, ...] = field(default=())

    @property
    def dead_letter_subject(self) -> str:
        return subjects.dead_letter(self.stream, self.name)


STREAMS: Final[tuple[StreamSpec, ...]] = (
    StreamSpec(
        name=INBOUND,
        subject="inbound.*.*",
        description="Messages from people, per channel and chat",
        retention=RetentionPolicy.LIMITS,
        max_age=timedelta(days=7),
        max_bytes=1 * _GiB,
        partitioning=Partitioning(key_tokens=(1, 2)),
        notify_dead_letters=True,
    ),
    StreamSpec(
        name=AGENT_INPUT,
        subject=subjects.AGENT_INPUT_ALL,
        description="Turns waiting for an agent (one consumer per agent)",
        retention=RetentionPolicy.LIMITS,
        max_age=timedelta(days=7),
        max_bytes=1 * _GiB,
        notify_dead_letters=True,
    ),
    StreamSpec(
        name=AGENT_OUTPUT,
        subject=subjects.AGENT_OUTPUT_ALL,
        description="Raw agent output, read by the orchestrator only",
        retention=RetentionPolicy.LIMITS,
        max_age=timedelta(days=7),
        max_bytes=4 * _GiB,
        partitioning=Partitioning(key_tokens=(1,)),
        notify_dead_letters=True,
    ),
    StreamSpec(
        name=DELIVER,
        subject="deliver.*.*",
        description="Clean replies going out to a channel and chat",
        retention=RetentionPolicy.LIMITS,
        max_age=timedelta(days=7),
        max_bytes=4 * _GiB,
        partitioning=Partitioning(key_tokens=(1, 2)),
    ),
    StreamSpec(
        name=EVENTS,
        subject=subjects.EVENTS_ALL,
        description="Live events for Mission Control and the bot (drops oldest when full)",
        retention=RetentionPolicy.LIMITS,
        max_age=timedelta(days=1),
        max_bytes=512 * _MiB,
        discard=DiscardPolicy.OLD,
    ),
    StreamSpec(
        name=DLQ,
        subject=subjects.DLQ_ALL,
        description="Dead letters: messages that could not be processed",
        retention=RetentionPolicy.LIMITS,
        max_age=timedelta(days=14),
        max_bytes=256 * _MiB,
    ),
)

STREAMS_BY_NAME: Final[Mapping[str, StreamSpec]] = {s.name: s for s in STREAMS}


def _durable(
    service: str,
    stream: str,
    subject: str,
    *,
    name: str | None = None,
    deliver_policy: DeliverPolicy = DeliverPolicy.ALL,
) -> DurableConsumer:
    spec = STREAMS_BY_NAME[stream]
    count = spec.partitioning.count if spec.partitioning else 1
    group = name or service
    parts = tuple(
        ConsumerSpec(
            stream=stream,
            name=f"{group}-p{p}" if spec.partitioning else group,
            filter_subject=f"{subject}.{p}" if spec.partitioning else subject,
            service=service,
            group=group,
            deliver_policy=deliver_policy,
        )
        for p in range(count)
    )
    return DurableConsumer(
        service=service, stream=stream, subject=subject, name=group, partitions=parts
    )


DURABLE_CONSUMERS: Final[tuple[DurableConsumer, ...]] = (
    _durable("router", INBOUND, "inbound.*.*"),
    _durable("orchestrator", AGENT_OUTPUT, subjects.AGENT_OUTPUT_ALL),
    # inputs as they are published: history, start on input, the files of a turn; also
    # what was published while no orchestrator ran (starts at NEW: past turns are history)
    _durable(
        "orchestrator",
        AGENT_INPUT,
        subjects.AGENT_INPUT_ALL,
        name="orchestrator-inputs",
        deliver_policy=DeliverPolicy.NEW,
    ),
    _durable("gateway-telegram", DELIVER, "deliver.telegram.*"),
    _durable("web", DELIVER, "deliver.web.*"),
    _durable("scheduler", DELIVER, "deliver.scheduler.*"),
    _durable("swarm", DELIVER, "deliver.swarm.*"),
)


def durable_consumers(service: str) -> tuple[DurableConsumer, ...]:
    """The durable consumers ``service`` reads from."""
    return tuple(c for c in DURABLE_CONSUMERS if c.service == service)


def agent_consumer_name(agent_id: str) -> str:
    return f"agent-{validate_agent_id(agent_id)}"


def agent_consumer(agent_id: str) -> ConsumerSpec:
    """The durable consumer an agent's container pulls its input from."""
    name = agent_consumer_name(agent_id)
    return ConsumerSpec(
        stream=AGENT_INPUT,
        name=name,
        filter_subject=subjects.agent_input(agent_id),
        service=name,
        group=name,
        max_ack_pending=AGENT_MAX_ACK_PENDING,
        ack_wait=AGENT_ACK_WAIT,
    )


def find_consumer(stream: str, consumer: str) -> ConsumerSpec | None:
    """The declaration of ``consumer`` on ``stream`` (agent consumers included)."""
    for durable in DURABLE_CONSUMERS:
        for part in durable.partitions:
            if part.stream == stream and part.name == consumer:
                return part
    if stream == AGENT_INPUT and consumer.startswith("agent-"):
        try:
            return agent_consumer(consumer.removeprefix("agent-"))
        except ValueError:
            return None
    return None


def subject_matches(pattern: str, subject: str) -> bool:
    """True when the concrete or wildcard ``subject`` is inside ``pattern``."""
    p_tokens, s_tokens = pattern.split("."), subject.split(".")
    for i, p in enumerate(p_tokens):
        if p == ">":
            return len(s_tokens) > i and all(t != "" for t in s_tokens[i:])
        if i >= len(s_tokens):
            return False
        if p == "*":
            if s_tokens[i] == ">":
                return False
            continue
        if p != s_tokens[i]:
            return False
    return len(p_tokens) == len(s_tokens)


def subjects_overlap(a: str, b: str) -> bool:
    """True when some concrete subject matches both patterns."""
    a_tokens, b_tokens = a.split("."), b.split(".")
    for i in range(max(len(a_tokens), len(b_tokens))):
        x = a_tokens[i] if i < len(a_tokens) else None
        y = b_tokens[i] if i < len(b_tokens) else None
        if x == ">" or y == ">":
            return (x is not None) and (y is not None)
        if x is None or y is None:
            return False
        if x != "*" and y != "*" and x != y:
            return False
    return True


def stream_for_subject(subject: str) -> StreamSpec | None:
    """The stream that captures a published ``subject``, if any."""
    for spec in STREAMS:
        if spec.captures(subject):
            return spec
    return None


def original_subject(stream: str, stored_subject: str) -> str:
    """The subject a message was published on (without the partition token)."""
    spec = STREAMS_BY_NAME.get(stream)
    if spec is not None and spec.partitioning is not None:
        head, _, tail = stored_subject.rpartition(".")
        if head and tail.isdigit() and spec.captures(head):
            return head
    return stored_subject


# --- creating and updating ------------------------------------------------------------


def _seconds_equal(a: float | None, b: float | None) -> bool:
    return math.isclose(a or 0.0, b or 0.0, abs_tol=1e-3)


def _transform_key(transform: SubjectTransform | None) -> tuple[str, str] | None:
    return (transform.src, transform.dest) if transform is not None else None


def _stream_differs(have: StreamConfig, want: StreamConfig) -> list[str]:
    differs: list[str] = []
    if sorted(have.subjects or []) != sorted(want.subjects or []):
        differs.append("subjects")
    for name in ("description", "max_bytes", "discard", "num_replicas"):
        if getattr(have, name) != getattr(want, name):
            differs.append(name)
    for name in ("max_age", "duplicate_window"):
        if not _seconds_equal(getattr(have, name), getattr(want, name)):
            differs.append(name)
    if _transform_key(have.subject_transform) != _transform_key(want.subject_transform):
        differs.append("subject_transform")
    for name in ("retention", "storage"):
        if getattr(have, name) != getattr(want, name):
            raise StreamConfigError(
                f"stream {want.name} exists with {name}={getattr(have, name)!s}, "
                f"Praktor needs {getattr(want, name)!s}: it cannot be changed in place; "
                f"drain and delete the stream (`nats stream rm {want.name}`), then start again"
            )
    return differs


async def ensure_stream(js: JetStreamContext, spec: StreamSpec, replicas: int = 1) -> Outcome:
    want = spec.config(replicas)
    try:
        info = await js.stream_info(spec.name)
    except NotFoundError:
        await js.add_stream(want)
        return "created"
    if _stream_differs(info.config, want):
        await js.update_stream(want)
        return "updated"
    return "unchanged"


def _consumer_differs(have: ConsumerConfig, want: ConsumerConfig) -> bool:
    if (have.filter_subject or "") != (want.filter_subject or ""):
        return True
    for name in ("max_deliver", "max_ack_pending", "ack_policy", "description"):
        if getattr(have, name) != getattr(want, name):
            return True
    return not _seconds_equal(have.ack_wait, want.ack_wait)


async def ensure_consumer(js: JetStreamContext, spec: ConsumerSpec) -> Outcome:
    want = spec.config()
    try:
        info = await js.consumer_info(spec.stream, spec.name)
    except NotFoundError:
        await js.add_consumer(spec.stream, want)
        return "created"
    if _consumer_differs(info.config, want):
        await js.add_consumer(spec.stream, want)
        return "updated"
    return "unchanged"


async def _ensure_all(js: JetStreamContext, specs: Iterable[ConsumerSpec]) -> dict[str, Outcome]:
    return {f"{s.stream}/{s.name}": await ensure_consumer(js, s) for s in specs}


async def ensure_streams(js: JetStreamContext, *, replicas: int = 1) -> dict[str, Outcome]:
    """Create or update every stream and every declared durable consumer (idempotent).

    Run by whoever administers the bus (``praktor up``, an install job) with the
    ``cli-admin`` identity. Returns what happened to each, keyed by
    ``STREAM`` or ``STREAM/consumer``.
    """
    outcome: dict[str, Outcome] = {}
    for spec in STREAMS:
        outcome[spec.name] = await ensure_stream(js, spec, replicas)
    for durable in DURABLE_CONSUMERS:
        outcome.update(await _ensure_all(js, durable.partitions))
    return outcome


async def ensure_consumers(js: JetStreamContext, service: str) -> dict[str, Outcome]:
    """Create or update the durable consumers of ``service`` (its identity may do this)."""
    return await _ensure_all(js, (p for d in durable_consumers(service) for p in d.partitions))


async def ensure_agent_consumer(js: JetStreamContext, agent_id: str) -> Outcome:
    """The agent's input consumer ``agent-<id>`` on AGENT_INPUT (run by the orchestrator)."""
    return await ensure_consumer(js, agent_consumer(agent_id))


async def delete_agent_consumer(js: JetStreamContext, agent_id: str) -> bool:
    """Remove an agent's input consumer (when the agent is removed); False if absent."""
    try:
        await js.delete_consumer(AGENT_INPUT, agent_consumer_name(agent_id))
    except NotFoundError:
        return False
    return True
