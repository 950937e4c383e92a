"""From a parsed ``@swarm`` command to the swarm service's launch request, and what to tell
the person about the launch (spec §11.10, §16.8)."""

from __future__ import annotations

import uuid
from typing import Final

from pydantic import ValidationError

from praktor_common.contracts.origin import Origin
from praktor_common.contracts.service import ServiceError
from praktor_common.contracts.swarm import SwarmAgent, SwarmLaunchRequest, SwarmRunReply, Synapse

from .parsing import SwarmCommand

__all__ = ["NOT_AVAILABLE", "launch_request", "launched_text", "swarm_id_for"]

_NAMESPACE: Final = uuid.UUID("5b1f6a52-8c1e-4f43-9d0e-0c2b7a6f4e11")

NOT_AVAILABLE: Final = (
    "Swarms are not available yet: the swarm service is not running in this installation. "
    "Ask the agents one at a time with `@agent_name` instead."
)


def swarm_id_for(msg_id: str) -> str:
    """The swarm run id for the message that asked for it: the same for a redelivered
    message (a retried launch is idempotent), random-looking in its first 8 hex digits
    (member agents are named ``swarm-<first 8>-<role>``)."""
    return str(uuid.uuid5(_NAMESPACE, msg_id))


def launch_request(command: SwarmCommand, origin: Origin, msg_id: str) -> SwarmLaunchRequest | str:
    """The launch request, or why the agents cannot be swarm roles."""
    try:
        return SwarmLaunchRequest(
            id=swarm_id_for(msg_id),
            name=f"{origin.channel.capitalize()} Swarm",
            task=command.task,
            agents=[
                SwarmAgent(role=name, agent_id=name, workspace=name) for name in command.agents
            ],
            synapses=[
                Synapse(from_=s.source, to=s.target, bidirectional=s.bidirectional)
                for s in command.synapses
            ],
            lead_agent=command.lead,
            origin=origin,
        )
    except ValidationError:
        return (
            "These agents cannot run as a swarm: a swarm role must be at most 24 lowercase "
            "letters, digits and dashes. Use agents with shorter names."
        )


def launched_text(command: SwarmCommand, reply: SwarmRunReply | ServiceError) -> tuple[str, bool]:
    """What to tell the person after the launch request, and whether it failed."""
    if isinstance(reply, ServiceError):
        if reply.code == "unavailable":
            return reply.error, True
        return f"Failed to launch the swarm: {reply.error}", True
    agents = ", ".join(f"*{name}*" for name in command.agents)
    return (
        f"Launching swarm with {len(command.agents)} agents ({agents}); *{command.lead}* "
        "writes the result. It will be posted here when the swarm is done.",
        False,
    )
