"""Agents' requests on ``host.ipc.<id>`` (spec §4.5, §7.9).

The caller is the subject's agent: an agent's credentials only allow its own
``host.ipc.<id>``, so the subject can be trusted and a body never says who
asks. Each command answers ``{"ok": true, …}`` or ``{"error": "…"}``:

* ``read_user_md`` / ``update_user_md`` — the person's profile, global USER.md;
* ``read_agent_md`` / ``update_agent_md`` — the caller's own AGENT.md;
* ``search_history`` — the caller's messages (the query is never parsed raw);
* ``memory_store`` / ``memory_recall`` / ``memory_list`` / ``memory_delete`` /
  ``memory_forget`` — the caller's memories (:mod:`.memory`);
* ``extension_status`` — what the runner installed, kept on the agent row;
* ``send_file_part`` / ``send_file`` — a file for the chat of the caller's turn
  (:mod:`.sendfile`);
* ``receive_uploads`` — the files a person sent with one of the caller's turns,
  saved into its workspace (:mod:`.upload_requests`);
* task tools → ``svc.scheduler.*`` (limited to the caller's own tasks) and
  ``swarm_message`` → ``svc.swarm.chat``, answering with the other service's
  reply or a clear error when it does not answer;
* anything else → ``unknown command: X``.

Errors never echo the request's content.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Final, Protocol

import structlog
from pydantic import ValidationError

from praktor_common.bus.dead_letter import error_summary
from praktor_common.contracts import scheduler, swarm
from praktor_common.contracts.ipc import (
    IPC_REPLIES,
    IPC_REQUEST,
    AnyIpcRequest,
    IpcContent,
    IpcCreateTask,
    IpcDeletedCount,
    IpcDeleteTask,
    IpcError,
    IpcExtensionStatus,
    IpcHistory,
    IpcListTasks,
    IpcMemories,
    IpcMemoryDelete,
    IpcMemoryForget,
    IpcMemoryList,
    IpcMemoryRecall,
    IpcMemoryStore,
    IpcOk,
    IpcReadAgentMd,
    IpcReadUserMd,
    IpcReceiveUploads,
    IpcSearchHistory,
    IpcSendFile,
    IpcSendFilePart,
    IpcSwarmMessage,
    IpcTaskId,
    IpcTasks,
    IpcUpdateAgentMd,
    IpcUpdateTask,
    IpcUpdateUserMd,
)
from praktor_common.contracts.origin import Origin
from praktor_common.contracts.service import Command, ServiceError
from praktor_common.subjects import agent_id_from_subject

from . import files
from .forward import NoAnswerError, ServiceRequester
from .memory import MemoryStore
from .paths import AgentPaths
from .sendfile import FileSender, SendFileError
from .store import OrchestratorStore
from .upload_requests import UnknownTurnError, UploadReceiver

log = structlog.get_logger(__name__)

MAX_FILE_CHARS: Final = 256 * 1024
"""USER.md and AGENT.md are instructions, not storage."""

IpcAnswer = IpcOk | IpcError


class Agents(Protocol):
    """What the lifecycle knows about an agent that IPC needs."""

    def workspace_of(self, agent_id: str) -> str | None: ...

    def last_origin(self, agent_id: str) -> Origin | None: ...

    def touch(self, agent_id: str) -> None: ...


class IpcFailure(Exception):
    """Raised inside a command to answer ``{"error": text}``."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class IpcHandler:
    """Answers one ``host.ipc.<id>`` request."""

    def __init__(
        self,
        *,
        paths: AgentPaths,
        store: OrchestratorStore,
        memories: MemoryStore,
        agents: Agents,
        services: ServiceRequester,
        files: FileSender,
        uploads: UploadReceiver | None = None,
    ) -> None:
        self._paths = paths
        self._uploads = uploads
        self._files = files
        self._store = store
        self._memories = memories
        self._agents = agents
        self._services = services
        self._commands: dict[type[Any], Callable[[str, Any], Awaitable[IpcAnswer]]] = {
            IpcReadUserMd: self._read_user_md,
            IpcUpdateUserMd: self._update_user_md,
            IpcReadAgentMd: self._read_agent_md,
            IpcUpdateAgentMd: self._update_agent_md,
            IpcSearchHistory: self._search_history,
            IpcMemoryStore: self._memory_store,
            IpcMemoryRecall: self._memory_recall,
            IpcMemoryList: self._memory_list,
            IpcMemoryDelete: self._memory_delete,
            IpcMemoryForget: self._memory_forget,
            IpcExtensionStatus: self._extension_status,
            IpcCreateTask: self._create_task,
            IpcListTasks: self._list_tasks,
            IpcUpdateTask: self._update_task,
            IpcDeleteTask: self._delete_task,
            IpcSwarmMessage: self._swarm_message,
            IpcSendFile: self._send_file,
            IpcSendFilePart: self._send_file_part,
            IpcReceiveUploads: self._receive_uploads,
        }

    async def handle(self, data: bytes, subject: str) -> IpcAnswer:
        try:
            caller = agent_id_from_subject(subject)
        except ValueError:
            return IpcError(error="invalid command")
        request = parse_request(data)
        if isinstance(request, IpcError):
            return request
        self._agents.touch(caller)
        command = self._commands[type(request)]
        try:
            return await command(caller, request)
        except IpcFailure as exc:
            return IpcError(error=exc.text)
        except Exception as exc:
            log.exception("ipc command failed", agent_id=caller, command=request.type)
            return IpcError(error=f"{request.type} failed: {type(exc).__name__}")

    # -- files ------------------------------------------------------------------------------

    async def _read_user_md(self, caller: str, _: IpcReadUserMd) -> IpcAnswer:
        return IpcContent(content=_read(self._paths.global_dir / files.USER_MD))

    async def _update_user_md(self, caller: str, request: IpcUpdateUserMd) -> IpcAnswer:
        _write(self._paths.global_dir / files.USER_MD, request.payload.content)
        log.info("USER.md updated", agent_id=caller)
        return IpcOk()

    async def _read_agent_md(self, caller: str, _: IpcReadAgentMd) -> IpcAnswer:
        return IpcContent(content=_read(self._agent_md(caller)))

    async def _update_agent_md(self, caller: str, request: IpcUpdateAgentMd) -> IpcAnswer:
        _write(self._agent_md(caller), request.payload.content)
        log.info("AGENT.md updated", agent_id=caller)
        return IpcOk()

    def _agent_md(self, caller: str) -> Path:
        return self._workspace(caller) / files.AGENT_MD

    def _workspace(self, caller: str) -> Path:
        workspace = self._agents.workspace_of(caller)
        if workspace is None:
            raise IpcFailure(f"agent {caller} has no workspace")
        directory = self._paths.workspace_dir(workspace)
        if not directory.is_dir():
            raise IpcFailure(f"the workspace of agent {caller} does not exist yet")
        return directory

    async def _receive_uploads(self, caller: str, request: IpcReceiveUploads) -> IpcAnswer:
        if self._uploads is None:
            raise IpcFailure("receiving files is not available on this host")
        try:
            lines = await self._uploads.receive(
                caller, request.payload.msg_id, self._workspace(caller)
            )
        except UnknownTurnError:
            raise IpcFailure("that message is not one of your turns") from None
        return IpcContent(content=lines)

    # -- history and memory -----------------------------------------------------------------

    async def _search_history(self, caller: str, request: IpcSearchHistory) -> IpcAnswer:
        payload = request.payload
        messages = await self._store.search_history(caller, payload.query, payload.limit)
        return IpcHistory(messages=messages)

    async def _memory_store(self, caller: str, request: IpcMemoryStore) -> IpcAnswer:
        await self._known(caller, "memory")
        p = request.payload
        await self._memories.store(caller, p.key, p.content, p.tags, p.embedding)
        return IpcOk()

    async def _memory_recall(self, caller: str, request: IpcMemoryRecall) -> IpcAnswer:
        p = request.payload
        found = await self._memories.recall(caller, p.query, p.embedding, p.limit)
        return IpcMemories(memories=found)

    async def _memory_list(self, caller: str, _: IpcMemoryList) -> IpcAnswer:
        return IpcMemories(memories=await self._memories.list(caller))

    async def _memory_delete(self, caller: str, request: IpcMemoryDelete) -> IpcAnswer:
        return IpcDeletedCount(deleted=await self._memories.delete(caller, request.payload.key))

    async def _memory_forget(self, caller: str, request: IpcMemoryForget) -> IpcAnswer:
        count = await self._memories.forget(caller, request.payload.query)
        return IpcDeletedCount(deleted=count)

    async def _extension_status(self, caller: str, request: IpcExtensionStatus) -> IpcAnswer:
        status = request.payload.model_dump(mode="json")
        if not await self._store.set_extension_status(caller, status):
            raise IpcFailure(f"agent {caller} is not a configured agent")
        return IpcOk()

    async def _known(self, caller: str, what: str) -> None:
        if not await self._store.agent_exists(caller):
            raise IpcFailure(f"{what} is kept only for configured agents, not for {caller}")

    # -- forwarded ------------------------------------------------------------------------

    async def _create_task(self, caller: str, request: IpcCreateTask) -> IpcAnswer:
        p = request.payload
        reply = await self._forward(
            scheduler.TASK_CREATE,
            scheduler.TaskCreateRequest(
                agent_id=caller,
                name=p.name,
                schedule=p.schedule,
                prompt=p.prompt,
                deliver_to=self._agents.last_origin(caller),
            ),
        )
        return IpcTaskId(id=reply.task.id)

    async def _list_tasks(self, caller: str, _: IpcListTasks) -> IpcAnswer:
        reply = await self._forward(scheduler.TASK_LIST, scheduler.TaskListRequest(agent_id=caller))
        return IpcTasks(tasks=reply.tasks)

    async def _update_task(self, caller: str, request: IpcUpdateTask) -> IpcAnswer:
        p = request.payload
        reply = await self._forward(
            scheduler.TASK_UPDATE,
            scheduler.TaskUpdateRequest(
                id=p.id, owner=caller, name=p.name, schedule=p.schedule, prompt=p.prompt
            ),
        )
        return IpcTaskId(id=reply.task.id)

    async def _delete_task(self, caller: str, request: IpcDeleteTask) -> IpcAnswer:
        task_id = request.payload.id
        reply = await self._forward(
            scheduler.TASK_DELETE, scheduler.TaskRef(id=task_id, owner=caller)
        )
        if not reply.deleted:
            raise IpcFailure(f"task not found: {task_id}")
        return IpcOk()

    async def _swarm_message(self, caller: str, request: IpcSwarmMessage) -> IpcAnswer:
        await self._forward(
            swarm.SWARM_CHAT, swarm.SwarmChatRequest(from_=caller, content=request.payload.content)
        )
        return IpcOk()

    async def _send_file_part(self, caller: str, request: IpcSendFilePart) -> IpcAnswer:
        try:
            self._files.part(caller, request.payload)
        except SendFileError as exc:
            raise IpcFailure(str(exc)) from None
        return IpcOk()

    async def _send_file(self, caller: str, request: IpcSendFile) -> IpcAnswer:
        try:
            await self._files.send(caller, request.payload)
        except SendFileError as exc:
            raise IpcFailure(str(exc)) from None
        return IpcOk()

    async def _forward(self, command: Command[Any, Any], payload: Any) -> Any:
        try:
            reply = await self._services.request(command, payload)
        except NoAnswerError as exc:
            raise IpcFailure(str(exc)) from exc
        if isinstance(reply, ServiceError):
            raise IpcFailure(reply.error)
        return reply


def parse_request(data: bytes) -> AnyIpcRequest | IpcError:
    """The request, or the error to answer: invalid JSON, unknown type, invalid payload."""
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return IpcError(error="invalid command")
    if not isinstance(doc, dict) or not isinstance(doc.get("type"), str):
        return IpcError(error="invalid command")
    kind: str = doc["type"]
    if kind not in IPC_REPLIES:
        shown = kind if len(kind) <= 64 and kind.isprintable() else kind[:64].encode().hex()
        return IpcError(error=f"unknown command: {shown}")
    try:
        return IPC_REQUEST.validate_json(data)
    except ValidationError as exc:
        return IpcError(error=f"invalid payload: {error_summary(exc)}")


def _read(path: Path) -> str:
    try:
        return files.read_text(path)
    except files.NotARegularFileError as exc:
        raise IpcFailure(f"read failed: {exc}") from exc


def _write(path: Path, content: str) -> None:
    if len(content) > MAX_FILE_CHARS:
        raise IpcFailure(f"content too large (at most {MAX_FILE_CHARS} characters)")
    try:
        files.write_text(path, content)
    except OSError as exc:
        raise IpcFailure(f"save failed: {exc.strerror or type(exc).__name__}") from exc
