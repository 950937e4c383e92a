"""When agents run: start on waiting input, capacity, ready handshake, idle stop, /stop, /reset.

How a waiting input starts an agent. The orchestrator never consumes agent
input (the runner pulls it from its own durable consumer ``agent-<id>``). It
*observes* it two ways, both ending in :meth:`Lifecycle.ensure_running`:

1. **Live**: the durable consumer ``orchestrator-inputs`` on ``agent.*.input``
   (one replica per input) sees every input as it is published and calls
   :meth:`Lifecycle.input_arrived` with it: the agent starts at once, and the
   input's ``origin`` is remembered so that whoever wrote can be told when the
   agent has to wait for a slot or cannot start (never silence).
2. **Sweep**: every few seconds, and whenever a slot frees up, each configured
   agent that is not running is checked for input its consumer holds
   (``num_pending + num_ack_pending``): input published while no orchestrator
   ran, or a turn interrupted by a crash, still starts its agent.

Starting: reserve a slot under ``defaults.max_running`` (else the waiting
origins get a ``waiting_for_capacity`` notice and the agent queues for the
next free slot) → resolve its vault secrets (:mod:`.secrets`; a missing or
unassigned one is a start failure that names it) → ensure the agent's
consumer → mint its bus credentials and its model-proxy token →
subscribe ``agent.<id>.ready`` → start the runtime → wait up to 30 s for
ready (a runtime that exits first is a failure at once; a timeout is tolerated
as upstream). A failure revokes the credentials, stops what started, and tells
every waiting origin why (``agent_unavailable`` error), then backs off before
the sweep retries; a new input retries at once.

Stopping (idle, /stop from the web, config change, shutdown) stops the
runtime, revokes the credentials and the proxy token and publishes
``agent_stopped`` — only when
something was running. The idle reaper stops an agent only after
``defaults.idle_timeout`` without activity, no input waiting in its consumer
and a ping that says it is not busy.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
from collections import OrderedDict
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from typing import Any, Final, Literal, Protocol

import structlog
from pydantic import BaseModel

from praktor_common.config import PraktorConfig, SecurityProfile
from praktor_common.contracts.agent import AgentInput, ControlCommand, ControlOk, PingReply
from praktor_common.contracts.base import utc_now
from praktor_common.contracts.deliver import Delivery, NoticeCode
from praktor_common.contracts.events import StopReason
from praktor_common.contracts.orchestrator import AgentState, AgentStatus, SwarmMembership
from praktor_common.contracts.origin import Correlation, Origin
from praktor_common.identities import Credentials

from . import deliveries, files
from .bus import (
    ABORT_TIMEOUT,
    CLEAR_TIMEOUT,
    PING_TIMEOUT,
    ControlAnswer,
    ReadyWaiter,
)
from .events import started_event, stopped_event
from .launch import (
    AgentDefinition,
    UnknownAgentError,
    definition_for,
    launch_env,
)
from .paths import AgentPaths
from .proxy_tokens import ProxyTokens
from .redaction import ConfigSource
from .runtime.base import (
    AgentDirs,
    AgentLaunch,
    AgentRuntime,
    RuntimeHandle,
    RuntimeStartError,
)
from .secrets import (
    NO_SECRETS,
    AgentSecretBook,
    AgentSecrets,
    SecretResolutionError,
    Vault,
    resolve_for_start,
)

log = structlog.get_logger(__name__)

WAITING_PER_AGENT: Final = 200
BACKOFF_START: Final = 5.0
BACKOFF_CAP: Final = 300.0
READY_POLL: Final = 0.1


class StartFailedError(RuntimeError):
    """The agent could not start; the text is for the person who waits."""


class CapacityError(RuntimeError):
    """Every slot (``defaults.max_running``) is taken."""


class ControlFailedError(RuntimeError):
    """The runner did not confirm a control request (abort, clear_session)."""


class CredentialIssuer(Protocol):
    async def issue(self, agent_id: str, *, swarm_chats: Iterable[str] = ()) -> Credentials: ...

    async def revoke(self, agent_id: str) -> bool: ...

    async def revoke_public_key(self, public_key: str) -> None: ...


class AgentBus(Protocol):
    async def ensure_consumer(self, agent_id: str) -> None: ...

    async def waiting_input(self, agent_id: str) -> int: ...

    async def ready_waiter(self, agent_id: str) -> ReadyWaiter: ...

    async def control(
        self, agent_id: str, command: ControlCommand, timeout: float
    ) -> ControlAnswer | None: ...

    async def publish_event(self, agent_id: str, event: BaseModel) -> None: ...

    async def deliver(self, delivery: Delivery) -> None: ...


class SessionStore(Protocol):
    async def session_id(self, agent_id: str) -> str | None: ...

    async def clear_session(self, agent_id: str) -> None: ...


@dataclass(frozen=True)
class LifecycleSettings:
    install_id: str
    nats_url: str
    ready_timeout: float = 30.0
    max_turns: int = 200
    max_parallel_tasks: int = 3
    stop_timeout: float = 10.0
    model_proxy_url: str | None = None
    """The model proxy as agents reach it; default ``http://127.0.0.1:<model_proxy.port>``."""


