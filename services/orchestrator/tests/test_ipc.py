"""Agents' IPC on ``host.ipc.<id>``: each command's answer and its error path.

Requests are sent the way a runner sends them: with credentials minted for
that agent, which only allow its own ``host.ipc.<id>``. The scheduler and swarm
services are not built yet: where a command is forwarded to them, a stand-in
with *their* bus identity answers with their contract (flagged as such).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nats.errors
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from praktor_common import subjects
from praktor_common.contracts import scheduler, swarm
from praktor_common.contracts.ipc import EMBEDDING_DIM
from praktor_common.contracts.service import Deleted, Done, ServiceError
from praktor_common.db.messages import insert_message
from praktor_common.db.models import Agent, Message
from praktor_common.ids import new_id
from praktor_common.testing.nats import NatsTestServer
from praktor_orchestrator.paths import AgentPaths
from services.orchestrator.tests.harness import Running, make_config, orchestrator_without_agents

pytestmark = pytest.mark.integration

Ipc = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]


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


async def ipc_as(run: Running, agent_id: str) -> Ipc:
    nc = await run.as_agent(agent_id)

    async def request(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps({"type": kind, "payload": payload}).encode()
        reply = await nc.request(subjects.host_ipc(agent_id), body, timeout=15)
        answer: dict[str, Any] = json.loads(reply.data)
        return answer

    return request


@pytest.fixture
async def coder(run: Running) -> Ipc:
    return await ipc_as(run, "coder")


def unit(index: int, *, towards: int | None = None, weight: float = 0.0) -> list[float]:
    """A unit vector along axis ``index`` (tilted ``weight`` towards axis ``towards``)."""
    vector = [0.0] * EMBEDDING_DIM
    vector[index] = 1.0
    if towards is not None:
        vector[towards] = weight
        norm = (1 + weight * weight) ** 0.5
        vector = [x / norm for x in vector]
    return vector


# -- USER.md and AGENT.md -------------------------------------------------------------------


async def test_user_md_starts_from_the_template_and_can_be_replaced(
    coder: Ipc, run: Running
) -> None:
    first = await coder("read_user_md", {})
    assert first["ok"] is True
    assert first["content"].startswith("# User Profile")

    assert await coder("update_user_md", {"content": "# User Profile\n\nName: Ada\n"}) == {
        "ok": True
    }

    assert (await coder("read_user_md", {}))["content"] == "# User Profile\n\nName: Ada\n"
    path = AgentPaths(run.data_dir).global_dir / "USER.md"
    assert path.read_text() == "# User Profile\n\nName: Ada\n"
    assert oct(path.stat().st_mode & 0o777) == "0o644"


async def test_agent_md_is_the_callers_own(coder: Ipc, run: Running) -> None:
    assert (await coder("read_agent_md", {}))["content"].startswith("# Agent Identity")

    assert await coder("update_agent_md", {"content": "# Agent Identity\n\nName: Cody\n"}) == {
        "ok": True
    }

    paths = AgentPaths(run.data_dir)
    assert (paths.workspace_dir("coder") / "AGENT.md").read_text().endswith("Name: Cody\n")
    assert "Cody" not in (paths.workspace_dir("writer") / "AGENT.md").read_text()
    writer = await ipc_as(run, "writer")
    assert "Cody" not in (await writer("read_agent_md", {}))["content"]


async def test_agent_md_replaced_by_a_symlink_is_refused_not_followed(
    coder: Ipc, run: Running
) -> None:
    secret = run.data_dir / "secret.txt"
    secret.write_text("the vault passphrase")
    agent_md = AgentPaths(run.data_dir).workspace_dir("coder") / "AGENT.md"
    agent_md.unlink()
    agent_md.symlink_to(secret)

    answer = await coder("read_agent_md", {})

    assert "error" in answer
    assert "passphrase" not in json.dumps(answer)


async def test_a_too_large_file_is_refused(coder: Ipc) -> None:
    answer = await coder("update_user_md", {"content": "x" * 300_000})
    assert answer["error"].startswith("content too large")


# -- history --------------------------------------------------------------------------------


async def store_messages(engine: AsyncEngine) -> None:
    async with AsyncSession(engine) as session, session.begin():
        for agent, sender, text in (
            ("coder", "user:7", "How do I bake sourdough bread?"),
            ("coder", "agent", "Feed the starter, then bake the bread at 250 degrees."),
            ("coder", "user:7", "Thanks! And pizza?"),
            ("writer", "user:7", "Write a poem about bread"),
        ):
            await insert_message(
                session, msg_id=new_id(), agent_id=agent, sender=sender, role="user", content=text
            )


async def test_history_search_finds_the_callers_messages_best_first(
    coder: Ipc, migrated_engine: AsyncEngine
) -> None:
    await store_messages(migrated_engine)

    answer = await coder("search_history", {"query": "bread", "limit": 20})

    assert answer["ok"] is True
    contents = [m["content"] for m in answer["messages"]]
    assert contents == [
        "Feed the starter, then bake the bread at 250 degrees.",
        "How do I bake sourdough bread?",
    ]
    assert {m["sender"] for m in answer["messages"]} == {"agent", "user:7"}
    assert all(datetime.fromisoformat(m["created_at"]).tzinfo for m in answer["messages"])
    assert len((await coder("search_history", {"query": "bread", "limit": 1}))["messages"]) == 1


@pytest.mark.parametrize(
    "query",
    [
        "'); DROP TABLE messages; --",
        "bread & | ! :* <-> (((",
        "bread\x00starter",
        '"unterminated phrase',
        "x" * 5000,
        "   ",
    ],
)
async def test_history_search_with_hostile_input_answers_and_harms_nothing(
    coder: Ipc, migrated_engine: AsyncEngine, query: str
) -> None:
    await store_messages(migrated_engine)

    answer = await coder("search_history", {"query": query})

    assert answer.get("ok") is True, answer
    async with AsyncSession(migrated_engine) as session:
        assert await session.scalar(select(func.count()).select_from(Message)) == 4


async def test_history_search_needs_a_query(coder: Ipc) -> None:
    answer = await coder("search_history", {"query": ""})
    assert answer["error"].startswith("invalid payload")


# -- memory ---------------------------------------------------------------------------------


async def test_memories_are_stored_listed_and_replaced_by_key(coder: Ipc) -> None:
    assert await coder("memory_store", {"key": "coffee", "content": "Ada drinks it black"}) == {
        "ok": True
    }
    await coder("memory_store", {"key": "city", "content": "Ada lives in Athens", "tags": "home"})
    await coder("memory_store", {"key": "coffee", "content": "Ada drinks flat whites now"})

    listed = await coder("memory_list", {})

    assert [(m["key"], m["content"], m["tags"]) for m in listed["memories"]] == [
        ("coffee", "Ada drinks flat whites now", ""),
        ("city", "Ada lives in Athens", "home"),
    ]


async def test_recall_fuses_keywords_and_meaning_and_leaves_unrelated_memories_out(
    coder: Ipc, run: Running
) -> None:
    await coder("memory_store", {"key": "dog", "content": "Rex, a beagle", "embedding": unit(0)})
    await coder("memory_store", {"key": "car", "content": "A blue Fiat", "embedding": unit(1)})
    await coder("memory_store", {"key": "tax", "content": "Filed in May", "embedding": unit(2)})
    writer = await ipc_as(run, "writer")
    await writer("memory_store", {"key": "dog", "content": "not coder's", "embedding": unit(0)})

    # no word of the query is in any memory; its meaning is close to "dog" only
    answer = await coder(
        "memory_recall", {"query": "my pet", "embedding": unit(0, towards=1, weight=0.2)}
    )

    assert [m["key"] for m in answer["memories"]] == ["dog"]
    assert answer["memories"][0]["access_count"] == 1
    counts = {m["key"]: m["access_count"] for m in (await coder("memory_list", {}))["memories"]}
    assert counts == {"dog": 1, "car": 0, "tax": 0}

    both = await coder("memory_recall", {"query": "Fiat", "embedding": unit(0)})
    assert sorted(m["key"] for m in both["memories"]) == ["car", "dog"]

    nothing = await coder("memory_recall", {"query": "weather", "embedding": unit(5)})
    assert nothing == {"ok": True, "memories": []}


async def test_recall_without_an_embedding_uses_keywords_only(coder: Ipc) -> None:
    await coder("memory_store", {"key": "coffee", "content": "Ada drinks it black"})
    await coder("memory_store", {"key": "tea", "content": "Earl Grey in the evening"})

    answer = await coder("memory_recall", {"query": "coffee"})

    assert [m["key"] for m in answer["memories"]] == ["coffee"]


async def test_a_memory_with_a_wrong_embedding_is_refused(coder: Ipc) -> None:
    answer = await coder("memory_store", {"key": "k", "content": "c", "embedding": [0.1, 0.2]})
    assert answer["error"].startswith("invalid payload")
    assert (await coder("memory_list", {}))["memories"] == []


async def test_delete_and_forget_remove_only_what_they_name(coder: Ipc, run: Running) -> None:
    await coder("memory_store", {"key": "coffee", "content": "black coffee"})
    await coder("memory_store", {"key": "coffee-shop", "content": "the coffee place on 5th"})
    await coder("memory_store", {"key": "city", "content": "Athens"})
    writer = await ipc_as(run, "writer")
    await writer("memory_store", {"key": "coffee", "content": "writer's coffee"})

    assert await coder("memory_delete", {"key": "city"}) == {"ok": True, "deleted": 1}
    assert await coder("memory_delete", {"key": "city"}) == {"ok": True, "deleted": 0}
    assert await coder("memory_forget", {"query": "coffee"}) == {"ok": True, "deleted": 2}

    assert (await coder("memory_list", {}))["memories"] == []
    assert len((await writer("memory_list", {}))["memories"]) == 1


async def test_memory_of_an_agent_without_a_row_is_refused(run: Running) -> None:
    swarm_member = await ipc_as(run, "swarm-0192f0c8-dev")
    answer = await swarm_member("memory_store", {"key": "k", "content": "c"})
    assert "configured agents" in answer["error"]


# -- extension status -----------------------------------------------------------------------


async def test_extension_status_is_kept_on_the_agent(
    coder: Ipc, migrated_engine: AsyncEngine
) -> None:
    status = {"marketplaces": ["m"], "plugins": [{"name": "p", "enabled": True}], "errors": []}
    assert await coder("extension_status", status) == {"ok": True}
    async with AsyncSession(migrated_engine) as session:
        row = await session.get(Agent, "coder")
    assert row is not None
    assert row.extension_status == status


# -- forwarded to other services ------------------------------------------------------------


TASK_ID = "0192f0c8-0000-7000-8000-00000000000a"


def task_info(agent_id: str) -> scheduler.TaskInfo:
    return scheduler.TaskInfo(
        id=TASK_ID,
        agent_id=agent_id,
        name="Standup",
        schedule=scheduler.Schedule(kind="cron", cron_expr="0 9 * * 1-5"),
        schedule_display="weekdays at 09:00",
        prompt="Reply with: standup time",
        status="active",
        timezone="UTC",
        created_at=datetime.now(UTC),
    )


async def stand_in(
    server: NatsTestServer, identity: str, subject: str, answer: Callable[[bytes], Any]
) -> list[bytes]:
    """Another service (by its own identity) answering one subject with its contract."""
    seen: list[bytes] = []
    nc: Client = await server.connect(identity)

    async def respond(msg: Msg) -> None:
        seen.append(msg.data)
        await msg.respond(answer(msg.data).model_dump_json(by_alias=True).encode())

    await nc.subscribe(subject, cb=respond)
    await nc.flush()
    return seen


async def test_task_tools_are_forwarded_to_the_scheduler_for_the_caller_only(
    coder: Ipc, nats_clients: NatsTestServer
) -> None:
    created = await stand_in(
        nats_clients,
        "scheduler",
        scheduler.TASK_CREATE.subject,
        lambda _: scheduler.TaskReply(task=task_info("coder")),
    )
    listed = await stand_in(
        nats_clients,
        "scheduler",
        scheduler.TASK_LIST.subject,
        lambda _: scheduler.TaskList(tasks=[task_info("coder")]),
    )
    deleted = await stand_in(
        nats_clients, "scheduler", scheduler.TASK_DELETE.subject, lambda _: Deleted(deleted=False)
    )

    answer = await coder(
        "create_task",
        {"name": "Standup", "schedule": "0 9 * * MON-FRI", "prompt": "Reply with: standup"},
    )
    assert answer == {"ok": True, "id": TASK_ID}
    request = scheduler.TaskCreateRequest.model_validate_json(created[0])
    assert (request.agent_id, request.schedule) == ("coder", "0 9 * * MON-FRI")

    tasks = await coder("list_tasks", {})
    assert [t["id"] for t in tasks["tasks"]] == [TASK_ID]
    assert scheduler.TaskListRequest.model_validate_json(listed[0]).agent_id == "coder"

    gone = await coder("delete_task", {"id": TASK_ID})
    assert gone == {"error": f"task not found: {TASK_ID}"}
    assert scheduler.TaskRef.model_validate_json(deleted[0]).owner == "coder"


async def test_a_scheduler_error_reaches_the_agent(
    coder: Ipc, nats_clients: NatsTestServer
) -> None:
    await stand_in(
        nats_clients,
        "scheduler",
        scheduler.TASK_UPDATE.subject,
        lambda _: ServiceError(error="invalid schedule: every blue moon", code="invalid"),
    )
    answer = await coder("update_task", {"id": TASK_ID, "schedule": "every blue moon"})
    assert answer == {"error": "invalid schedule: every blue moon"}


async def test_a_forwarded_command_nobody_answers_is_a_clear_error(coder: Ipc) -> None:
    answer = await coder("list_tasks", {})
    assert answer == {"error": "the scheduler service did not answer; try again later"}


async def test_swarm_messages_go_to_the_swarm_service_stamped_with_the_caller(
    coder: Ipc, nats_clients: NatsTestServer
) -> None:
    seen = await stand_in(nats_clients, "swarm", swarm.SWARM_CHAT.subject, lambda _: Done())
    assert await coder("swarm_message", {"content": "I found the bug"}) == {"ok": True}
    relayed = swarm.SwarmChatRequest.model_validate_json(seen[0])
    assert (relayed.from_, relayed.content) == ("coder", "I found the bug")


# -- what is not a command ------------------------------------------------------------------


async def test_unknown_invalid_and_malformed_requests_get_errors(run: Running) -> None:
    nc = await run.as_agent("coder")

    async def raw(body: bytes) -> dict[str, Any]:
        reply = await nc.request(subjects.host_ipc("coder"), body, timeout=10)
        answer: dict[str, Any] = json.loads(reply.data)
        return answer

    assert await raw(b"not json") == {"error": "invalid command"}
    assert await raw(b'{"payload": {}}') == {"error": "invalid command"}
    assert await raw(b'{"type": "launch_missiles", "payload": {}}') == {
        "error": "unknown command: launch_missiles"
    }
    invalid = await raw(b'{"type": "create_task", "payload": {"name": "x"}}')
    assert invalid["error"].startswith("invalid payload")


async def test_an_agent_cannot_ask_as_another_agent(run: Running) -> None:
    nc = await run.as_agent("coder")
    body = json.dumps({"type": "read_agent_md", "payload": {}}).encode()
    with pytest.raises((nats.errors.TimeoutError, nats.errors.NoRespondersError)):
        await nc.request(subjects.host_ipc("writer"), body, timeout=2)
