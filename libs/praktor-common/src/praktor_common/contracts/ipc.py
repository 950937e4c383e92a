"""Agent → host commands on ``host.ipc.{id}`` (request/reply, spec §4.5 and §7.9).

A request is ``{"type": <command>, "payload": {…}}``; success is
``{"ok": true, …}`` (typed per command, :data:`IPC_REPLIES`), failure
``{"error": "…"}`` (:class:`IpcError`). The calling agent is the subject's,
never a field. Memory embeddings are computed in the runner and travel here.
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal, Self

from pydantic import Field, StringConstraints, TypeAdapter, model_validator

from praktor_common.contracts.base import (
    MAX_FILE_BYTES,
    Base64Data,
    Contract,
    MsgId,
    Name,
    Text,
    UtcDatetime,
    Uuid,
)
from praktor_common.contracts.files import FileName, FileRef, MimeType
from praktor_common.contracts.scheduler import RawSchedule, TaskInfo

EMBEDDING_DIM: Final = 384
"""Dimensions of the runner's embedding model (all-MiniLM-L6-v2, normalised)."""

Embedding = Annotated[list[float], Field(min_length=EMBEDDING_DIM, max_length=EMBEDDING_DIM)]
MemoryKey = Annotated[str, StringConstraints(min_length=1, max_length=200)]

# ---------------------------------------------------------------- payloads


class EmptyPayload(Contract):
    """``{}``: a command without arguments."""


class CreateTaskPayload(Contract):
    name: Name
    schedule: RawSchedule
    """As written by the agent (``+5m``, cron, tag, or schedule JSON); normalised by the host."""
    prompt: Text


class UpdateTaskPayload(Contract):
    """Fields given replace the task's; a new schedule is normalised again."""

    id: Uuid
    name: Name | None = None
    schedule: RawSchedule | None = None
    prompt: Text | None = None


class TaskIdPayload(Contract):
    id: Uuid


class ContentPayload(Contract):
    """A whole file's new content (USER.md or AGENT.md)."""

    content: str


class SwarmMessagePayload(Contract):
    content: Text


class PluginState(Contract):
    name: Text
    enabled: bool


class ExtensionStatusPayload(Contract):
    """What the runner installed (spec §9.4 step 8), plus the errors it met."""

    marketplaces: list[str] = []
    plugins: list[PluginState] = []
    errors: list[str] = []


class SendFilePayload(Contract):
    """A file for the chat of a turn: inline base64, parts sent before, or an object-store ref.

    A file too large for one message travels first as ``send_file_part`` requests
    under one ``upload_id``; ``send_file`` then names that upload.
    """

    name: FileName
    mime_type: MimeType = "application/octet-stream"
    caption: str = ""
    data: Base64Data | None = None
    file: FileRef | None = None
    upload_id: Uuid | None = None
    """The upload whose parts (``send_file_part``) make up the file."""
    msg_id: MsgId | None = None
    """The turn the tool call belongs to: the file goes to the chat that turn came from."""

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if sum(x is not None for x in (self.data, self.file, self.upload_id)) != 1:
            raise ValueError(
                "send_file needs exactly one of data (base64), upload_id (parts) or file "
                "(object ref)"
            )
        return self


SEND_FILE_PART_BYTES: Final = 1024 * 1024
"""Most bytes of a file in one ``send_file_part`` (well below the bus's message limit)."""


