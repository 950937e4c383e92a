"""Agent runtimes behind one interface (:mod:`.base`); :func:`make_runtime` picks one."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import structlog

from praktor_common.supervisor.runtime_choice import choose_runtime

from .base import (
    AgentDirs,
    AgentFile,
    AgentLaunch,
    AgentRuntime,
    ExitCallback,
    RuntimeHandle,
    RuntimeStartError,
)
from .docker import DockerRuntime
from .process import ProcessRuntime

log = structlog.get_logger(__name__)

__all__ = [
    "AgentDirs",
    "AgentFile",
    "AgentLaunch",
    "AgentRuntime",
    "DockerRuntime",
    "ExitCallback",
    "ProcessRuntime",
    "RuntimeHandle",
    "RuntimeStartError",
    "UnavailableRuntime",
    "make_runtime",
]


class UnavailableRuntime:
    """A runtime this build cannot drive: every start fails with a clear reason.

    The orchestrator still stores history, answers IPC and redacts output; only
    starting agents is refused, and whoever waits is told why.
    """

    isolated = True

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self.reason = reason

    def on_exit(self, callback: ExitCallback) -> None:
        return None

    async def start(self, launch: AgentLaunch) -> RuntimeHandle:
        raise RuntimeStartError(self.reason)

    async def stop(self, agent_id: str, timeout: float = 10.0) -> bool:
        return False

    async def is_running(self, agent_id: str) -> bool:
        return False

    async def exit_code(self, agent_id: str) -> int | None:
        return None

    async def leftovers(self) -> list[RuntimeHandle]:
        return []

    async def adopt(self, handle: RuntimeHandle) -> None:
        return None

    async def logs(self, agent_id: str, tail: int = 100) -> str:
        return ""

    async def close(self) -> None:
        return None


def make_runtime(
    name: str,
    *,
    data_dir: Path,
    state_dir: Path,
    install_id: str,
    python: Path | None = None,
    agent_user: str | None = "praktor-agent",
    network: str = "praktor-agents",
    host_data_dir: Path | None = None,
    environ: Mapping[str, str] | None = None,
    image: str = "praktor-agent:latest",
) -> AgentRuntime:
    """The runtime called ``name`` (``PRAKTOR_AGENT_RUNTIME``: process, docker or auto).

    ``auto`` is docker only when an engine answers and has ``image`` (the agents' default
    image), else process with a warning that says how to get containers.
    """
    env = os.environ if environ is None else environ
    docker_host = env.get("DOCKER_HOST") or None
    if name == "auto":
        choice = choose_runtime("auto", image, env)
        name, docker_host = choice.runtime, choice.docker_host
        log.info("agent runtime chosen", runtime=name, engine=choice.engine_socket)
        if choice.note:
            log.warning("agents are not isolated", reason=choice.note)
    if name == "process":
        return ProcessRuntime(data_dir, state_dir, install_id, python=python, agent_user=agent_user)
    if name == "docker":
        return DockerRuntime(
            data_dir,
            install_id,
            docker_host=docker_host,
            network=network,
            host_data_dir=host_data_dir,
        )
    reason = (
        f"the agent runtime {name!r} is not available in this version of the orchestrator; "
        "run with PRAKTOR_AGENT_RUNTIME=docker, process or auto"
    )
    log.error("agents cannot start", runtime=name, reason=reason)
    return UnavailableRuntime(name, reason)
