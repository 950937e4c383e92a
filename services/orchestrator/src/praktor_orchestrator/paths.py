"""Where agents' files live on the host, under the data directory.

::

    <data dir>/agents/               what agents may reach (search-only for them)
      global/                        CLAUDE.md + USER.md, shared by every agent (read-only)
      <workspace>/                   an agent's workspace: CLAUDE.md, AGENT.md, its files
      .homes/<workspace>/            an agent's HOME (Claude sessions, skills, plugins)
      .run/<agent id>/               an agent's runtime dir: its minted nats.creds (0600)
    <data dir>/run/agents/           the orchestrator's own records (never an agent's)
      <agent id>.json                pid file of a process-runtime agent (labelled)
      <agent id>.log                 its output

Workspace names never start with a dot and ``global`` is reserved (see the
config), so these never collide. Nothing here is ever deleted automatically.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from praktor_common.ids import validate_agent_id

GLOBAL_DIR = "global"


@dataclass(frozen=True)
class AgentPaths:
    """The agent directories of one data directory."""

    data_dir: Path

    @property
    def agents_root(self) -> Path:
        return self.data_dir / "agents"

    @property
    def global_dir(self) -> Path:
        return self.agents_root / GLOBAL_DIR

    @property
    def homes_root(self) -> Path:
        return self.agents_root / ".homes"

    @property
    def runtime_root(self) -> Path:
        return self.agents_root / ".run"

    @property
    def state_dir(self) -> Path:
        return self.data_dir / "run" / "agents"

    def workspace_dir(self, workspace: str) -> Path:
        return self.agents_root / _safe_name(workspace)

    def home_dir(self, workspace: str) -> Path:
        return self.homes_root / _safe_name(workspace)

    def runtime_dir(self, agent_id: str) -> Path:
        return self.runtime_root / validate_agent_id(agent_id)

    def pid_file(self, agent_id: str) -> Path:
        return self.state_dir / f"{validate_agent_id(agent_id)}.json"

    def log_file(self, agent_id: str) -> Path:
        return self.state_dir / f"{validate_agent_id(agent_id)}.log"


def _safe_name(name: str) -> str:
    """A workspace name as one path component (the config already validates it)."""
    if not name or name in (".", "..") or "/" in name or "\\" in name or name.startswith("."):
        raise ValueError(f"invalid workspace name {name!r}")
    if name == GLOBAL_DIR:
        raise ValueError("the workspace name 'global' is reserved")
    return name
