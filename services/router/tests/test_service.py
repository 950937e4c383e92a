"""The router service end to end on the bus: inbound in → agent input or a chat reply out.

Real NATS (authenticated, the router's own identity) and PostgreSQL; see
:mod:`.harness` for who plays the other services.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from nats.js import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncEngine

from praktor_common.commands import commands_help
from praktor_common.contracts.deliver import Delivery
from praktor_common.contracts.inbound import ReplyTo
from praktor_common.contracts.orchestrator import AgentStatus
from praktor_common.contracts.origin import Origin
from praktor_common.testing.nats import NatsTestServer
from praktor_router.chat_routes import ChatRoutes
from services.router.tests.harness import ORIGIN, Bus, inbound, make_config, running_router

pytestmark = pytest.mark.integration

AGENTS = {"general": "Everyday questions", "coder": "Writes code", "writer": "Writes prose"}


@pytest.fixture
async def bus(
    nats_clients: NatsTestServer, fresh_streams: JetStreamContext, migrated_engine: AsyncEngine
) -> AsyncIterator[Bus]:
    async with running_router(
        nats_clients, migrated_engine, make_config(AGENTS, "general")
    ) as running:
        yield running


def notice_text(delivery: Delivery) -> str:
    assert delivery.notice is not None
    return delivery.notice.text


async def test_a_message_becomes_input_for_the_agent_the_default_agent_names(bus: Bus) -> None:
    await bus.answer_routes_as("general", lambda _q: b'{"agent": "coder"}')
    message = inbound("fix the failing test")
    await bus.send(message)
    routed = await bus.routed(message.msg_id)
    assert routed.agent_id == "coder"
    assert routed.text == "fix the failing test"
    assert routed.origin == ORIGIN
    assert routed.sender == "user:7"
    assert bus.input_subjects == ["agent.coder.input"]
    assert ("start", {"agent_id": "general", "swarm": None}) in bus.orchestrator.requests


async def test_the_routing_question_carries_the_agents_and_the_message(bus: Bus) -> None:
    questions: list[str] = []

    def answer(question: bytes) -> bytes:
        questions.append(json.loads(question)["text"])
        return b"writer"

    await bus.answer_routes_as("general", answer)
    message = inbound("a haiku about NATS, please")
    await bus.send(message)
    assert (await bus.routed(message.msg_id)).agent_id == "writer"
    [question] = questions
    assert "- coder: Writes code" in question
    assert question.endswith(
        "User message: a haiku about NATS, please\n\n"
        "Respond with ONLY the name of the best agent, nothing else."
    )


async def test_a_redelivered_inbound_message_gives_no_second_turn(bus: Bus) -> None:
    message = inbound("@coder only once")
    await bus.send(message, msg_id="first-publish")
    await bus.send(message, msg_id="retried-publish")  # stored twice: the router sees it twice
    await bus.handled()
    assert (await bus.routed(message.msg_id)).text == "only once"
    js = bus.admin.jetstream()
    assert (await js.stream_info("INBOUND")).state.messages == 2
    assert (await js.stream_info("AGENT_INPUT")).state.messages == 1
    assert len(bus.inputs) == 1


async def test_the_chats_agent_is_remembered_and_used_when_routing_cannot_ask(bus: Bus) -> None:
    first = inbound("@writer draft the intro")
    await bus.send(first)
    await bus.routed(first.msg_id)
    await bus.handled()
    chats = ChatRoutes(bus.engine)
    assert await chats.last_agent("telegram", "42") == "writer"
    # Nobody answers agent.general.route: smart routing falls back to the chat's agent.
    follow_up = inbound("now the conclusion")
    await bus.send(follow_up)
    assert (await bus.routed(follow_up.msg_id)).agent_id == "writer"


async def test_another_chat_without_history_falls_back_to_the_default_agent(bus: Bus) -> None:
    other = Origin(channel="telegram", chat_id="43", user_id="8")
    message = inbound("hello", origin=other)
    await bus.send(message)
    routed = await bus.routed(message.msg_id)
    assert routed.agent_id == "general"
    assert routed.origin == other


async def test_a_reply_to_an_agents_message_goes_back_to_it_with_the_quote(bus: Bus) -> None:
    message = inbound(
        "and the tests?", reply_to=ReplyTo(message_id="5", agent_id="coder", text="Fixed.")
    )
    await bus.send(message)
    routed = await bus.routed(message.msg_id)
    assert (routed.agent_id, routed.text) == (
        "coder",
        "[Replying to message: Fixed.]\n\nand the tests?",
    )


async def test_a_voice_note_is_routed_on_its_transcript(bus: Bus) -> None:
    await bus.answer_routes_as("general", lambda q: b"writer" if b"poem" in q else b"general")
    message = inbound("", voice_transcript="write me a poem about the sea")
    await bus.send(message)
    routed = await bus.routed(message.msg_id)
    assert (routed.agent_id, routed.text) == (
        "writer",
        "[Voice message] write me a poem about the sea",
    )


async def test_an_explicit_unknown_agent_is_answered_in_the_chat(bus: Bus) -> None:
    message = inbound("hi", agent_id="ghost")
    await bus.send(message)
    delivery = await bus.delivered(lambda d: d.msg_id == message.msg_id)
    assert delivery.kind == "error"
    assert delivery.notice is not None
    assert delivery.notice.code == "agent_not_found"
    assert delivery.reply_to == "100"
    assert bus.inputs == []


async def test_a_swarm_while_the_swarm_service_does_not_run_is_not_available_yet(bus: Bus) -> None:
    message = inbound("@swarm coder>writer: ship the release notes")
    await bus.send(message)
    delivery = await bus.delivered(lambda d: d.msg_id == message.msg_id)
    assert delivery.kind == "error"
    assert notice_text(delivery).startswith("Swarms are not available yet")


async def test_a_swarm_with_a_syntax_error_gets_the_help(bus: Bus) -> None:
    message = inbound("@swarm coder writer ship it")
    await bus.send(message)
    delivery = await bus.delivered(lambda d: d.msg_id == message.msg_id)
    assert "Missing `: `" in notice_text(delivery)


# --------------------------------------------------------------------------- commands


async def test_commands_lists_the_commands(bus: Bus) -> None:
    message = inbound("/commands")
    await bus.send(message)
    delivery = await bus.delivered(lambda d: d.msg_id == message.msg_id)
    assert (delivery.kind, notice_text(delivery)) == ("notice", commands_help())


async def test_start_greets_the_agent_and_makes_it_the_chats_agent(bus: Bus) -> None:
    message = inbound("/start@praktor_bot coder")
    await bus.send(message)
    routed = await bus.routed(message.msg_id)
    assert (routed.agent_id, routed.text) == ("coder", "Hello!")
    await bus.handled()
    assert await ChatRoutes(bus.engine).last_agent("telegram", "42") == "coder"


async def test_stop_aborts_the_chats_agent(bus: Bus) -> None:
    first = inbound("@writer long essay")
    await bus.send(first)
    await bus.routed(first.msg_id)
    stop = inbound("/stop")
    await bus.send(stop)
    delivery = await bus.delivered(lambda d: d.msg_id == stop.msg_id)
    assert notice_text(delivery) == "Stopped *writer*."
    assert ("abort", {"agent_id": "writer"}) in bus.orchestrator.requests
    assert [i.msg_id for i in bus.inputs] == [first.msg_id]


async def test_reset_starts_a_new_session_for_the_named_agent(bus: Bus) -> None:
    message = inbound("/reset @coder")
    await bus.send(message)
    delivery = await bus.delivered(lambda d: d.msg_id == message.msg_id)
    assert notice_text(delivery) == "New session started for *coder*."
    assert ("reset", {"agent_id": "coder"}) in bus.orchestrator.requests


async def test_agents_shows_what_the_orchestrator_reports(bus: Bus) -> None:
    bus.orchestrator.statuses = [
        AgentStatus(agent_id="general", state="idle", model="claude-opus-4-7", is_default=True)
    ]
    message = inbound("/agents")
    await bus.send(message)
    delivery = await bus.delivered(lambda d: d.msg_id == message.msg_id)
    assert notice_text(delivery) == (
        "*Agents*\n\n*general* (default)\n  Status: `idle` | Model: `claude-opus-4-7`"
    )


async def test_nix_says_that_nix_is_not_available(bus: Bus) -> None:
    message = inbound("/nix add ripgrep")
    await bus.send(message)
    delivery = await bus.delivered(lambda d: d.msg_id == message.msg_id)
    assert delivery.kind == "error"
    assert notice_text(delivery) == (
        "Could not run `/nix add` for *general*: "
        "nix is not available: agents run without a nix store in this runtime"
    )


async def test_an_unknown_command_is_routed_like_text(bus: Bus) -> None:
    message = inbound("/frobnicate now")
    await bus.send(message)
    routed = await bus.routed(message.msg_id)
    assert (routed.agent_id, routed.text) == ("general", "/frobnicate now")
