"""Agent runtimes behind one interface (:mod:`.base`); :func:`make_runtime` picks one."""

from __future__ import annotations

from pathlib import Path

import structlog

from .base import (
    AgentDirs,
    AgentLaunch,
    AgentRuntime,
    ExitCallback,
    RuntimeHandle,
    RuntimeStartError,
)
from .process import ProcessRuntime

log = structlog.get_logger(__name__)

__all__ = [
    "AgentDirs",
    "AgentLaunch",
    "AgentRuntime",
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
) -> AgentRuntime:
    """The runtime called ``name`` (``PRAKTOR_AGENT_RUNTIME``)."""
    if name == "process":
        return ProcessRuntime(data_dir, state_dir, install_id, python=python, agent_user=agent_user)
    reason = (
        f"the agent runtime {name!r} is not available in this version of the orchestrator; "
        "run with PRAKTOR_AGENT_RUNTIME=process"
    )
    log.error("agents cannot start", runtime=name, reason=reason)
    return UnavailableRuntime(name, reason)
