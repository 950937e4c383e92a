"""A local stand-in for the Anthropic Messages API, for the real Claude Code CLI.

Tests run the real CLI (bundled with ``claude-agent-sdk``) with
``ANTHROPIC_BASE_URL`` pointing here. The fake answers ``POST /v1/messages``
(with or without ``?beta=true``) like the real API: server-sent events when the
request says ``"stream": true`` (``message_start``, ``content_block_start`` /
``content_block_delta`` / ``content_block_stop`` per block, ``message_delta``
with the stop reason and usage, ``message_stop``), a JSON message otherwise,
and the API's error shape for scripted failures.

Scripting::

    async with FakeAnthropic() as fake:            # or the ``fake_anthropic`` fixture
        fake.reply_tool_use("mcp__praktor__memory_store", {"key": "k", "content": "v"})
        fake.reply_text("Stored.")
        ... run the CLI against fake.base_url ...
        assert fake.conversation[-1].tool_results()[0]["content"] ...

Every request takes the next scripted answer; when the script is empty,
``responder`` decides (default: the text ``"OK"``). With
``CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1`` every request the CLI sends is a
turn of the agent loop; a ``side_request`` predicate can still keep other
requests (answered ``"OK"``) from consuming the script. Every request is
recorded with its headers and JSON body, and with the answer it got.

What the real CLI does that tests meet (Claude Code 2.1.3xx):

* its first user message carries ``<system-reminder>`` text blocks (environment,
  CLAUDE.md memory, deferred tool names) before the prompt; a tool result comes
  back with one more reminder block — :meth:`RecordedRequest.last_user_text`
  and :meth:`RecordedRequest.tool_results` leave them out;
* an unrecognised model name moves text into a ``role: "system"`` message;
* on 529 it retries with backoff; on 400 it retries once per beta header it
  can drop, so a turn fails only after several 400s (use a ``responder``);
* MCP tools are "deferred" (listed in a reminder, not in ``tools``), yet a
  ``tool_use`` naming one is executed.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import json
import re
import secrets
import socket
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pytest_asyncio
from aiohttp import web

StopReason = Literal["end_turn", "tool_use", "max_tokens", "stop_sequence"]

_ERROR_TYPES: Mapping[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}
_SYSTEM_REMINDER = re.compile(r"<system-reminder>.*?</system-reminder>", re.DOTALL)
_TOOL_NAME = re.compile(r"[A-Za-z][\w-]*")


@dataclass(frozen=True)
class Text:
    """A text block, streamed as ``chunks`` deltas (at least one)."""

    text: str
    chunks: int = 1


@dataclass(frozen=True)
class ToolUse:
    """A ``tool_use`` block: ``name`` as the CLI knows it (``mcp__<server>__<tool>``)."""

    name: str
    input: Mapping[str, Any]
    id: str = field(default_factory=lambda: f"toolu_{secrets.token_hex(12)}")


Block = Text | ToolUse


@dataclass(frozen=True)
class Reply:
    """One assistant message.

    ``chunk_delay`` sleeps between stream events (to test partial output);
    ``hold`` is awaited after the first text delta, so a test can keep a turn
    open (to abort it, kill its runner…) and release it later.
    """

    blocks: tuple[Block, ...]
    stop_reason: StopReason | None = None
    input_tokens: int = 12
    output_tokens: int = 7
    chunk_delay: float = 0.0
    hold: asyncio.Event | None = None

    @property
    def effective_stop_reason(self) -> StopReason:
        if self.stop_reason is not None:
            return self.stop_reason
        return "tool_use" if any(isinstance(b, ToolUse) for b in self.blocks) else "end_turn"


@dataclass(frozen=True)
class ErrorReply:
    """An HTTP error in the API's shape (529 overloaded, 400 invalid request…)."""

    status: int
    message: str = "scripted error"
    error_type: str | None = None

    def body(self) -> dict[str, Any]:
        kind = self.error_type or _ERROR_TYPES.get(self.status, "api_error")
        return {"type": "error", "error": {"type": kind, "message": self.message}}


