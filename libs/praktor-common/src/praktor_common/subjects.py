"""Every subject on the Praktor bus, in one place.

The original's topic tree keeps its names (spec §4.2). Subjects this design adds
carry a clear prefix: ``inbound.`` (messages from people), ``deliver.`` (replies
going out to a channel), ``dlq.`` (dead letters), ``svc.<service>.`` (request /
reply commands to a service), ``praktor.`` (internal: config).

Captured by a stream (one-way, must not be lost): inbound, agent input and
output, deliver, events, dead letters. Never captured: control, route, ready,
IPC, ``svc.*`` commands — a stream would answer the caller with its own ack.
"""

from __future__ import annotations

import hashlib
from typing import Final, Literal

from praktor_common.ids import is_subject_token, validate_agent_id

Channel = Literal["telegram", "web", "scheduler", "swarm", "cli"]
CHANNELS: Final[tuple[Channel, ...]] = ("telegram", "web", "scheduler", "swarm", "cli")

# Wildcards used by streams and wildcard subscribers.
AGENT_INPUT_ALL: Final = "agent.*.input"
AGENT_OUTPUT_ALL: Final = "agent.*.output"
HOST_IPC_ALL: Final = "host.ipc.*"
INBOUND_ALL: Final = "inbound.>"
DELIVER_ALL: Final = "deliver.>"
EVENTS_ALL: Final = "events.>"
DLQ_ALL: Final = "dlq.>"
SWARM_CHAT_ALL: Final = "swarm.*.chat.*"

EVENTS_TASK_EXECUTED: Final = "events.task.executed"

SecretEvent = Literal["created", "updated", "deleted"]


def chat_token(chat_id: str | int) -> str:
    """A chat id as one subject token (ids with dots or spaces are hashed)."""
    text = str(chat_id)
    if is_subject_token(text) and len(text) <= 64:
        return text
    return "h" + hashlib.sha256(text.encode()).hexdigest()[:32]


def _agent(agent_id: str) -> str:
    return validate_agent_id(agent_id)


def agent_input(agent_id: str) -> str:
    return f"agent.{_agent(agent_id)}.input"


def agent_output(agent_id: str) -> str:
    return f"agent.{_agent(agent_id)}.output"


def agent_control(agent_id: str) -> str:
    return f"agent.{_agent(agent_id)}.control"


def agent_route(agent_id: str) -> str:
    return f"agent.{_agent(agent_id)}.route"


def agent_ready(agent_id: str) -> str:
    return f"agent.{_agent(agent_id)}.ready"


def host_ipc(agent_id: str) -> str:
    return f"host.ipc.{_agent(agent_id)}"


def agent_id_from_subject(subject: str) -> str:
    """The agent id in ``agent.{id}.*`` or ``host.ipc.{id}`` (validated)."""
    parts = subject.split(".")
    if len(parts) >= 3 and parts[0] == "agent":
        return validate_agent_id(parts[1])
    if len(parts) == 3 and parts[:2] == ["host", "ipc"]:
        return validate_agent_id(parts[2])
    raise ValueError(f"subject {subject!r} names no agent")


def swarm_chat(swarm_id: str, group_id: str) -> str:
    return f"swarm.{chat_token(swarm_id)}.chat.{chat_token(group_id)}"


def inbound(channel: Channel, chat_id: str | int) -> str:
    return f"inbound.{channel}.{chat_token(chat_id)}"


def deliver(channel: Channel, chat_id: str | int) -> str:
    return f"deliver.{channel}.{chat_token(chat_id)}"


def deliver_channel(channel: Channel) -> str:
    """Everything delivered to one channel (what a gateway consumes)."""
    return f"deliver.{channel}.>"


def events_agent(agent_id: str) -> str:
    return f"events.agent.{_agent(agent_id)}"


def events_swarm(swarm_id: str) -> str:
    return f"events.swarm.{chat_token(swarm_id)}"


def events_secret(kind: SecretEvent) -> str:
    return f"events.secret.{kind}"


def dead_letter(stream: str, consumer: str) -> str:
    return f"dlq.{stream}.{consumer}"


def service_command(service: str, operation: str) -> str:
    """A request/reply command to a service, e.g. ``svc.vault.resolve``."""
    if not (is_subject_token(service) and is_subject_token(operation)):
        raise ValueError(f"bad service command {service!r}.{operation!r}")
    return f"svc.{service}.{operation}"


def service_commands(service: str) -> str:
    return f"svc.{service}.>"


CONFIG_KV_BUCKET: Final = "praktor-config"
CONFIG_KV_KEY: Final = "current"
