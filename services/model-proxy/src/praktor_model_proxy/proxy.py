"""The HTTP side: check the agent's token, forward to the model API, stream back, count.

One :class:`ModelProxy` per process. For each request: the endpoint must be
one Claude Code uses (:mod:`.upstream`), the token must belong to a running
agent (:mod:`.tokens`), a model credential must be known — the proxy's own
(from its environment, compose and Helm) or else the config's; then the
request goes to ``defaults.model_api_base_url`` with the real credential and
the answer streams back chunk by chunk as it arrives (server-sent events are
never buffered). Usage is read on the way (:mod:`.usage`) and added to
``agent_token_usage`` once the answer ended. Logs carry the agent, the path,
the status, the token counts and the duration — never a body or a header value.
Refusals use the Messages API's error shape so Claude Code shows them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Final, Protocol

import aiohttp
import structlog
from aiohttp import web

from praktor_common.config import PraktorConfig

from .tokens import TokenChecker, TokenCheckUnavailableError
from .upstream import (
    Credential,
    agent_token,
    allowed,
    response_headers,
    upstream_headers,
    upstream_url,
)
from .usage import Usage, UsageMeter

log = structlog.get_logger(__name__)

MAX_REQUEST_BYTES: Final = 64 * 1024 * 1024
CONNECT_TIMEOUT: Final = 30.0
READ_TIMEOUT: Final = 600.0


class ConfigSource(Protocol):
    @property
    def current(self) -> PraktorConfig: ...


UsageSink = Callable[[str, Usage], Awaitable[None]]
"""``async def record(agent_id, usage)``: store one response's usage."""


def api_error(status: int, kind: str, message: str) -> web.Response:
    return web.json_response(
        {"type": "error", "error": {"type": kind, "message": message}}, status=status
    )


class ModelProxy:
    def __init__(
        self,
        config: ConfigSource,
        tokens: TokenChecker,
        record: UsageSink,
        credential: Credential | None = None,
    ) -> None:
        """``credential``: the proxy's own; when empty, the config's is used."""
        self._config = config
        self._tokens = tokens
        self._record = record
        self._credential = credential or Credential()
        self._session: aiohttp.ClientSession | None = None
        self._pending: set[asyncio.Task[None]] = set()

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_REQUEST_BYTES)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        app.on_cleanup.append(self._close)
        return app

    async def _close(self, _app: web.Application) -> None:
        await self.drain()
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                auto_decompress=False,
                timeout=aiohttp.ClientTimeout(
                    total=None, sock_connect=CONNECT_TIMEOUT, sock_read=READ_TIMEOUT
                ),
            )
        return self._session

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if not allowed(request.method, request.path):
            log.info("endpoint refused", method=request.method, path=request.path)
            return api_error(
                404, "not_found_error", f"{request.method} {request.path} is not open to agents"
            )
        token = agent_token(request.headers)
        if token is None:
            return api_error(401, "authentication_error", "no agent token (x-api-key)")
        try:
            agent_id = await self._tokens.agent_for(token)
        except TokenCheckUnavailableError as exc:
            log.warning("token not checked", reason=str(exc))
            return api_error(503, "api_error", "the model proxy cannot check tokens right now")
        if agent_id is None:
            log.warning("token of no running agent refused", path=request.path)
            return api_error(401, "authentication_error", "this token belongs to no running agent")
        config = self._config.current
        credential = self._credential or Credential.of(config)
        if not credential:
            log.error("no model credential configured", agent_id=agent_id)
            return api_error(
                503,
                "api_error",
                "no model credential is configured: set defaults.anthropic_api_key or "
                "defaults.oauth_token in the Praktor config, or ANTHROPIC_API_KEY or "
                "CLAUDE_CODE_OAUTH_TOKEN in the model proxy's environment",
            )
        return await self._forward(request, agent_id, config, credential)

    async def _forward(
        self,
        request: web.Request,
        agent_id: str,
        config: PraktorConfig,
        credential: Credential,
    ) -> web.StreamResponse:
        started = time.monotonic()
        body = await request.read()
        url = upstream_url(config.defaults.model_api_base_url, request.path, request.query_string)
        try:
            upstream = await self._client().request(
                request.method,
                url,
                headers=upstream_headers(request.headers.items(), credential),
                data=body or None,
                allow_redirects=False,
            )
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("model API not reachable", agent_id=agent_id, error=type(exc).__name__)
            return api_error(502, "api_error", "the model API could not be reached")
        async with upstream:
            streamed = upstream.content_type == "text/event-stream"
            meter = UsageMeter(streamed=streamed)
            response = web.StreamResponse(
                status=upstream.status, headers=response_headers(upstream.headers.items())
            )
            await response.prepare(request)
            completed = False
            try:
                async for chunk in upstream.content.iter_any():
                    meter.feed(chunk)
                    await response.write(chunk)
                await response.write_eof()
                completed = True
            except (ConnectionResetError, aiohttp.ClientError) as exc:
                log.info("answer cut short", agent_id=agent_id, reason=type(exc).__name__)
        usage = meter.finish()
        self._account(agent_id, usage, request, upstream.status)
        log.info(
            "model request",
            agent_id=agent_id,
            method=request.method,
            path=request.path,
            status=upstream.status,
            streamed=streamed,
            completed=completed,
            model=usage.model,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            seconds=round(time.monotonic() - started, 3),
        )
        return response

    def _account(self, agent_id: str, usage: Usage, request: web.Request, status: int) -> None:
        """Store the usage in the background: a client that hangs up cannot cancel it."""
        if request.path != "/v1/messages" or (usage.total == 0 and status >= 400):
            return
        task = asyncio.create_task(self._store(agent_id, usage))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _store(self, agent_id: str, usage: Usage) -> None:
        try:
            await self._record(agent_id, usage)
        except Exception as exc:
            log.error("token usage not stored", agent_id=agent_id, error=type(exc).__name__)

    async def drain(self) -> None:
        """Wait for usage still being stored (at shutdown)."""
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)
