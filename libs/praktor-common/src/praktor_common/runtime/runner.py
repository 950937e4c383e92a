"""Run one service: connect with its identity, follow the config, serve health.

Start order: logs and tracing → health server (alive, not ready) → bus with
the service's own credentials → config from the KV → database schema check →
the service's own setup → broker start → ready. SIGTERM or SIGINT: not ready at
once, stop taking new messages, let handlers in flight finish (FastStream's
graceful timeout; a message not acknowledged is redelivered elsewhere), then
close the database and the bus.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from contextlib import suppress

import structlog

from praktor_common.bus import make_broker
from praktor_common.config import ConfigDiff, ConfigFollower, PraktorConfig, config_sha256
from praktor_common.runtime.health import HealthServer, HealthState
from praktor_common.runtime.logging import configure_logging
from praktor_common.runtime.spec import ServiceContext, ServiceSpec
from praktor_common.runtime.telemetry import configure_tracing
from praktor_common.settings import RuntimeSettings
from praktor_common.streams import ensure_consumers
from praktor_common.supervisor.state import pid_alive

log = structlog.get_logger(__name__)


class StartupError(RuntimeError):
    """A service cannot start; the message says why and what to do."""


def _health_port(spec: ServiceSpec, settings: RuntimeSettings) -> int:
    if settings.health_port is not None:
        return settings.health_port
    return spec.default_health_port


async def _nats_check_for(ctx: ServiceContext) -> None:
    if not ctx.nats.is_connected:
        raise ConnectionError("not connected to NATS")
    await ctx.nats.flush(timeout=1)


async def run(spec: ServiceSpec, settings: RuntimeSettings | None = None) -> None:
    """Run ``spec`` until SIGTERM / SIGINT."""
    settings = settings or RuntimeSettings()
    configure_logging(spec.name, settings.log_level, settings.log_format)
    provider = configure_tracing(spec.name, settings.install_id)
    health = HealthState(spec.name)
    server = HealthServer(health, settings.health_host, _health_port(spec, settings))
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    orphan_watch = asyncio.create_task(_stop_when_orphaned(settings, stop))
    ctx: ServiceContext | None = None
    try:
        ctx = await _start(spec, settings, health)
        health.started = True
        log.info("service ready", health_port=server.port)
        await stop.wait()
        log.info("service stopping")
    finally:
        orphan_watch.cancel()
        health.stopping = True
        if ctx is not None:
            await _stop(ctx)
        await server.stop()
        if provider is not None:
            provider.shutdown()


async def _stop_when_orphaned(settings: RuntimeSettings, stop: asyncio.Event) -> None:
    """Under `praktor up`, stop when the supervisor is gone (it was killed outright).

    Without this a service whose supervisor died would run on unsupervised, holding
    its port; the next `praktor up` would have to find and stop it.
    """
    supervisor = settings.supervisor_pid
    if not supervisor:
        return
    while not stop.is_set():
        if not pid_alive(supervisor):
            log.warning("supervisor is gone; stopping", supervisor_pid=supervisor)
            stop.set()
            return
        await asyncio.sleep(2.0)


async def _start(
    spec: ServiceSpec, settings: RuntimeSettings, health: HealthState
) -> ServiceContext:
    if not settings.nats_url:
        raise StartupError(
            "PRAKTOR_NATS_URL is not set: run services through `praktor up`, "
            "or set PRAKTOR_NATS_URL and PRAKTOR_NATS_CREDS"
        )
    broker = make_broker(settings, identity=spec.name, registry=health.registry)
    nats = await broker.connect()
    js = nats.jetstream()
    follower = ConfigFollower(js)
    config = await follower.start()
    health.info["config_hash"] = config_sha256(config)

    async def note_config(_old: PraktorConfig, new: PraktorConfig, diff: ConfigDiff) -> None:
        health.info["config_hash"] = config_sha256(new)
        log.info("config updated", changed=sorted(diff.changed_keys)[:50])

    follower.on_change(note_config)
    ctx = ServiceContext(
        spec=spec,
        settings=settings,
        broker=broker,
        nats=nats,
        js=js,
        config=follower,
        health=health,
    )
    health.add_check("nats", lambda: _nats_check_for(ctx))
    # The streams exist (`praktor bus init` / `praktor up` made them); the service's
    # own durable consumers are declared here, idempotently, with its own identity.
    await ensure_consumers(js, spec.name)
    if spec.uses_database:
        await _connect_database(ctx)
    if spec.setup is not None:
        await spec.setup(ctx)
    await broker.start()
    return ctx


async def _connect_database(ctx: ServiceContext) -> None:
    from sqlalchemy import text

    from praktor_common.db.engine import make_engine
    from praktor_common.db.migrate import check_schema

    url = ctx.settings.database_url
    if not url:
        raise StartupError(
            f"{ctx.spec.name} needs PostgreSQL: set PRAKTOR_DATABASE_URL "
            "(`praktor up` sets it for you)"
        )
    engine = make_engine(url)
    await check_schema(engine)
    ctx.engine = engine

    async def database_check() -> None:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    ctx.health.add_check("database", database_check)


async def _stop(ctx: ServiceContext) -> None:
    for hook in reversed(ctx.on_stop):
        with suppress(Exception):
            await hook()
    with suppress(Exception):
        await ctx.config.stop()
    with suppress(Exception):
        await ctx.broker.stop()
    if ctx.engine is not None:
        await ctx.engine.dispose()
    log.info("service stopped")


def main(spec: ServiceSpec) -> None:
    """Console entry point of a service: run it, exit 1 with the reason on failure."""
    try:
        asyncio.run(run(spec))
    except StartupError as exc:
        log.error("service cannot start", reason=str(exc))
        print(f"{spec.name}: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    except Exception as exc:
        log.exception("service failed", error_type=type(exc).__name__)
        print(f"{spec.name}: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
