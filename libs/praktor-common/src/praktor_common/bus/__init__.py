"""Everything a service needs to speak on the bus.

* :func:`make_broker` — the one ``NatsBroker`` factory (identity, inbox prefix,
  reconnect, telemetry, metrics, dead letters, graceful drain);
* :func:`durable_subscriber` — handle a declared durable consumer (all partitions);
* :func:`publish_model` — publish a contract with ``Nats-Msg-Id`` (JetStream acks
  for captured subjects);
* :func:`keep_in_progress` — extend the ack deadline while long work runs;
* :class:`DeadLetterError` — a handler gives up on a message for good;
* :mod:`.dlq` — list, show and replay dead letters.
"""

from praktor_common.bus.broker import (
    BusConfigError,
    broker_inbox_prefix,
    make_broker,
    reconnect_backoff,
)
from praktor_common.bus.consumer import durable_subscriber
from praktor_common.bus.dead_letter import (
    NOTICE_TEXT,
    DeadLetterError,
    DeadLetterMiddleware,
    InvalidPayloadError,
    RetryBackoff,
    error_summary,
    is_payload_error,
)
from praktor_common.bus.dlq import (
    DeadLetterEntry,
    DeadLetterNotFoundError,
    Original,
    OriginalGoneError,
    get_dead_letter,
    get_original,
    list_dead_letters,
    replay_dead_letter,
)
from praktor_common.bus.progress import keep_in_progress
from praktor_common.bus.publish import NATS_MSG_ID, PublishError, publish_model

__all__ = [
    "NATS_MSG_ID",
    "NOTICE_TEXT",
    "BusConfigError",
    "DeadLetterEntry",
    "DeadLetterError",
    "DeadLetterMiddleware",
    "DeadLetterNotFoundError",
    "InvalidPayloadError",
    "Original",
    "OriginalGoneError",
    "PublishError",
    "RetryBackoff",
    "broker_inbox_prefix",
    "durable_subscriber",
    "error_summary",
    "get_dead_letter",
    "get_original",
    "is_payload_error",
    "keep_in_progress",
    "list_dead_letters",
    "make_broker",
    "publish_model",
    "reconnect_backoff",
    "replay_dead_letter",
]