Answer = Reply | ErrorReply


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake received it."""

    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    """Header names lower-cased."""
    body: Mapping[str, Any]

    @property
    def model(self) -> str:
        return str(self.body.get("model", ""))

    @property
    def stream(self) -> bool:
        return bool(self.body.get("stream", False))

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages") or [])

    @property
    def tool_names(self) -> list[str]:
        return [str(t.get("name")) for t in self.body.get("tools") or []]

    @property
    def system_text(self) -> str:
        """The system prompt as one text (blocks joined by newlines)."""
        return _text_of(self.body.get("system"))

    @property
    def api_key(self) -> str | None:
        return self.headers.get("x-api-key")

    @property
    def authorization(self) -> str | None:
        return self.headers.get("authorization")

    def message_texts(self, role: str | None = None, *, reminders: bool = False) -> list[str]:
        """The text of each message (optionally of one role; ``role: "system"``
        entries included), with ``<system-reminder>`` blocks dropped unless asked."""
        texts = []
        for message in self.messages:
            if role is not None and message.get("role") != role:
                continue
            text = _text_of(message.get("content"))
            texts.append(text if reminders else _SYSTEM_REMINDER.sub("", text).strip())
        return texts

    def last_user_text(self) -> str:
        """The last user message's own text (reminders and tool results left out)."""
        users = [t for t in self.message_texts("user") if t]
        return users[-1] if users else ""

    def all_text(self) -> str:
        """System prompt and every message, reminders included (for ``in`` checks)."""
        return "\n".join([self.system_text, *self.message_texts(reminders=True)])

    def deferred_tools(self) -> list[str]:
        """Tools the CLI offers as "deferred" (named in a ``<system-reminder>``, their schemas
        loaded through ``ToolSearch``): MCP tools, WebSearch, WebFetch… in Claude Code 2.1."""
        for reminder in _SYSTEM_REMINDER.findall(self.all_text()):
            if "deferred tools" not in reminder:
                continue
            lines = (line.strip() for line in reminder.splitlines())
            return [line for line in lines if _TOOL_NAME.fullmatch(line)]
        return []

    def offered_tools(self) -> set[str]:
        """Every tool the model may call: those in ``tools`` and the deferred ones."""
        return {*self.tool_names, *self.deferred_tools()}

    def tool_results(self, *, reminders: bool = False) -> list[dict[str, Any]]:
        """``tool_result`` blocks of the last user message, ``content`` as text
        (``<system-reminder>`` blocks dropped unless asked)."""
        for message in reversed(self.messages):
            if message.get("role") != "user":
                continue
            content = message.get("content")
            if not isinstance(content, list):
                return []
            results = []
            for block in content:
                if isinstance(block, dict) and block.get("type") == "tool_result":
                    text = _text_of(block.get("content"))
                    if not reminders:
                        text = _SYSTEM_REMINDER.sub("", text).strip()
                    results.append({**block, "content": text})
            return results
        return []


