"""Raw agent output: redacted, stored once, session kept, republished to the chat."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from nats.js import JetStreamContext
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from praktor_common.contracts.agent import AgentResult, AgentText
from praktor_common.contracts.origin import Origin
from praktor_common.db.models import Agent, Message
from praktor_common.ids import new_id
from praktor_common.testing.nats import NatsTestServer, wait_until
from services.orchestrator.tests.harness import (
    ORIGIN,
    Running,
    make_config,
    orchestrator_without_agents,
)

pytestmark = pytest.mark.integration

API_KEY = "sk-ant-api03-Zq8vK2mN5pR7tW1xY4"
OAUTH = "sk-ant-oat01-Hh3Jj6Kk9Ll2Mm5Nn8"


@pytest.fixture
async def run(
    fresh_streams: JetStreamContext,
    nats_clients: NatsTestServer,
    migrated_engine: AsyncEngine,
    data_dir: Path,
) -> AsyncIterator[Running]:
    config = make_config({"coder": {}}, anthropic_api_key=API_KEY, oauth_token=OAUTH)
    async with orchestrator_without_agents(
        nats_clients, migrated_engine, data_dir, config
    ) as running:
        yield running


def result(content: str, **fields: object) -> AgentResult:
    values: dict[str, object] = {
        "msg_id": new_id(),
        "content": content,
        "terminal_reason": "completed",
        "session_id": "sess-1",
        "origin": ORIGIN,
    }
    values.update(fields)
    return AgentResult.model_validate(values)


async def messages(engine: AsyncEngine, agent_id: str = "coder") -> list[Message]:
    async with AsyncSession(engine) as session:
        rows = await session.scalars(
            select(Message).where(Message.agent_id == agent_id).order_by(Message.id)
        )
        return list(rows.all())


async def session_of(engine: AsyncEngine, agent_id: str = "coder") -> str | None:
    async with AsyncSession(engine) as session:
        value: str | None = await session.scalar(
            select(Agent.session_id).where(Agent.id == agent_id)
        )
        return value


async def test_a_result_is_republished_on_its_chats_deliver_subject(run: Running) -> None:
    answer = result("Here you go.")
    await run.publish_output("coder", answer)

    final = await run.delivered(lambda d: d.msg_id == answer.msg_id)
    assert (final.kind, final.content, final.agent_id) == ("final", "Here you go.", "coder")
    assert final.origin == ORIGIN
    assert final.reply_to == ORIGIN.message_id
    assert run.delivery_subjects[run.deliveries.index(final)] == "deliver.telegram.42"


async def test_a_redelivered_result_is_stored_once_and_announced_once(
    run: Running, migrated_engine: AsyncEngine
) -> None:
    answer = result("Once.")
    await run.publish_output("coder", answer)
    await run.publish_output("coder", answer)

    await run.delivered(lambda d: d.msg_id == answer.msg_id)
    await wait_until(lambda: _handled_twice(run, migrated_engine), 10)
    stored = await messages(migrated_engine)
    assert [(m.sender, m.role, m.content) for m in stored] == [("agent", "assistant", "Once.")]
    assert stored[0].origin == ORIGIN.model_dump(mode="json")
    events = [e for e in run.events if e.type == "message"]
    assert len(events) == 1
    assert events[0].data.id == stored[0].id


async def _handled_twice(run: Running, engine: AsyncEngine) -> bool:
    """Both copies went through the orchestrator's consumer and were acknowledged."""
    delivered = 0
    for partition in range(8):
        info = await run.admin_js.consumer_info("AGENT_OUTPUT", f"orchestrator-p{partition}")
        if info.num_pending or info.num_ack_pending:
            return False
        delivered += info.delivered.consumer_seq or 0
    return delivered >= 2


