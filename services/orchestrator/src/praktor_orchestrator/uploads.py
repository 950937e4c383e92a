"""Files a person sent, saved into the agent's workspace ``uploads/`` (spec §11.4 step 8).

The gateway put each file into the NATS object store; an
:class:`~praktor_common.contracts.agent.AgentInput` names them in
``attachments``. Before the turn runs they are copied to
``<workspace>/uploads/<unix nanoseconds>_<safe name>`` and the turn's text
gets one ``[File received: …]`` line per file (:func:`received_lines`).

The name is made safe again here (:func:`praktor_common.filestore.safe_file_name`:
a base name, no separators, no leading dot), whatever the message says. The
agent owns its workspace and could have put a symlink where ``uploads`` or a
file should be: the directory is opened without following links and each
file is created exclusively (``O_EXCL | O_NOFOLLOW``) relative to it, so a
write never lands outside ``uploads/``. Files get the workspace's owner.

Wiring (not done here): whoever starts the turn — the orchestrator when it
sees input with attachments, or an IPC request from the runner — calls
:func:`save_uploads` and appends :func:`received_lines` to the text.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

from praktor_common.contracts.files import Attachment
from praktor_common.filestore import ObjectUnreadableError, read_object, safe_file_name

if TYPE_CHECKING:
    from nats.js import JetStreamContext

UPLOADS_DIR: Final = "uploads"
FILE_MODE: Final = 0o644
DIR_MODE: Final = 0o755


class UploadError(OSError):
    """A file could not be saved into the workspace."""


@dataclass(frozen=True)
class SavedUpload:
    """One file now in the workspace."""

    attachment: Attachment
    relative_path: str
    """Path inside the workspace, e.g. ``uploads/1700000000000000000_report.pdf``."""

    def line(self) -> str:
        a = self.attachment
        return (
            f"[File received: {a.name} ({a.mime_type}, {a.size} bytes) saved to "
            f"{self.relative_path} in your workspace]"
        )


def upload_name(attachment: Attachment, stamp_ns: int) -> str:
    return f"{stamp_ns}_{safe_file_name(attachment.name)}"


def received_lines(saved: Sequence[SavedUpload], failed: Sequence[Attachment] = ()) -> str:
    """The text appended to the turn: one line per saved file, one per file that was lost."""
    lines = [s.line() for s in saved]
    lines += [
        f"[File {a.name} could not be saved: ask the person to send it again]" for a in failed
    ]
    return "\n".join(lines)


def _open_uploads(workspace: Path) -> int:
    """A descriptor of ``<workspace>/uploads`` (created if missing), never through a link."""
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
    root = os.open(workspace, flags)
    try:
        try:
            os.mkdir(UPLOADS_DIR, DIR_MODE, dir_fd=root)
            _give_to_owner(root, UPLOADS_DIR, dir_fd=root)
        except FileExistsError:
            pass
        try:
            return os.open(UPLOADS_DIR, flags, dir_fd=root)
        except OSError as exc:
            raise UploadError(f"{UPLOADS_DIR} in the workspace is not a directory") from exc
    finally:
        os.close(root)


def _give_to_owner(owner_fd: int, name: str, *, dir_fd: int) -> None:
    if os.geteuid() != 0:
        return
    owner = os.fstat(owner_fd)
    os.chown(name, owner.st_uid, owner.st_gid, dir_fd=dir_fd, follow_symlinks=False)


def write_upload(workspace: Path, name: str, data: bytes) -> str:
    """Create ``uploads/<name>`` with ``data``; its path inside the workspace."""
    safe = safe_file_name(name)
    directory = _open_uploads(workspace)
    try:
        if not stat.S_ISDIR(os.fstat(directory).st_mode):  # pragma: no cover - O_DIRECTORY
            raise UploadError(f"{UPLOADS_DIR} is not a directory")
        fd = os.open(
            safe,
            os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW,
            FILE_MODE,
            dir_fd=directory,
        )
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        _give_to_owner(directory, safe, dir_fd=directory)
    finally:
        os.close(directory)
    return f"{UPLOADS_DIR}/{safe}"


async def save_uploads(
    js: JetStreamContext,
    workspace: Path,
    attachments: Sequence[Attachment],
    clock: Callable[[], int] = time.time_ns,
) -> tuple[list[SavedUpload], list[Attachment]]:
    """Copy each attachment from the object store into ``uploads/``: (saved, failed)."""
    saved: list[SavedUpload] = []
    failed: list[Attachment] = []
    for attachment in attachments:
        try:
            data = await read_object(js, attachment.bucket, attachment.key)
            relative = write_upload(workspace, upload_name(attachment, clock()), data)
        except (ObjectUnreadableError, OSError):
            failed.append(attachment)
            continue
        saved.append(SavedUpload(attachment, relative))
    return saved, failed