def _text_of(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for block in content:
            if isinstance(block, str):
                parts.append(block)
            elif isinstance(block, dict):
                if block.get("type") == "text":
                    parts.append(str(block.get("text", "")))
                elif block.get("type") == "tool_result":
                    parts.append(_text_of(block.get("content")))
        return "\n".join(parts)
    return str(content)


Responder = Callable[[RecordedRequest], Answer | Awaitable[Answer]]


def text_reply(text: str, **kwargs: Any) -> Reply:
    """A reply of one text block (``chunks``, ``chunk_delay``, ``hold``… as :class:`Reply`)."""
    chunks = kwargs.pop("chunks", 1)
    return Reply(blocks=(Text(text, chunks=chunks),), **kwargs)


def _default_responder(_request: RecordedRequest) -> Answer:
    return text_reply("OK")


def _never(_request: RecordedRequest) -> bool:
    return False


class FakeAnthropic:
    """An aiohttp server speaking the Messages API on 127.0.0.1 (a free port)."""

    def __init__(
        self,
        responder: Responder | None = None,
        *,
        side_request: Callable[[RecordedRequest], bool] | None = None,
    ) -> None:
        self.responder: Responder = responder or _default_responder
        self.side_request = side_request or _never
        self.requests: list[RecordedRequest] = []
        self.answers: list[tuple[RecordedRequest, Answer]] = []
        """Every request with the answer it got, in arrival order."""
        self._script: list[Answer] = []
        self._runner: web.AppRunner | None = None
        self._base_url: str | None = None
        self._message_ids = itertools.count(1)
        self._seen = asyncio.Condition()
        self._closing = asyncio.Event()

    # --- lifecycle ---------------------------------------------------------------

    async def start(self) -> str:
        """Start listening; returns the base URL (``http://127.0.0.1:<port>``)."""
        if self._base_url is not None:
            return self._base_url
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/messages", self._messages)
        app.router.add_route("*", "/{tail:.*}", self._unknown)
        self._closing.clear()
        self._runner = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=1.0
        )
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()
        self._base_url = f"http://127.0.0.1:{port}"
        return self._base_url

    async def stop(self) -> None:
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()
        self._runner = None
        self._base_url = None

    async def __aenter__(self) -> FakeAnthropic:
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        if self._base_url is None:
            raise RuntimeError("FakeAnthropic is not started")
        return self._base_url

    # --- script ------------------------------------------------------------------

    def queue(self, *answers: Answer) -> None:
        """Append answers for the next conversation requests, in order."""
        self._script.extend(answers)

    def reply_text(self, text: str, **kwargs: Any) -> Reply:
        reply = text_reply(text, **kwargs)
        self.queue(reply)
        return reply

    def reply_tool_use(
        self, name: str, tool_input: Mapping[str, Any], *, text: str | None = None
    ) -> ToolUse:
        """Queue a ``tool_use`` (after an optional text block); returns the block."""
        call = ToolUse(name=name, input=dict(tool_input))
        blocks: tuple[Block, ...] = (call,) if text is None else (Text(text), call)
        self.queue(Reply(blocks=blocks))
        return call

    def reply_error(self, status: int, message: str = "scripted error") -> None:
        self.queue(ErrorReply(status=status, message=message))

    @property
    def pending(self) -> int:
        """Scripted answers not consumed yet."""
        return len(self._script)

    # --- what was seen -----------------------------------------------------------

    @property
    def conversation(self) -> list[RecordedRequest]:
        """The requests that took part in the script (not side requests)."""
        return [r for r in self.requests if not self.side_request(r)]

    def clear(self) -> None:
        self.requests.clear()
        self._script.clear()

    async def wait_for_requests(self, count: int, timeout: float = 30.0) -> list[RecordedRequest]:
        """Wait until ``count`` conversation requests arrived; returns them."""
        async with asyncio.timeout(timeout), self._seen:
            await self._seen.wait_for(lambda: len(self.conversation) >= count)
        return self.conversation

    # --- HTTP --------------------------------------------------------------------

    async def _unknown(self, request: web.Request) -> web.Response:
        return web.json_response(
            ErrorReply(404, f"no route {request.method} {request.path}").body(), status=404
        )

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return web.json_response(ErrorReply(400, "body is not JSON").body(), status=400)
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            return web.json_response(ErrorReply(400, "messages is required").body(), status=400)
        recorded = RecordedRequest(
            method=request.method,
            path=request.path,
            query=dict(request.query),
            headers={k.lower(): v for k, v in request.headers.items()},
            body=body,
        )
        async with self._seen:
            self.requests.append(recorded)
            self._seen.notify_all()
        answer = await self._answer(recorded)
        self.answers.append((recorded, answer))
        if isinstance(answer, ErrorReply):
            return web.json_response(answer.body(), status=answer.status)
        message_id = f"msg_fake{next(self._message_ids):06d}"
        if recorded.stream:
            return await self._stream(request, recorded, answer, message_id)
        return web.json_response(_message_json(answer, recorded.model, message_id))

    async def _answer(self, recorded: RecordedRequest) -> Answer:
        if self.side_request(recorded):
            return text_reply("OK")
        if self._script:
            return self._script.pop(0)
        answer = self.responder(recorded)
        if inspect.isawaitable(answer):
            answer = await answer
        return answer

    async def _stream(
        self, request: web.Request, recorded: RecordedRequest, reply: Reply, message_id: str
    ) -> web.StreamResponse:
        response = web.StreamResponse(
            status=200,
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-cache",
                "request-id": f"req_{message_id}",
            },
        )
        await response.prepare(request)
        held = False
        try:
            for event, data in _stream_events(reply, recorded.model, message_id):
                await response.write(f"event: {event}\ndata: {json.dumps(data)}\n\n".encode())
                if reply.chunk_delay:
                    await asyncio.sleep(reply.chunk_delay)
                if (
                    reply.hold is not None
                    and not held
                    and event == "content_block_delta"
                    and data["delta"]["type"] == "text_delta"
                ):
                    held = True
                    await self._until(reply.hold)
            await response.write_eof()
        except ConnectionResetError:
            pass  # the CLI went away (interrupted turn, killed process)
        return response

    async def _until(self, event: asyncio.Event) -> None:
        """Wait for ``event``, or for the fake to stop."""
        waits = {asyncio.ensure_future(event.wait()), asyncio.ensure_future(self._closing.wait())}
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()


def _message_json(reply: Reply, model: str, message_id: str) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    for block in reply.blocks:
        if isinstance(block, Text):
            content.append({"type": "text", "text": block.text})
        else:
            content.append(
                {"type": "tool_use", "id": block.id, "name": block.name, "input": dict(block.input)}
            )
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": reply.effective_stop_reason,
        "stop_sequence": None,
        "usage": _usage(reply, final=True),
    }