class SendFilePartPayload(Contract):
    """One part of a file being uploaded for ``send_file``, in order from 0."""

    upload_id: Uuid
    index: int = Field(ge=0, le=MAX_FILE_BYTES // SEND_FILE_PART_BYTES + 1)
    data: Base64Data


class ReceiveUploadsPayload(Contract):
    """The turn whose attachments (files a person sent) should be put into the workspace."""

    msg_id: MsgId


class SearchHistoryPayload(Contract):
    query: Text
    limit: int = Field(default=20, ge=1, le=200)


class MemoryStorePayload(Contract):
    """Upsert a memory by key; the embedding of ``"<key> <tags> <content>"`` if computed."""

    key: MemoryKey
    content: Text
    tags: str = ""
    embedding: Embedding | None = None


class MemoryRecallPayload(Contract):
    """Hybrid recall: full text plus, when given, similarity to the query's embedding."""

    query: Text
    embedding: Embedding | None = None
    limit: int = Field(default=20, ge=1, le=100)


class MemoryKeyPayload(Contract):
    key: MemoryKey


class MemoryForgetPayload(Contract):
    query: Text


# ---------------------------------------------------------------- requests


class IpcCreateTask(Contract):
    type: Literal["create_task"] = "create_task"
    payload: CreateTaskPayload


class IpcListTasks(Contract):
    type: Literal["list_tasks"] = "list_tasks"
    payload: EmptyPayload = EmptyPayload()


class IpcUpdateTask(Contract):
    type: Literal["update_task"] = "update_task"
    payload: UpdateTaskPayload


class IpcDeleteTask(Contract):
    type: Literal["delete_task"] = "delete_task"
    payload: TaskIdPayload


class IpcReadUserMd(Contract):
    type: Literal["read_user_md"] = "read_user_md"
    payload: EmptyPayload = EmptyPayload()


class IpcUpdateUserMd(Contract):
    type: Literal["update_user_md"] = "update_user_md"
    payload: ContentPayload


class IpcReadAgentMd(Contract):
    type: Literal["read_agent_md"] = "read_agent_md"
    payload: EmptyPayload = EmptyPayload()


class IpcUpdateAgentMd(Contract):
    type: Literal["update_agent_md"] = "update_agent_md"
    payload: ContentPayload


class IpcSwarmMessage(Contract):
    type: Literal["swarm_message"] = "swarm_message"
    payload: SwarmMessagePayload


class IpcExtensionStatus(Contract):
    type: Literal["extension_status"] = "extension_status"
    payload: ExtensionStatusPayload


class IpcSendFile(Contract):
    type: Literal["send_file"] = "send_file"
    payload: SendFilePayload


class IpcSendFilePart(Contract):
    type: Literal["send_file_part"] = "send_file_part"
    payload: SendFilePartPayload


class IpcSearchHistory(Contract):
    type: Literal["search_history"] = "search_history"
    payload: SearchHistoryPayload


class IpcMemoryStore(Contract):
    type: Literal["memory_store"] = "memory_store"
    payload: MemoryStorePayload


class IpcMemoryRecall(Contract):
    type: Literal["memory_recall"] = "memory_recall"
    payload: MemoryRecallPayload


class IpcMemoryList(Contract):
    type: Literal["memory_list"] = "memory_list"
    payload: EmptyPayload = EmptyPayload()


class IpcMemoryDelete(Contract):
    type: Literal["memory_delete"] = "memory_delete"
    payload: MemoryKeyPayload


class IpcMemoryForget(Contract):
    type: Literal["memory_forget"] = "memory_forget"
    payload: MemoryForgetPayload


class IpcReceiveUploads(Contract):
    """Before a turn with attachments runs: save them into ``uploads/`` (runner → host).

    The answer's ``content`` holds one ``[File received: …]`` line per file,
    which the runner appends to the turn's prompt.
    """

    type: Literal["receive_uploads"] = "receive_uploads"
    payload: ReceiveUploadsPayload


AnyIpcRequest = (
    IpcCreateTask
    | IpcListTasks
    | IpcUpdateTask
    | IpcDeleteTask
    | IpcReadUserMd
    | IpcUpdateUserMd
    | IpcReadAgentMd
    | IpcUpdateAgentMd
    | IpcSwarmMessage
    | IpcExtensionStatus
    | IpcSendFile
    | IpcSendFilePart
    | IpcSearchHistory
    | IpcMemoryStore
    | IpcMemoryRecall
    | IpcMemoryList
    | IpcMemoryDelete
    | IpcMemoryForget
    | IpcReceiveUploads
)

IpcRequest = Annotated[AnyIpcRequest, Field(discriminator="type")]
"""Any IPC request, told apart by ``type``."""

IPC_REQUEST: Final[TypeAdapter[AnyIpcRequest]] = TypeAdapter(IpcRequest)

# ---------------------------------------------------------------- replies


class IpcOk(Contract):
    """``{"ok": true}``."""

    ok: Literal[True] = True


class IpcTaskId(IpcOk):
    """``create_task`` / ``update_task``: the task's id."""

    id: Uuid


class IpcTasks(IpcOk):
    """``list_tasks``: the caller's tasks in creation order."""

    tasks: list[TaskInfo]


class IpcContent(IpcOk):
    """``read_user_md`` / ``read_agent_md``: the file ("" when missing)."""

    content: str


class HistoryMessage(Contract):
    sender: str
    """``agent`` for the agent's own answers; ``user:<id>``, ``scheduler``… otherwise."""
    content: str
    created_at: UtcDatetime


class IpcHistory(IpcOk):
    """``search_history``: matching messages of the caller, best first."""

    messages: list[HistoryMessage]


class Memory(Contract):
    key: MemoryKey
    content: str
    tags: str = ""
    access_count: int = Field(ge=0)
    created_at: UtcDatetime
    updated_at: UtcDatetime
    last_accessed_at: UtcDatetime | None = None


class IpcMemories(IpcOk):
    """``memory_recall`` (fused rank order) / ``memory_list`` (newest first)."""

    memories: list[Memory]


class IpcDeletedCount(IpcOk):
    """``memory_delete`` (0 or 1) / ``memory_forget``: how many memories went."""

    deleted: int = Field(ge=0)


class IpcError(Contract):
    """``{"error": "…"}``: the command failed; the text is shown to the agent."""

    error: Text


IPC_REPLIES: Final[dict[str, type[IpcOk]]] = {
    "create_task": IpcTaskId,
    "list_tasks": IpcTasks,
    "update_task": IpcTaskId,
    "delete_task": IpcOk,
    "read_user_md": IpcContent,
    "update_user_md": IpcOk,
    "read_agent_md": IpcContent,
    "update_agent_md": IpcOk,
    "swarm_message": IpcOk,
    "extension_status": IpcOk,
    "send_file": IpcOk,
    "send_file_part": IpcOk,
    "search_history": IpcHistory,
    "memory_store": IpcOk,
    "memory_recall": IpcMemories,
    "memory_list": IpcMemories,
    "memory_delete": IpcDeletedCount,
    "memory_forget": IpcDeletedCount,
    "receive_uploads": IpcContent,
}
"""The success reply of each command ``type``."""

IpcReply = (
    IpcTaskId
    | IpcTasks
    | IpcContent
    | IpcHistory
    | IpcMemories
    | IpcDeletedCount
    | IpcOk
    | IpcError
)
"""Any IPC reply (``extra="forbid"`` tells them apart)."""


def parse_ipc_reply(command: str, data: bytes | str) -> IpcOk | IpcError:
    """Validate a reply to ``command`` as its typed success or an :class:`IpcError`."""
    return _reply_adapters[command].validate_json(data)  # type: ignore[no-any-return]


def _reply_adapter(reply: type[IpcOk]) -> TypeAdapter[Any]:
    union: Any = reply | IpcError
    return TypeAdapter(union)


_reply_adapters: Final = {name: _reply_adapter(reply) for name, reply in IPC_REPLIES.items()}