@dataclass
class _Running:
    definition: AgentDefinition
    phase: Literal["starting", "running"]
    started_at: dt.datetime
    last_active: float
    handle: RuntimeHandle | None = None
    ready: bool = False


@dataclass
class _Waiting:
    """An input seen on the bus and not answered yet: who to tell if its agent cannot run."""

    correlation: Correlation
    origin: Origin
    told: set[NoticeCode] = field(default_factory=set)


@dataclass(frozen=True)
class StartOutcome:
    already_running: bool
    ready: bool


class Lifecycle:
    """Which agents run, and starting and stopping them (see the module docstring)."""

    def __init__(
        self,
        *,
        runtime: AgentRuntime,
        paths: AgentPaths,
        issuer: CredentialIssuer,
        bus: AgentBus,
        sessions: SessionStore,
        config: ConfigSource,
        settings: LifecycleSettings,
        proxy_tokens: ProxyTokens,
        vault: Vault | None = None,
        secret_book: AgentSecretBook | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.proxy_tokens = proxy_tokens
        self._vault = vault
        self._secret_book = secret_book
        self.runtime = runtime
        self._paths = paths
        self._issuer = issuer
        self._bus = bus
        self._sessions = sessions
        self._config = config
        self.settings = settings
        self._clock = clock
        self._running: dict[str, _Running] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._slots = asyncio.Lock()
        self._waiting: dict[str, OrderedDict[str, _Waiting]] = {}
        self._queue: list[str] = []
        self._backoff: dict[str, tuple[float, float]] = {}
        self._memberships: dict[str, SwarmMembership] = {}
        self._last_origin: dict[str, Origin] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False
        self._wake = asyncio.Event()
        runtime.on_exit(self._runtime_exited)

    # -- what others ask ----------------------------------------------------------------

    def is_running(self, agent_id: str) -> bool:
        return agent_id in self._running

    def known(self, agent_id: str) -> bool:
        """Configured, a swarm member, or running."""
        return (
            agent_id in self._config.current.agents
            or agent_id in self._memberships
            or agent_id in self._running
        )

    def running_agents(self) -> list[str]:
        return sorted(self._running)

    def last_origin(self, agent_id: str) -> Origin | None:
        """Where the agent's latest conversational input came from."""
        return self._last_origin.get(agent_id)

    def membership(self, agent_id: str) -> SwarmMembership | None:
        return self._memberships.get(agent_id)

    def workspace_of(self, agent_id: str) -> str | None:
        """The workspace of a running agent, a swarm member or a configured agent."""
        running = self._running.get(agent_id)
        if running is not None:
            return running.definition.workspace
        config = self._config.current
        membership = self._memberships.get(agent_id)
        try:
            return definition_for(config, agent_id, membership).workspace
        except UnknownAgentError:
            return None

    def touch(self, agent_id: str) -> None:
        running = self._running.get(agent_id)
        if running is not None:
            running.last_active = self._clock()

    def answered(self, agent_id: str, msg_id: str) -> None:
        """A turn's result arrived: nobody needs telling about it any more."""
        waiting = self._waiting.get(agent_id)
        if waiting is not None:
            waiting.pop(msg_id, None)

    # -- input ----------------------------------------------------------------------------

    async def input_arrived(self, message: AgentInput) -> None:
        """An input was published for ``message.agent_id`` (the live trigger)."""
        agent_id = message.agent_id
        waiting = self._waiting.setdefault(agent_id, OrderedDict())
        waiting[message.msg_id] = _Waiting(message.correlation(), message.origin)
        while len(waiting) > WAITING_PER_AGENT:
            waiting.popitem(last=False)
        if message.kind == "conversational" and message.origin.channel not in ("scheduler",):
            self._last_origin[agent_id] = message.origin
        if agent_id in self._running:
            self.touch(agent_id)
            return
        self._backoff.pop(agent_id, None)  # a new input retries at once
        self._spawn(self._start_for_input(agent_id))

    async def _start_for_input(self, agent_id: str) -> None:
        with contextlib.suppress(CapacityError, StartFailedError):  # told and logged
            await self.ensure_running(agent_id)

    # -- starting -------------------------------------------------------------------------

    async def ensure_running(
        self, agent_id: str, swarm: SwarmMembership | None = None
    ) -> StartOutcome:
        """Start the agent unless it runs; wait until it is ready (or the ready timeout).

        Raises :class:`CapacityError` (the waiting origins were told) or
        :class:`StartFailedError` (the waiting origins were told why).
        """
        if swarm is not None:
            self._memberships[agent_id] = swarm
        async with self._lock(agent_id):
            if agent_id in self._running:
                self.touch(agent_id)
                return StartOutcome(already_running=True, ready=self._running[agent_id].ready)
            try:
                definition = definition_for(
                    self._config.current, agent_id, self._memberships.get(agent_id)
                )
            except UnknownAgentError as exc:
                await self._tell_waiting(agent_id, "agent_not_found", str(exc), error=True)
                raise StartFailedError(str(exc)) from exc
            await self._reserve_slot(agent_id, definition)
            try:
                ready = await self._start(agent_id, definition)
            except BaseException as exc:
                self._running.pop(agent_id, None)
                if not isinstance(exc, StartFailedError):
                    self._wake.set()
                    raise
                self._fail(agent_id)
                log.error("agent could not start", agent_id=agent_id, reason=str(exc))
                text = deliveries.start_failed_text(agent_id, str(exc))
                await self._tell_waiting(agent_id, "agent_unavailable", text, error=True)
                self._wake.set()
                raise
            return StartOutcome(already_running=False, ready=ready)

    async def _reserve_slot(self, agent_id: str, definition: AgentDefinition) -> None:
        max_running = self._config.current.defaults.max_running
        async with self._slots:
            if len(self._running) >= max_running:
                if agent_id not in self._queue:
                    self._queue.append(agent_id)
                log.info("agent waits for a slot", agent_id=agent_id, max_running=max_running)
                text = deliveries.waiting_for_capacity_text(agent_id, max_running)
                await self._tell_waiting(agent_id, "waiting_for_capacity", text)
                raise CapacityError(f"max_running ({max_running}) agents are running")
            with contextlib.suppress(ValueError):
                self._queue.remove(agent_id)
            self._running[agent_id] = _Running(
                definition=definition,
                phase="starting",
                started_at=utc_now(),
                last_active=self._clock(),
            )

    async def _start(self, agent_id: str, definition: AgentDefinition) -> bool:
        settings = self.settings
        config = self._config.current
        try:
            await self._bus.ensure_consumer(agent_id)
            session_id = None if definition.swarm else await self._sessions.session_id(agent_id)
        except Exception as exc:
            raise StartFailedError(f"the bus or the database did not answer ({exc})") from exc
        secrets = await self._resolve_secrets(definition)
        try:
            credentials = await self._issuer.issue(agent_id, swarm_chats=definition.swarm_chats)
        except Exception as exc:
            raise StartFailedError(f"the bus did not answer ({exc})") from exc
        model_token = self.proxy_tokens.mint(agent_id)
        env = launch_env(
            config,
            definition,
            nats_url=settings.nats_url,
            install_id=settings.install_id,
            session_id=session_id,
            max_turns=settings.max_turns,
            max_parallel_tasks=settings.max_parallel_tasks,
            model_proxy_url=settings.model_proxy_url
            or f"http://127.0.0.1:{config.model_proxy.port}",
            model_token=model_token,
            secret_env=secrets.env,
        )
        waiter: ReadyWaiter | None = None
        try:
            dirs = await asyncio.to_thread(self._dirs, definition)
            waiter = await self._bus.ready_waiter(agent_id)
            handle = await self.runtime.start(
                AgentLaunch(
                    agent_id=agent_id,
                    workspace=definition.workspace,
                    image=definition.image,
                    env=env,
                    credentials=credentials,
                    dirs=dirs,
                    files=secrets.files,
                    security=_security(config, definition),
                )
            )
            self._running[agent_id].handle = handle
            ready = await self._wait_ready(agent_id, waiter)
        except (RuntimeStartError, StartFailedError) as exc:
            await self._undo_start(agent_id)
            raise StartFailedError(str(exc)) from exc
        except Exception as exc:
            await self._undo_start(agent_id)
            raise StartFailedError(
                f"it could not be started ({type(exc).__name__}: {exc})"
            ) from exc
        except BaseException:
            await self._undo_start(agent_id)
            raise
        finally:
            if waiter is not None:
                await waiter.close()
        running = self._running[agent_id]
        running.phase, running.ready, running.last_active = "running", ready, self._clock()
        self._backoff.pop(agent_id, None)
        await self._bus.publish_event(agent_id, started_event(agent_id))
        log.info("agent started", agent_id=agent_id, ready=ready, runtime=self.runtime.name)
        return ready

    async def _resolve_secrets(self, definition: AgentDefinition) -> AgentSecrets:
        """The agent's vault secrets; a start failure naming any it cannot have."""
        wants = bool(definition.secret_env or definition.secret_files)
        if self._vault is None:
            if wants:
                raise StartFailedError("it needs vault secrets and this orchestrator has no vault")
            return NO_SECRETS
        try:
            secrets = await resolve_for_start(self._vault, definition)
        except SecretResolutionError as exc:
            raise StartFailedError(str(exc)) from exc
        if self._secret_book is not None:
            self._secret_book.remember(definition.agent_id, secrets)
        return secrets

    def _dirs(self, definition: AgentDefinition) -> AgentDirs:
        paths = self._paths
        files.ensure_global_dir(paths)
        return AgentDirs(
            workspace=files.ensure_workspace(paths, definition.workspace),
            home=paths.home_dir(definition.workspace),
            runtime=paths.runtime_dir(definition.agent_id),
            global_dir=paths.global_dir,
        )

    async def _wait_ready(self, agent_id: str, waiter: ReadyWaiter) -> bool:
        deadline = self._clock() + self.settings.ready_timeout
        while self._clock() < deadline:
            if await waiter.wait(READY_POLL):
                return True
            if not await self.runtime.is_running(agent_id):
                if waiter.is_ready:
                    return True
                code = await self.runtime.exit_code(agent_id)
                raise StartFailedError(
                    f"its process ended (exit code {code}) before it was ready"
                    if code is not None
                    else "its runtime ended before it was ready"
                )
        log.warning(
            "agent did not report ready in time; it keeps running",
            agent_id=agent_id,
            timeout=self.settings.ready_timeout,
        )
        return False

    async def _undo_start(self, agent_id: str) -> None:
        self.proxy_tokens.revoke(agent_id)
        with contextlib.suppress(Exception):
            await self.runtime.stop(agent_id, self.settings.stop_timeout)
        with contextlib.suppress(Exception):
            await self._issuer.revoke(agent_id)

    def _fail(self, agent_id: str) -> None:
        _, previous = self._backoff.get(agent_id, (0.0, 0.0))
        delay = min(BACKOFF_CAP, previous * 2 if previous else BACKOFF_START)
        self._backoff[agent_id] = (self._clock() + delay, delay)

    # -- stopping -------------------------------------------------------------------------

    async def stop(self, agent_id: str, reason: StopReason = "manual") -> bool:
        """Stop the agent's runtime and revoke its credentials; True if it was running.

        A manual stop also ends a swarm member's membership (it is not restarted).
        """
        if reason == "manual":
            self._memberships.pop(agent_id, None)
        async with self._lock(agent_id):
            return await self._stop_locked(agent_id, reason)

    async def _stop_locked(self, agent_id: str, reason: StopReason) -> bool:
        running = self._running.pop(agent_id, None)
        was_running = await self.runtime.stop(agent_id, self.settings.stop_timeout)
        await self._revoke(agent_id, running)
        if was_running or running is not None:
            await self._bus.publish_event(agent_id, stopped_event(agent_id, reason))
            log.info("agent stopped", agent_id=agent_id, reason=reason)
        self._wake.set()
        return was_running or running is not None

    async def _revoke(self, agent_id: str, running: _Running | None) -> None:
        self.proxy_tokens.revoke(agent_id)
        try:
            if await self._issuer.revoke(agent_id):
                return
            key = running.handle.credential_key if running and running.handle else None
            if key:
                await self._issuer.revoke_public_key(key)
        except Exception as exc:
            log.error("agent credentials not revoked", agent_id=agent_id, error=str(exc))

    async def _runtime_exited(self, agent_id: str, code: int | None) -> None:
        running = self._running.get(agent_id)
        lock = self._lock(agent_id)
        if running is None or running.phase == "starting" or lock.locked():
            return  # a start or stop in progress sees it itself
        async with lock:
            if self._running.get(agent_id) is not running:
                return
            self._running.pop(agent_id, None)
            await self._revoke(agent_id, running)
            self._fail(agent_id)
            log.warning("agent runtime ended by itself", agent_id=agent_id, code=code)
            await self._bus.publish_event(agent_id, stopped_event(agent_id, "exited"))
            self._wake.set()

    async def stop_all(self, reason: StopReason = "shutdown") -> None:
        for agent_id in list(self._running):
            with contextlib.suppress(Exception):
                await self.stop(agent_id, reason)

    # -- /stop and /reset -----------------------------------------------------------------

    async def abort(self, agent_id: str) -> bool:
        """``/stop``: the runner drops queued chat input and aborts its turn; it keeps running."""
        for key, waiting in list(self._waiting.get(agent_id, {}).items()):
            if waiting.correlation.task_id is None:
                self._waiting[agent_id].pop(key, None)
        if agent_id not in self._running:
            return False
        answer = await self._bus.control(agent_id, "abort", ABORT_TIMEOUT)
        if not isinstance(answer, ControlOk | PingReply):
            raise ControlFailedError(f"agent {agent_id} did not confirm the abort")
        return True

    async def reset(self, agent_id: str) -> bool:
        """``/reset``: the runner forgets its session and so does the database."""
        was_running = agent_id in self._running
        if was_running:
            answer = await self._bus.control(agent_id, "clear_session", CLEAR_TIMEOUT)
            if not isinstance(answer, ControlOk | PingReply):
                raise ControlFailedError(f"agent {agent_id} did not confirm the reset")
        await self._sessions.clear_session(agent_id)
        return was_running

    # -- background work ------------------------------------------------------------------

    async def sweep(self) -> None:
        """Start agents that have waiting input (queue for free slots first)."""
        config = self._config.current
        candidates = [*self._queue, *sorted(config.agents), *self._memberships]
        now = self._clock()
        for agent_id in dict.fromkeys(candidates):
            if agent_id in self._running:
                continue
            until, _ = self._backoff.get(agent_id, (0.0, 0.0))
            if until > now:
                continue
            if len(self._running) >= config.defaults.max_running:
                break
            try:
                waiting = agent_id in self._queue or await self._bus.waiting_input(agent_id) > 0
            except Exception as exc:
                log.warning("could not read waiting input", agent_id=agent_id, error=str(exc))
                continue
            if waiting:
                with contextlib.suppress(CapacityError, StartFailedError):
                    await self.ensure_running(agent_id)

    async def reap_idle(self) -> list[str]:
        """Stop agents idle for ``defaults.idle_timeout`` that have nothing to do."""
        timeout = self._config.current.defaults.idle_timeout.total_seconds()
        if timeout <= 0:
            return []
        stopped: list[str] = []
        for agent_id, running in list(self._running.items()):
            if running.phase != "running" or self._clock() - running.last_active < timeout:
                continue
            if await self._busy(agent_id):
                self.touch(agent_id)
                continue
            if await self.stop(agent_id, "idle_timeout"):
                stopped.append(agent_id)
        return stopped

    async def _busy(self, agent_id: str) -> bool:
        try:
            if await self._bus.waiting_input(agent_id) > 0:
                return True
        except Exception as exc:
            log.warning("could not read waiting input", agent_id=agent_id, error=str(exc))
            return True
        answer = await self._bus.control(agent_id, "ping", PING_TIMEOUT)
        return isinstance(answer, PingReply) and answer.busy

    async def run(self, sweep_every: float, idle_every: float) -> None:
        """Sweep and reap until closed or cancelled.

        The loop also ends on :meth:`close`: on Python 3.11 a cancellation that
        races with ``wait_for``'s inner wait finishing can be swallowed, so
        cancelling alone could leave the loop running and its awaiter hanging.
        """
        next_reap = self._clock() + idle_every
        while not self._closed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), sweep_every)
            self._wake.clear()
            try:
                await self.sweep()
                if self._clock() >= next_reap:
                    next_reap = self._clock() + idle_every
                    await self.reap_idle()
            except Exception:
                log.exception("lifecycle pass failed")

    async def adopt_leftovers(self) -> None:
        """Take back this install's runners left by an earlier orchestrator, or stop them."""
        config = self._config.current
        for handle in await self.runtime.leftovers():
            agent_id = handle.agent_id
            await self.runtime.adopt(handle)
            keep = (
                agent_id in config.agents
                and len(self._running) < config.defaults.max_running
                and isinstance(await self._bus.control(agent_id, "ping", PING_TIMEOUT), PingReply)
            )
            if keep:
                self._running[agent_id] = _Running(
                    definition=definition_for(config, agent_id),
                    phase="running",
                    started_at=handle.started_at,
                    last_active=self._clock(),
                    handle=handle,
                    ready=True,
                )
                log.info("leftover agent adopted", agent_id=agent_id)
                continue
            log.info("leftover agent stopped", agent_id=agent_id)
            self.proxy_tokens.revoke(agent_id)
            await self.runtime.stop(agent_id, self.settings.stop_timeout)
            if handle.credential_key:
                with contextlib.suppress(Exception):
                    await self._issuer.revoke_public_key(handle.credential_key)
        self.proxy_tokens.keep_only(set(self._running))

    async def close(self) -> None:
        self._closed = True
        self._wake.set()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    # -- status ---------------------------------------------------------------------------

    async def status(
        self, agent_id: str | None, message_counts: dict[str, int]
    ) -> list[AgentStatus]:
        config = self._config.current
        ids = [agent_id] if agent_id is not None else list(config.agents)
        ids += [a for a in self._running if agent_id is None and a not in config.agents]
        answers = await asyncio.gather(*(self._state(a) for a in ids))
        result = []
        for one, (state, jobs) in zip(ids, answers, strict=True):
            running = self._running.get(one)
            source = config.agents.get(one)
            result.append(
                AgentStatus(
                    agent_id=one,
                    description=source.description if source else "",
                    state=state,
                    active_jobs=jobs,
                    model=running.definition.model
                    if running
                    else (config.model_for(one) if source else config.defaults.model),
                    nix_enabled=source.nix_enabled if source else False,
                    message_count=message_counts.get(one, 0),
                    is_default=config.router.default_agent == one,
                    started_at=running.started_at if running else None,
                    last_active_at=self._wall_time(running.last_active) if running else None,
                )
            )
        return result

    async def _state(self, agent_id: str) -> tuple[AgentState, int]:
        running = self._running.get(agent_id)
        if running is None:
            return "stopped", 0
        if running.phase == "starting":
            return "starting", 0
        answer = await self._bus.control(agent_id, "ping", PING_TIMEOUT)
        if not isinstance(answer, PingReply):
            return "unresponsive", 0
        jobs = answer.pending_messages + answer.active_tasks + (1 if answer.processing else 0)
        return ("busy" if answer.busy else "idle"), jobs

    def _wall_time(self, monotonic: float) -> dt.datetime:
        return utc_now() - dt.timedelta(seconds=max(0.0, self._clock() - monotonic))

    # -- helpers --------------------------------------------------------------------------

    def _lock(self, agent_id: str) -> asyncio.Lock:
        return self._locks.setdefault(agent_id, asyncio.Lock())

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _tell_waiting(
        self, agent_id: str, code: NoticeCode, text: str, *, error: bool = False
    ) -> None:
        """Tell each origin with an unanswered input for ``agent_id`` (once per input and code)."""
        for waiting in list(self._waiting.get(agent_id, {}).values()):
            if code in waiting.told:
                continue
            waiting.told.add(code)
            delivery = deliveries.notice_delivery(
                waiting.correlation, waiting.origin, code, text, error=error, agent_id=agent_id
            )
            try:
                await self._bus.deliver(delivery)
            except Exception as exc:
                log.error("notice not delivered", agent_id=agent_id, code=code, error=str(exc))


def _security(config: PraktorConfig, definition: AgentDefinition) -> SecurityProfile:
    """The hardening profile of the agent (a swarm member: its template agent's)."""
    swarm = definition.swarm
    source = swarm.template_agent if swarm is not None and swarm.template_agent else None
    source = source or definition.agent_id
    return config.security_for(source) if source in config.agents else config.defaults.security
