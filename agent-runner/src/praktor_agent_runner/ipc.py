"""The agent's requests to the host on ``host.ipc.<id>`` (spec §4.5), typed.

``await ipc.call(IpcMemoryList(), IpcMemories)`` sends ``{"type", "payload"}``
and returns the typed success reply; a ``{"error": …}`` reply raises
:class:`IpcCommandError` with the host's text, no answer in time (or nobody
listening) raises :class:`IpcUnavailableError`. The transport is a plain
request function, so this module does no I/O of its own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Final, TypeVar

from pydantic import ValidationError

from praktor_common import subjects
from praktor_common.contracts.ipc import AnyIpcRequest, IpcError, IpcOk, parse_ipc_reply

IPC_TIMEOUT: Final = 30.0

Requester = Callable[[str, bytes, float], Awaitable[bytes]]
"""``(subject, body, timeout) -> reply body``; raises on timeout or no responders."""

R = TypeVar("R", bound=IpcOk)


class IpcUnavailableError(RuntimeError):
    """The host did not answer (timeout, nobody listening, bus down, garbled reply)."""


class IpcCommandError(RuntimeError):
    """The host answered ``{"error": …}``; the text is meant for the agent."""


class IpcClient:
    """Request/reply with the host for one agent."""

    def __init__(self, agent_id: str, requester: Requester, timeout: float = IPC_TIMEOUT) -> None:
        self.subject = subjects.host_ipc(agent_id)
        self._requester = requester
        self.timeout = timeout

    async def send(self, request: AnyIpcRequest) -> IpcOk | IpcError:
        """Send one command; the host's reply, validated against the command's contract."""
        body = request.model_dump_json().encode()
        try:
            reply = await self._requester(self.subject, body, self.timeout)
        except TimeoutError:
            raise IpcUnavailableError(
                f"the host did not answer {request.type} within {self.timeout:g} s"
            ) from None
        except Exception as exc:
            raise IpcUnavailableError(
                f"the host could not be asked ({request.type}): {type(exc).__name__}"
            ) from exc
        try:
            return parse_ipc_reply(request.type, reply)
        except ValidationError:
            raise IpcUnavailableError(
                f"the host's reply to {request.type} was not understood"
            ) from None

    async def call(self, request: AnyIpcRequest, reply_type: type[R]) -> R:
        """Send a command and return its success reply as ``reply_type``."""
        reply = await self.send(request)
        if isinstance(reply, IpcError):
            raise IpcCommandError(reply.error)
        if not isinstance(reply, reply_type):
            raise IpcUnavailableError(f"the host's reply to {request.type} was not understood")
        return reply
