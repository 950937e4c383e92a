"""agent.<id>.control and agent.<id>.route: ping, abort, clear_session, routing queries."""

from __future__ import annotations

import asyncio

import pytest
from runner_harness import Host, RunnerFactory

from praktor_common.contracts.agent import ControlError, ControlOk, PingReply
from praktor_common.testing.fake_anthropic import FakeAnthropic, text_reply
from praktor_common.testing.nats import wait_until

pytestmark = pytest.mark.integration


async def ping(host: Host) -> PingReply:
    reply = await host.control("ping")
    assert isinstance(reply, PingReply)
    return reply


async def test_ping_shows_the_running_turn_and_abort_drops_it_and_what_waits_without_results(
    host: Host, runners: RunnerFactory, fake_anthropic: FakeAnthropic
) -> None:
    hold = asyncio.Event()
    fake_anthropic.queue(text_reply("Working on it, this takes a while", chunks=4, hold=hold))
    await runners().start(host)
    assert await ping(host) == PingReply(
        processing=False, pending_messages=0, active_tasks=0, background_tasks=0
    )

    running, waiting = host.turn("a long job"), host.turn("and then this")
    await host.send(running)
    await fake_anthropic.wait_for_requests(1)
    await host.send(waiting)
    await wait_until(lambda: _pending_is(host, 1), within=10)

    busy = await ping(host)
    assert busy.processing
    assert busy.busy

    assert isinstance(await host.control("abort"), ControlOk)
    await wait_until(host.all_settled, within=10)
    await asyncio.sleep(1.0)
    assert host.results(running.msg_id) == []
    assert host.results(waiting.msg_id) == []
    assert len(fake_anthropic.conversation) == 1, "the waiting input never ran"
    assert await ping(host) == PingReply(
        processing=False, pending_messages=0, active_tasks=0, background_tasks=0
    )
    hold.set()

    fake_anthropic.reply_text("Fresh start.")
    after = host.turn("are you there?")
    await host.send(after)
    assert (await host.result(after.msg_id)).content == "Fresh start."


async def _pending_is(host: Host, count: int) -> bool:
    return (await ping(host)).pending_messages == count


async def test_clear_session_makes_the_next_turn_start_a_new_session(
    host: Host, runners: RunnerFactory, fake_anthropic: FakeAnthropic
) -> None:
    await runners().start(host)
    first = host.turn("hello")
    await host.send(first)
    before = await host.result(first.msg_id)

    assert isinstance(await host.control("clear_session"), ControlOk)
    second = host.turn("hello again")
    await host.send(second)
    after = await host.result(second.msg_id)

    assert after.session_id != before.session_id
    history = fake_anthropic.conversation[-1].message_texts("user")
    assert not any(text == "hello" for text in history[:-1])


async def test_an_unknown_control_command_is_named_in_the_error(
    host: Host, runners: RunnerFactory
) -> None:
    await runners().start(host)
    assert await host.control("reboot") == ControlError(error="unknown command: reboot")


async def test_a_routing_query_answers_with_the_models_choice_and_refuses_while_busy(
    host: Host, runners: RunnerFactory, fake_anthropic: FakeAnthropic
) -> None:
    runner = runners()
    await runner.start(host)
    fake_anthropic.reply_text("  coder \n")
    reply = await host.route("Please fix the failing build")
    assert reply.agent == "coder"
    routing = fake_anthropic.conversation[-1]
    assert "Please fix the failing build" in routing.last_user_text()
    assert routing.tool_names == [], "a routing query offers no tools"

    hold = asyncio.Event()
    fake_anthropic.queue(text_reply("busy...", hold=hold))
    turn = host.turn("long work")
    await host.send(turn)
    await wait_until(lambda: len(fake_anthropic.conversation) == 2, within=20)
    assert (await host.route("who should answer?")).agent == runner.env["PRAKTOR_AGENT_ID"]
    hold.set()
    await host.result(turn.msg_id)
