"""What the orchestrator reads from its environment (besides the common ``PRAKTOR_*``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from praktor_common.settings import RuntimeSettings


class OrchestratorSettings(BaseSettings):
    """``PRAKTOR_*`` settings only the orchestrator uses.

    ``praktor up`` sets ``PRAKTOR_AGENT_RUNTIME`` (``docker`` when an engine
    answers and has the agent image, else ``process``) and, for docker, the
    agents' network and the NATS and model proxy URLs on its gateway; compose
    sets the authority directory and the NATS URL agents reach.
    """

    model_config = SettingsConfigDict(env_prefix="PRAKTOR_", extra="ignore")

    agent_runtime: str = "process"
    """Which runtime runs agents: ``process``, ``docker`` or ``auto`` (docker when an engine
    answers at ``DOCKER_HOST`` or a default socket and has ``defaults.image``, else process)."""
    nats_authority_dir: Path | None = None
    """The bus authority (signing keys) used to mint agent credentials; default
    ``<data dir>/nats``."""
    agent_nats_url: str | None = None
    """The NATS URL as agents reach it; default the orchestrator's own."""
    model_proxy_url: str | None = None
    """The model proxy as agents reach it (``ANTHROPIC_BASE_URL``); default
    ``http://127.0.0.1:<model_proxy.port>`` of the config (``praktor up``)."""
    agent_python: Path | None = None
    """Interpreter that runs the agent-runner in process mode (default: this one)."""
    agent_user: str = "praktor-agent"
    """System user the process runtime runs agents as when the orchestrator is root."""
    agent_network: str = "praktor-agents"
    """docker runtime: the network agents join (a bridge created when missing; put only NATS
    and the model proxy on it), or an engine mode (``slirp4netns:allow_host_loopback=true``)."""
    agent_host_data_dir: Path | None = None
    """docker runtime: the data dir as the engine's host sees it, when the orchestrator runs
    in a container with the data dir mounted elsewhere (default: the data dir itself)."""
    ready_timeout: float = Field(default=30.0, gt=0)
    """How long a starting agent has to report ``agent.<id>.ready``."""
    sweep_interval: float = Field(default=5.0, gt=0)
    """How often agents with waiting input but no runtime are looked for."""
    idle_check_interval: float = Field(default=60.0, gt=0)
    """How often running agents are checked against ``defaults.idle_timeout``."""
    max_turns: int = Field(default=200, ge=1)
    max_parallel_tasks: int = Field(default=3, ge=1)

    def authority_dir(self, runtime: RuntimeSettings) -> Path:
        return self.nats_authority_dir or runtime.data_dir / "nats"

    def nats_url_for_agents(self, runtime: RuntimeSettings) -> str:
        url = self.agent_nats_url or runtime.nats_url
        if not url:
            raise ValueError("no NATS URL for agents: set PRAKTOR_NATS_URL")
        return url
