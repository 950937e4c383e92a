"""``receive_uploads``: before a turn with files runs, its runner asks the host to put them
into the workspace. The host uses the attachments of the input *it* stored for that agent,
never a list from the request, so an agent cannot fetch another chat's files."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from nats.js import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncEngine

from praktor_common import subjects
from praktor_common.bus import publish_model
from praktor_common.contracts.agent import AgentInput
from praktor_common.contracts.files import Attachment
from praktor_common.filestore import FILES_BUCKET, files_bucket
from praktor_common.ids import new_id
from praktor_common.testing.nats import NatsTestServer
from praktor_orchestrator.paths import AgentPaths
from services.orchestrator.tests.harness import (
    ORIGIN,
    Running,
    make_config,
    orchestrator_without_agents,
)

pytestmark = pytest.mark.integration


@pytest.fixture
async def run(
    fresh_streams: JetStreamContext,
    nats_clients: NatsTestServer,
    migrated_engine: AsyncEngine,
    data_dir: Path,
) -> AsyncIterator[Running]:
    config = make_config({"coder": {}, "writer": {}})
    async with orchestrator_without_agents(
        nats_clients, migrated_engine, data_dir, config
    ) as running:
        yield running


async def ask(run: Running, agent_id: str, msg_id: str) -> dict[str, Any]:
    nc = await run.as_agent(agent_id)
    body = json.dumps({"type": "receive_uploads", "payload": {"msg_id": msg_id}}).encode()
    reply = await nc.request(subjects.host_ipc(agent_id), body, timeout=15)
    answer: dict[str, Any] = json.loads(reply.data)
    return answer


async def input_with_file(run: Running, nats_clients: NatsTestServer) -> AgentInput:
    gateway = await nats_clients.connect("gateway-telegram")
    store = await files_bucket(gateway.jetstream())
    await store.put("telegram/42/7/report.txt", b"quarterly numbers")
    message = AgentInput(
        msg_id=new_id(),
        agent_id="coder",
        text="What is in this file?",
        origin=ORIGIN,
        sender="user:42",
        attachments=[
            Attachment(
                bucket=FILES_BUCKET,
                key="telegram/42/7/report.txt",
                name="report.txt",
                mime_type="text/plain",
                size=17,
                kind="document",
            )
        ],
    )
    await publish_model(run.router, subjects.agent_input("coder"), message, message.msg_id)
    return message


async def test_the_turns_files_land_in_uploads_and_the_prompt_lines_name_them(
    run: Running, nats_clients: NatsTestServer
) -> None:
    message = await input_with_file(run, nats_clients)

    answer = await ask(run, "coder", message.msg_id)

    assert answer["ok"] is True
    line = answer["content"]
    assert line.startswith("[File received: report.txt (text/plain, 17 bytes) saved to uploads/")
    relative = line.split(" saved to ")[1].split(" in your workspace]")[0]
    saved = AgentPaths(run.data_dir).workspace_dir("coder") / relative
    assert saved.read_bytes() == b"quarterly numbers"


async def test_another_agent_cannot_fetch_the_files_of_that_turn(
    run: Running, nats_clients: NatsTestServer
) -> None:
    message = await input_with_file(run, nats_clients)
    assert (await ask(run, "coder", message.msg_id))["ok"] is True

    answer = await ask(run, "writer", message.msg_id)

    assert answer == {"error": "that message is not one of your turns"}
    uploads = AgentPaths(run.data_dir).workspace_dir("writer") / "uploads"
    assert not uploads.exists() or list(uploads.iterdir()) == []


async def test_a_turn_without_files_gets_no_lines(run: Running) -> None:
    message = await run.send_input("coder", "hello")

    assert await ask(run, "coder", message.msg_id) == {"ok": True, "content": ""}
