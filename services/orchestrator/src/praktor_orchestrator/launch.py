"""What an agent is started with: its definition from the config and its environment.

Pure functions of the config; the lifecycle adds the minted credentials and the
runtime adds the paths. The env contract with the agent-runner:

``PRAKTOR_AGENT_ID``, ``PRAKTOR_NATS_URL``, ``PRAKTOR_MODEL``,
``ANTHROPIC_BASE_URL`` (the model proxy) + ``ANTHROPIC_API_KEY`` (the agent's
own proxy token — the real model credential never reaches an agent),
``PRAKTOR_SESSION_ID`` (the persisted session to resume), ``PRAKTOR_ALLOWED_TOOLS``
(JSON list), ``PRAKTOR_MAX_TURNS``, ``PRAKTOR_MAX_PARALLEL_TASKS``, ``TZ``,
``PRAKTOR_INSTALL_ID``; the runtime adds ``PRAKTOR_NATS_CREDS``,
``PRAKTOR_WORKSPACE``, ``PRAKTOR_GLOBAL_DIR`` and ``HOME``. The agent's own
``env`` from the config comes first, so it can never override these; its
``secret:NAME`` values are filled in from the vault (:mod:`.secrets`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from praktor_common import subjects
from praktor_common.config import PraktorConfig
from praktor_common.config.model import SecretFile
from praktor_common.contracts.orchestrator import SwarmMembership

SECRET_PREFIX: Final = "secret:"  # noqa: S105 - the marker of a vault reference


MODEL_CREDENTIAL_ENV: Final = ("CLAUDE_CODE_OAUTH_TOKEN", "ANTHROPIC_AUTH_TOKEN")
"""Other ways to hand Claude Code a credential: never set, not even from the agent's env."""


class UnknownAgentError(LookupError):
    """The agent is not in the config (and is not a swarm member)."""


@dataclass(frozen=True)
class AgentDefinition:
    """One agent as it will run."""

    agent_id: str
    workspace: str
    image: str
    model: str
    allowed_tools: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict, repr=False)
    """Plain values of the agent's ``env`` (``secret:`` references are the vault's)."""
    secret_env: Mapping[str, str] = field(default_factory=dict)
    """Env name → the vault secret its value comes from (``secret:NAME``)."""
    secret_files: tuple[SecretFile, ...] = ()
    """Vault secrets written as files into the container."""
    swarm: SwarmMembership | None = None

    @property
    def secret_refs(self) -> tuple[str, ...]:
        """Env names whose value is a vault reference."""
        return tuple(sorted(self.secret_env))

    @property
    def swarm_chats(self) -> tuple[str, ...]:
        """The collaborative chat subject the agent may read, if any."""
        if self.swarm is None or self.swarm.chat_group is None:
            return ()
        return (subjects.swarm_chat(self.swarm.swarm_id, self.swarm.chat_group),)


def definition_for(
    config: PraktorConfig, agent_id: str, swarm: SwarmMembership | None = None
) -> AgentDefinition:
    """The agent's definition; a swarm member borrows its template agent's settings."""
    source = swarm.template_agent if swarm is not None and swarm.template_agent else agent_id
    if source not in config.agents:
        if swarm is None:
            raise UnknownAgentError(f"agent {agent_id!r} is not configured")
        raise UnknownAgentError(f"swarm template agent {source!r} is not configured")
    agent = config.agents[source]
    workspace = (swarm.workspace if swarm is not None else "") or agent.workspace or source
    plain = {k: v for k, v in agent.env.items() if not v.startswith(SECRET_PREFIX)}
    refs = {
        k: v.removeprefix(SECRET_PREFIX).strip()
        for k, v in agent.env.items()
        if v.startswith(SECRET_PREFIX)
    }
    return AgentDefinition(
        agent_id=agent_id,
        workspace=workspace,
        image=config.image_for(source),
        model=config.model_for(source),
        allowed_tools=tuple(agent.allowed_tools),
        env=plain,
        secret_env=refs,
        secret_files=tuple(agent.files),
        swarm=swarm,
    )


def launch_env(
    config: PraktorConfig,
    definition: AgentDefinition,
    *,
    nats_url: str,
    install_id: str,
    session_id: str | None,
    max_turns: int,
    max_parallel_tasks: int,
    model_proxy_url: str,
    model_token: str,
    secret_env: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The runner's environment (without paths and bus credentials).

    ``secret_env`` holds the resolved values of the agent's ``secret:`` env.
    """
    env = dict(definition.env)
    env.update(secret_env or {})
    env.update(
        {
            "PRAKTOR_AGENT_ID": definition.agent_id,
            "PRAKTOR_NATS_URL": nats_url,
            "PRAKTOR_MODEL": definition.model,
            "ANTHROPIC_BASE_URL": model_proxy_url,
            "ANTHROPIC_API_KEY": model_token,
            "PRAKTOR_ALLOWED_TOOLS": json.dumps(list(definition.allowed_tools)),
            "PRAKTOR_MAX_TURNS": str(max_turns),
            "PRAKTOR_MAX_PARALLEL_TASKS": str(max_parallel_tasks),
            "TZ": config.timezone,
            "PRAKTOR_INSTALL_ID": install_id,
        }
    )
    for name in MODEL_CREDENTIAL_ENV:
        env.pop(name, None)
    env["ANTHROPIC_API_KEY"] = model_token
    if session_id and definition.swarm is None:
        env["PRAKTOR_SESSION_ID"] = session_id
    if definition.swarm is not None:
        env["PRAKTOR_SWARM_ID"] = definition.swarm.swarm_id
        env["PRAKTOR_SWARM_ROLE"] = definition.swarm.role
        if definition.swarm_chats:
            env["PRAKTOR_SWARM_CHAT_SUBJECT"] = definition.swarm_chats[0]
    return env


def definition_changed(old: PraktorConfig, new: PraktorConfig, agent_id: str) -> bool:
    """Whether the agent would start differently under ``new`` (so a running one restarts)."""
    if agent_id not in old.agents or agent_id not in new.agents:
        return True
    if old.agents[agent_id] != new.agents[agent_id]:
        return True
    return old.defaults != new.defaults or old.timezone != new.timezone
