"""Pydantic v2 payload models for every subject on the bus.

Modules by subject family: :mod:`.origin` (origin, correlation ids),
:mod:`.inbound`, :mod:`.agent` (input, output, ready, control, route),
:mod:`.ipc`, :mod:`.events`, :mod:`.deliver`, :mod:`.deadletter`, and the
``svc.*`` commands in :mod:`.vault`, :mod:`.scheduler`, :mod:`.swarm`,
:mod:`.orchestrator` (built on :mod:`.service`). :mod:`.catalog` maps every
subject pattern to its models.
"""

from praktor_common.contracts.agent import (
    AgentInput,
    AgentOutput,
    AgentReady,
    AgentResult,
    AgentText,
    ControlError,
    ControlOk,
    ControlReply,
    ControlRequest,
    PingReply,
    RouteReply,
    RouteRequest,
)
from praktor_common.contracts.base import Contract, UtcDatetime, utc_now
from praktor_common.contracts.deadletter import DeadLetter
from praktor_common.contracts.deliver import Delivery, Notice
from praktor_common.contracts.events import Event
from praktor_common.contracts.files import Attachment, FileRef
from praktor_common.contracts.inbound import InboundMessage, ReplyTo
from praktor_common.contracts.ipc import IpcError, IpcOk, IpcReply, IpcRequest
from praktor_common.contracts.origin import Correlation, Origin
from praktor_common.contracts.service import Command, ServiceError

__all__ = [
    "AgentInput",
    "AgentOutput",
    "AgentReady",
    "AgentResult",
    "AgentText",
    "Attachment",
    "Command",
    "Contract",
    "ControlError",
    "ControlOk",
    "ControlReply",
    "ControlRequest",
    "Correlation",
    "DeadLetter",
    "Delivery",
    "Event",
    "FileRef",
    "InboundMessage",
    "IpcError",
    "IpcOk",
    "IpcReply",
    "IpcRequest",
    "Notice",
    "Origin",
    "PingReply",
    "ReplyTo",
    "RouteReply",
    "RouteRequest",
    "ServiceError",
    "UtcDatetime",
    "utc_now",
]
