"""Files agents send: runner tool → IPC → orchestrator → object store → the turn's chat.

Everything is real: the runner's ``file_send`` tool talks over the bus with
credentials minted for its agent, the orchestrator stores the file under its
own identity and publishes the delivery; the test reads the delivery stream
and the object store as the gateway would.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncEngine

from praktor_agent_runner.current_turn import TurnSlot
from praktor_agent_runner.filesend import FileSendTool
from praktor_agent_runner.ipc import IpcClient
from praktor_common import filestore, subjects
from praktor_common.bus import publish_model
from praktor_common.contracts.agent import AgentInput
from praktor_common.contracts.base import MAX_FILE_BYTES
from praktor_common.contracts.deliver import Delivery
from praktor_common.contracts.origin import Origin
from praktor_common.ids import new_id
from praktor_common.testing.nats import NatsTestServer, wait_until
from praktor_orchestrator.paths import AgentPaths
from praktor_orchestrator.turn_origins import TurnOrigins
from services.orchestrator.tests.harness import Running, make_config, orchestrator_without_agents

pytestmark = pytest.mark.integration

API_KEY = "sk-ant-api03-Zq8vK2mN5pR7tW1xY4"
CHAT = Origin(channel="telegram", chat_id="42", user_id="7", message_id="100")
OTHER_CHAT = Origin(channel="telegram", chat_id="77", user_id="7", message_id="300")


@pytest.fixture
async def run(
    fresh_streams: JetStreamContext,
    nats_clients: NatsTestServer,
    migrated_engine: AsyncEngine,
    data_dir: Path,
) -> AsyncIterator[Running]:
    config = make_config({"coder": {}, "writer": {}}, anthropic_api_key=API_KEY)
    async with orchestrator_without_agents(
        nats_clients, migrated_engine, data_dir, config
    ) as running:
        yield running


def workspace(run: Running, agent_id: str) -> Path:
    path = AgentPaths(run.data_dir).workspace_dir(agent_id)
    path.mkdir(parents=True, exist_ok=True)
    return path


async def turn_of(run: Running, agent_id: str, origin: Origin, *, task: str | None = None) -> str:
    """A turn the router (or, with ``task``, the scheduler) started; its msg_id once the
    orchestrator has stored its input."""
    message = AgentInput(
        msg_id=new_id(),
        agent_id=agent_id,
        text="please send it",
        origin=origin,
        sender="scheduler" if task else "user:7",
        kind="task" if task else "conversational",
        task_id=task,
        task_run_id=new_id() if task else None,
    )
    await publish_model(run.router, subjects.agent_input(agent_id), message, message.msg_id)
    turns = TurnOrigins(run.orchestrator.store.engine)

    async def stored_input() -> bool:
        return await turns.turn_of(agent_id, message.msg_id) is not None

    await wait_until(stored_input)
    return message.msg_id


async def tool_of(run: Running, agent_id: str, msg_id: str | None) -> FileSendTool:
    """The runner's tool for a process working on turn ``msg_id``."""
    nc = await run.as_agent(agent_id)

    async def request(subject: str, body: bytes, timeout: float) -> bytes:
        reply = await nc.request(subject, body, timeout=timeout)
        return bytes(reply.data)

    return FileSendTool(IpcClient(agent_id, request), workspace(run, agent_id), TurnSlot(msg_id))


async def send(tool: FileSendTool, path: str, caption: str = "") -> str:
    result = await tool.file_send({"path": path, "caption": caption})
    return str(result["content"][0]["text"])


async def stored(run: Running, delivery: Delivery) -> bytes:
    assert delivery.file is not None
    return await filestore.read_object(run.admin_js, delivery.file.bucket, delivery.file.key)


def files_for(run: Running, msg_id: str) -> list[Delivery]:
    return [d for d in run.deliveries if d.kind == "file" and d.msg_id == msg_id]


async def test_each_file_goes_to_the_chat_of_the_turn_that_sent_it(run: Running) -> None:
    chat_turn = await turn_of(run, "coder", CHAT)
    task_id = new_id()
    task_turn = await turn_of(run, "coder", OTHER_CHAT, task=task_id)
    ws = workspace(run, "coder")
    (ws / "chart.png").write_bytes(b"\x89PNG chart")
    (ws / "report.pdf").write_bytes(b"%PDF report")
    # the task's turn ran last: upstream would send both files to its chat
    chat_tool = await tool_of(run, "coder", chat_turn)
    task_tool = await tool_of(run, "coder", task_turn)

    assert await send(chat_tool, "chart.png", "The chart") == "File sent: chart.png (image/png)"
    assert await send(task_tool, str(ws / "report.pdf")) == (
        "File sent: report.pdf (application/pdf)"
    )

    await wait_until(lambda: len(files_for(run, chat_turn)) == len(files_for(run, task_turn)) == 1)
    [chart], [report] = files_for(run, chat_turn), files_for(run, task_turn)
    assert chart.origin == CHAT
    assert report.origin == OTHER_CHAT
    assert chart.agent_id == report.agent_id == "coder"
    assert (chart.task_id, report.task_id) == (None, task_id)
    assert (chart.content, chart.reply_to) == ("The chart", "100")
    assert chart.file is not None
    assert report.file is not None
    assert (chart.file.name, chart.file.mime_type, chart.file.size) == (
        "chart.png",
        "image/png",
        10,
    )
    assert report.file.mime_type == "application/pdf"
    assert await stored(run, chart) == b"\x89PNG chart"
    assert await stored(run, report) == b"%PDF report"
    subjects_of = {d.msg_id: s for d, s in zip(run.deliveries, run.delivery_subjects, strict=True)}
    assert subjects_of[chat_turn] == subjects.deliver("telegram", "42")
    assert subjects_of[task_turn] == subjects.deliver("telegram", "77")


