"""Every subject on the bus: its payload, mode, capture and who speaks on it.

One registry, :data:`CATALOG`, drives the AsyncAPI document and the tests that
keep streams away from request/reply subjects. ``address`` uses ``{param}``
placeholders for the tokens the builders of :mod:`praktor_common.subjects` fill.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from types import UnionType
from typing import Annotated, Any, Final, Literal, Union, get_args, get_origin

from pydantic import BaseModel, TypeAdapter

from praktor_common.contracts import orchestrator, scheduler, swarm, telegram, vault
from praktor_common.contracts.agent import (
    AgentInput,
    AgentOutput,
    AgentReady,
    ControlReply,
    ControlRequest,
    RouteReply,
    RouteRequest,
)
from praktor_common.contracts.deadletter import DeadLetter
from praktor_common.contracts.deliver import Delivery
from praktor_common.contracts.events import AgentEvent, SecretEvent, SwarmEvent, TaskExecutedEvent
from praktor_common.contracts.inbound import InboundMessage
from praktor_common.contracts.ipc import IpcReply, IpcRequest
from praktor_common.contracts.service import Command, ServiceError
from praktor_common.contracts.swarm import SwarmChatMessage
from praktor_common.subjects import CHANNELS

Mode = Literal["publish", "request"]

# Wildcards subjects.py does not have (yet).
AGENT_CONTROL_ALL: Final = "agent.*.control"
AGENT_ROUTE_ALL: Final = "agent.*.route"
AGENT_READY_ALL: Final = "agent.*.ready"
EVENTS_AGENT_ALL: Final = "events.agent.*"
EVENTS_SWARM_ALL: Final = "events.swarm.*"
EVENTS_SECRET_ALL: Final = "events.secret.*"  # noqa: S105 (a subject, not a password)
SVC_ALL: Final = "svc.>"

CONTRACTS_VERSION: Final = "1.0.0"
"""Version of the bus contracts as a whole (the AsyncAPI ``info.version``)."""


@dataclass(frozen=True)
class Parameter:
    name: str
    description: str
    enum: tuple[str, ...] = ()


@dataclass(frozen=True)
class SubjectEntry:
    """One subject pattern of the bus."""

    key: str
    """Stable camelCase id (AsyncAPI channel id)."""
    address: str
    """``agent.{agent_id}.input``: tokens in braces are parameters."""
    mode: Mode
    payload: Any
    """A contract model, or a union of them (discriminated where it can be)."""
    reply: Any
    """For ``request``: the reply model or union (``None`` for ``publish``)."""
    captured: bool
    """Whether a JetStream stream stores it (never for ``request``)."""
    publishers: tuple[str, ...]
    subscribers: tuple[str, ...]
    description: str
    parameters: tuple[Parameter, ...] = ()

    @property
    def wildcard(self) -> str:
        """The NATS subscription pattern: every parameter becomes ``*``."""
        return ".".join("*" if _is_param(t) else t for t in self.address.split("."))

    def matches(self, subject: str) -> bool:
        """True when a concrete subject has this entry's shape."""
        tokens = subject.split(".")
        pattern = self.address.split(".")
        return len(tokens) == len(pattern) and all(
            _is_param(p) or p == t for p, t in zip(pattern, tokens, strict=True)
        )

    def example(self) -> str:
        """A concrete subject of this shape (first allowed value or ``sample`` per parameter)."""
        values = {f"{{{p.name}}}": (p.enum[0] if p.enum else "sample") for p in self.parameters}
        return ".".join(values.get(t, t) for t in self.address.split("."))

    def messages(self) -> tuple[type[BaseModel], ...]:
        """The payload's models, in declaration order."""
        return models_of(self.payload)

    def reply_messages(self) -> tuple[type[BaseModel], ...]:
        return models_of(self.reply) if self.reply is not None else ()

    def payload_adapter(self) -> TypeAdapter[Any]:
        """Validates a payload of this subject (``validate_json``/``validate_python``)."""
        return _adapter(self.payload)

    def reply_adapter(self) -> TypeAdapter[Any]:
        if self.reply is None:
            raise ValueError(f"{self.address} has no reply")
        return _adapter(self.reply)


