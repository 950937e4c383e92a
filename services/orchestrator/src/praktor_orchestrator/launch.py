"""What an agent is started with: its definition from the config and its environment.

Pure functions of the config; the lifecycle adds the minted credentials and the
runtime adds the paths. The env contract with the agent-runner:

``PRAKTOR_AGENT_ID``, ``PRAKTOR_NATS_URL``, ``PRAKTOR_MODEL``,
``ANTHROPIC_BASE_URL`` + ``ANTHROPIC_API_KEY`` or ``CLAUDE_CODE_OAUTH_TOKEN``,
``PRAKTOR_SESSION_ID`` (the persisted session to resume), ``PRAKTOR_ALLOWED_TOOLS``
(JSON list), ``PRAKTOR_MAX_TURNS``, ``PRAKTOR_MAX_PARALLEL_TASKS``, ``TZ``,
``PRAKTOR_INSTALL_ID``; the runtime adds ``PRAKTOR_NATS_CREDS``,
``PRAKTOR_WORKSPACE``, ``PRAKTOR_GLOBAL_DIR`` and ``HOME``. The agent's own
``env`` from the config comes first, so it can never override these.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from praktor_common import subjects
from praktor_common.config import PraktorConfig
from praktor_common.contracts.orchestrator import SwarmMembership

SECRET_PREFIX: Final = "secret:"  # noqa: S105 - the marker of a vault reference


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
    secret_refs: tuple[str, ...] = ()
    """Env names whose value is a vault reference, not passed until the vault resolves them."""
    swarm: SwarmMembership | None = None

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
    refs = tuple(sorted(k for k, v in agent.env.items() if v.startswith(SECRET_PREFIX)))
    return AgentDefinition(
        agent_id=agent_id,
        workspace=workspace,
        image=config.image_for(source),
        model=config.model_for(source),
        allowed_tools=tuple(agent.allowed_tools),
        env=plain,
        secret_refs=refs,
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
) -> dict[str, str]:
    """The runner's environment (without paths and credentials)."""
    defaults = config.defaults
    env = dict(definition.env)
    env.update(
        {
            "PRAKTOR_AGENT_ID": definition.agent_id,
            "PRAKTOR_NATS_URL": nats_url,
            "PRAKTOR_MODEL": definition.model,
            "ANTHROPIC_BASE_URL": defaults.model_api_base_url,
            "PRAKTOR_ALLOWED_TOOLS": json.dumps(list(definition.allowed_tools)),
            "PRAKTOR_MAX_TURNS": str(max_turns),
            "PRAKTOR_MAX_PARALLEL_TASKS": str(max_parallel_tasks),
            "TZ": config.timezone,
            "PRAKTOR_INSTALL_ID": install_id,
        }
    )
    api_key = defaults.anthropic_api_key.get_secret_value()
    oauth = defaults.oauth_token.get_secret_value()
    if api_key:
        env["ANTHROPIC_API_KEY"] = api_key
    if oauth:
        env["CLAUDE_CODE_OAUTH_TOKEN"] = oauth
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
