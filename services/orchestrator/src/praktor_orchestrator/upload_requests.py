"""``receive_uploads``: a runner asks for the files of the turn it is about to run.

The files a person sent are in the object store; the agent may not read the
store itself (it holds every chat's files). The runner names the turn by its
``msg_id``; the orchestrator takes the attachments from the input *it* stored
for that agent — never from the request — copies them into the agent's
``uploads/`` and answers the ``[File received: …]`` lines for the prompt.

The input is stored when the orchestrator sees it published, which can be a
moment after a warm runner pulled it: the lookup waits briefly. Asking twice
(a redelivered turn) saves the files again under new names, which is harmless.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Protocol

from praktor_common.contracts.files import Attachment

from .uploads import SavedUpload, received_lines

STORED_INPUT_WAIT = 5.0
"""Seconds to wait for the input to be stored before saying it is unknown."""
_POLL = 0.1


class StoredInputs(Protocol):
    async def input_attachments(self, agent_id: str, msg_id: str) -> list[Attachment] | None: ...


SaveUploads = Callable[
    [Path, Sequence[Attachment]], Awaitable[tuple[list[SavedUpload], list[Attachment]]]
]


class UnknownTurnError(LookupError):
    """The agent asked for the files of a turn that is not one of its inputs."""


class UploadReceiver:
    def __init__(
        self, inputs: StoredInputs, save: SaveUploads, wait: float = STORED_INPUT_WAIT
    ) -> None:
        self._inputs = inputs
        self._save = save
        self._wait = wait

    async def receive(self, agent_id: str, msg_id: str, workspace: Path) -> str:
        """Save the turn's files into ``workspace/uploads``; the lines for the prompt."""
        attachments = await self._attachments(agent_id, msg_id)
        if not attachments:
            return ""
        saved, failed = await self._save(workspace, attachments)
        return received_lines(saved, failed)

    async def _attachments(self, agent_id: str, msg_id: str) -> list[Attachment]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._wait
        while True:
            found = await self._inputs.input_attachments(agent_id, msg_id)
            if found is not None:
                return found
            if loop.time() >= deadline:
                raise UnknownTurnError(f"no input {msg_id} of agent {agent_id} is stored")
            await asyncio.sleep(_POLL)
