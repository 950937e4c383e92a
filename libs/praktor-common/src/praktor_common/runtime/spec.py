"""What a service declares about itself, and what it is handed at start."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from faststream.nats import NatsBroker
    from nats.aio.client import Client
    from nats.js import JetStreamContext
    from sqlalchemy.ext.asyncio import AsyncEngine

    from praktor_common.config.distribution import ConfigFollower
    from praktor_common.runtime.health import HealthState
    from praktor_common.settings import RuntimeSettings


@dataclass
class ServiceContext:
    """Everything a service's setup may use; owned by the runtime."""

    spec: ServiceSpec
    settings: RuntimeSettings
    broker: NatsBroker
    nats: Client
    js: JetStreamContext
    config: ConfigFollower
    health: HealthState
    engine: AsyncEngine | None = None
    on_stop: list[Callable[[], Awaitable[None]]] = field(default_factory=list)


Setup = Callable[[ServiceContext], Awaitable[None]]


@dataclass(frozen=True)
class ServiceSpec:
    """One Praktor service: its name (also its bus identity) and its wiring.

    ``setup`` registers the service's subscribers on ``ctx.broker``, declares
    its durable consumers and adds its own readiness checks; it runs after the
    bus, the config and the database are reachable and before the broker starts.
    """

    name: str
    description: str
    uses_database: bool = True
    setup: Setup | None = None
    default_health_port: int = 0
