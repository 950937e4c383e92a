"""Subscribing to a declared durable consumer, and keeping long work alive."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from faststream.middlewares import AckPolicy
from faststream.nats import JStream, PullSub

from praktor_common import streams
from praktor_common.bus.broker import broker_inbox_prefix
from praktor_common.bus.progress import set_in_progress_interval

if TYPE_CHECKING:
    from faststream.nats import NatsBroker

F = TypeVar("F", bound=Callable[..., Any])


def durable_subscriber(
    broker: NatsBroker,
    consumer: streams.DurableConsumer | streams.ConsumerSpec,
    *,
    fetch_timeout: float = 5.0,
    in_progress_every: float | None = None,
) -> Callable[[F], F]:
    """Register a handler on every partition of a declared durable consumer.

    ``@durable_subscriber(broker, streams.durable_consumers("router")[0])``
    binds one pull subscriber per partition consumer (``router-p0`` …), each
    fetching one message at a time with the broker's inbox prefix. The message
    is acknowledged when the handler returns; failures take the dead-letter
    path. With ``in_progress_every`` the server is told every so many seconds
    that the message is still being worked on (for handlers that may outlast
    the consumer's ack wait).
    """
    parts = consumer.partitions if isinstance(consumer, streams.DurableConsumer) else (consumer,)
    prefix = f"{broker_inbox_prefix(broker)}.".encode()

    def register(handler: F) -> F:
        for part in parts:
            subscriber = broker.subscriber(
                part.filter_subject,
                stream=JStream(part.stream, declare=False),
                durable=part.name,
                config=part.config(),
                pull_sub=PullSub(batch_size=1, timeout=fetch_timeout),
                inbox_prefix=prefix,
                ack_policy=AckPolicy.NACK_ON_ERROR,
            )
            if in_progress_every is not None:
                set_in_progress_interval(subscriber, in_progress_every)
            subscriber(handler)
        return handler

    return register
