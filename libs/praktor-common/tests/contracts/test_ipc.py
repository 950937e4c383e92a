"""IPC on host.ipc.{id}: ``{"type", "payload"}`` in, ``{"ok": true, …}`` or ``{"error"}`` out."""

from __future__ import annotations

import base64
import json
import typing
from typing import Any

import pytest
from pydantic import ValidationError

from praktor_common.contracts import ipc
from praktor_common.contracts.base import MAX_FILE_BYTES
from praktor_common.ids import new_id

VECTOR = [0.0] * ipc.EMBEDDING_DIM

VALID: dict[str, dict[str, Any]] = {
    "create_task": {"name": "Standup", "schedule": "0 9 * * MON-FRI", "prompt": "Reply with: hi"},
    "list_tasks": {},
    "update_task": {"id": new_id(), "schedule": "+5m"},
    "delete_task": {"id": new_id()},
    "read_user_md": {},
    "update_user_md": {"content": "# Me"},
    "read_agent_md": {},
    "update_agent_md": {"content": ""},
    "swarm_message": {"content": "found it"},
    "extension_status": {
        "marketplaces": ["official"],
        "plugins": [{"name": "a@b", "enabled": True}],
    },
    "send_file": {
        "name": "shot.png",
        "data": base64.b64encode(b"\x89PNG").decode(),
        "mime_type": "image/png",
        "caption": "",
    },
    "send_file_part": {"upload_id": new_id(), "index": 0, "data": "AAAA"},
    "search_history": {"query": "invoice", "limit": 5},
    "memory_store": {"key": "wifi", "content": "password is in the vault", "embedding": VECTOR},
    "memory_recall": {"query": "wifi", "embedding": VECTOR},
    "memory_list": {},
    "memory_delete": {"key": "wifi"},
    "memory_forget": {"query": "wifi"},
    "receive_uploads": {"msg_id": "01936b2a-7c3d-7e4f-8a9b-0c1d2e3f4a5b"},
}


def _request_types() -> list[str]:
    union = typing.get_args(ipc.IpcRequest)[0]
    return [m.model_fields["type"].default for m in typing.get_args(union)]


def test_every_command_has_a_sample_and_a_typed_reply() -> None:
    assert sorted(_request_types()) == sorted(VALID) == sorted(ipc.IPC_REPLIES)


@pytest.mark.parametrize("command", sorted(VALID))
def test_each_command_round_trips_as_type_and_payload(command: str) -> None:
    wire = json.dumps({"type": command, "payload": VALID[command]})
    request = ipc.IPC_REQUEST.validate_json(wire)
    assert request.type == command
    body = json.loads(request.model_dump_json())
    assert body.keys() == {"type", "payload"}
    assert ipc.IPC_REQUEST.validate_json(request.model_dump_json()) == request


def test_commands_without_arguments_may_send_an_empty_payload() -> None:
    assert ipc.IpcListTasks().model_dump() == {"type": "list_tasks", "payload": {}}


