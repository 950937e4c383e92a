"""The runner's environment contract: what it reads, what it refuses and how it says so."""

from __future__ import annotations

from pathlib import Path

import pytest

from praktor_agent_runner.settings import (
    DEFAULT_MAX_PARALLEL_TASKS,
    DEFAULT_MAX_TURNS,
    SettingsError,
    load_settings,
    parse_allowed_tools,
)


def problems(env: dict[str, str]) -> list[str]:
    with pytest.raises(SettingsError) as caught:
        load_settings(env)
    return caught.value.problems


def test_a_complete_environment_is_read_with_defaults(
    env: dict[str, str], agent_dirs: dict[str, Path]
) -> None:
    settings = load_settings(env)
    assert settings.agent_id == "coder"
    assert settings.nats_creds == agent_dirs["creds"]
    assert settings.workspace == agent_dirs["workspace"]
    assert settings.claude_config_dir == agent_dirs["home"] / ".claude"
    assert settings.credentials == {"ANTHROPIC_API_KEY": "sk-ant-test"}
    assert settings.model is None
    assert settings.session_id is None
    assert settings.allowed_tools is None
    assert settings.max_turns == DEFAULT_MAX_TURNS == 200
    assert settings.max_parallel_tasks == DEFAULT_MAX_PARALLEL_TASKS == 3


def test_optional_values_are_read(env: dict[str, str]) -> None:
    env |= {
        "PRAKTOR_MODEL": "claude-opus-5",
        "ANTHROPIC_BASE_URL": "http://model-proxy:8091",
        "CLAUDE_CODE_OAUTH_TOKEN": "oauth-token",
        "PRAKTOR_SESSION_ID": "6D3F2B9A-1111-4222-8333-944455556666",
        "PRAKTOR_ALLOWED_TOOLS": '["Read", " WebSearch ", "", "Read"]',
        "PRAKTOR_MAX_TURNS": "50",
        "PRAKTOR_MAX_PARALLEL_TASKS": "1",
        "TZ": "Europe/Athens",
        "PRAKTOR_INSTALL_ID": "install-1",
    }
    settings = load_settings(env)
    assert settings.model == "claude-opus-5"
    assert settings.anthropic_base_url == "http://model-proxy:8091"
    assert set(settings.credentials) == {"ANTHROPIC_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN"}
    assert settings.session_id == "6d3f2b9a-1111-4222-8333-944455556666"
    assert settings.allowed_tools == ("Read", "WebSearch")
    assert (settings.max_turns, settings.max_parallel_tasks) == (50, 1)
    assert settings.timezone == "Europe/Athens"
    assert settings.install_id == "install-1"


def test_the_credential_never_shows_in_the_settings_repr(env: dict[str, str]) -> None:
    assert "sk-ant-test" not in repr(load_settings(env))


def test_every_missing_variable_is_named_at_once() -> None:
    found = "\n".join(problems({}))
    for name in (
        "PRAKTOR_AGENT_ID",
        "PRAKTOR_NATS_URL",
        "PRAKTOR_NATS_CREDS",
        "PRAKTOR_WORKSPACE",
        "PRAKTOR_GLOBAL_DIR",
        "HOME",
        "ANTHROPIC_API_KEY or CLAUDE_CODE_OAUTH_TOKEN",
    ):
        assert name in found


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("PRAKTOR_AGENT_ID", "Bad.Id", "invalid agent id"),
        ("PRAKTOR_NATS_URL", "http://localhost:4222", "is not a NATS URL"),
        ("PRAKTOR_NATS_CREDS", "/nonexistent/agent.creds", "no such file"),
        ("PRAKTOR_WORKSPACE", "relative/dir", "must be an absolute path"),
        ("PRAKTOR_GLOBAL_DIR", "/nonexistent/global", "is not a directory"),
        ("HOME", "home", "must be an absolute path"),
        ("ANTHROPIC_BASE_URL", "model-proxy:8091", "is not an http(s) URL"),
        ("PRAKTOR_SESSION_ID", "--dangerous-flag", "is not a Claude session id"),
        ("PRAKTOR_ALLOWED_TOOLS", "Read,Write", "is not JSON"),
        ("PRAKTOR_ALLOWED_TOOLS", '{"Read": true}', "must be a JSON list of tool names"),
        ("PRAKTOR_MAX_TURNS", "many", "is not a whole number"),
        ("PRAKTOR_MAX_PARALLEL_TASKS", "0", "must be at least 1"),
    ],
)
def test_a_bad_value_is_refused_naming_its_variable(
    env: dict[str, str], name: str, value: str, says: str
) -> None:
    env[name] = value
    [problem] = problems(env)
    assert problem.startswith(name)
    assert says in problem


def test_the_error_message_lists_each_problem_on_its_own_line(env: dict[str, str]) -> None:
    env["PRAKTOR_MAX_TURNS"] = "0"
    env["PRAKTOR_AGENT_ID"] = ""
    with pytest.raises(SettingsError) as caught:
        load_settings(env)
    assert str(caught.value).splitlines() == [
        "the agent-runner cannot start:",
        "  - PRAKTOR_AGENT_ID is not set: the agent this runner serves",
        "  - PRAKTOR_MAX_TURNS='0' must be at least 1",
    ]


@pytest.mark.parametrize("raw", [None, "", "  ", "[]", '["", " "]'])
def test_no_allowed_tools_means_no_restriction(raw: str | None) -> None:
    assert parse_allowed_tools(raw) is None
