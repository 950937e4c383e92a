"""What Claude Code's process gets: a clean environment and its own home."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from praktor_agent_runner.home import (
    AGENT_MD_TEMPLATE,
    QUIET,
    cli_environment,
    ensure_agent_md,
    forget_sessions,
    prepare_home,
)
from praktor_agent_runner.settings import AgentSettings

RUNNER_ENV = {
    "PATH": "/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "USER": "praktor-agent",
    "HOME": "/somewhere/else",
    "CLAUDE_CONFIG_DIR": "/somewhere/else/.claude",
    "PRAKTOR_NATS_CREDS": "/run/agent.creds",
    "PRAKTOR_NATS_URL": "nats://nats:4222",
    "PRAKTOR_AGENT_ID": "coder",
    "PRAKTOR_WORKSPACE": "/workspace/agent",
    "PYTHONPATH": "/opt/praktor/lib",
    "PYTHONUNBUFFERED": "1",
    "CLAUDECODE": "1",
    "ANTHROPIC_API_KEY": "sk-ant-test",
    "GITHUB_TOKEN": "the agent's own secret",
}


def test_claude_code_gets_the_agents_env_but_nothing_of_the_runners(
    settings: AgentSettings,
) -> None:
    env = cli_environment(settings, RUNNER_ENV)
    assert env == {
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "USER": "praktor-agent",
        "GITHUB_TOKEN": "the agent's own secret",
        "HOME": str(settings.home),
        "CLAUDE_CONFIG_DIR": str(settings.home / ".claude"),
        "ANTHROPIC_BASE_URL": "http://127.0.0.1:9",
        "ANTHROPIC_API_KEY": "sk-ant-test",
        **QUIET,
    }
    assert QUIET == {
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_TELEMETRY": "1",
        "DISABLE_AUTOUPDATER": "1",
        "DISABLE_ERROR_REPORTING": "1",
    }


def test_the_switches_cannot_be_turned_off_by_the_agents_env(settings: AgentSettings) -> None:
    env = cli_environment(settings, {"DISABLE_TELEMETRY": "0", "HOME": "/root"})
    assert env["DISABLE_TELEMETRY"] == "1"
    assert env["HOME"] == str(settings.home)


def test_the_time_zone_and_an_oauth_token_are_passed_on(settings: AgentSettings) -> None:
    oauth = dataclasses.replace(
        settings, timezone="Europe/Athens", credentials={"CLAUDE_CODE_OAUTH_TOKEN": "tok"}
    )
    env = cli_environment(oauth, {})
    assert env["TZ"] == "Europe/Athens"
    assert env["CLAUDE_CODE_OAUTH_TOKEN"] == "tok"
    assert "ANTHROPIC_API_KEY" not in env
    assert env["PATH"], "a PATH even when the runner had none"


def test_is_sandbox_passes_through_only_when_the_runner_was_given_it(
    settings: AgentSettings,
) -> None:
    assert "IS_SANDBOX" not in cli_environment(settings, RUNNER_ENV)
    assert cli_environment(settings, {**RUNNER_ENV, "IS_SANDBOX": "1"})["IS_SANDBOX"] == "1"


def test_the_global_claude_md_becomes_claude_codes_user_memory(settings: AgentSettings) -> None:
    (settings.global_dir / "CLAUDE.md").write_text("global rules")
    config = settings.home / ".claude"
    config.mkdir()
    (config / "CLAUDE.md").write_text("a stale copy")
    (config / "debug").mkdir()
    (config / "todos").mkdir()
    (config / "projects").mkdir()

    prepare_home(settings)
    prepare_home(settings)

    memory = config / "CLAUDE.md"
    assert memory.is_symlink()
    assert memory.read_text() == "global rules"
    (settings.global_dir / "CLAUDE.md").write_text("changed rules")
    assert memory.read_text() == "changed rules", "always the current global file"
    assert not (config / "debug").exists()
    assert not (config / "todos").exists()
    assert (config / "projects").exists(), "sessions survive a restart"


def test_without_a_global_claude_md_there_is_no_user_memory(settings: AgentSettings) -> None:
    prepare_home(settings)
    assert not (settings.home / ".claude" / "CLAUDE.md").exists()


def test_forgetting_sessions_deletes_what_claude_code_stored(settings: AgentSettings) -> None:
    config = settings.home / ".claude"
    for name in ("projects", "sessions", "debug", "todos", "skills"):
        (config / name).mkdir(parents=True)
    forget_sessions(settings)
    assert sorted(p.name for p in config.iterdir()) == ["skills"]


def test_a_workspace_without_identity_gets_the_template(tmp_path: Path) -> None:
    assert ensure_agent_md(tmp_path)
    assert (tmp_path / "AGENT.md").read_text() == AGENT_MD_TEMPLATE
    (tmp_path / "AGENT.md").write_text("# Jarvis")
    assert not ensure_agent_md(tmp_path)
    assert (tmp_path / "AGENT.md").read_text() == "# Jarvis"
