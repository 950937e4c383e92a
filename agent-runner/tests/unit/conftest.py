"""Shared values of the runner's unit tests (helper modules of this folder are importable)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from praktor_agent_runner.settings import AgentSettings

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture
def agent_dirs(tmp_path: Path) -> dict[str, Path]:
    dirs = {name: tmp_path / name for name in ("workspace", "global", "home")}
    for path in dirs.values():
        path.mkdir()
    creds = tmp_path / "agent.creds"
    creds.write_text("creds")
    dirs["creds"] = creds
    return dirs


@pytest.fixture
def env(agent_dirs: dict[str, Path]) -> dict[str, str]:
    """A complete, valid runner environment."""
    return {
        "PRAKTOR_AGENT_ID": "coder",
        "PRAKTOR_NATS_URL": "nats://127.0.0.1:4222",
        "PRAKTOR_NATS_CREDS": str(agent_dirs["creds"]),
        "PRAKTOR_WORKSPACE": str(agent_dirs["workspace"]),
        "PRAKTOR_GLOBAL_DIR": str(agent_dirs["global"]),
        "HOME": str(agent_dirs["home"]),
        "ANTHROPIC_API_KEY": "sk-ant-test",
    }


@pytest.fixture
def settings(agent_dirs: dict[str, Path]) -> AgentSettings:
    return AgentSettings(
        agent_id="coder",
        nats_url="nats://127.0.0.1:4222",
        nats_creds=agent_dirs["creds"],
        workspace=agent_dirs["workspace"],
        global_dir=agent_dirs["global"],
        home=agent_dirs["home"],
        model="claude-sonnet-4-5",
        anthropic_base_url="http://127.0.0.1:9",
        credentials={"ANTHROPIC_API_KEY": "sk-ant-test"},
    )