def _is_param(token: str) -> bool:
    return token.startswith("{") and token.endswith("}")


def models_of(annotation: Any) -> tuple[type[BaseModel], ...]:
    """The models in a model, a union, or an ``Annotated`` union."""
    if get_origin(annotation) is Annotated:
        return models_of(get_args(annotation)[0])
    if get_origin(annotation) in (Union, UnionType):
        return tuple(m for arg in get_args(annotation) for m in models_of(arg))
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return (annotation,)
    raise TypeError(f"not a contract: {annotation!r}")


@cache
def _adapter(annotation: Any) -> TypeAdapter[Any]:
    return TypeAdapter(annotation)


_AGENT = Parameter("agent_id", "Agent id (lowercase letters, digits, single hyphens).")
_CHANNEL = Parameter("channel", "Where the person is.", CHANNELS)
_CHAT = Parameter("chat_id", "The channel's chat id as one token (hashed when unsafe).")
_SWARM = Parameter("swarm_id", "Swarm run id.")


def _command_entry(command: Command[Any, Any], servers: tuple[str, ...]) -> SubjectEntry:
    op = "".join(part.title() for part in command.operation.split("-"))
    return SubjectEntry(
        key=f"svc{command.service.title()}{op}",
        address=command.subject,
        mode="request",
        payload=command.request,
        reply=command.reply | ServiceError,
        captured=False,
        publishers=command.callers,
        subscribers=servers,
        description=command.description,
    )


