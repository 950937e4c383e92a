"""Only Claude Code's endpoints pass; the agent's token is swapped for the real credential."""

from __future__ import annotations

import pytest

from praktor_model_proxy.upstream import (
    OAUTH_BETA,
    Credential,
    agent_token,
    allowed,
    response_headers,
    upstream_headers,
    upstream_url,
)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/messages"),
        ("POST", "/v1/messages/count_tokens"),
        ("GET", "/v1/models"),
        ("GET", "/v1/models/claude-opus-4-7"),
    ],
)
def test_the_endpoints_claude_code_uses_are_open(method: str, path: str) -> None:
    assert allowed(method, path)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/messages"),
        ("POST", "/v1/files"),
        ("POST", "/v1/messages/batches"),
        ("GET", "/v1/organizations/me"),
        ("POST", "/api/oauth/token"),
        ("GET", "/v1/models/../../admin"),
    ],
)
def test_every_other_endpoint_is_closed(method: str, path: str) -> None:
    assert not allowed(method, path)


def test_the_agent_token_comes_from_x_api_key_or_a_bearer_header() -> None:
    assert agent_token({"x-api-key": "tok"}) == "tok"
    assert agent_token({"authorization": "Bearer tok2"}) == "tok2"
    assert agent_token({"authorization": "Basic abc"}) is None
    assert agent_token({}) is None


AGENT_HEADERS = [
    ("x-api-key", "praktor-proxy-agent"),
    ("Authorization", "Bearer praktor-proxy-agent"),
    ("anthropic-version", "2023-06-01"),
    ("anthropic-beta", "claude-code-20250219"),
    ("Connection", "keep-alive"),
    ("Host", "127.0.0.1:8091"),
    ("Accept-Encoding", "gzip, br"),
]


def test_an_api_key_replaces_the_agents_token() -> None:
    headers = upstream_headers(AGENT_HEADERS, Credential(api_key="sk-ant-real"))
    values = dict((n.lower(), v) for n, v in headers)
    assert values["x-api-key"] == "sk-ant-real"
    assert "authorization" not in values
    assert values["anthropic-beta"] == "claude-code-20250219"
    assert values["anthropic-version"] == "2023-06-01"
    assert values["accept-encoding"] == "identity"
    assert "connection" not in values
    assert "host" not in values
    assert not any("praktor-proxy-agent" in v for _, v in headers)


def test_an_oauth_token_goes_as_bearer_with_the_oauth_beta() -> None:
    headers = upstream_headers(AGENT_HEADERS, Credential(oauth_token="sk-ant-oat-real"))
    values = dict((n.lower(), v) for n, v in headers)
    assert values["authorization"] == "Bearer sk-ant-oat-real"
    assert "x-api-key" not in values
    assert values["anthropic-beta"] == f"claude-code-20250219,{OAUTH_BETA}"


def test_the_upstream_url_keeps_the_query_and_a_gateway_path() -> None:
    assert upstream_url("https://gw.example/anthropic/", "/v1/messages", "beta=true") == (
        "https://gw.example/anthropic/v1/messages?beta=true"
    )


def test_hop_by_hop_and_length_headers_are_not_returned() -> None:
    kept = response_headers(
        [
            ("Content-Type", "text/event-stream"),
            ("Transfer-Encoding", "chunked"),
            ("Content-Length", "10"),
            ("request-id", "req_1"),
        ]
    )
    assert kept == [("Content-Type", "text/event-stream"), ("request-id", "req_1")]