async def test_a_file_of_12_mib_arrives_whole_after_travelling_in_parts(run: Running) -> None:
    msg_id = await turn_of(run, "coder", CHAT)
    data = os.urandom(MAX_FILE_BYTES)
    (workspace(run, "coder") / "big.zip").write_bytes(data)

    answer = await send(await tool_of(run, "coder", msg_id), "big.zip")

    assert answer == "File sent: big.zip (application/zip)"
    await wait_until(lambda: len(files_for(run, msg_id)) == 1)
    [delivery] = files_for(run, msg_id)
    assert delivery.file is not None
    assert delivery.file.size == MAX_FILE_BYTES
    assert hashlib.sha256(await stored(run, delivery)).digest() == hashlib.sha256(data).digest()


async def test_two_files_of_one_turn_are_both_delivered(run: Running) -> None:
    msg_id = await turn_of(run, "coder", CHAT)
    ws = workspace(run, "coder")
    (ws / "a.png").write_bytes(b"a")
    (ws / "b.png").write_bytes(b"b")
    tool = await tool_of(run, "coder", msg_id)
    await send(tool, "a.png")
    await send(tool, "b.png")
    await wait_until(lambda: len(files_for(run, msg_id)) == 2)
    assert sorted(d.file.name for d in files_for(run, msg_id) if d.file) == ["a.png", "b.png"]


async def test_secrets_are_cleaned_from_the_name_caption_and_text_content(run: Running) -> None:
    msg_id = await turn_of(run, "coder", CHAT)
    (workspace(run, "coder") / f"key-{API_KEY}.txt").write_text(f"the key is {API_KEY}\n")

    await send(await tool_of(run, "coder", msg_id), f"key-{API_KEY}.txt", f"see {API_KEY}")

    await wait_until(lambda: len(files_for(run, msg_id)) == 1)
    [delivery] = files_for(run, msg_id)
    assert delivery.file is not None
    assert API_KEY not in delivery.model_dump_json()
    assert delivery.file.name == "key-_REDACTED_.txt"
    assert delivery.content == "see [REDACTED]"
    assert await stored(run, delivery) == b"the key is [REDACTED]\n"


async def test_a_turn_of_another_agent_is_refused_and_nothing_is_sent(run: Running) -> None:
    writers_turn = await turn_of(run, "writer", OTHER_CHAT)
    (workspace(run, "coder") / "leak.png").write_bytes(b"x")

    answer = await send(await tool_of(run, "coder", writers_turn), "leak.png")

    assert answer == (
        f"Error: turn {writers_turn} is not one of yours: a file goes to the chat of one of "
        "your own turns"
    )
    assert files_for(run, writers_turn) == []


async def raw_ipc(nc: Client, agent_id: str, kind: str, payload: dict[str, Any]) -> Any:
    body = json.dumps({"type": kind, "payload": payload}).encode()
    return json.loads((await nc.request(subjects.host_ipc(agent_id), body, timeout=15)).data)


async def test_requests_a_runner_would_not_make_get_clear_errors(run: Running) -> None:
    msg_id = await turn_of(run, "coder", CHAT)
    coder, writer = await run.as_agent("coder"), await run.as_agent("writer")
    data = base64.b64encode(b"x").decode()
    ref = {"bucket": filestore.FILES_BUCKET, "key": "telegram/42/1/photo.jpg", "name": "a.jpg"}

    no_turn = await raw_ipc(coder, "coder", "send_file", {"name": "a.png", "data": data})
    as_ref = await raw_ipc(
        coder, "coder", "send_file", {"name": "a.jpg", "file": {**ref, "size": 1}, "msg_id": msg_id}
    )
    upload = new_id()
    assert await raw_ipc(
        coder, "coder", "send_file_part", {"upload_id": upload, "index": 0, "data": data}
    ) == {"ok": True}
    out_of_order = await raw_ipc(
        coder, "coder", "send_file_part", {"upload_id": upload, "index": 2, "data": data}
    )
    stolen = await raw_ipc(
        writer, "writer", "send_file", {"name": "a.png", "upload_id": upload, "msg_id": msg_id}
    )

    assert no_turn["error"].startswith("send_file needs the msg_id of the turn")
    assert as_ref == {"error": "send the file's bytes (data or parts), not an object ref"}
    assert out_of_order == {"error": "expected part 1, got part 2: send parts in order"}
    assert stolen["error"].startswith(f"no upload {upload}")
    assert files_for(run, msg_id) == []
