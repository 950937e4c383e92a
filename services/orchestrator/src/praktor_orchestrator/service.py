"""The orchestrator service: how it is wired and started.

Owns agent runtimes, sessions, conversation history and memories; answers agents' IPC;
redacts and republishes agent output. See :mod:`.lifecycle` for how waiting
input starts an agent, :mod:`.output` for output, :mod:`.ipc` for IPC.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import structlog
from faststream.nats import NatsBroker
from faststream.nats.annotations import NatsMessage

from praktor_common import streams, subjects
from praktor_common.bus import durable_subscriber
from praktor_common.bus.dead_letter import error_summary
from praktor_common.contracts.agent import AgentOutput
from praktor_common.contracts.base import Contract
from praktor_common.contracts.orchestrator import (
    AGENT_ABORT,
    AGENT_NIX,
    AGENT_PROXY_TOKEN,
    AGENT_RESET,
    AGENT_START,
    AGENT_STATUS,
    AGENT_STOP,
)
from praktor_common.contracts.service import Command, ServiceError
from praktor_common.identities import AgentCredentialIssuer, AuthorityError
from praktor_common.runtime.runner import StartupError
from praktor_common.runtime.runner import main as run_service
from praktor_common.runtime.spec import ServiceContext, ServiceSpec

from .bus import NatsAgentBus
from .commands import OrchestratorCommands
from .forward import ServiceRequester
from .inputs import InputObserver
from .ipc import IpcHandler
from .lifecycle import Lifecycle, LifecycleSettings
from .memory import MemoryStore
from .output import OutputHandler
from .paths import AgentPaths
from .proxy_tokens import ProxyTokens
from .redaction import AgentRedactors, RedactorSource
from .registry import AgentRegistry, ConfigChanges
from .runtime import AgentRuntime, make_runtime
from .secrets import AgentSecretBook, NatsVault
from .sendfile import FileSender, ObjectStoreFiles
from .settings import OrchestratorSettings
from .store import OrchestratorStore
from .turn_origins import TurnOrigins
from .upload_requests import UploadReceiver
from .uploads import save_uploads

log = structlog.get_logger(__name__)

QUEUE = "orchestrator"
ReqT = TypeVar("ReqT", bound=Contract)


@dataclass
class Orchestrator:
    """The running parts, for tests and for shutdown."""

    lifecycle: Lifecycle
    runtime: AgentRuntime
    store: OrchestratorStore
    paths: AgentPaths
    issuer: AgentCredentialIssuer
    loop_task: asyncio.Task[None] | None = None

    def issuer_active(self) -> dict[str, str]:
        """Agent id → public key of the credentials currently issued to it."""
        return {agent: creds.public_key for agent, creds in self.issuer.active.items()}


async def setup(
    ctx: ServiceContext,
    *,
    settings: OrchestratorSettings | None = None,
    runtime: AgentRuntime | None = None,
    redactors: RedactorSource | None = None,
) -> Orchestrator:
    """Wire the orchestrator onto ``ctx.broker`` (before the broker starts)."""
    if ctx.engine is None:
        raise StartupError("the orchestrator needs its database")
    own = settings or OrchestratorSettings()
    runtime_settings = ctx.settings
    install_id = runtime_settings.install_id or _install_id(runtime_settings.data_dir)
    paths = AgentPaths(runtime_settings.data_dir)
    store = OrchestratorStore(ctx.engine)
    bus = NatsAgentBus(ctx.broker, ctx.nats, ctx.js)
    issuer = await _issuer(own, ctx)
    ctx.on_stop.append(issuer.close)
    if runtime is None:
        runtime = make_runtime(
            own.agent_runtime,
            data_dir=paths.data_dir,
            state_dir=paths.state_dir,
            install_id=install_id,
            python=own.agent_python,
            agent_user=own.agent_user,
            network=own.agent_network,
            host_data_dir=own.agent_host_data_dir,
            image=ctx.config.current.defaults.image,
        )
    vault = NatsVault(ctx.nats)
    secret_book = AgentSecretBook(vault, ctx.config)
    lifecycle = Lifecycle(
        proxy_tokens=ProxyTokens(paths.state_dir),
        vault=vault,
        secret_book=secret_book,
        runtime=runtime,
        paths=paths,
        issuer=issuer,
        bus=bus,
        sessions=store,
        config=ctx.config,
        settings=LifecycleSettings(
            install_id=install_id,
            nats_url=own.nats_url_for_agents(runtime_settings),
            ready_timeout=own.ready_timeout,
            max_turns=own.max_turns,
            max_parallel_tasks=own.max_parallel_tasks,
            model_proxy_url=own.model_proxy_url,
        ),
    )
    changes = ConfigChanges(AgentRegistry(ctx.engine, paths), lifecycle, bus)
    await changes.start(ctx.config.current)
    ctx.config.on_change(changes)
    await streams.ensure_consumers(ctx.js, "orchestrator")

    redactors = redactors or AgentRedactors(ctx.config, secret_book)
    _subscribe_output(
        ctx.broker,
        OutputHandler(
            store=store, redactors=redactors, publisher=bus, activity=lifecycle, config=ctx.config
        ),
    )
    _subscribe_inputs(
        ctx.broker,
        InputObserver(store=store, lifecycle=lifecycle, publisher=bus, config=ctx.config),
    )

    ipc = IpcHandler(
        paths=paths,
        store=store,
        memories=MemoryStore(ctx.engine),
        agents=lifecycle,
        services=ServiceRequester(ctx.nats),
        files=FileSender(
            turns=TurnOrigins(ctx.engine),
            files=ObjectStoreFiles(ctx.js),
            redactors=redactors,
            publisher=bus,
        ),
        uploads=UploadReceiver(
            store, lambda workspace, attachments: save_uploads(ctx.js, workspace, attachments)
        ),
    )

    @ctx.broker.subscriber(subjects.HOST_IPC_ALL, queue=QUEUE)
    async def on_ipc(msg: NatsMessage) -> Any:
        return await ipc.handle(msg.body, msg.raw_message.subject)

    commands = OrchestratorCommands(lifecycle, store)
    _answer(ctx.broker, AGENT_PROXY_TOKEN, lifecycle.proxy_tokens.answer)
    _answer(ctx.broker, AGENT_ABORT, commands.abort)
    _answer(ctx.broker, AGENT_RESET, commands.reset)
    _answer(ctx.broker, AGENT_START, commands.start)
    _answer(ctx.broker, AGENT_STOP, commands.stop)
    _answer(ctx.broker, AGENT_STATUS, commands.status)
    _answer(ctx.broker, AGENT_NIX, commands.nix)

    await lifecycle.adopt_leftovers()
    orchestrator = Orchestrator(
        lifecycle=lifecycle, runtime=runtime, store=store, paths=paths, issuer=issuer
    )
    orchestrator.loop_task = asyncio.create_task(
        lifecycle.run(own.sweep_interval, own.idle_check_interval), name="orchestrator-lifecycle"
    )

    async def shutdown() -> None:
        await lifecycle.close()
        if orchestrator.loop_task is not None:
            orchestrator.loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(orchestrator.loop_task, 10.0)
        await lifecycle.stop_all("shutdown")
        await runtime.close()

    ctx.on_stop.append(shutdown)
    log.info(
        "orchestrator wired",
        runtime=runtime.name,
        isolated=runtime.isolated,
        install_id=install_id,
        agents=sorted(ctx.config.current.agents),
    )
    return orchestrator


async def _setup(ctx: ServiceContext) -> None:
    await setup(ctx)


def _own_consumer(stream: str) -> streams.DurableConsumer:
    return next(c for c in streams.durable_consumers("orchestrator") if c.stream == stream)


def _subscribe_inputs(broker: NatsBroker, inputs: InputObserver) -> None:
    """Every agent input as it is published (durably: also what came while we were down)."""

    @durable_subscriber(broker, _own_consumer(streams.AGENT_INPUT))
    async def on_input(msg: NatsMessage) -> None:
        await inputs.handle(msg.body, msg.raw_message.subject)


def _subscribe_output(broker: NatsBroker, handler: OutputHandler) -> None:
    consumer = _own_consumer(streams.AGENT_OUTPUT)

    @durable_subscriber(broker, consumer, in_progress_every=10.0)
    async def on_output(output: AgentOutput, msg: NatsMessage) -> None:
        await handler.handle(output, msg.raw_message.subject)


def _answer(
    broker: NatsBroker,
    command: Command[ReqT, Any],
    method: Callable[[ReqT], Awaitable[Contract]],
) -> None:
    """Answer ``command`` on its subject (queue group): its reply or a ServiceError."""

    async def handle(msg: NatsMessage) -> Any:
        try:
            request = command.request.model_validate_json(msg.body)
        except ValueError as exc:
            return ServiceError(error=f"invalid request: {error_summary(exc)}", code="invalid")
        try:
            return await method(request)
        except Exception as exc:
            log.exception("command failed", subject=command.subject)
            return ServiceError(error=f"{command.operation} failed: {type(exc).__name__}")

    broker.subscriber(command.subject, queue=QUEUE)(handle)


async def _issuer(own: OrchestratorSettings, ctx: ServiceContext) -> AgentCredentialIssuer:
    directory = own.authority_dir(ctx.settings)
    if not ctx.settings.nats_url:
        raise StartupError("PRAKTOR_NATS_URL is not set")
    try:
        return await AgentCredentialIssuer.connect(directory, ctx.settings.nats_url)
    except AuthorityError as exc:
        raise StartupError(
            f"the orchestrator mints agents' bus credentials and needs the NATS authority: "
            f"{exc} (set PRAKTOR_NATS_AUTHORITY_DIR)"
        ) from exc


def _install_id(data_dir: Path) -> str:
    path = data_dir / "install-id"
    with contextlib.suppress(OSError):
        value = path.read_text().strip()
        if value:
            return value
    return "local"


SERVICE = ServiceSpec(
    name="orchestrator",
    description="Agent runtimes, history, memory, IPC",
    setup=_setup,
    default_health_port=9103,
)


def main() -> None:
    run_service(SERVICE)
