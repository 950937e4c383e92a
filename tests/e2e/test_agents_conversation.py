"""A person talks to an agent through the whole suite: every service, the real agent-runner
and Claude Code run by the process runtime; only the model API is a fake.

One suite serves the module and the tests run in order, as one conversation.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import pytest_asyncio

from praktor_agent_runner.browser import find_browser
from praktor_common.testing.fake_anthropic import (
    Answer,
    ErrorReply,
    RecordedRequest,
    ThreadedFakeAnthropic,
    text_reply,
)
from tests.e2e.agent_harness import (
    API_KEY,
    Chat,
    agents_config,
    assert_browser_offered,
    assert_claude_md_and_web_tools_reached,
    eventually,
    kill_runner,
    query,
    runner_pid,
    start_agent_suite,
    stop_mid_turn_then_talk_on,
    store_then_recall_a_memory,
    write_claude_md,
)
from tests.e2e.harness import Suite

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

RETRY_NOTE = "[Praktor: this message is delivered again"
AGENTS: dict[str, dict[str, Any]] = {
    "general": {"description": "General assistant"},
    # Python cannot even start with this home: the runtime ends before the agent is ready
    "broken": {"description": "Cannot start", "env": {"PYTHONHOME": "/nonexistent"}},
}


@pytest.fixture(scope="module")
def model() -> Iterator[ThreadedFakeAnthropic]:
    with ThreadedFakeAnthropic() as served:
        yield served


@pytest.fixture(scope="module")
def suite(model: ThreadedFakeAnthropic) -> Iterator[Suite]:
    with start_agent_suite(agents_config(model.base_url, AGENTS)) as running:
        write_claude_md(running, "general")
        yield running


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def chat(suite: Suite) -> AsyncIterator[Chat]:
    opened = await Chat.open(suite)
    try:
        yield opened
    finally:
        await opened.close()


async def test_a_message_in_is_answered_on_deliver_with_the_models_streamed_reply(
    chat: Chat, model: ThreadedFakeAnthropic
) -> None:
    model.fake.reply_text("Hello from the model.", chunks=3, chunk_delay=0.05)

    message = await chat.send("Hi there", agent_id="general")
    final = await chat.final(message.msg_id, within=120)

    assert final.content == "Hello from the model."
    assert final.agent_id == "general"
    assert final.origin == message.origin
    streamed = chat.of(message.msg_id, "text")
    assert streamed, "partial text is delivered while the model writes"
    assert "Hello from the model.".startswith(streamed[-1].content)
    [request] = model.fake.conversation
    assert request.last_user_text().endswith("Hi there")
    assert request.model == "claude-sonnet-4-5"
    assert request.api_key == API_KEY, "the upstream gets the configured key"
    stored = await query(
        chat.suite,
        "select role, content from messages where agent_id = 'general' order by id",
    )
    assert {"role": "user", "content": "Hi there"} in stored
    assert {"role": "assistant", "content": "Hello from the model."} in stored


async def test_claude_md_files_and_the_web_tools_reach_the_model(
    model: ThreadedFakeAnthropic,
) -> None:
    assert_claude_md_and_web_tools_reached(model.fake.conversation[0])


async def test_the_browser_is_offered_to_the_model_when_the_machine_has_one(
    model: ThreadedFakeAnthropic,
) -> None:
    if find_browser({"PATH": "/usr/local/bin:/usr/bin:/bin"}) is None:
        pytest.skip("no Chromium + playwright-mcp here: scripts/browser-setup.sh installs them")
    assert_browser_offered(model.fake.conversation[0])


async def test_a_memory_stored_in_one_turn_is_recalled_in_a_later_one(
    chat: Chat, model: ThreadedFakeAnthropic
) -> None:
    await store_then_recall_a_memory(chat, model, "general")


async def test_a_model_api_that_refuses_the_request_is_reported_to_the_person(
    chat: Chat, model: ThreadedFakeAnthropic
) -> None:
    def refuse(_request: RecordedRequest) -> Answer:
        return ErrorReply(400, "E2E-REFUSED: this model is not available to you")

    model.fake.responder = refuse
    try:
        message = await chat.send("Summarise everything ever written.", agent_id="general")
        await eventually(
            lambda: bool(chat.of(message.msg_id, "final", "error")), 120, "the failure reported"
        )
    finally:
        model.fake.responder = lambda _request: text_reply("OK")
    [reported] = chat.of(message.msg_id, "final", "error")
    assert reported.terminal_reason == "api_error"
    assert "E2E-REFUSED: this model is not available to you" in chat.shown(reported)


async def test_stop_aborts_the_running_turn_and_the_agent_answers_the_next_message(
    chat: Chat, model: ThreadedFakeAnthropic
) -> None:
    await stop_mid_turn_then_talk_on(chat, model, "general")


async def test_a_runner_killed_mid_turn_redoes_the_message_and_answers_it_once(
    chat: Chat, model: ThreadedFakeAnthropic
) -> None:
    gate = model.hold()
    model.fake.queue(text_reply("Half an ans", hold=gate))
    model.fake.reply_text("Done on the second try.")
    before = len(model.fake.conversation)
    message = await chat.send("Do the thing.", agent_id="general")
    await model.wait_for_requests_async(before + 1, timeout=60)
    await eventually(lambda: bool(chat.of(message.msg_id, "text")), 30, "the turn to stream")
    pid = runner_pid(chat.suite, "general")
    assert pid is not None

    kill_runner(pid)
    # the input is redelivered once its ack wait (60 s) runs out
    final = await chat.final(message.msg_id, within=150)
    model.release(gate)

    assert final.content == "Done on the second try."
    retried = model.fake.conversation[-1].last_user_text()
    assert retried.startswith(RETRY_NOTE)
    assert retried.endswith("Do the thing.")
    await asyncio.sleep(3)  # time for a second answer, were there one
    assert len(chat.of(message.msg_id, "final")) == 1
    answers = await query(
        chat.suite,
        "select content from messages where agent_id = 'general' and role = 'assistant' "
        "and content = 'Done on the second try.'",
    )
    assert len(answers) == 1


async def test_the_conversation_continues_after_the_orchestrator_restarts(
    chat: Chat, model: ThreadedFakeAnthropic
) -> None:
    runner_before = runner_pid(chat.suite, "general")
    await asyncio.to_thread(chat.suite.restart_service, "orchestrator")
    model.fake.reply_text("We talked about teal.")
    message = await chat.send("What did we talk about?", agent_id="general")

    assert (await chat.final(message.msg_id, within=120)).content == "We talked about teal."
    assert runner_pid(chat.suite, "general") not in (None, runner_before), "a new runner"
    earlier = model.fake.conversation[-1].message_texts("user")
    assert any(text.endswith("Hi there") for text in earlier), "the first turn is resumed"
    assert any("favourite colour is teal" in text for text in earlier)


async def test_an_agent_that_cannot_start_is_reported_to_whoever_wrote(chat: Chat) -> None:
    message = await chat.send("Hello?", agent_id="broken")

    error = await chat.error(message.msg_id, within=90)

    assert error.notice is not None
    assert error.notice.code == "agent_unavailable"
    assert "broken" in chat.shown(error)
