"""What an agent starts with: its definition and its environment (the runner's env contract)."""

from __future__ import annotations

import json

import pytest

from praktor_common.contracts.orchestrator import SwarmMembership
from praktor_orchestrator.launch import (
    UnknownAgentError,
    definition_changed,
    definition_for,
    launch_env,
)
from services.orchestrator.tests.harness import make_config

SWARM_ID = "0192f0c8-0000-7000-8000-0000000000aa"
PROXY = "http://127.0.0.1:8091"
TOKEN = "praktor-proxy-agent-token"


def env_for(
    config_agents: dict[str, dict[str, object]],
    secret_env: dict[str, str] | None = None,
    **defaults: object,
) -> dict[str, str]:
    config = make_config(config_agents, **defaults)
    agent_id = next(iter(config_agents))
    return launch_env(
        config,
        definition_for(config, agent_id),
        nats_url="nats://127.0.0.1:4222",
        install_id="pk-test",
        session_id="sess-9",
        max_turns=200,
        max_parallel_tasks=3,
        model_proxy_url=PROXY,
        model_token=TOKEN,
        secret_env=secret_env,
    )


def test_the_env_carries_the_contract() -> None:
    env = env_for(
        {"coder": {"model": "claude-x", "allowed_tools": ["Read"]}},
        model_api_base_url="https://gateway.example",
        anthropic_api_key="sk-ant-123456789",
    )
    assert env == {
        "PRAKTOR_AGENT_ID": "coder",
        "PRAKTOR_NATS_URL": "nats://127.0.0.1:4222",
        "PRAKTOR_MODEL": "claude-x",
        "ANTHROPIC_BASE_URL": PROXY,
        "ANTHROPIC_API_KEY": TOKEN,
        "PRAKTOR_SESSION_ID": "sess-9",
        "PRAKTOR_ALLOWED_TOOLS": json.dumps(["Read"]),
        "PRAKTOR_MAX_TURNS": "200",
        "PRAKTOR_MAX_PARALLEL_TASKS": "3",
        "TZ": "UTC",
        "PRAKTOR_INSTALL_ID": "pk-test",
    }


def test_the_model_credential_never_enters_the_env_only_the_proxy_token_does() -> None:
    env = env_for(
        {"coder": {"env": {"CLAUDE_CODE_OAUTH_TOKEN": "own", "ANTHROPIC_AUTH_TOKEN": "own"}}},
        oauth_token="oauth-abcdefgh",
        anthropic_api_key="sk-ant-123456789",
    )
    assert "oauth-abcdefgh" not in env.values()
    assert "sk-ant-123456789" not in env.values()
    assert "CLAUDE_CODE_OAUTH_TOKEN" not in env
    assert "ANTHROPIC_AUTH_TOKEN" not in env
    assert (env["ANTHROPIC_BASE_URL"], env["ANTHROPIC_API_KEY"]) == (PROXY, TOKEN)


def test_the_agents_own_env_comes_first_and_cannot_override_the_contract() -> None:
    env = env_for(
        {
            "coder": {
                "env": {"GREETING": "hi", "PRAKTOR_AGENT_ID": "someone-else", "TOKEN": "secret:gh"}
            }
        }
    )
    assert env["GREETING"] == "hi"
    assert env["PRAKTOR_AGENT_ID"] == "coder"
    assert "TOKEN" not in env  # a vault reference is the vault's to resolve


def test_resolved_secrets_fill_the_env_but_never_override_the_contract() -> None:
    env = env_for(
        {"coder": {"env": {"GH": "secret:gh-token"}}},
        secret_env={"GH": "ghp_resolved_value", "ANTHROPIC_API_KEY": "sneaky"},
    )
    assert env["GH"] == "ghp_resolved_value"
    assert env["ANTHROPIC_API_KEY"] == TOKEN


def test_the_definition_resolves_defaults_and_the_workspace() -> None:
    config = make_config({"coder": {"workspace": "code", "env": {"A": "secret:x"}}}, model="m-1")
    definition = definition_for(config, "coder")
    assert (definition.workspace, definition.model, definition.image) == (
        "code",
        "m-1",
        "praktor-agent:latest",
    )
    assert definition.secret_refs == ("A",)
    assert definition.secret_env == {"A": "x"}
    with pytest.raises(UnknownAgentError):
        definition_for(config, "nobody")


def test_a_swarm_member_borrows_its_template_and_gets_its_chat() -> None:
    config = make_config({"coder": {"model": "m-2"}})
    member = SwarmMembership(
        swarm_id=SWARM_ID, role="reviewer", template_agent="coder", chat_group="g1"
    )
    definition = definition_for(config, "swarm-0192f0c8-reviewer", member)
    assert (definition.model, definition.workspace) == ("m-2", "coder")
    assert definition.swarm_chats == (f"swarm.{SWARM_ID}.chat.g1",)
    env = launch_env(
        config,
        definition,
        nats_url="nats://x:1",
        install_id="pk",
        session_id="sess-of-coder",
        max_turns=1,
        max_parallel_tasks=1,
        model_proxy_url=PROXY,
        model_token=TOKEN,
    )
    assert "PRAKTOR_SESSION_ID" not in env
    assert (env["PRAKTOR_SWARM_ROLE"], env["PRAKTOR_SWARM_CHAT_SUBJECT"]) == (
        "reviewer",
        f"swarm.{SWARM_ID}.chat.g1",
    )


def test_a_definition_changes_with_its_section_the_defaults_or_the_time_zone() -> None:
    base = make_config({"coder": {}, "writer": {}})
    assert not definition_changed(base, make_config({"coder": {}, "writer": {}}), "coder")
    assert definition_changed(
        base, make_config({"coder": {"description": "x"}, "writer": {}}), "coder"
    )
    assert not definition_changed(
        base, make_config({"coder": {}, "writer": {"description": "x"}}), "coder"
    )
    assert definition_changed(base, make_config({"coder": {}, "writer": {}}, model="m"), "coder")
