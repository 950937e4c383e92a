"""The interface every agent runtime implements (process, docker, kubernetes).

A runtime starts one agent-runner for an :class:`AgentLaunch` and gives back
a :class:`RuntimeHandle`; it can stop it, say whether it runs, list what it
left running earlier (everything it creates is labelled with the install's
id, so two installs or a test run never touch each other's agents), and show
its logs. It never deletes an agent's workspace or home.

The orchestrator's lifecycle decides *when* (input waits, idle, /stop); a
runtime only knows *how*.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from praktor_common.config import SecurityProfile
from praktor_common.identities import Credentials

INSTALL_LABEL = "praktor.install"
AGENT_LABEL = "praktor.agent"


class RuntimeStartError(RuntimeError):
    """An agent could not be started; the text is meant for the person who waits."""


@dataclass(frozen=True)
class AgentDirs:
    """An agent's directories on the orchestrator's host (a runtime mounts or uses them)."""

    workspace: Path
    home: Path
    runtime: Path
    """Where the agent's credentials file goes (private to the agent)."""
    global_dir: Path
    """Shared instructions and USER.md (read-only for agents)."""


@dataclass(frozen=True)
class AgentFile:
    """A file placed into the agent's container before it starts (a resolved secret file)."""

    target: str
    """Absolute path inside the container."""
    content: bytes = field(repr=False)
    mode: int = 0o600


@dataclass(frozen=True)
class AgentLaunch:
    """Everything a runtime needs to start one agent-runner."""

    agent_id: str
    workspace: str
    """The workspace name (directory / volume)."""
    image: str
    env: Mapping[str, str]
    """The runner's environment, without paths: the runtime adds where the
    workspace, home, global dir and credentials are as the runner sees them."""
    credentials: Credentials = field(repr=False)
    """The agent's freshly minted bus credentials."""
    dirs: AgentDirs
    security: SecurityProfile = field(default_factory=SecurityProfile)
    """The agent's hardening profile (``defaults.security`` with its own merged over)."""
    files: tuple[AgentFile, ...] = ()
    """Secret files to place before the runner starts (container runtimes)."""


@dataclass(frozen=True)
class RuntimeHandle:
    """One running agent-runner as the runtime knows it."""

    agent_id: str
    runtime_id: str
    """pid, container id or pod name."""
    started_at: dt.datetime
    install_id: str
    credential_key: str | None = None
    """Public key of the credentials it was started with (to revoke a leftover's)."""


ExitCallback = Callable[[str, int | None], Awaitable[None]]
"""``async def on_exit(agent_id, exit_code)`` when a runner ends by itself."""


class AgentRuntime(Protocol):
    """How agents are run."""

    name: str
    isolated: bool
    """False for runtimes that do not isolate agents from each other (process)."""

    def on_exit(self, callback: ExitCallback) -> None:
        """Be told when an agent-runner ends without being stopped."""
        ...

    async def start(self, launch: AgentLaunch) -> RuntimeHandle:
        """Start the runner (raises :class:`RuntimeStartError`)."""
        ...

    async def stop(self, agent_id: str, timeout: float = 10.0) -> bool:
        """Stop it (graceful, then forced after ``timeout``); False if nothing ran."""
        ...

    async def is_running(self, agent_id: str) -> bool: ...

    async def exit_code(self, agent_id: str) -> int | None:
        """The exit code when the runner has ended, else None."""
        ...

    async def leftovers(self) -> list[RuntimeHandle]:
        """Runners of this install still running from an earlier orchestrator."""
        ...

    async def adopt(self, handle: RuntimeHandle) -> None:
        """Take a leftover back under management (watched, stoppable)."""
        ...

    async def logs(self, agent_id: str, tail: int = 100) -> str:
        """The last ``tail`` lines the runner wrote."""
        ...

    async def close(self) -> None:
        """Stop watching (does not stop agents)."""
        ...