@pytest.mark.parametrize(
    "wire",
    [
        {"type": "reboot", "payload": {}},
        {"payload": {}},
        {"type": "create_task", "payload": {"name": "x", "schedule": "+5m"}},
        {"type": "create_task", "payload": {"name": "", "schedule": "+5m", "prompt": "p"}},
        {"type": "update_task", "payload": {"id": "task-1"}},
        {"type": "delete_task", "payload": {}},
        {"type": "swarm_message", "payload": {"content": ""}},
        {"type": "search_history", "payload": {"query": ""}},
        {"type": "search_history", "payload": {"query": "x", "limit": 0}},
        {"type": "memory_store", "payload": {"key": "k", "content": "c", "embedding": [0.1] * 3}},
        {"type": "memory_recall", "payload": {"query": "q", "embedding": [*VECTOR[:-1], "x"]}},
        {"type": "list_tasks", "payload": {"agent": "other"}},
        {"type": "list_tasks", "payload": {}, "agent_id": "other"},
    ],
)
def test_malformed_requests_are_refused(wire: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        ipc.IPC_REQUEST.validate_json(json.dumps(wire))


class TestSendFile:
    def test_takes_inline_base64_or_an_object_ref_but_not_both(self) -> None:
        ref = {"bucket": "praktor-files", "key": "out/1", "name": "a.pdf", "size": 10}
        ipc.SendFilePayload.model_validate({"name": "a.pdf", "file": ref})
        with pytest.raises(ValidationError, match="exactly one"):
            ipc.SendFilePayload.model_validate({"name": "a.pdf"})
        with pytest.raises(ValidationError, match="exactly one"):
            ipc.SendFilePayload.model_validate({"name": "a.pdf", "data": "AAAA", "file": ref})

    def test_names_an_upload_instead_of_inline_data_and_the_turn_it_belongs_to(self) -> None:
        upload, turn = new_id(), new_id()
        payload = ipc.SendFilePayload.model_validate(
            {"name": "a.pdf", "upload_id": upload, "msg_id": turn}
        )
        assert (payload.upload_id, payload.msg_id, payload.data) == (upload, turn, None)
        with pytest.raises(ValidationError, match="exactly one"):
            ipc.SendFilePayload.model_validate(
                {"name": "a.pdf", "data": "AAAA", "upload_id": upload}
            )

    @pytest.mark.parametrize("data", ["not base64!", "AAA", "AA\nAA"])
    def test_refuses_data_that_is_not_standard_base64(self, data: str) -> None:
        with pytest.raises(ValidationError, match="base64"):
            ipc.SendFilePayload.model_validate({"name": "a.bin", "data": data})

    def test_refuses_inline_data_over_the_size_limit(self) -> None:
        too_big = base64.b64encode(b"\0" * (MAX_FILE_BYTES + 3)).decode()
        with pytest.raises(ValidationError, match="larger than"):
            ipc.SendFilePayload.model_validate({"name": "a.bin", "data": too_big})

    def test_refuses_a_path_as_name(self) -> None:
        with pytest.raises(ValidationError):
            ipc.SendFilePayload.model_validate({"name": "/etc/passwd", "data": "AAAA"})


class TestReplies:
    def test_success_is_ok_true_with_the_commands_fields(self) -> None:
        task_id = new_id()
        reply = ipc.parse_ipc_reply("create_task", json.dumps({"ok": True, "id": task_id}))
        assert isinstance(reply, ipc.IpcTaskId)
        assert reply.id == task_id
        assert json.loads(ipc.IpcOk().model_dump_json()) == {"ok": True}

    def test_failure_is_an_error_object_for_any_command(self) -> None:
        for command in ipc.IPC_REPLIES:
            reply = ipc.parse_ipc_reply(command, '{"error": "id is required"}')
            assert isinstance(reply, ipc.IpcError)

    def test_a_reply_missing_the_commands_fields_is_refused(self) -> None:
        with pytest.raises(ValidationError):
            ipc.parse_ipc_reply("read_user_md", '{"ok": true}')
        with pytest.raises(ValidationError):
            ipc.parse_ipc_reply("list_tasks", '{"ok": false, "tasks": []}')

    def test_memories_and_history_carry_utc_times(self) -> None:
        memories = ipc.parse_ipc_reply(
            "memory_list",
            json.dumps(
                {
                    "ok": True,
                    "memories": [
                        {
                            "key": "wifi",
                            "content": "in the vault",
                            "access_count": 2,
                            "created_at": "2026-02-17T10:00:00+01:00",
                            "updated_at": "2026-02-17T10:00:00Z",
                        }
                    ],
                }
            ),
        )
        assert isinstance(memories, ipc.IpcMemories)
        assert memories.memories[0].created_at.hour == 9
        with pytest.raises(ValidationError):
            ipc.parse_ipc_reply(
                "search_history",
                json.dumps(
                    {
                        "ok": True,
                        "messages": [
                            {"sender": "agent", "content": "x", "created_at": "2026-02-17 10:00"}
                        ],
                    }
                ),
            )
