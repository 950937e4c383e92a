"""The ``docker`` runtime: each agent-runner in its own hardened container.

Any engine that speaks the Docker API works (Docker, Podman's
``podman system service``); it is reached at ``DOCKER_HOST`` or the default
socket. The container contract (mounts, env, uid, hardening, labels) is in
:mod:`.container_spec`; this module drives the engine:

* the agent's workspace and home are **named volumes**
  (``praktor-<install>-wk-<ws>``, ``praktor-<install>-home-<ws>``) backed by
  the agent's directories in the data dir, and the global instructions a
  read-only named volume, so the orchestrator (AGENT.md, USER.md over IPC)
  and the agent see the same files; volumes are never deleted;
* the minted ``nats.creds`` (0600, owned by the container user) is in the
  agent's runtime dir, mounted read-only at ``/run/praktor``; secret files
  are copied into the container before it starts and never touch the host;
* the container joins one network (``PRAKTOR_AGENT_NETWORK``), created as a
  labelled bridge when missing — services the agents must not reach (the
  database) are simply not on it;
* every container, volume and network carries ``praktor.install=<id>``: a
  restarted orchestrator adopts its own running agents (and only its own),
  and removes its own stopped ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import aiodocker
import structlog
from aiodocker.containers import DockerContainer

from praktor_common.identities.credentials import write_private
from praktor_orchestrator.paths import AgentPaths

from .access import RunAs, own_tree
from .archive import FilePathError, files_archive
from .base import (
    AGENT_LABEL,
    INSTALL_LABEL,
    AgentDirs,
    AgentLaunch,
    ExitCallback,
    RuntimeHandle,
    RuntimeStartError,
)
from .container_spec import (
    CREDENTIAL_LABEL,
    CREDS_FILE,
    CREDS_MOUNT,
    GLOBAL_MOUNT,
    HOME_MOUNT,
    ROLE_LABEL,
    WORKSPACE_MOUNT,
    ContainerOptions,
    HostPaths,
    VolumeSpec,
    container_config,
    container_name,
    is_builtin_network,
    labels,
    volumes,
)

log = structlog.get_logger(__name__)

PRIVATE_DIR: Final = 0o700
PASS_THROUGH: Final = 0o711
NOT_FOUND: Final = 404


@dataclass
class _Agent:
    handle: RuntimeHandle
    container: DockerContainer
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    exit_code: int | None = None
    stopping: bool = False
    watcher: asyncio.Task[None] | None = None
    creds_file: Path | None = None


class DockerRuntime:
    """Agents as containers of a Docker-API engine."""

    name = "docker"
    isolated = True

    def __init__(
        self,
        data_dir: Path,
        install_id: str,
        *,
        docker_host: str | None = None,
        network: str = "praktor-agents",
        host_data_dir: Path | None = None,
        uid: int = 10321,
        poll_interval: float = 2.0,
    ) -> None:
        self.data_dir = data_dir
        self.install_id = install_id
        self.options = ContainerOptions(install_id=install_id, network=network, uid=uid)
        self._docker_host = docker_host
        self._host_paths = HostPaths(data_dir, host_data_dir)
        self._poll = poll_interval
        self._docker: aiodocker.Docker | None = None
        self._agents: dict[str, _Agent] = {}
        self._exit_codes: dict[str, int | None] = {}
        self._callbacks: list[ExitCallback] = []
        self._network_ready = False
        self._lock = asyncio.Lock()

    @property
    def docker(self) -> aiodocker.Docker:
        if self._docker is None:
            self._docker = aiodocker.Docker(url=self._docker_host)
        return self._docker

    @property
    def run_as(self) -> RunAs:
        uid = self.options.uid
        return RunAs("praktor", uid, uid, frozenset({uid}), switches=os.geteuid() != uid)

    # -- the interface --------------------------------------------------------------------

    def on_exit(self, callback: ExitCallback) -> None:
        self._callbacks.append(callback)

    async def start(self, launch: AgentLaunch) -> RuntimeHandle:
        agent_id = launch.agent_id
        current = self._agents.get(agent_id)
        if current is not None and not current.ended.is_set():
            return current.handle
        self._exit_codes.pop(agent_id, None)
        try:
            archive = (
                files_archive(launch.files, self.options.uid, _MOUNT_POINTS)
                if launch.files
                else None
            )
        except FilePathError as exc:
            raise RuntimeStartError(str(exc)) from exc
        try:
            await asyncio.to_thread(self._prepare, launch)
        except OSError as exc:
            raise RuntimeStartError(f"could not prepare the agent's directories: {exc}") from exc
        creds_file = launch.dirs.runtime / CREDS_FILE
        try:
            async with self._lock:
                await self._ensure_network()
                for volume in volumes(self.options, launch, self._host_paths):
                    await self._ensure_volume(volume)
            container = await self._create(launch, archive)
            await container.start()
        except aiodocker.DockerError as exc:
            with contextlib.suppress(FileNotFoundError):
                creds_file.unlink()
            raise RuntimeStartError(_engine_error(exc, launch.image)) from exc
        handle = RuntimeHandle(
            agent_id=agent_id,
            runtime_id=container.id,
            started_at=dt.datetime.now(dt.UTC),
            install_id=self.install_id,
            credential_key=launch.credentials.public_key,
        )
        self._watch(_Agent(handle, container, creds_file=creds_file))
        log.info(
            "agent container started",
            agent_id=agent_id,
            container=container.id[:12],
            image=launch.image,
            network=self.options.network,
        )
        return handle

    async def stop(self, agent_id: str, timeout: float = 10.0) -> bool:
        agent = self._agents.get(agent_id)
        if agent is None:
            return False
        agent.stopping = True
        was_running = not agent.ended.is_set()
        try:
            if was_running:
                await agent.container.stop(t=max(1, round(timeout)))
            await agent.container.delete(force=True)
        except aiodocker.DockerError as exc:
            if exc.status != NOT_FOUND:
                log.warning(
                    "agent container could not be removed", agent_id=agent_id, error=str(exc)
                )
        agent.ended.set()
        if agent.watcher is not None:
            agent.watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await agent.watcher
        self._forget(agent)
        log.info("agent container stopped", agent_id=agent_id, container=agent.container.id[:12])
        return was_running

    async def is_running(self, agent_id: str) -> bool:
        agent = self._agents.get(agent_id)
        return agent is not None and not agent.ended.is_set()

    async def exit_code(self, agent_id: str) -> int | None:
        agent = self._agents.get(agent_id)
        if agent is not None:
            return agent.exit_code
        return self._exit_codes.get(agent_id)

    async def leftovers(self) -> list[RuntimeHandle]:
        """Running containers of this install; its stopped ones are removed."""
        found: list[RuntimeHandle] = []
        for container in await self._own_containers():
            info = await container.show()
            config_labels: dict[str, str] = info["Config"].get("Labels") or {}
            agent_id = config_labels.get(AGENT_LABEL)
            if not agent_id:
                continue
            if not info["State"].get("Running"):
                with contextlib.suppress(aiodocker.DockerError):
                    await container.delete(force=True)
                log.info("stopped agent container removed", agent_id=agent_id)
                continue
            found.append(
                RuntimeHandle(
                    agent_id=agent_id,
                    runtime_id=container.id,
                    started_at=_parse_time(info["State"].get("StartedAt")),
                    install_id=self.install_id,
                    credential_key=config_labels.get(CREDENTIAL_LABEL),
                )
            )
        return sorted(found, key=lambda h: h.agent_id)

    async def adopt(self, handle: RuntimeHandle) -> None:
        container = self.docker.containers.container(handle.runtime_id)
        creds = AgentPaths(self.data_dir).runtime_dir(handle.agent_id) / CREDS_FILE
        self._watch(_Agent(handle, container, creds_file=creds))
        log.info("agent container adopted", agent_id=handle.agent_id, container=container.id[:12])

    async def logs(self, agent_id: str, tail: int = 100) -> str:
        agent = self._agents.get(agent_id)
        container = agent.container if agent is not None else None
        if container is None:
            with contextlib.suppress(aiodocker.DockerError):
                container = await self.docker.containers.get(container_name(self.options, agent_id))
        if container is None:
            return ""
        try:
            lines = await container.log(stdout=True, stderr=True, tail=tail)
        except aiodocker.DockerError:
            return ""
        return "".join(lines).rstrip("\n")

    async def close(self) -> None:
        for agent in list(self._agents.values()):
            if agent.watcher is not None:
                agent.watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await agent.watcher
        self._agents.clear()  # no longer watched; the containers keep running
        if self._docker is not None:
            await self._docker.close()
            self._docker = None

    async def ping(self) -> None:
        """Raise when the engine does not answer."""
        await self.docker.system.info()

    # -- internals ------------------------------------------------------------------------

    def _prepare(self, launch: AgentLaunch) -> None:
        """The agent's directories exist and belong to the container user; its credentials
        are written 0600 for it (the global dir stays the orchestrator's, read-only inside)."""
        dirs: AgentDirs = launch.dirs
        for directory in (dirs.workspace, dirs.home, dirs.runtime):
            directory.parent.mkdir(mode=PASS_THROUGH, parents=True, exist_ok=True)
            directory.mkdir(mode=PRIVATE_DIR, exist_ok=True)
        dirs.global_dir.mkdir(parents=True, exist_ok=True)
        run_as = self.run_as
        if run_as.switches and os.geteuid() == 0:
            for directory in (dirs.workspace, dirs.home, dirs.runtime):
                own_tree(directory, run_as)
                directory.chmod(PRIVATE_DIR)
        elif run_as.switches:
            log.warning(
                "the orchestrator is not root and cannot give the agent's directories to the "
                "container user; the agent may not be able to write its workspace",
                uid=run_as.uid,
            )
        creds = dirs.runtime / CREDS_FILE
        write_private(creds, launch.credentials.creds_text())
        if run_as.switches and os.geteuid() == 0:
            os.chown(creds, run_as.uid, run_as.gid)

    async def _create(self, launch: AgentLaunch, archive: bytes | None) -> DockerContainer:
        name = container_name(self.options, launch.agent_id)
        await self._remove_stale(name)
        config = container_config(self.options, launch, self._host_paths)
        container = await self.docker.containers.create(config, name=name)
        if archive is not None:
            try:
                await container.put_archive("/", archive)  # type: ignore[no-untyped-call]
            except aiodocker.DockerError as exc:
                with contextlib.suppress(aiodocker.DockerError):
                    await container.delete(force=True)
                raise RuntimeStartError(
                    "the agent's secret files could not be placed in its container "
                    f"({exc.message}); with readonly_rootfs, put them under /home/praktor"
                ) from exc
        return container

    async def _remove_stale(self, name: str) -> None:
        """Remove a container left under this name by this install (never another's)."""
        try:
            existing = await self.docker.containers.get(name)
        except aiodocker.DockerError as exc:
            if exc.status == NOT_FOUND:
                return
            raise
        owner = (existing["Config"].get("Labels") or {}).get(INSTALL_LABEL)
        if owner != self.install_id:
            raise RuntimeStartError(
                f"a container named {name} exists and is not this install's; remove or rename it"
            )
        await existing.delete(force=True)
        log.info("stale agent container removed", container=name)

    async def _ensure_network(self) -> None:
        network = self.options.network
        if self._network_ready or is_builtin_network(network):
            return
        try:
            await self.docker.networks.get(network)
        except aiodocker.DockerError as exc:
            if exc.status != NOT_FOUND:
                raise
            with contextlib.suppress(aiodocker.DockerError):  # created meanwhile: fine
                await self.docker.networks.create(
                    {
                        "Name": network,
                        "Driver": "bridge",
                        "Labels": labels(self.options, **{ROLE_LABEL: "agents-network"}),
                    }
                )
            await self.docker.networks.get(network)
            log.info("agent network created", network=network)
        self._network_ready = True

    async def _ensure_volume(self, volume: VolumeSpec) -> None:
        try:
            info = await self.docker.volumes.get(volume.name)  # type: ignore[no-untyped-call]
        except aiodocker.DockerError as exc:
            if exc.status != NOT_FOUND:
                raise
            await self.docker.volumes.create(volume.create_config())  # type: ignore[no-untyped-call]
            log.info("agent volume created", volume=volume.name, device=str(volume.device))
            return
        shown = await info.show()
        device = (shown.get("Options") or {}).get("device")
        if device is not None and Path(device) != volume.device:
            raise RuntimeStartError(
                f"the volume {volume.name} holds {device}, not {volume.device}; the data "
                "directory moved: remove the volume (docker volume rm) so it is created again"
            )

    async def _own_containers(self) -> list[DockerContainer]:
        filters = {"label": [f"{INSTALL_LABEL}={self.install_id}", f"{ROLE_LABEL}=agent"]}
        return await self.docker.containers.list(all=True, filters=filters)

    def _watch(self, agent: _Agent) -> None:
        agent_id = agent.handle.agent_id
        self._agents[agent_id] = agent
        agent.watcher = asyncio.create_task(self._wait(agent), name=f"agent-{agent_id}-exit")

    async def _wait(self, agent: _Agent) -> None:
        agent.exit_code = await self._exit_of(agent.container)
        agent.ended.set()
        if agent.stopping:
            return
        agent_id = agent.handle.agent_id
        log.warning("agent container ended by itself", agent_id=agent_id, code=agent.exit_code)
        with contextlib.suppress(aiodocker.DockerError):
            await agent.container.delete(force=True)
        self._forget(agent)
        for callback in self._callbacks:
            try:
                await callback(agent_id, agent.exit_code)
            except Exception:
                log.exception("agent exit callback failed", agent_id=agent_id)

    async def _exit_of(self, container: DockerContainer) -> int | None:
        """Wait for the container to end (the engine's wait, then polling if that breaks)."""
        while True:
            try:
                result = await container.wait(condition="not-running")
                code = result.get("StatusCode")
                return int(code) if code is not None else None
            except aiodocker.DockerError as exc:
                if exc.status == NOT_FOUND:
                    return None
            except (OSError, asyncio.TimeoutError, ValueError) as exc:  # noqa: UP041
                log.debug("waiting on the agent container failed; retrying", error=str(exc))
            try:
                info = await container.show()
            except aiodocker.DockerError as exc:
                if exc.status == NOT_FOUND:
                    return None
                await asyncio.sleep(self._poll)
                continue
            except OSError:
                await asyncio.sleep(self._poll)
                continue
            if not info["State"].get("Running"):
                code = info["State"].get("ExitCode")
                return int(code) if code is not None else None
            await asyncio.sleep(self._poll)

    def _forget(self, agent: _Agent) -> None:
        agent_id = agent.handle.agent_id
        if self._agents.get(agent_id) is agent:
            del self._agents[agent_id]
            self._exit_codes[agent_id] = agent.exit_code
        if agent.creds_file is not None:
            with contextlib.suppress(FileNotFoundError):
                agent.creds_file.unlink()


_MOUNT_POINTS: Final = (WORKSPACE_MOUNT, HOME_MOUNT, GLOBAL_MOUNT, CREDS_MOUNT)


def _engine_error(exc: aiodocker.DockerError, image: str) -> str:
    message = str(exc.message)
    if exc.status == NOT_FOUND and "image" in message.lower():
        return (
            f"the agent image {image} is not on the container engine; "
            "build it with 'praktor agent-image build'"
        )
    return f"the container engine refused to start the agent: {message}"


def _parse_time(value: Any) -> dt.datetime:
    """An engine timestamp (RFC 3339, nanoseconds, ``Z`` or an offset) as an aware datetime."""
    if isinstance(value, str):
        match = _TIMESTAMP.match(value)
        if match:
            base, fraction, zone = match.groups()
            text = f"{base}.{(fraction or '0')[:6]:0<6}{'+00:00' if zone in ('Z', None) else zone}"
            with contextlib.suppress(ValueError):
                return dt.datetime.fromisoformat(text)
    return dt.datetime.now(dt.UTC)


_TIMESTAMP: Final = re.compile(
    r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})?$"
)
