"""Swarms: the request model (spec §14.1), chat between members, ``svc.swarm.*``.

Field names follow the original (``lead_agent`` is a role, a synapse has
``from``/``to``). The contract checks what a graph refers to; planning (cycles,
tiers) is the swarm service's.
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal, Self

from pydantic import ConfigDict, Field, StringConstraints, model_validator

from praktor_common.contracts.agent import SwarmRole
from praktor_common.contracts.base import AgentId, Contract, Text, UtcDatetime, Uuid, utc_now
from praktor_common.contracts.origin import Origin
from praktor_common.contracts.service import Command, Deleted, Done
from praktor_common.ids import validate_agent_id

SERVICE: Final = "swarm"

SwarmStatus = Literal["running", "completed", "failed", "cancelled"]


def swarm_agent_id(swarm_id: str, role: str) -> str:
    """The agent id of a swarm member's container: ``swarm-<first 8 of id>-<role>``."""
    return validate_agent_id(f"swarm-{swarm_id[:8]}-{role}")


class SwarmAgent(Contract):
    """One role in a swarm."""

    role: SwarmRole
    """Unique label inside the swarm."""
    agent_id: AgentId | None = None
    """The configured agent whose settings (model, image, secrets) the role borrows."""
    prompt: str = ""
    """Instructions for this role."""
    workspace: str = ""
    """Whose workspace volumes to share (usually the agent's name)."""


class Synapse(Contract):
    """An edge: ``from`` feeds ``to``, or both talk (``bidirectional``)."""

    model_config = ConfigDict(validate_by_name=True)

    from_: SwarmRole = Field(alias="from")
    to: SwarmRole
    bidirectional: bool = False


class SwarmSpec(Contract):
    """A swarm graph and its task."""

    name: Annotated[str, StringConstraints(max_length=200)] = ""
    task: Text
    agents: list[SwarmAgent] = Field(min_length=1)
    synapses: list[Synapse] = []
    lead_agent: SwarmRole | None = None
    """The role that writes the final answer (runs last, alone)."""

    @model_validator(mode="after")
    def _graph_refers_to_roles(self) -> Self:
        roles = [agent.role for agent in self.agents]
        if len(set(roles)) != len(roles):
            raise ValueError("swarm roles must be unique")
        if self.lead_agent is not None and self.lead_agent not in roles:
            raise ValueError(f"lead agent {self.lead_agent!r} is not a member")
        for synapse in self.synapses:
            for end in (synapse.from_, synapse.to):
                if end not in roles:
                    raise ValueError(f"synapse references unknown role {end!r}")
        return self


class SwarmLaunchRequest(SwarmSpec):
    """Start a swarm run; its result is delivered to ``origin``."""

    id: Uuid | None = None
    """Chosen by the caller to make a retried launch idempotent; else the service picks."""
    origin: Origin


class SwarmAgentResult(Contract):
    role: SwarmRole
    status: Literal["running", "completed", "error"]
    output: str = ""
    error: str | None = None


class SwarmRun(SwarmSpec):
    """A swarm run as stored."""

    id: Uuid
    status: SwarmStatus
    results: list[SwarmAgentResult] = []
    """In the request's agent order, only roles that ran."""
    origin: Origin | None = None
    started_at: UtcDatetime
    completed_at: UtcDatetime | None = None


class SwarmChatMessage(Contract):
    """A message to a collaborative group (``{"from", "content"}``), stamped by the swarm."""

    model_config = ConfigDict(validate_by_name=True)

    from_: AgentId = Field(alias="from")
    """The member container's agent id (from the IPC subject, never from the agent)."""
    content: Text
    sent_at: UtcDatetime = Field(default_factory=utc_now)


class SwarmIdRequest(Contract):
    swarm_id: Uuid


class SwarmListRequest(Contract):
    """Runs, newest first."""

    limit: int = Field(default=50, ge=1, le=500)
    status: SwarmStatus | None = None


class SwarmChatRequest(Contract):
    """Relay a member's message to its group (the orchestrator, for IPC ``swarm_message``)."""

    model_config = ConfigDict(validate_by_name=True)

    from_: AgentId = Field(alias="from")
    content: Text


class SwarmRunReply(Contract):
    run: SwarmRun


class SwarmRunList(Contract):
    runs: list[SwarmRun]


SWARM_LAUNCH: Final = Command(
    SERVICE,
    "launch",
    SwarmLaunchRequest,
    SwarmRunReply,
    "Validate a swarm graph and start running it; answers at once with the run.",
    ("router", "web", "cli"),
)
SWARM_STATUS: Final = Command(
    SERVICE, "status", SwarmIdRequest, SwarmRunReply, "One swarm run.", ("web", "cli")
)
SWARM_LIST: Final = Command(
    SERVICE, "list", SwarmListRequest, SwarmRunList, "Swarm runs, newest first.", ("web", "cli")
)
SWARM_CANCEL: Final = Command(
    SERVICE,
    "cancel",
    SwarmIdRequest,
    SwarmRunReply,
    "Stop a running swarm (its members are stopped).",
    ("web", "cli", "gateway-telegram"),
)
SWARM_DELETE: Final = Command(
    SERVICE, "delete", SwarmIdRequest, Deleted, "Forget a finished swarm run.", ("web", "cli")
)
SWARM_CHAT: Final = Command(
    SERVICE,
    "chat",
    SwarmChatRequest,
    Done,
    "Relay a collaborative member's message to its group (or refuse: not in a swarm).",
    ("orchestrator",),
)

COMMANDS: Final[tuple[Command[Any, Any], ...]] = (
    SWARM_LAUNCH,
    SWARM_STATUS,
    SWARM_LIST,
    SWARM_CANCEL,
    SWARM_DELETE,
    SWARM_CHAT,
)
