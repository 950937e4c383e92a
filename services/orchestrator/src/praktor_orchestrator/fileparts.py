"""Parts of a file an agent sends, held until ``send_file`` names their upload.

A file larger than one bus message travels as ``send_file_part`` requests
(``upload_id``, ``index`` from 0, base64 data), then one ``send_file`` with the
same ``upload_id``. Parts are kept in memory per agent: in order, at most
:data:`MAX_FILE_BYTES` per upload, at most :data:`MAX_OPEN_UPLOADS` uploads per
agent at once, and forgotten :data:`UPLOAD_TTL` seconds after their last part.
An upload belongs to the agent that started it: another agent naming its id
finds nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from praktor_common.contracts.base import MAX_FILE_BYTES

UPLOAD_TTL: Final = 120.0
MAX_OPEN_UPLOADS: Final = 4


class PartError(Exception):
    """A part or an upload that cannot be taken; the text is meant for the agent."""


@dataclass
class _Upload:
    touched: float
    data: bytearray = field(default_factory=bytearray)
    parts: int = 0


class FileParts:
    """The uploads in progress, keyed by (agent, upload id)."""

    def __init__(
        self,
        *,
        max_bytes: int = MAX_FILE_BYTES,
        ttl: float = UPLOAD_TTL,
        max_open: int = MAX_OPEN_UPLOADS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_bytes = max_bytes
        self.ttl = ttl
        self.max_open = max_open
        self._clock = clock
        self._open: dict[tuple[str, str], _Upload] = {}

    def add(self, agent_id: str, upload_id: str, index: int, data: bytes) -> None:
        """Append part ``index`` of an upload (0 starts it)."""
        self._expire()
        key = (agent_id, upload_id)
        upload = self._open.get(key)
        if upload is None:
            if index != 0:
                raise PartError(
                    f"part {index} of an unknown upload: start with part 0 (uploads are "
                    f"forgotten {self.ttl:g} s after their last part)"
                )
            if sum(1 for agent, _ in self._open if agent == agent_id) >= self.max_open:
                raise PartError(
                    f"{self.max_open} files are being uploaded already: send them one after another"
                )
            upload = self._open[key] = _Upload(touched=self._clock())
        elif index != upload.parts:
            raise PartError(f"expected part {upload.parts}, got part {index}: send parts in order")
        if len(upload.data) + len(data) > self.max_bytes:
            del self._open[key]
            raise PartError(
                f"the file is larger than {_mib(self.max_bytes)}; the upload is dropped"
            )
        upload.data += data
        upload.parts += 1
        upload.touched = self._clock()

    def take(self, agent_id: str, upload_id: str) -> bytes:
        """The whole file of an upload, which is then forgotten."""
        self._expire()
        upload = self._open.pop((agent_id, upload_id), None)
        if upload is None:
            raise PartError(
                f"no upload {upload_id}: send its parts first (they are forgotten "
                f"{self.ttl:g} s after the last one)"
            )
        return bytes(upload.data)

    def open_uploads(self, agent_id: str) -> int:
        self._expire()
        return sum(1 for agent, _ in self._open if agent == agent_id)

    def _expire(self) -> None:
        now = self._clock()
        for key in [k for k, u in self._open.items() if now - u.touched > self.ttl]:
            del self._open[key]


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):g} MiB"
