"""Files a person sent with a turn: the host saves them into ``uploads/`` first.

The runner may not read the object store (it holds every chat's files), so it
asks the host over IPC (``receive_uploads``) with the turn's ``msg_id``; the
host copies the files it has on record for that input into the workspace and
answers the ``[File received: …]`` lines, which go after the turn's text.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import structlog

from praktor_common.contracts.agent import AgentInput
from praktor_common.contracts.ipc import IpcContent, IpcReceiveUploads, ReceiveUploadsPayload

from .ipc import IpcClient

log = structlog.get_logger(__name__)

ReceiveUploads = Callable[[AgentInput], Awaitable[str]]


def lost_files_line(turn: AgentInput) -> str:
    names = ", ".join(a.name for a in turn.attachments)
    return f"[Files could not be received ({names}): ask the person to send them again]"


def ipc_uploads(ipc: IpcClient) -> ReceiveUploads:
    """``receive_uploads`` over ``host.ipc``; a line saying the files were lost when it fails."""

    async def receive(turn: AgentInput) -> str:
        request = IpcReceiveUploads(payload=ReceiveUploadsPayload(msg_id=turn.msg_id))
        try:
            reply = await ipc.call(request, IpcContent)
        except Exception as exc:  # the turn runs anyway: the agent is told what is missing
            log.warning("files of the turn not received", msg_id=turn.msg_id, error=str(exc))
            return lost_files_line(turn)
        return reply.content

    return receive


def with_uploads(prompt: str, lines: str) -> str:
    """The turn's prompt followed by the received-file lines."""
    if not lines:
        return prompt
    return f"{prompt}\n\n{lines}" if prompt else lines
