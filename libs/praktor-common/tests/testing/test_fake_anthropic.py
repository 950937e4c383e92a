"""The fake Anthropic Messages API: the wire format Claude Code reads, and its script."""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from praktor_common.testing.fake_anthropic import (
    ErrorReply,
    FakeAnthropic,
    RecordedRequest,
    Reply,
    Text,
    ThreadedFakeAnthropic,
    ToolUse,
    fake_anthropic,
    text_reply,
)

__all__ = ["fake_anthropic"]

HEADERS = {"x-api-key": "sk-test", "anthropic-version": "2023-06-01"}


def body(stream: bool = True, **extra: Any) -> dict[str, Any]:
    return {
        "model": "claude-sonnet-4-5",
        "max_tokens": 1024,
        "stream": stream,
        "system": [{"type": "text", "text": "You are a test."}],
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hello"}]}],
        **extra,
    }


async def post(
    fake: FakeAnthropic, payload: dict[str, Any], headers: dict[str, str] | None = None
) -> httpx.Response:
    async with httpx.AsyncClient(base_url=fake.base_url, timeout=10) as client:
        return await client.post("/v1/messages?beta=true", json=payload, headers=headers or HEADERS)


async def events(fake: FakeAnthropic, payload: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The server-sent events of a streamed answer, as (event, data) pairs."""
    found: list[tuple[str, dict[str, Any]]] = []
    async with (
        httpx.AsyncClient(base_url=fake.base_url, timeout=10) as client,
        client.stream("POST", "/v1/messages?beta=true", json=payload, headers=HEADERS) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        name = ""
        async for line in response.aiter_lines():
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: "):
                data = json.loads(line.removeprefix("data: "))
                assert data["type"] == name
                found.append((name, data))
    return found


async def test_a_text_answer_streams_the_full_event_sequence(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.queue(text_reply("Hello there!", chunks=3))
    seen = await events(fake_anthropic, body())
    assert [name for name, _ in seen] == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    start = seen[0][1]["message"]
    assert (start["role"], start["model"], start["content"]) == (
        "assistant",
        "claude-sonnet-4-5",
        [],
    )
    assert seen[1][1]["content_block"] == {"type": "text", "text": ""}
    assert "".join(d["delta"]["text"] for n, d in seen if n == "content_block_delta") == (
        "Hello there!"
    )
    delta = seen[-2][1]
    assert delta["delta"]["stop_reason"] == "end_turn"
    assert delta["usage"]["output_tokens"] > 0


async def test_a_tool_use_streams_its_input_as_json_and_stops_for_the_tool(
    fake_anthropic: FakeAnthropic,
) -> None:
    call = fake_anthropic.reply_tool_use(
        "mcp__praktor-memory__memory_store", {"key": "k", "content": "v"}, text="Storing."
    )
    seen = await events(fake_anthropic, body())
    starts = [d["content_block"] for n, d in seen if n == "content_block_start"]
    assert starts == [
        {"type": "text", "text": ""},
        {"type": "tool_use", "id": call.id, "name": call.name, "input": {}},
    ]
    [partial] = [d["delta"] for n, d in seen if d.get("index") == 1 and n == "content_block_delta"]
    assert partial["type"] == "input_json_delta"
    assert json.loads(partial["partial_json"]) == {"key": "k", "content": "v"}
    assert seen[-2][1]["delta"]["stop_reason"] == "tool_use"


async def test_without_stream_the_answer_is_one_json_message(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.queue(Reply(blocks=(Text("Hi"), ToolUse("Read", {"path": "/x"}, id="toolu_1"))))
    response = await post(fake_anthropic, body(stream=False))
    message = response.json()
    assert message["type"] == "message"
    assert message["content"] == [
        {"type": "text", "text": "Hi"},
        {"type": "tool_use", "id": "toolu_1", "name": "Read", "input": {"path": "/x"}},
    ]
    assert message["stop_reason"] == "tool_use"
    assert message["usage"]["input_tokens"] > 0


@pytest.mark.parametrize(
    ("status", "kind"), [(400, "invalid_request_error"), (529, "overloaded_error")]
)
async def test_a_scripted_error_has_the_apis_status_and_shape(
    fake_anthropic: FakeAnthropic, status: int, kind: str
) -> None:
    fake_anthropic.reply_error(status, "try later")
    response = await post(fake_anthropic, body())
    assert response.status_code == status
    assert response.json() == {"type": "error", "error": {"type": kind, "message": "try later"}}


async def test_every_request_is_recorded_with_headers_system_and_messages(
    fake_anthropic: FakeAnthropic,
) -> None:
    await post(fake_anthropic, body(), headers={**HEADERS, "Authorization": "Bearer tok"})
    [request] = fake_anthropic.requests
    assert request.path == "/v1/messages"
    assert request.query == {"beta": "true"}
    assert request.api_key == "sk-test"
    assert request.authorization == "Bearer tok"
    assert request.system_text == "You are a test."
    assert request.last_user_text() == "hello"
    assert request.model == "claude-sonnet-4-5"
    assert fake_anthropic.answers[0][0] is request


async def test_system_messages_and_reminders_are_tolerated_and_left_out_of_the_text(
    fake_anthropic: FakeAnthropic,
) -> None:
    payload = body(system="plain system prompt")
    payload["messages"] = [
        {"role": "system", "content": "environment details"},
        {
            "role": "user",
            "content": [
                {
                    "type": "text",
                    "text": "<system-reminder>\nCLAUDE.md says hi\n</system-reminder>",
                },
                {"type": "text", "text": "the question"},
            ],
        },
    ]
    assert (await post(fake_anthropic, payload)).status_code == 200
    request = fake_anthropic.requests[0]
    assert request.system_text == "plain system prompt"
    assert request.message_texts("system") == ["environment details"]
    assert request.last_user_text() == "the question"
    assert "CLAUDE.md says hi" in request.all_text()


async def test_deferred_tools_listed_in_a_reminder_count_as_offered(
    fake_anthropic: FakeAnthropic,
) -> None:
    reminder = (
        "<system-reminder>\nThe following deferred tools are now available via ToolSearch. "
        "Load them before calling them:\nWebFetch\nWebSearch\nmcp__browser__browser_click\n"
        "</system-reminder>"
    )
    payload = body(tools=[{"name": "Bash", "input_schema": {"type": "object"}}])
    payload["messages"][0]["content"].insert(0, {"type": "text", "text": reminder})
    assert (await post(fake_anthropic, payload)).status_code == 200
    request = fake_anthropic.requests[0]
    assert request.deferred_tools() == ["WebFetch", "WebSearch", "mcp__browser__browser_click"]
    assert request.offered_tools() == {
        "Bash",
        "WebFetch",
        "WebSearch",
        "mcp__browser__browser_click",
    }


def test_a_threaded_fake_answers_while_the_callers_thread_blocks() -> None:
    with ThreadedFakeAnthropic() as served:
        gate = served.hold()
        served.fake.queue(text_reply("held answer", hold=gate))
        result: list[httpx.Response] = []
        caller = threading.Thread(
            target=lambda: result.append(
                httpx.post(
                    served.base_url + "/v1/messages", json=body(), headers=HEADERS, timeout=10
                )
            )
        )
        caller.start()
        [request] = served.wait_for_requests(1, timeout=10)
        time.sleep(0.2)  # a blocking caller: the fake's own loop keeps serving
        assert caller.is_alive(), "the reply is held"
        served.release(gate)
        caller.join(10)
        assert request.last_user_text() == "hello"
        assert result[0].status_code == 200
        assert "held answer" in result[0].text
    assert served.fake.pending == 0


async def test_tool_results_of_the_last_user_message_are_read_as_text(
    fake_anthropic: FakeAnthropic,
) -> None:
    payload = body()
    payload["messages"] += [
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "x"}]},
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "t1",
                    "content": [
                        {"type": "text", "text": "stored\n"},
                        {"type": "text", "text": "<system-reminder>left</system-reminder>"},
                    ],
                }
            ],
        },
    ]
    await post(fake_anthropic, payload)
    [result] = fake_anthropic.requests[0].tool_results()
    assert (result["tool_use_id"], result["content"]) == ("t1", "stored")
    assert "left" in fake_anthropic.requests[0].tool_results(reminders=True)[0]["content"]


async def test_after_the_script_the_responder_answers(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.reply_text("scripted")

    async def responder(request: RecordedRequest) -> Reply | ErrorReply:
        return text_reply(f"echo: {request.last_user_text()}")

    fake_anthropic.responder = responder
    first = await post(fake_anthropic, body(stream=False))
    second = await post(fake_anthropic, body(stream=False))
    assert first.json()["content"][0]["text"] == "scripted"
    assert second.json()["content"][0]["text"] == "echo: hello"
    assert fake_anthropic.pending == 0


async def test_the_default_answer_is_ok_and_side_requests_leave_the_script_alone() -> None:
    def side(request: RecordedRequest) -> bool:
        return request.body.get("max_tokens") == 1

    async with FakeAnthropic(side_request=side) as fake:
        fake.reply_text("for the conversation")
        probe = await post(fake, body(stream=False, max_tokens=1))
        turn = await post(fake, body(stream=False))
        extra = await post(fake, body(stream=False))
        assert probe.json()["content"][0]["text"] == "OK"
        assert turn.json()["content"][0]["text"] == "for the conversation"
        assert extra.json()["content"][0]["text"] == "OK"
        assert len(fake.conversation) == 2


async def test_a_held_reply_pauses_after_its_first_text_until_released(
    fake_anthropic: FakeAnthropic,
) -> None:
    hold = asyncio.Event()
    fake_anthropic.queue(text_reply("one two", chunks=2, hold=hold))
    streaming = asyncio.create_task(events(fake_anthropic, body()))
    await fake_anthropic.wait_for_requests(1)
    await asyncio.sleep(0.2)
    assert not streaming.done()
    hold.set()
    seen = await streaming
    assert seen[-1][0] == "message_stop"
    assert "".join(d["delta"]["text"] for n, d in seen if n == "content_block_delta") == "one two"


async def test_stopping_does_not_wait_for_a_held_reply() -> None:
    fake = FakeAnthropic()
    await fake.start()
    fake.queue(text_reply("never finished", hold=asyncio.Event()))
    streaming = asyncio.create_task(events(fake, body()))
    await fake.wait_for_requests(1)
    started = time.monotonic()
    await fake.stop()
    assert time.monotonic() - started < 5
    streaming.cancel()


async def test_unknown_routes_and_bad_bodies_get_api_errors(fake_anthropic: FakeAnthropic) -> None:
    async with httpx.AsyncClient(base_url=fake_anthropic.base_url) as client:
        missing = await client.post("/v1/complete", json={})
        garbled = await client.post("/v1/messages", content=b"{not json")
        no_messages = await client.post("/v1/messages", json={"model": "m"})
    assert missing.status_code == 404
    assert missing.json()["error"]["type"] == "not_found_error"
    assert (garbled.status_code, no_messages.status_code) == (400, 400)
    assert fake_anthropic.requests == []


@pytest.mark.integration
async def test_the_real_claude_code_cli_runs_a_tool_round_trip_against_it(
    fake_anthropic: FakeAnthropic, tmp_path: Path
) -> None:
    from claude_agent_sdk import (
        ClaudeAgentOptions,
        ClaudeSDKClient,
        ResultMessage,
        create_sdk_mcp_server,
        tool,
    )

    calls: list[dict[str, Any]] = []

    @tool("remember", "Remember a fact", {"fact": str})
    async def remember(args: dict[str, Any]) -> dict[str, Any]:
        calls.append(args)
        return {"content": [{"type": "text", "text": f"remembered {args['fact']}"}]}

    call = fake_anthropic.reply_tool_use("mcp__notes__remember", {"fact": "sky is blue"})
    fake_anthropic.reply_text("I will remember that.")
    home = tmp_path / "home"
    home.mkdir()
    options = ClaudeAgentOptions(
        system_prompt="You are a test agent.",
        model="claude-sonnet-4-5",
        cwd=str(tmp_path),
        permission_mode="bypassPermissions",
        mcp_servers={"notes": create_sdk_mcp_server("notes", tools=[remember])},
        env={
            "HOME": str(home),
            "CLAUDE_CONFIG_DIR": str(home / ".claude"),
            "ANTHROPIC_BASE_URL": fake_anthropic.base_url,
            "ANTHROPIC_API_KEY": "sk-test-cli",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "DISABLE_TELEMETRY": "1",
            "DISABLE_AUTOUPDATER": "1",
            "DISABLE_ERROR_REPORTING": "1",
            **({"IS_SANDBOX": "1"} if os.geteuid() == 0 else {}),
        },
    )
    async with ClaudeSDKClient(options) as client:
        await client.query("Remember: the sky is blue")
        final = [m async for m in client.receive_response() if isinstance(m, ResultMessage)]

    assert final[0].result == "I will remember that."
    assert calls == [{"fact": "sky is blue"}]
    first, second = fake_anthropic.conversation
    assert first.query == {"beta": "true"}
    assert first.api_key == "sk-test-cli"
    assert "You are a test agent." in first.system_text
    assert first.last_user_text() == "Remember: the sky is blue"
    [result] = second.tool_results()
    assert (result["tool_use_id"], result["content"]) == (call.id, "remembered sky is blue")