CATALOG: Final[tuple[SubjectEntry, ...]] = (
    SubjectEntry(
        key="inbound",
        address="inbound.{channel}.{chat_id}",
        mode="publish",
        payload=InboundMessage,
        reply=None,
        captured=True,
        publishers=("gateway-telegram", "web", "cli"),
        subscribers=("router",),
        description="A message from a person, before routing.",
        parameters=(_CHANNEL, _CHAT),
    ),
    SubjectEntry(
        key="agentInput",
        address="agent.{agent_id}.input",
        mode="publish",
        payload=AgentInput,
        reply=None,
        captured=True,
        publishers=("router", "scheduler", "swarm", "orchestrator"),
        subscribers=("agent-runner",),
        description="One turn for an agent; waits in JetStream while the agent starts.",
        parameters=(_AGENT,),
    ),
    SubjectEntry(
        key="agentOutput",
        address="agent.{agent_id}.output",
        mode="publish",
        payload=AgentOutput,
        reply=None,
        captured=True,
        publishers=("agent-runner",),
        subscribers=("orchestrator",),
        description=(
            "Streamed text and the final result of a turn (raw: only the orchestrator reads it)."
        ),
        parameters=(_AGENT,),
    ),
    SubjectEntry(
        key="agentControl",
        address="agent.{agent_id}.control",
        mode="request",
        payload=ControlRequest,
        reply=ControlReply,
        captured=False,
        publishers=("orchestrator",),
        subscribers=("agent-runner",),
        description="ping / abort / clear_session / shutdown for a running agent.",
        parameters=(_AGENT,),
    ),
    SubjectEntry(
        key="agentRoute",
        address="agent.{agent_id}.route",
        mode="request",
        payload=RouteRequest,
        reply=RouteReply,
        captured=False,
        publishers=("router",),
        subscribers=("agent-runner",),
        description="Smart routing: the default agent names the agent for a message.",
        parameters=(_AGENT,),
    ),
    SubjectEntry(
        key="agentReady",
        address="agent.{agent_id}.ready",
        mode="publish",
        payload=AgentReady,
        reply=None,
        captured=False,
        publishers=("agent-runner",),
        subscribers=("orchestrator",),
        description="The runner is subscribed and can take input.",
        parameters=(_AGENT,),
    ),
    SubjectEntry(
        key="hostIpc",
        address="host.ipc.{agent_id}",
        mode="request",
        payload=IpcRequest,
        reply=IpcReply,
        captured=False,
        publishers=("agent-runner",),
        subscribers=("orchestrator",),
        description="An agent's tools asking the host (tasks, profile, memory, files, history).",
        parameters=(_AGENT,),
    ),
    SubjectEntry(
        key="swarmChat",
        address="swarm.{swarm_id}.chat.{group_id}",
        mode="publish",
        payload=SwarmChatMessage,
        reply=None,
        captured=False,
        publishers=("swarm",),
        subscribers=("agent-runner",),
        description="Collaborative chat inside one group of a swarm.",
        parameters=(_SWARM, Parameter("group_id", "Collaborative group (group-<n>).")),
    ),
    SubjectEntry(
        key="deliver",
        address="deliver.{channel}.{chat_id}",
        mode="publish",
        payload=Delivery,
        reply=None,
        captured=True,
        publishers=("orchestrator", "router", "scheduler", "swarm", "any"),
        subscribers=("gateway-telegram", "web", "scheduler", "swarm", "cli"),
        description=(
            "Something to show in a chat: redacted agent text, a file, a notice "
            "(any service's dead-letter handling tells the person)."
        ),
        parameters=(_CHANNEL, _CHAT),
    ),
    SubjectEntry(
        key="eventsAgent",
        address="events.agent.{agent_id}",
        mode="publish",
        payload=AgentEvent,
        reply=None,
        captured=True,
        publishers=("orchestrator",),
        subscribers=("web",),
        description="A message stored; an agent started or stopped.",
        parameters=(_AGENT,),
    ),
    SubjectEntry(
        key="eventsTaskExecuted",
        address="events.task.executed",
        mode="publish",
        payload=TaskExecutedEvent,
        reply=None,
        captured=True,
        publishers=("scheduler",),
        subscribers=("web",),
        description="A scheduled task ran.",
    ),
    SubjectEntry(
        key="eventsSwarm",
        address="events.swarm.{swarm_id}",
        mode="publish",
        payload=SwarmEvent,
        reply=None,
        captured=True,
        publishers=("swarm",),
        subscribers=("web", "gateway-telegram"),
        description="A swarm's life: started, members, tiers, completed or failed.",
        parameters=(_SWARM,),
    ),
    SubjectEntry(
        key="eventsSecret",
        address="events.secret.{kind}",
        mode="publish",
        payload=SecretEvent,
        reply=None,
        captured=True,
        publishers=("vault",),
        subscribers=("web",),
        description="A secret was created, updated or deleted (names only).",
        parameters=(Parameter("kind", "What happened.", ("created", "updated", "deleted")),),
    ),
    SubjectEntry(
        key="deadLetter",
        address="dlq.{stream}.{consumer}",
        mode="publish",
        payload=DeadLetter,
        reply=None,
        captured=True,
        publishers=("any",),
        subscribers=("cli",),
        description="A message a durable consumer gave up on (record only, no body).",
        parameters=(
            Parameter("stream", "The original's stream."),
            Parameter("consumer", "The durable consumer that gave up."),
        ),
    ),
    *(_command_entry(c, ("vault",)) for c in vault.COMMANDS),
    *(_command_entry(c, ("scheduler",)) for c in scheduler.COMMANDS),
    *(_command_entry(c, ("swarm",)) for c in swarm.COMMANDS),
    *(_command_entry(c, ("orchestrator",)) for c in orchestrator.COMMANDS),
    *(_command_entry(c, ("gateway-telegram",)) for c in telegram.COMMANDS),
)


def entries(*, captured: bool | None = None, mode: Mode | None = None) -> Iterator[SubjectEntry]:
    """Catalog entries, optionally only captured / not captured, or of one mode."""
    for entry in CATALOG:
        if (captured is None or entry.captured == captured) and (
            mode is None or entry.mode == mode
        ):
            yield entry


def lookup(subject: str) -> SubjectEntry:
    """The entry a concrete subject belongs to."""
    for entry in CATALOG:
        if entry.matches(subject):
            return entry
    raise KeyError(f"no contract for subject {subject!r}")


def by_key(key: str) -> SubjectEntry:
    for entry in CATALOG:
        if entry.key == key:
            return entry
    raise KeyError(key)
