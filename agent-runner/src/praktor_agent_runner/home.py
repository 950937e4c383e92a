"""The agent's process environment and home, prepared before Claude Code starts.

* :func:`cli_environment` — the environment Claude Code runs with: what the
  runtime gave the runner (PATH, locale, the agent's own configured env) less
  the runner's own variables, plus its own HOME and ``CLAUDE_CONFIG_DIR``, TZ,
  the model endpoint and credential, and the switches that keep it from
  calling anything but the model API. The SDK merges the parent's environment
  into the CLI's, so :func:`isolate_environment` makes the runner's own
  environment this one once the settings are read (the bus credentials path,
  for one, never reaches the agent's tools).
* :func:`prepare_home` — ``$HOME/.claude`` with the global ``CLAUDE.md`` linked
  in as Claude Code's user memory (the workspace ``CLAUDE.md`` is its project
  memory: ``cwd`` is the workspace and ``setting_sources`` includes
  ``project``); stale debug/todo dirs removed (spec §7.2).
* :func:`ensure_agent_md` — the identity template when the workspace has none.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from praktor_agent_runner.settings import AgentSettings

AGENT_MD_TEMPLATE: Final = """# Agent Identity

## Name
(display name)

## Vibe
(personality & communication style)

## Expertise
(areas of specialization)
"""

RUNNER_ONLY: Final = frozenset(
    {
        "PYTHONPATH",
        "PYTHONHOME",
        "PYTHONUNBUFFERED",
        "PYTHONDONTWRITEBYTECODE",
        "VIRTUAL_ENV",
        "CLAUDECODE",
    }
)
"""The runner's own plumbing, never handed to Claude Code (nor is any ``PRAKTOR_*``)."""

QUIET: Final[Mapping[str, str]] = {
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    "DISABLE_TELEMETRY": "1",
    "DISABLE_AUTOUPDATER": "1",
    "DISABLE_ERROR_REPORTING": "1",
}
DEFAULT_PATH: Final = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
SESSION_DIRS: Final = ("projects", "sessions", "debug", "todos")
STALE_DIRS: Final = ("debug", "todos")


def cli_environment(settings: AgentSettings, inherited: Mapping[str, str]) -> dict[str, str]:
    """The whole environment Claude Code gets.

    What the runtime gave the runner — which both runtimes build from scratch:
    PATH, locale, user, and the agent's own configured ``env`` (secrets
    resolved, spec §10.4, meant for the agent's tools) — less the runner's own
    variables (every ``PRAKTOR_*``: the bus credentials path, the workspace…,
    and Python plumbing); then its own HOME and ``CLAUDE_CONFIG_DIR``, TZ, the
    model URL and credential, and the switches that stop its other traffic.
    ``IS_SANDBOX`` passes only when the runner was given it (tests as root).
    """
    env = {
        k: v for k, v in inherited.items() if not k.startswith("PRAKTOR_") and k not in RUNNER_ONLY
    }
    env.setdefault("PATH", DEFAULT_PATH)
    env["HOME"] = str(settings.home)
    env["CLAUDE_CONFIG_DIR"] = str(settings.claude_config_dir)
    if settings.timezone:
        env["TZ"] = settings.timezone
    if settings.anthropic_base_url:
        env["ANTHROPIC_BASE_URL"] = settings.anthropic_base_url
    env.update(settings.credentials)
    env.update(QUIET)
    return env


def isolate_environment(env: Mapping[str, str]) -> None:
    """Make this process's environment exactly ``env`` (the SDK hands it to Claude Code)."""
    os.environ.clear()
    os.environ.update(env)


def prepare_home(settings: AgentSettings) -> None:
    """``$HOME/.claude`` exists; its ``CLAUDE.md`` is the global one; stale dirs are gone."""
    config = settings.claude_config_dir
    config.mkdir(parents=True, exist_ok=True, mode=0o700)
    memory = config / "CLAUDE.md"
    source = settings.global_dir / "CLAUDE.md"
    if memory.is_symlink() or memory.exists():
        if memory.is_symlink() and memory.readlink() == source:
            pass
        else:
            memory.unlink()
    if source.is_file() and not memory.is_symlink():
        memory.symlink_to(source)
    for name in STALE_DIRS:
        shutil.rmtree(config / name, ignore_errors=True)


def forget_sessions(settings: AgentSettings) -> None:
    """Delete Claude Code's stored sessions (``clear_session``, spec §7.6)."""
    for name in SESSION_DIRS:
        shutil.rmtree(settings.claude_config_dir / name, ignore_errors=True)


def ensure_agent_md(workspace: Path) -> bool:
    """Write the identity template when ``AGENT.md`` is missing; True if written."""
    path = workspace / "AGENT.md"
    if path.exists():
        return False
    path.write_text(AGENT_MD_TEMPLATE, encoding="utf-8")
    return True