def _usage(reply: Reply, *, final: bool) -> dict[str, Any]:
    return {
        "input_tokens": reply.input_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": reply.output_tokens if final else 1,
    }


def _split(text: str, chunks: int) -> list[str]:
    if chunks <= 1 or len(text) <= 1:
        return [text]
    size = -(-len(text) // chunks)
    return [text[i : i + size] for i in range(0, len(text), size)]


def _stream_events(
    reply: Reply, model: str, message_id: str
) -> Iterator[tuple[str, dict[str, Any]]]:
    start = _message_json(reply, model, message_id)
    start.update(content=[], stop_reason=None, usage=_usage(reply, final=False))
    yield "message_start", {"type": "message_start", "message": start}
    for index, block in enumerate(reply.blocks):
        yield from _block_events(index, block)
    yield (
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": reply.effective_stop_reason, "stop_sequence": None},
            "usage": {"output_tokens": reply.output_tokens},
        },
    )
    yield "message_stop", {"type": "message_stop"}


def _block_events(index: int, block: Block) -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(block, Text):
        start: dict[str, Any] = {"type": "text", "text": ""}
        deltas: Sequence[dict[str, Any]] = [
            {"type": "text_delta", "text": part} for part in _split(block.text, block.chunks)
        ]
    else:
        start = {"type": "tool_use", "id": block.id, "name": block.name, "input": {}}
        deltas = [{"type": "input_json_delta", "partial_json": json.dumps(dict(block.input))}]
    yield (
        "content_block_start",
        {"type": "content_block_start", "index": index, "content_block": start},
    )
    for delta in deltas:
        yield "content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}
    yield "content_block_stop", {"type": "content_block_stop", "index": index}


class ThreadedFakeAnthropic:
    """A :class:`FakeAnthropic` served by its own event loop in a background thread.

    For tests whose own code blocks (a ``praktor up`` started with
    ``subprocess``, polling with ``time.sleep``) or whose event loop is busy:
    the fake keeps answering the CLI meanwhile. Script it as usual through
    :attr:`fake` (``queue``, ``reply_text``… only append to a list); use
    :meth:`hold` / :meth:`release` for held replies and :meth:`wait_for_requests`
    to wait from any thread::

        with ThreadedFakeAnthropic() as served:
            gate = served.hold()
            served.fake.queue(text_reply("Half an ans", hold=gate))
            ...
            served.release(gate)
    """

    def __init__(
        self,
        responder: Responder | None = None,
        *,
        side_request: Callable[[RecordedRequest], bool] | None = None,
    ) -> None:
        self.fake = FakeAnthropic(responder, side_request=side_request)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="fake-anthropic", daemon=True
        )

    def start(self) -> str:
        """Start the thread and the server; returns the base URL."""
        if not self._thread.is_alive():
            self._thread.start()
        return asyncio.run_coroutine_threadsafe(self.fake.start(), self._loop).result(10)

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        asyncio.run_coroutine_threadsafe(self.fake.stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def __enter__(self) -> ThreadedFakeAnthropic:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return self.fake.base_url

    def hold(self) -> asyncio.Event:
        """A gate for :attr:`Reply.hold`, bound to the fake's loop; open it with :meth:`release`."""

        async def make() -> asyncio.Event:
            return asyncio.Event()

        return asyncio.run_coroutine_threadsafe(make(), self._loop).result(5)

    def release(self, gate: asyncio.Event) -> None:
        self._loop.call_soon_threadsafe(gate.set)

    def wait_for_requests(self, count: int, timeout: float = 30.0) -> list[RecordedRequest]:
        """Block until ``count`` conversation requests arrived; returns them."""
        future = asyncio.run_coroutine_threadsafe(
            self.fake.wait_for_requests(count, timeout), self._loop
        )
        return future.result(timeout + 5)

    async def wait_for_requests_async(
        self, count: int, timeout: float = 30.0
    ) -> list[RecordedRequest]:
        """:meth:`wait_for_requests` for a coroutine running on another loop."""
        future = asyncio.run_coroutine_threadsafe(
            self.fake.wait_for_requests(count, timeout), self._loop
        )
        return await asyncio.wrap_future(future)


@pytest_asyncio.fixture
async def fake_anthropic() -> AsyncIterator[FakeAnthropic]:
    """A started :class:`FakeAnthropic`, stopped after the test."""
    async with FakeAnthropic() as fake:
        yield fake
