"""The one FastStream ``NatsBroker`` factory every service and agent uses."""

from __future__ import annotations

import logging
import random
import weakref
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

import structlog
from faststream.nats import NatsBroker
from faststream.nats.opentelemetry import NatsTelemetryMiddleware
from faststream.nats.prometheus import NatsPrometheusMiddleware
from faststream.nats.security import NatsCredentials

from praktor_common.bus.dead_letter import DeadLetterMiddleware, RetryBackoff
from praktor_common.identities.permissions import inbox_prefix

if TYPE_CHECKING:
    from nats.aio.client import Server
    from opentelemetry.metrics import MeterProvider
    from opentelemetry.trace import TracerProvider
    from prometheus_client import CollectorRegistry

    from praktor_common.identities.credentials import Credentials
    from praktor_common.settings import RuntimeSettings

log = structlog.get_logger(__name__)

RECONNECT_BASE: Final = 0.5
RECONNECT_CAP: Final = 30.0

_IDENTITIES: weakref.WeakKeyDictionary[NatsBroker, str] = weakref.WeakKeyDictionary()


class BusConfigError(RuntimeError):
    """The process was not told where the bus is or who it is on it."""


def reconnect_backoff(servers: list[Server], _info: dict[str, Any]) -> tuple[Server | None, float]:
    """Pick the server tried least recently failed; wait base·2^n (capped, jittered)."""
    server = min(servers, key=lambda s: s.reconnects)
    delay = min(RECONNECT_CAP, RECONNECT_BASE * 2 ** min(server.reconnects, 16))
    return server, delay * random.uniform(0.5, 1.0)  # noqa: S311 (jitter)


def make_broker(
    settings: RuntimeSettings,
    identity: str,
    *,
    registry: CollectorRegistry | None = None,
    tracer_provider: TracerProvider | None = None,
    meter_provider: MeterProvider | None = None,
    credentials: Credentials | None = None,
    notices: bool = True,
    retry_backoff: RetryBackoff | None = None,
    middlewares: Sequence[Any] = (),
    graceful_timeout: float = 15.0,
    connect_timeout: int = 5,
) -> NatsBroker:
    """A broker for ``identity`` on ``settings.nats_url`` with ``settings.nats_creds``.

    * connects with the identity's inbox prefix (``_INBOX_<identity>``), the only
      inbox its credentials may subscribe to; ``credentials`` (in memory, e.g. an
      agent's) take the place of the creds file;
    * reconnects forever with exponential backoff (up to 30 s, jittered);
    * OpenTelemetry (trace context in headers, spans, metrics) and, with a
      ``registry``, Prometheus metrics — FastStream's own middlewares;
    * the dead-letter middleware (:mod:`praktor_common.bus.dead_letter`);
      ``notices=False`` for identities that may not publish on ``deliver.*``;
    * on ``stop()``: stops fetching, waits up to ``graceful_timeout`` for
      handlers in flight, then drains the connection.

    Pull consumers must use the same inbox prefix:
    :func:`praktor_common.bus.durable_subscriber` takes care of it.
    """
    if not settings.nats_url:
        raise BusConfigError(
            "PRAKTOR_NATS_URL is not set: run through `praktor up`, or set "
            "PRAKTOR_NATS_URL and PRAKTOR_NATS_CREDS"
        )
    if credentials is not None:
        security: NatsCredentials | None = NatsCredentials(credentials.raw())
        prefix = credentials.inbox_prefix
    elif settings.nats_creds is not None:
        if not settings.nats_creds.exists():
            raise BusConfigError(
                f"PRAKTOR_NATS_CREDS points at {settings.nats_creds}: no such file"
            )
        security = NatsCredentials(str(settings.nats_creds))
        prefix = inbox_prefix(identity)
    else:
        security = None
        prefix = inbox_prefix(identity)

    stack: list[Any] = [
        NatsTelemetryMiddleware(tracer_provider=tracer_provider, meter_provider=meter_provider)
    ]
    if registry is not None:
        stack.append(NatsPrometheusMiddleware(registry=registry, app_name=identity))
    stack.append(DeadLetterMiddleware(notices=notices, backoff=retry_backoff))
    stack.extend(middlewares)

    async def disconnected() -> None:
        log.warning("nats disconnected", identity=identity)

    async def reconnected() -> None:
        log.info("nats reconnected", identity=identity)

    async def closed() -> None:
        log.info("nats connection closed", identity=identity)

    broker = NatsBroker(
        [s.strip() for s in settings.nats_url.split(",") if s.strip()],
        name=f"praktor-{identity}",
        security=security,
        inbox_prefix=prefix,
        allow_reconnect=True,
        max_reconnect_attempts=-1,
        reconnect_to_server_handler=reconnect_backoff,
        connect_timeout=connect_timeout,
        disconnected_cb=disconnected,
        reconnected_cb=reconnected,
        closed_cb=closed,
        middlewares=stack,
        graceful_timeout=graceful_timeout,
        logger=logging.getLogger(f"praktor.bus.{identity}"),
        # FastStream's per-message "Received"/"Processed" lines: debug only
        log_level=logging.DEBUG,
    )
    _IDENTITIES[broker] = prefix
    return broker


def broker_inbox_prefix(broker: NatsBroker) -> str:
    """The inbox prefix the broker connects with (``_INBOX_<identity>``)."""
    try:
        return _IDENTITIES[broker]
    except KeyError:
        raise BusConfigError("this broker was not made by praktor_common.bus.make_broker") from None
