"""The model proxy end to end: real NATS identities, PostgreSQL, the fake Anthropic API.

The orchestrator's side is its real :class:`ProxyTokens` answering
``svc.orchestrator.proxy_token`` on a connection with the orchestrator's
identity; the proxy asks with the model-proxy identity. An agent is played by
an HTTP client that holds only what an agent gets: the proxy URL and its token.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest
import pytest_asyncio
from aiohttp.test_utils import TestServer
from nats.aio.msg import Msg
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from praktor_common.config import PraktorConfig
from praktor_common.contracts.orchestrator import AGENT_PROXY_TOKEN, ProxyTokenRequest
from praktor_common.db.models import AgentTokenUsage
from praktor_common.testing.fake_anthropic import FakeAnthropic, text_reply
from praktor_common.testing.nats import NatsTestServer, wait_until
from praktor_model_proxy.proxy import ModelProxy
from praktor_model_proxy.service import ProxySettings, usage_recorder
from praktor_model_proxy.tokens import NatsOrchestrator, TokenChecker
from praktor_orchestrator.proxy_tokens import ProxyTokens

pytestmark = pytest.mark.integration

REAL_KEY = "sk-ant-api03-the-real-install-key"
MESSAGE = {
    "model": "claude-test",
    "max_tokens": 64,
    "stream": True,
    "messages": [{"role": "user", "content": "hello"}],
}


@dataclass
class Config:
    current: PraktorConfig


@dataclass
class Proxied:
    url: str
    tokens: ProxyTokens
    checker: TokenChecker
    config: Config


@pytest_asyncio.fixture
async def proxied(
    nats_clients: NatsTestServer, migrated_engine: AsyncEngine, fake_anthropic: FakeAnthropic
) -> AsyncIterator[Proxied]:
    tokens = ProxyTokens()
    orchestrator = await nats_clients.connect("orchestrator")

    async def answer(msg: Msg) -> None:
        request = ProxyTokenRequest.model_validate_json(msg.data)
        await msg.respond((await tokens.answer(request)).model_dump_json().encode())

    await orchestrator.subscribe(AGENT_PROXY_TOKEN.subject, cb=answer)
    await orchestrator.flush()
    config = Config(
        PraktorConfig.model_validate(
            {
                "timezone": "UTC",
                "defaults": {
                    "anthropic_api_key": REAL_KEY,
                    "model_api_base_url": fake_anthropic.base_url,
                },
            }
        )
    )
    checker = TokenChecker(NatsOrchestrator(await nats_clients.connect("model-proxy")), ttl=60)
    proxy = ModelProxy(config, checker, usage_recorder(migrated_engine))
    server = TestServer(proxy.app())
    await server.start_server()
    try:
        yield Proxied(str(server.make_url("")), tokens, checker, config)
    finally:
        await server.close()


def streamed_text(body: str) -> str:
    """The text deltas of a server-sent events answer, joined."""
    events = [json.loads(line[5:]) for line in body.splitlines() if line.startswith("data:")]
    return "".join(e["delta"].get("text", "") for e in events if e["type"] == "content_block_delta")


async def ask(url: str, token: str, path: str = "/v1/messages?beta=true") -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            url + path,
            json=MESSAGE,
            headers={"x-api-key": token, "anthropic-version": "2023-06-01"},
        ) as response,
    ):
        return response.status, await response.text()


async def test_an_agent_reaches_the_model_with_its_token_and_the_api_sees_the_real_key(
    proxied: Proxied, fake_anthropic: FakeAnthropic, migrated_engine: AsyncEngine
) -> None:
    token = proxied.tokens.mint("coder")
    fake_anthropic.queue(text_reply("Hello from the model", chunks=4))

    status, body = await ask(proxied.url, token)

    assert status == 200
    assert "event: message_start" in body
    assert streamed_text(body) == "Hello from the model"
    [seen] = fake_anthropic.requests
    assert seen.headers["x-api-key"] == REAL_KEY
    assert token not in " ".join(seen.headers.values())
    assert seen.query.get("beta") == "true"

    async def counted() -> list[AgentTokenUsage]:
        async with AsyncSession(migrated_engine) as session:
            return list((await session.scalars(select(AgentTokenUsage))).all())

    rows: list[AgentTokenUsage] = []

    async def stored() -> bool:
        rows[:] = await counted()
        return bool(rows)

    await wait_until(stored, 10)
    [row] = rows
    assert (row.agent_id, row.requests, row.input_tokens, row.output_tokens) == (
        "coder",
        1,
        12,
        7,
    )
    assert row.day == dt.datetime.now(dt.UTC).date()


async def test_a_stopped_agents_token_is_refused(
    proxied: Proxied, fake_anthropic: FakeAnthropic
) -> None:
    token = proxied.tokens.mint("coder")
    assert (await ask(proxied.url, token))[0] == 200

    proxied.tokens.revoke("coder")  # the orchestrator stopped it ...
    proxied.checker.agent_stopped("coder")  # ... and its agent_stopped event arrived

    status, body = await ask(proxied.url, token)
    assert status == 401
    assert "belongs to no running agent" in body
    assert len(fake_anthropic.requests) == 1


async def test_unknown_tokens_and_closed_endpoints_never_reach_the_api(
    proxied: Proxied, fake_anthropic: FakeAnthropic
) -> None:
    token = proxied.tokens.mint("coder")
    assert (await ask(proxied.url, "praktor-proxy-guessed"))[0] == 401
    assert (await ask(proxied.url, REAL_KEY))[0] == 401  # not even the real key itself
    status, body = await ask(proxied.url, token, "/v1/files")
    assert status == 404
    assert "not open to agents" in body
    assert fake_anthropic.requests == []


async def test_an_oauth_install_sends_the_token_as_bearer(
    proxied: Proxied, fake_anthropic: FakeAnthropic
) -> None:
    proxied.config.current = PraktorConfig.model_validate(
        {
            "timezone": "UTC",
            "defaults": {
                "oauth_token": "sk-ant-oat01-real-oauth",
                "model_api_base_url": fake_anthropic.base_url,
            },
        }
    )
    token = proxied.tokens.mint("coder")
    assert (await ask(proxied.url, token))[0] == 200
    [seen] = fake_anthropic.requests
    assert seen.headers["authorization"] == "Bearer sk-ant-oat01-real-oauth"
    assert "x-api-key" not in seen.headers
    assert "oauth-2025-04-20" in seen.headers["anthropic-beta"]


async def test_a_credential_in_the_proxys_own_environment_wins_over_the_configs(
    proxied: Proxied,
    fake_anthropic: FakeAnthropic,
    migrated_engine: AsyncEngine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", " sk-ant-api03-only-in-the-proxy-container\n")
    monkeypatch.delenv("CLAUDE_CODE_OAUTH_TOKEN", raising=False)
    own = ProxySettings().credential
    assert own.api_key == "sk-ant-api03-only-in-the-proxy-container"
    proxy = ModelProxy(proxied.config, proxied.checker, usage_recorder(migrated_engine), own)
    server = TestServer(proxy.app())
    await server.start_server()
    try:
        token = proxied.tokens.mint("coder")
        assert (await ask(str(server.make_url("")), token))[0] == 200
    finally:
        await server.close()
    [seen] = fake_anthropic.requests
    assert seen.headers["x-api-key"] == "sk-ant-api03-only-in-the-proxy-container"


async def test_without_any_credential_the_agent_is_told_where_to_set_one(
    proxied: Proxied, fake_anthropic: FakeAnthropic, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("ANTHROPIC_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    assert not ProxySettings().credential
    proxied.config.current = PraktorConfig.model_validate(
        {"timezone": "UTC", "defaults": {"model_api_base_url": fake_anthropic.base_url}}
    )
    token = proxied.tokens.mint("coder")
    status, body = await ask(proxied.url, token)
    assert status == 503
    assert "ANTHROPIC_API_KEY" in body
    assert "defaults.anthropic_api_key" in body
    assert fake_anthropic.requests == []
