"""Nothing is lost: a runner that dies or is stopped mid-turn leaves the input to the next one."""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
from datetime import timedelta

import pytest
from runner_harness import Host, RunnerFactory

from praktor_common import streams
from praktor_common.bus import list_dead_letters
from praktor_common.contracts.agent import AgentText
from praktor_common.contracts.origin import Origin
from praktor_common.ids import new_id
from praktor_common.testing.fake_anthropic import FakeAnthropic, RecordedRequest, text_reply
from praktor_common.testing.nats import wait_until

pytestmark = pytest.mark.integration

RETRY_NOTE = "[Praktor: this message is delivered again (attempt 2)"


async def test_a_runner_killed_mid_turn_leaves_the_input_to_the_next_runner_as_a_retry(
    host: Host, runners: RunnerFactory, fake_anthropic: FakeAnthropic
) -> None:
    quick = dataclasses.replace(
        streams.agent_consumer(host.agent_id), ack_wait=timedelta(seconds=3)
    )
    await streams.ensure_consumer(host.admin, quick)  # a short ack wait keeps the test short
    fake_anthropic.queue(text_reply("Half an ans", hold=asyncio.Event()))
    fake_anthropic.reply_text("Done on the second try.")
    first = runners()
    await first.start(host)

    turn = host.turn("do the thing")
    await host.send(turn)
    await fake_anthropic.wait_for_requests(1)
    await wait_until(lambda: bool(host.texts(turn.msg_id)), within=10)
    first.kill()
    await first.wait()

    await runners().start(host)
    result = await host.result(turn.msg_id, within=30)

    assert result.content == "Done on the second try."
    retried = fake_anthropic.conversation[-1].last_user_text()
    assert retried.startswith(RETRY_NOTE)
    assert retried.endswith("do the thing")
    seqs = [t.payload.seq for t in host.texts(turn.msg_id) if isinstance(t.payload, AgentText)]
    assert seqs[0] == 0
    assert seqs[-1] >= 10_000, "the retry's partial text ranks above the first try's"
    await wait_until(host.all_settled, within=10)
    assert len(host.results(turn.msg_id)) == 1


async def test_sigterm_mid_turn_hands_the_input_back_unanswered_and_exits_cleanly(
    host: Host, runners: RunnerFactory, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.queue(text_reply("partial", hold=asyncio.Event()))
    fake_anthropic.reply_text("Answered by the next runner.")
    runner = runners()
    await runner.start(host)
    turn = host.turn("a long job")
    await host.send(turn)
    await fake_anthropic.wait_for_requests(1)

    stopping = time.monotonic()
    runner.terminate()
    assert await runner.wait(20) == 0
    assert time.monotonic() - stopping < 12, "stops within the runtimes' 10 s stop timeout"
    assert host.results(turn.msg_id) == []

    started = time.monotonic()
    await runners().start(host)
    result = await host.result(turn.msg_id, within=30)
    assert result.content == "Answered by the next runner."
    assert time.monotonic() - started < 20, "handed back at once, not after the 60 s ack wait"
    assert fake_anthropic.conversation[-1].last_user_text().startswith(RETRY_NOTE)


async def test_a_task_runs_in_its_own_fresh_session_while_a_conversation_turn_is_running(
    host: Host, runners: RunnerFactory, fake_anthropic: FakeAnthropic
) -> None:
    chatting = asyncio.Event()

    def answer(request: RecordedRequest) -> object:
        if "weekly report" in request.last_user_text():
            return text_reply("Report ready.")
        return text_reply("Still chatting", hold=chatting)

    fake_anthropic.responder = answer  # type: ignore[assignment]
    await runners().start(host)
    chat = host.turn("let's chat")
    await host.send(chat)
    await fake_anthropic.wait_for_requests(1)

    task_id, run_id = new_id(), new_id()
    task = host.turn(
        "write the weekly report",
        kind="task",
        task_id=task_id,
        task_run_id=run_id,
        sender="scheduler",
        origin=Origin(channel="scheduler", chat_id=task_id),
    )
    await host.send(task)
    report = await host.result(task.msg_id, within=30)

    assert report.content == "Report ready."
    assert (report.task_id, report.task_run_id) == (task_id, run_id)
    assert report.origin.channel == "scheduler"
    assert host.results(chat.msg_id) == [], "the conversation turn is still running"
    chatting.set()
    conversation = await host.result(chat.msg_id)
    assert conversation.session_id != report.session_id


async def test_an_input_that_is_not_one_is_dead_lettered_and_the_runner_goes_on(
    host: Host, runners: RunnerFactory, fake_anthropic: FakeAnthropic
) -> None:
    await runners().start(host)
    await host.send_raw(b'{"text": "no ids, no origin"}')

    async def dead_lettered() -> bool:
        return bool(await list_dead_letters(host.admin, stream=streams.AGENT_INPUT))

    await wait_until(dead_lettered, within=10)
    [entry] = await list_dead_letters(host.admin, stream=streams.AGENT_INPUT)
    assert entry.record.consumer == streams.agent_consumer_name(host.agent_id)
    assert entry.record.reason == "validation"
    assert "no ids" not in entry.record.error, "a dead letter never quotes the body"

    turn = host.turn("still there?")
    await host.send(turn)
    assert (await host.result(turn.msg_id)).content == "OK"
    await wait_until(host.all_settled, within=10)


async def test_a_session_that_cannot_be_resumed_is_started_anew(
    host: Host, runners: RunnerFactory
) -> None:
    gone = str(uuid.uuid4())
    await runners(PRAKTOR_SESSION_ID=gone).start(host)
    turn = host.turn("hello?")
    await host.send(turn)
    result = await host.result(turn.msg_id)
    assert result.content == "OK"
    assert not result.is_error
    assert result.session_id not in (None, gone)


async def test_without_its_consumer_the_runner_says_so_and_exits(
    host: Host, runners: RunnerFactory
) -> None:
    await streams.delete_agent_consumer(host.admin, host.agent_id)
    runner = runners()
    with pytest.raises(AssertionError, match="runner exited"):
        await runner.start(host)
    assert runner.returncode == 1
    assert "does not exist" in runner.log_tail()
