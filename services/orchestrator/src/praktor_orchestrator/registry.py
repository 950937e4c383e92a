"""Agents from the config: the ``agents`` table, their files, and what a config change means.

At start and on every config change :meth:`AgentRegistry.sync` upserts every
configured agent (routable at once), marks the ones that left the config as
removed (their history stays; they come back when re-added), and makes sure
each agent's workspace (CLAUDE.md + AGENT.md) and the global directory
(CLAUDE.md + USER.md) exist — files are created only when missing, never
overwritten or deleted.

:class:`ConfigChanges` then applies the change to running agents: a removed
agent is stopped and its waiting input dropped; an agent whose definition
changed (its own section, the defaults, the time zone) is stopped so that its
next message starts it with the new definition.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from praktor_common.config import ConfigDiff, PraktorConfig
from praktor_common.contracts.events import StopReason
from praktor_common.db.agents import mark_removed_except, upsert_agent

from . import files
from .launch import definition_changed
from .paths import AgentPaths

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class SyncResult:
    live: tuple[str, ...]
    removed: tuple[str, ...]
    """Agents marked removed by this sync."""


class AgentRegistry:
    """The ``agents`` table and the agents' directories, kept in step with the config."""

    def __init__(self, engine: AsyncEngine, paths: AgentPaths) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self.paths = paths

    async def sync(self, config: PraktorConfig) -> SyncResult:
        async with self._sessions.begin() as session:
            for agent_id, agent in config.agents.items():
                await upsert_agent(
                    session,
                    id=agent_id,
                    workspace=agent.workspace or agent_id,
                    description=agent.description,
                    model=agent.model,
                    image=agent.image,
                    claude_md=agent.claude_md,
                )
            removed = tuple(await mark_removed_except(session, config.agents))
        await asyncio.to_thread(self._ensure_files, config)
        live = tuple(config.agents)
        log.info("agents synced", live=list(live), removed=list(removed))
        return SyncResult(live=live, removed=removed)

    def _ensure_files(self, config: PraktorConfig) -> None:
        files.ensure_global_dir(self.paths)
        for agent_id, agent in config.agents.items():
            files.ensure_workspace(self.paths, agent.workspace or agent_id)


class RunningAgents(Protocol):
    def running_agents(self) -> list[str]: ...

    async def stop(self, agent_id: str, reason: StopReason = "manual") -> bool: ...


class AgentConsumers(Protocol):
    async def ensure_consumer(self, agent_id: str) -> None: ...

    async def drop_input(self, agent_id: str) -> None: ...


class ConfigChanges:
    """Applies a config change to the registry, running agents and their consumers."""

    def __init__(
        self, registry: AgentRegistry, agents: RunningAgents, consumers: AgentConsumers
    ) -> None:
        self._registry = registry
        self._agents = agents
        self._consumers = consumers

    async def start(self, config: PraktorConfig) -> SyncResult:
        """First sync at service start: every configured agent gets its consumer."""
        result = await self._registry.sync(config)
        await self._ensure_consumers(result.live)
        return result

    async def __call__(self, old: PraktorConfig, new: PraktorConfig, diff: ConfigDiff) -> None:
        if not diff.has_changes:
            return
        result = await self._registry.sync(new)
        for agent_id in diff.agents_removed:
            await self._agents.stop(agent_id, "config_changed")
            try:
                await self._consumers.drop_input(agent_id)
            except Exception as exc:
                log.warning("removed agent's input not dropped", agent_id=agent_id, error=str(exc))
        await self._ensure_consumers(diff.agents_added)
        for agent_id in self._agents.running_agents():
            if agent_id in diff.agents_removed or agent_id not in new.agents:
                continue
            if definition_changed(old, new, agent_id):
                log.info("agent definition changed; stopping it", agent_id=agent_id)
                await self._agents.stop(agent_id, "config_changed")
        log.info("config applied to agents", removed=list(result.removed))

    async def _ensure_consumers(self, agent_ids: Sequence[str]) -> None:
        for agent_id in agent_ids:
            try:
                await self._consumers.ensure_consumer(agent_id)
            except Exception as exc:
                log.warning("agent consumer not created", agent_id=agent_id, error=str(exc))
