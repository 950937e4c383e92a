"""The ``file_send`` tool (spec §7.9 ``praktor-file``): a file of the workspace to the chat.

``file_send(path, caption?)`` sends a file from the agent's workspace to the
chat of the turn the call belongs to (the process's
:class:`~praktor_agent_runner.current_turn.TurnSlot`), through the host's IPC:
parts of at most :data:`SEND_FILE_PART_BYTES` (``send_file_part``), then
``send_file`` naming the upload and the turn. Rules:

* the path, relative to the workspace or absolute, must stay inside the
  workspace once every symlink is resolved; the file is opened without
  following a last symlink and must be the regular file that was checked;
* at most :data:`MAX_FILE_BYTES` (12 MiB); larger files are refused with their
  size in MB (one decimal);
* the MIME type comes from the extension (spec table), else
  ``application/octet-stream``.

Results are text (``File sent: <name> (<mime>)`` or ``Error: …``).
"""

from __future__ import annotations

import asyncio
import base64
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from claude_agent_sdk import McpServerConfig, SdkMcpTool, create_sdk_mcp_server, tool

from praktor_agent_runner import toolnames as t
from praktor_agent_runner.current_turn import TurnServers, TurnSlot
from praktor_agent_runner.ipc import IpcClient, IpcCommandError, IpcUnavailableError
from praktor_common.contracts.base import MAX_FILE_BYTES
from praktor_common.contracts.ipc import (
    SEND_FILE_PART_BYTES,
    IpcOk,
    IpcSendFile,
    IpcSendFilePart,
    SendFilePartPayload,
    SendFilePayload,
)
from praktor_common.ids import new_id

ToolResult = dict[str, Any]

MIME_TYPES: Final = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".svg": "image/svg+xml",
    ".pdf": "application/pdf",
    ".txt": "text/plain",
    ".csv": "text/csv",
    ".json": "application/json",
    ".html": "text/html",
    ".xml": "application/xml",
    ".zip": "application/zip",
    ".tar": "application/x-tar",
    ".gz": "application/gzip",
    ".mp3": "audio/mpeg",
    ".mp4": "video/mp4",
    ".wav": "audio/wav",
    ".ogg": "audio/ogg",
}
DEFAULT_MIME: Final = "application/octet-stream"

DESCRIPTION: Final = (
    "Send a file from your workspace to the user's chat as a photo or document (at most "
    "12 MB). Only for binary files the user should receive (images, PDFs, archives, audio); "
    "never for text: put text in your answer instead."
)


class FileSendError(Exception):
    """The file cannot be sent; the text is meant for the agent."""


def mime_type(path: str | Path) -> str:
    """The MIME type of a file name from its (lower-cased, last) extension."""
    return MIME_TYPES.get(Path(path).suffix.lower(), DEFAULT_MIME)


def size_in_mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def resolve_in_workspace(path: str, workspace: Path) -> Path:
    """The real path of ``path`` (relative to the workspace, or absolute), which must be a
    regular file inside the workspace after every symlink is resolved."""
    if not path.strip():
        raise FileSendError("path is required")
    root = workspace.resolve()
    candidate = Path(path) if Path(path).is_absolute() else root / path
    try:
        real = candidate.resolve(strict=True)
    except FileNotFoundError:
        raise FileSendError(f"file not found: {path}") from None
    except (OSError, RuntimeError) as exc:  # a symlink loop, a denied directory
        raise FileSendError(f"cannot open {path}: {_reason(exc)}") from None
    if not real.is_relative_to(root):
        raise FileSendError(f"{path} is outside your workspace ({root}); copy it there first")
    return real


def read_file(real: Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of a checked path: a regular file, not a symlink, at most ``limit`` bytes."""
    try:
        fd = os.open(real, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise FileSendError(f"cannot open {real}: {_reason(exc)}") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise FileSendError(f"{real} is not a regular file")
    with os.fdopen(fd, "rb") as handle:
        if info.st_size > limit:
            raise FileSendError(
                f"file too large: {size_in_mb(info.st_size)} (at most {size_in_mb(limit)})"
            )
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise FileSendError(f"file too large: more than {size_in_mb(limit)}")
    return data


def _reason(exc: BaseException) -> str:
    return exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__


@dataclass(frozen=True)
class FileToSend:
    name: str
    mime_type: str
    data: bytes


def load(path: str, workspace: Path) -> FileToSend:
    """The file at ``path`` as it will be sent (all the checks of the module docstring)."""
    real = resolve_in_workspace(path, workspace)
    return FileToSend(name=real.name, mime_type=mime_type(real), data=read_file(real))


class FileSendTool:
    """``file_send`` for one Claude Code process (its calls belong to that process's turn)."""

    def __init__(self, ipc: IpcClient, workspace: Path, turn: TurnSlot) -> None:
        self.ipc = ipc
        self.workspace = workspace
        self.turn = turn

    async def file_send(self, args: dict[str, Any]) -> ToolResult:
        try:
            text = await self._send(str(args.get("path") or ""), str(args.get("caption") or ""))
        except (FileSendError, IpcCommandError, IpcUnavailableError) as exc:
            text = f"Error: {exc}"
        return {"content": [{"type": "text", "text": text}]}

    async def _send(self, path: str, caption: str) -> str:
        msg_id = self.turn.msg_id
        if msg_id is None:
            raise FileSendError("files can only be sent while answering a message or a task")
        file = await asyncio.to_thread(load, path, self.workspace)
        upload_id = new_id()
        for index, start in enumerate(range(0, max(len(file.data), 1), SEND_FILE_PART_BYTES)):
            part = file.data[start : start + SEND_FILE_PART_BYTES]
            payload = SendFilePartPayload(
                upload_id=upload_id, index=index, data=base64.b64encode(part).decode()
            )
            await self.ipc.call(IpcSendFilePart(payload=payload), IpcOk)
        request = SendFilePayload(
            name=file.name,
            mime_type=file.mime_type,
            caption=caption,
            upload_id=upload_id,
            msg_id=msg_id,
        )
        await self.ipc.call(IpcSendFile(payload=request), IpcOk)
        return f"File sent: {file.name} ({file.mime_type})"

    def tools(self) -> list[SdkMcpTool[Any]]:
        schema = {
            "type": "object",
            "properties": {
                "path": {
                    "type": "string",
                    "description": "The file's path in your workspace (absolute or relative)",
                },
                "caption": {"type": "string", "description": "Optional caption for the file"},
            },
            "required": ["path"],
        }
        return [tool(t.FILE_SEND, DESCRIPTION, schema)(self.file_send)]


def file_servers(ipc: IpcClient, workspace: Path) -> TurnServers:
    """The file server of each process, bound to that process's turn."""

    def make(turn: TurnSlot) -> Mapping[str, McpServerConfig]:
        send = FileSendTool(ipc, workspace, turn)
        return {t.FILE_SERVER: create_sdk_mcp_server(t.FILE_SERVER, tools=send.tools())}

    return make


FILE_TOOL_NAMES: Final = (t.mcp_tool(t.FILE_SERVER, t.FILE_SEND),)
"""The tools of :func:`file_servers`, as Claude Code names them."""
