"""Turns end to end: input pulled from the agent's consumer, outputs on agent.<id>.output."""

from __future__ import annotations

import itertools
import time

import pytest
from runner_harness import (
    API_KEY,
    GLOBAL_MARKER,
    IDENTITY_MARKER,
    ORIGIN,
    USER_MARKER,
    WORKSPACE_MARKER,
    Host,
    RunnerFactory,
)

from praktor_common.contracts.agent import AgentText
from praktor_common.testing.fake_anthropic import FakeAnthropic, text_reply
from praktor_common.testing.nats import wait_until

pytestmark = pytest.mark.integration

ANSWER = "Hello! I am the agent and this answer arrives in several pieces over time."


async def test_a_turn_streams_its_text_then_publishes_its_result_and_is_acknowledged(
    host: Host, runners: RunnerFactory, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.queue(text_reply(ANSWER, chunks=8, chunk_delay=0.15))
    await runners().start(host)

    turn = host.turn("What can you do?")
    await host.send(turn)
    result = await host.result(turn.msg_id)

    assert result.content == ANSWER
    assert result.origin == ORIGIN
    assert result.terminal_reason == "completed"
    assert not result.is_error
    assert result.session_id
    assert result.usage is not None
    assert result.usage.input_tokens > 0
    outputs = [o for o in host.outputs if o.payload.msg_id == turn.msg_id]
    assert outputs[-1].nats_msg_id == f"{turn.msg_id}:result"
    texts = host.texts(turn.msg_id)
    assert len(texts) >= 2, "the answer streamed over ~1 s arrives as partial text"
    seqs = [t.payload.seq for t in texts if isinstance(t.payload, AgentText)]
    assert seqs == list(range(len(texts)))
    assert [t.nats_msg_id for t in texts] == [f"{turn.msg_id}:text:{s}" for s in seqs]
    contents = [t.payload.content for t in texts if isinstance(t.payload, AgentText)]
    for shorter, longer in itertools.pairwise(contents):
        assert longer.startswith(shorter)
        assert len(longer) > len(shorter)
    assert ANSWER.startswith(contents[-1])
    assert all(t.payload.origin == ORIGIN for t in texts)

    await wait_until(host.all_settled, within=10)

    request = fake_anthropic.conversation[0]
    assert request.api_key == API_KEY
    assert request.last_user_text() == "What can you do?"
    assert USER_MARKER in request.system_text
    assert IDENTITY_MARKER in request.system_text
    assert GLOBAL_MARKER in request.system_text
    memory = request.all_text()
    assert WORKSPACE_MARKER in memory, "the workspace CLAUDE.md is Claude Code's project memory"
    assert memory.count(GLOBAL_MARKER) >= 2, "the global CLAUDE.md is also its user memory"


async def test_the_next_turn_resumes_the_session_in_the_warm_process(
    host: Host, runners: RunnerFactory, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.reply_text("First answer.")
    fake_anthropic.reply_text("Second answer.")
    runner = runners()
    first = host.turn("first question")
    await host.send(first)  # waits in JetStream while the runner starts
    started = time.monotonic()
    await runner.start(host)
    one = await host.result(first.msg_id)
    cold = time.monotonic() - started
    pids = runner.claude_pids()
    await wait_until(host.all_settled, within=10)

    second = host.turn("second question")
    sent = await host.send(second)
    two = await host.result(second.msg_id)
    warm = time.monotonic() - sent

    assert two.content == "Second answer."
    assert two.session_id == one.session_id
    assert runner.claude_pids() == pids, "the same Claude Code process served both turns"
    history = fake_anthropic.conversation[-1].message_texts()
    assert any("first question" in m for m in history)
    assert any("First answer." in m for m in history)
    print(f"\nturn latency: cold (runner start + first turn) {cold:.2f}s, warm {warm:.2f}s")
    assert warm < cold
    assert warm < 2.0


async def test_claude_code_runs_with_the_agents_env_and_none_of_the_runners(
    host: Host, runners: RunnerFactory
) -> None:
    runner = runners(GITHUB_TOKEN="ghp-the-agents-own")
    await runner.start(host)
    turn = host.turn("hi")
    await host.send(turn)
    await host.result(turn.msg_id)

    [pid] = runner.claude_pids()
    env = runner.environ_of(pid)
    assert env["GITHUB_TOKEN"] == "ghp-the-agents-own"
    assert env["HOME"] == runner.env["HOME"]
    assert env["CLAUDE_CONFIG_DIR"] == f"{runner.env['HOME']}/.claude"
    assert env["ANTHROPIC_API_KEY"] == API_KEY
    assert env["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] == "1"
    assert env["DISABLE_TELEMETRY"] == env["DISABLE_AUTOUPDATER"] == "1"
    assert not [name for name in env if name.startswith("PRAKTOR_")], "no bus credentials path"