async def test_the_session_of_a_conversation_is_kept_but_not_that_of_a_task(
    run: Running, migrated_engine: AsyncEngine
) -> None:
    chat = result("Chat answer.", session_id="sess-chat")
    await run.publish_output("coder", chat)
    await run.delivered(lambda d: d.msg_id == chat.msg_id)
    await wait_until(lambda: _session_is(migrated_engine, "sess-chat"), 10)

    task_origin = Origin(channel="scheduler", chat_id="task-1")
    task = result(
        "Task answer.",
        session_id="sess-task",
        task_id="0192f0c8-0000-7000-8000-000000000001",
        task_run_id="0192f0c8-0000-7000-8000-000000000002",
        origin=task_origin,
    )
    await run.publish_output("coder", task)
    await run.delivered(lambda d: d.msg_id == task.msg_id)

    assert await session_of(migrated_engine) == "sess-chat"


async def _session_is(engine: AsyncEngine, value: str) -> bool:
    return await session_of(engine) == value


async def test_the_model_credentials_are_redacted_plain_and_split_by_whitespace(
    run: Running, migrated_engine: AsyncEngine
) -> None:
    wrapped = API_KEY[:10] + "\n    " + API_KEY[10:20] + " " + API_KEY[20:]
    answer = result(f"key={API_KEY}; token: {OAUTH}; wrapped: {wrapped}.")
    await run.publish_output("coder", answer)

    final = await run.delivered(lambda d: d.msg_id == answer.msg_id)
    assert final.content == "key=[REDACTED]; token: [REDACTED]; wrapped: [REDACTED]."
    (stored,) = await messages(migrated_engine)
    assert stored.content == final.content
    event = await run.evented(lambda e: e.type == "message")
    assert event.type == "message"
    assert event.data.text == final.content


async def test_streamed_text_is_redacted_and_holds_back_a_secret_it_ends_in(
    run: Running,
) -> None:
    msg_id = new_id()
    leaking = AgentText(msg_id=msg_id, seq=3, content=f"use {API_KEY[:12]}", origin=ORIGIN)
    await run.publish_output("coder", leaking)
    snapshot = await run.delivered(lambda d: d.msg_id == msg_id and d.seq == 3)
    assert (snapshot.kind, snapshot.content) == ("text", "use ")

    whole = AgentText(msg_id=msg_id, seq=4, content=f"use {API_KEY} now", origin=ORIGIN)
    await run.publish_output("coder", whole)
    snapshot = await run.delivered(lambda d: d.msg_id == msg_id and d.seq == 4)
    assert snapshot.content == "use [REDACTED] now"


async def test_an_abnormal_end_is_stored_with_its_reason_and_delivered_with_it(
    run: Running, migrated_engine: AsyncEngine
) -> None:
    answer = result("Partial work.", terminal_reason="max_turns")
    await run.publish_output("coder", answer)

    final = await run.delivered(lambda d: d.msg_id == answer.msg_id)
    assert final.terminal_reason == "max_turns"
    await wait_until(lambda: _stored_count(migrated_engine, 1), 10)
    (stored,) = await messages(migrated_engine)
    assert stored.meta == {"terminal_reason": "max_turns"}


async def _stored_count(engine: AsyncEngine, count: int) -> bool:
    return len(await messages(engine)) == count


async def test_a_persons_input_is_stored_once_when_it_is_published(
    run: Running, migrated_engine: AsyncEngine
) -> None:
    sent = await run.send_input("coder", "What is 2+2?")
    await run.send_input("coder", "What is 2+2?", msg_id=sent.msg_id)
    await run.send_input("coder", "an earlier turn was interrupted", kind="retry_notice")

    event = await run.evented(lambda e: e.type == "message")
    assert event.type == "message"
    assert (event.data.role, event.data.text, event.data.msg_id) == (
        "user",
        "What is 2+2?",
        sent.msg_id,
    )
    await wait_until(lambda: _stored_count(migrated_engine, 1), 10)
    (stored,) = await messages(migrated_engine)
    assert (stored.msg_id, stored.sender, stored.role) == (sent.msg_id, "user:7", "user")
