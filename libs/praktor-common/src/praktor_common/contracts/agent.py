"""What flows between the host and an agent-runner (spec §4.2-4.4, §7.5-7.8).

* ``agent.{id}.input`` — :class:`AgentInput` (captured; the runner pulls it).
* ``agent.{id}.output`` — :data:`AgentOutput`: :class:`AgentText` while the
  agent writes, then one :class:`AgentResult` (captured; only the orchestrator
  reads it). The agent is the subject's, never a field: nobody trusts a body
  for who spoke.
* ``agent.{id}.ready`` — :class:`AgentReady`.
* ``agent.{id}.control`` — :class:`ControlRequest` → :data:`ControlReply`.
* ``agent.{id}.route`` — :class:`RouteRequest` → :class:`RouteReply`.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal, Self

from pydantic import Field, StringConstraints, TypeAdapter, model_validator

from praktor_common.contracts.base import (
    AgentId,
    Contract,
    TerminalReason,
    Text,
    UtcDatetime,
    utc_now,
)
from praktor_common.contracts.files import Attachment
from praktor_common.contracts.origin import Correlation, Origin

InputKind = Literal["conversational", "task", "swarm", "retry_notice"]
"""``conversational`` resumes the agent's session; ``task`` runs in a fresh parallel
session (spec §7.7); ``swarm`` is one role's prompt in a swarm; ``retry_notice``
tells the agent that an earlier turn was interrupted and is being retried."""

Sender = Annotated[
    str,
    StringConstraints(pattern=r"^(user(:\S{1,128})?|scheduler|agentmail|swarm|system)$"),
]
"""Who the input speaks for: ``user:<channel user id>``, ``user``, ``scheduler``,
``agentmail``, ``swarm`` or ``system`` (stored as the message's sender)."""

SwarmRole = Annotated[
    str,
    StringConstraints(min_length=1, max_length=24, pattern=r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$"),
]
"""A role label in a swarm; it becomes part of an agent id (``swarm-<8 hex>-<role>``)."""


class AgentInput(Correlation):
    """One turn for an agent (spec §4.3, adapted).

    ``Nats-Msg-Id`` = :attr:`msg_id`; the runner acknowledges after the turn,
    so a container that dies mid-turn gets it again with the same id.
    """

    agent_id: AgentId
    kind: InputKind = "conversational"
    text: Text
    origin: Origin
    """Where the answer goes (echoed on every output of this turn)."""
    sender: Sender
    swarm_role: SwarmRole | None = None
    """The role this agent plays, for ``kind="swarm"``."""
    attachments: list[Attachment] = []
    """Files the person sent with this turn (object store refs), to be saved into
    the agent's workspace ``uploads/`` before the turn runs."""
    attempt: int = Field(default=1, ge=1)
    """1 for the first try; the host raises it when it re-sends a turn."""
    created_at: UtcDatetime = Field(default_factory=utc_now)

    @model_validator(mode="after")
    def _kind_needs_ids(self) -> Self:
        if self.kind == "task" and (self.task_id is None or self.task_run_id is None):
            raise ValueError("a task input needs task_id and task_run_id")
        if self.kind == "swarm" and (self.swarm_id is None or self.swarm_role is None):
            raise ValueError("a swarm input needs swarm_id and swarm_role")
        return self


class AgentText(Correlation):
    """Partial text while the agent writes (``{"type": "text"}``).

    ``content`` is the **whole text streamed so far** for this ``msg_id``, not a
    delta; ``seq`` counts up from 0. A consumer keeps the highest ``seq`` it has
    seen and drops older ones, so redelivery and reordering are harmless and an
    edit of the shown message can be repeated safely.
    """

    type: Literal["text"] = "text"
    seq: int = Field(ge=0)
    content: str
    origin: Origin


class Usage(Contract):
    """Tokens a turn used, as the SDK reports them."""

    input_tokens: int = Field(default=0, ge=0)
    output_tokens: int = Field(default=0, ge=0)
    cache_read_input_tokens: int = Field(default=0, ge=0)
    cache_creation_input_tokens: int = Field(default=0, ge=0)


class AgentResult(Correlation):
    """The final answer of a turn (``{"type": "result"}``), published once.

    Content is raw: the orchestrator redacts secrets before storing or
    delivering it. An aborted turn publishes no result.
    """

    type: Literal["result"] = "result"
    content: str
    """The final text; ``[response was streamed]`` or ``Error: …`` as in spec §7.5."""
    terminal_reason: TerminalReason | None = None
    """``completed`` or why the turn stopped early (``max_turns``, ``blocking_limit``…)."""
    is_error: bool = False
    usage: Usage | None = None
    session_id: str | None = None
    """The Claude session the turn ran in (persisted so a restart resumes it)."""
    origin: Origin

    @property
    def abnormal(self) -> bool:
        """True when the turn ended for a reason other than ``completed`` (spec §6.4)."""
        return self.terminal_reason is not None and self.terminal_reason != "completed"


AgentOutput = Annotated[AgentText | AgentResult, Field(discriminator="type")]
"""What a runner publishes on ``agent.{id}.output``, told apart by ``type``."""

AGENT_OUTPUT: Final[TypeAdapter[AgentText | AgentResult]] = TypeAdapter(AgentOutput)


class AgentReady(Contract):
    """The runner subscribed and can take input (``{"status": "ready"}``, spec §4.7)."""

    status: Literal["ready"] = "ready"
    at: UtcDatetime = Field(default_factory=utc_now)


ControlCommand = Literal["ping", "abort", "clear_session", "shutdown"]


class ControlRequest(Contract):
    """A control request (``{"command": "ping"}``); ``shutdown`` gets no reply."""

    command: ControlCommand


class PingReply(Contract):
    """The runner's counters (spec §4.4); busy when any of them is non-zero."""

    status: Literal["ok"] = "ok"
    processing: bool
    pending_messages: int = Field(ge=0)
    active_tasks: int = Field(ge=0)
    background_tasks: int = Field(ge=0)

    @property
    def busy(self) -> bool:
        """Busy as the idle reaper sees it (spec §6.7)."""
        background = 1 if self.processing else self.background_tasks
        return self.pending_messages + self.active_tasks + background > 0


class ControlOk(Contract):
    """``{"status": "ok"}`` after ``abort`` or ``clear_session``."""

    status: Literal["ok"] = "ok"


class ControlError(Contract):
    """``{"error": "unknown command: X"}``."""

    error: Text


ControlReply = PingReply | ControlOk | ControlError
"""Any reply on ``agent.{id}.control`` (``extra="forbid"`` tells them apart)."""

CONTROL_REPLY: Final[TypeAdapter[PingReply | ControlOk | ControlError]] = TypeAdapter(ControlReply)


class RouteRequest(Contract):
    """Ask the default agent which agent should answer (``{"text": …}``, spec §7.8)."""

    text: str


class RouteReply(Contract):
    """The agent's answer (``{"agent": …}``), a name the router still checks."""

    agent: str
