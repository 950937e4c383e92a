"""``file_send``: only files of the workspace, at most 12 MiB, in parts, for the tool's turn."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

import pytest

from praktor_agent_runner.current_turn import TurnSlot
from praktor_agent_runner.filesend import (
    FILE_TOOL_NAMES,
    FileSendError,
    FileSendTool,
    file_servers,
    load,
    mime_type,
    read_file,
    resolve_in_workspace,
)
from praktor_agent_runner.ipc import IpcClient
from praktor_common.contracts.base import MAX_FILE_BYTES
from praktor_common.contracts.ipc import SEND_FILE_PART_BYTES
from praktor_common.ids import new_id


class Host:
    """Answers every IPC request with ok (or the error given); records the requests."""

    def __init__(self, error: str | None = None) -> None:
        self.error = error
        self.asked: list[dict[str, Any]] = []

    async def request(self, subject: str, body: bytes, timeout: float) -> bytes:
        request = json.loads(body)
        self.asked.append(request)
        if self.error is not None and request["type"] == "send_file":
            return json.dumps({"error": self.error}).encode()
        return b'{"ok": true}'


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    path = tmp_path / "workspace"
    path.mkdir()
    return path


def text(result: dict[str, Any]) -> str:
    [item] = result["content"]
    return str(item["text"])


# --- where a file may come from -------------------------------------------------------------


def test_a_relative_or_absolute_path_inside_the_workspace_is_taken(workspace: Path) -> None:
    (workspace / "out").mkdir()
    shot = workspace / "out" / "shot.png"
    shot.write_bytes(b"\x89PNG")
    assert resolve_in_workspace("out/shot.png", workspace) == shot.resolve()
    assert resolve_in_workspace(str(shot), workspace) == shot.resolve()


@pytest.mark.parametrize("path", ["../secret.txt", "out/../../secret.txt"])
def test_a_path_climbing_out_of_the_workspace_is_refused(workspace: Path, path: str) -> None:
    (workspace.parent / "secret.txt").write_text("passphrase")
    (workspace / "out").mkdir()
    with pytest.raises(FileSendError, match="outside your workspace"):
        resolve_in_workspace(path, workspace)


def test_an_absolute_path_elsewhere_is_refused(workspace: Path) -> None:
    outside = workspace.parent / "other.pdf"
    outside.write_bytes(b"%PDF")
    with pytest.raises(FileSendError, match="outside your workspace"):
        resolve_in_workspace(str(outside), workspace)


def test_a_symlink_pointing_out_of_the_workspace_is_refused(workspace: Path) -> None:
    (workspace.parent / "secret.txt").write_text("passphrase")
    (workspace / "notes.txt").symlink_to(workspace.parent / "secret.txt")
    (workspace / "up").symlink_to(workspace.parent, target_is_directory=True)
    for path in ("notes.txt", "up/secret.txt"):
        with pytest.raises(FileSendError, match="outside your workspace"):
            resolve_in_workspace(path, workspace)


def test_a_symlink_within_the_workspace_is_followed(workspace: Path) -> None:
    (workspace / "real.pdf").write_bytes(b"%PDF")
    (workspace / "link.pdf").symlink_to(workspace / "real.pdf")
    assert resolve_in_workspace("link.pdf", workspace) == (workspace / "real.pdf").resolve()


def test_a_missing_file_a_directory_and_an_empty_path_are_refused(workspace: Path) -> None:
    (workspace / "dir").mkdir()
    with pytest.raises(FileSendError, match=r"file not found: nope\.png"):
        resolve_in_workspace("nope.png", workspace)
    with pytest.raises(FileSendError, match="not a regular file"):
        load("dir", workspace)
    with pytest.raises(FileSendError, match="path is required"):
        resolve_in_workspace(" ", workspace)


def test_a_path_swapped_for_a_symlink_after_the_check_is_not_read(workspace: Path) -> None:
    (workspace.parent / "secret.txt").write_text("passphrase")
    swapped = workspace / "report.pdf"
    swapped.symlink_to(workspace.parent / "secret.txt")
    with pytest.raises(FileSendError, match="cannot open"):
        read_file(swapped)


def test_a_fifo_is_not_read(workspace: Path) -> None:
    os.mkfifo(workspace / "pipe")
    with pytest.raises(FileSendError, match="not a regular file"):
        load("pipe", workspace)


# --- size and type ----------------------------------------------------------------------------


def test_a_file_of_exactly_12_mib_is_taken_one_byte_more_is_refused_with_its_size(
    workspace: Path,
) -> None:
    (workspace / "ok.bin").write_bytes(b"\0" * MAX_FILE_BYTES)
    (workspace / "big.bin").write_bytes(b"\0" * (MAX_FILE_BYTES + 1))
    assert len(load("ok.bin", workspace).data) == MAX_FILE_BYTES
    with pytest.raises(FileSendError, match=r"file too large: 12\.0 MB \(at most 12\.0 MB\)"):
        load("big.bin", workspace)
    (workspace / "bigger.bin").write_bytes(b"\0" * (13 * 1024 * 1024 + 200 * 1024))
    with pytest.raises(FileSendError, match=r"13\.2 MB"):
        load("bigger.bin", workspace)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.PNG", "image/png"),
        ("a.jpeg", "image/jpeg"),
        ("report.pdf", "application/pdf"),
        ("data.tar.gz", "application/gzip"),
        ("song.ogg", "audio/ogg"),
        ("notes", "application/octet-stream"),
        ("x.docx", "application/octet-stream"),
    ],
)
def test_the_mime_type_comes_from_the_last_extension(name: str, expected: str) -> None:
    assert mime_type(name) == expected


# --- the tool ---------------------------------------------------------------------------------


def tool(host: Host, workspace: Path, msg_id: str | None) -> FileSendTool:
    return FileSendTool(IpcClient("coder", host.request), workspace, TurnSlot(msg_id))


async def test_a_file_goes_in_ordered_parts_then_send_file_names_the_upload_and_the_turn(
    workspace: Path,
) -> None:
    data = os.urandom(2 * SEND_FILE_PART_BYTES + 10)
    (workspace / "shot.png").write_bytes(data)
    host, turn = Host(), new_id()

    result = await tool(host, workspace, turn).file_send({"path": "shot.png", "caption": "Look"})

    assert text(result) == "File sent: shot.png (image/png)"
    *parts, final = host.asked
    assert [p["type"] for p in parts] == ["send_file_part"] * 3
    assert [p["payload"]["index"] for p in parts] == [0, 1, 2]
    assert b"".join(base64.b64decode(p["payload"]["data"]) for p in parts) == data
    upload = parts[0]["payload"]["upload_id"]
    assert {p["payload"]["upload_id"] for p in parts} == {upload}
    assert final == {
        "type": "send_file",
        "payload": {
            "name": "shot.png",
            "mime_type": "image/png",
            "caption": "Look",
            "data": None,
            "file": None,
            "upload_id": upload,
            "msg_id": turn,
        },
    }


async def test_refusals_are_text_for_the_model_and_nothing_is_sent(workspace: Path) -> None:
    host = Host()
    result = await tool(host, workspace, new_id()).file_send({"path": "/etc/hostname"})
    assert text(result).startswith("Error: /etc/hostname is outside your workspace")
    assert host.asked == []


async def test_without_a_turn_nothing_is_sent(workspace: Path) -> None:
    (workspace / "a.pdf").write_bytes(b"%PDF")
    host = Host()
    result = await tool(host, workspace, None).file_send({"path": "a.pdf"})
    assert text(result) == ("Error: files can only be sent while answering a message or a task")
    assert host.asked == []


async def test_the_hosts_error_reaches_the_model(workspace: Path) -> None:
    (workspace / "a.pdf").write_bytes(b"%PDF")
    host = Host(error="turn x is not one of yours")
    result = await tool(host, workspace, new_id()).file_send({"path": "a.pdf"})
    assert text(result) == "Error: turn x is not one of yours"


def test_each_process_gets_its_own_server_bound_to_its_turn(workspace: Path) -> None:
    make = file_servers(IpcClient("coder", Host().request), workspace)
    first, second = make(TurnSlot()), make(TurnSlot())
    assert list(first) == list(second) == ["praktor-file"]
    assert first["praktor-file"] is not second["praktor-file"]
    assert FILE_TOOL_NAMES == ("mcp__praktor-file__file_send",)
