"""``svc.orchestrator.*``: agents' runtimes (``/stop``, ``/reset``, ``/agents``, ``/nix``)."""

from __future__ import annotations

from typing import Any, Final, Literal

from pydantic import Field

from praktor_common.contracts.agent import SwarmRole
from praktor_common.contracts.base import AgentId, Contract, UtcDatetime, Uuid
from praktor_common.contracts.service import Command

SERVICE: Final = "orchestrator"

AgentState = Literal["stopped", "starting", "idle", "busy", "unresponsive"]
"""``idle``/``busy``: running and answered a ping; ``unresponsive``: running, no answer."""


class AgentRequest(Contract):
    """Names one agent."""

    agent_id: AgentId


class SwarmMembership(Contract):
    """How to run a swarm member: whose settings it borrows and which group it chats in."""

    swarm_id: Uuid
    role: SwarmRole
    template_agent: AgentId | None = None
    """The configured agent to borrow model, image, env and secrets from."""
    workspace: str = ""
    chat_group: str | None = None
    """The collaborative group id, when the role is in one."""


class AgentStartRequest(AgentRequest):
    """Start the agent if it is not running and wait until it is ready (or 30 s)."""

    swarm: SwarmMembership | None = None
    """Set for a swarm member's container (``agent_id`` = ``swarm-<8>-<role>``)."""


class AgentActionReply(Contract):
    agent_id: AgentId
    was_running: bool


class AgentStarted(Contract):
    agent_id: AgentId
    already_running: bool
    ready: bool
    """False when it started but did not report ready in time."""


class AgentStatusRequest(Contract):
    """Status of one agent, or of every configured agent in creation order."""

    agent_id: AgentId | None = None


class AgentStatus(Contract):
    agent_id: AgentId
    description: str = ""
    state: AgentState
    active_jobs: int = Field(default=0, ge=0)
    model: str
    """The resolved model."""
    nix_enabled: bool = False
    message_count: int = Field(default=0, ge=0)
    is_default: bool = False
    started_at: UtcDatetime | None = None
    last_active_at: UtcDatetime | None = None


class AgentStatusList(Contract):
    agents: list[AgentStatus]


NixAction = Literal["search", "add", "list", "remove", "upgrade"]


class NixRequest(Contract):
    """``/nix`` (spec §11.13); the agent is started if needed."""

    agent_id: AgentId
    action: NixAction
    packages: list[str] = []


class NixReply(Contract):
    agent_id: AgentId
    action: NixAction
    ok: bool
    output: str
    """Formatted like the MCP nix tools, truncated to 3500 bytes."""


class ProxyTokenRequest(Contract):
    """Which running agent holds a model-proxy token (only its SHA-256 travels)."""

    token_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class ProxyTokenReply(Contract):
    agent_id: AgentId | None = None
    """The running agent the token was minted for; None: no running agent holds it."""


_CHAT = ("gateway-telegram", "router", "web", "cli")
"""Chat commands arrive as inbound messages; the router asks the orchestrator."""

AGENT_ABORT: Final = Command(
    SERVICE,
    "abort",
    AgentRequest,
    AgentActionReply,
    "Drop queued input and abort the agent's running work; it keeps running (/stop).",
    _CHAT,
)
AGENT_RESET: Final = Command(
    SERVICE,
    "reset",
    AgentRequest,
    AgentActionReply,
    "Start a new Claude session for the agent (/reset).",
    _CHAT,
)
AGENT_START: Final = Command(
    SERVICE,
    "start",
    AgentStartRequest,
    AgentStarted,
    "Start an agent (or a swarm member) if needed and wait for it to be ready.",
    ("router", "swarm", "web", "cli"),
)
AGENT_STOP: Final = Command(
    SERVICE,
    "stop",
    AgentRequest,
    AgentActionReply,
    "Stop the agent's runtime (container, pod or process).",
    ("swarm", "web", "cli"),
)
AGENT_STATUS: Final = Command(
    SERVICE,
    "status",
    AgentStatusRequest,
    AgentStatusList,
    "Agents and their state (/agents).",
    _CHAT,
)
AGENT_NIX: Final = Command(
    SERVICE, "nix", NixRequest, NixReply, "Run a nix package action in the agent (/nix).", _CHAT
)

AGENT_PROXY_TOKEN: Final = Command(
    SERVICE,
    "proxy_token",
    ProxyTokenRequest,
    ProxyTokenReply,
    "Which running agent a model-proxy token belongs to (revoked when the agent stops).",
    ("model-proxy",),
)

COMMANDS: Final[tuple[Command[Any, Any], ...]] = (
    AGENT_ABORT,
    AGENT_RESET,
    AGENT_START,
    AGENT_STOP,
    AGENT_STATUS,
    AGENT_NIX,
    AGENT_PROXY_TOKEN,
)
