"""Which browser the agent is offered, and how Claude Code is told to start it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from praktor_agent_runner.browser import (
    CHECKOUT_MCP,
    CHROMIUM_ARGS,
    IDLE_TIMEOUT_MS,
    Browser,
    checkout_root,
    find_browser,
    tool_prefix,
)
from praktor_agent_runner.prompt import build_system_prompt
from praktor_agent_runner.session import PromptSource
from praktor_agent_runner.settings import load_settings


def executable(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return path


@pytest.fixture
def chromium(tmp_path: Path) -> Path:
    return executable(tmp_path / "bin" / "chromium")


@pytest.fixture
def empty_checkout(tmp_path: Path) -> Path:
    root = tmp_path / "checkout"
    root.mkdir()
    return root


def test_an_explicit_command_and_chromium_make_a_browser(tmp_path: Path, chromium: Path) -> None:
    mcp = executable(tmp_path / "mcp" / "playwright-mcp")
    env = {"PRAKTOR_BROWSER_MCP": str(mcp), "PRAKTOR_BROWSER_CHROMIUM": str(chromium)}
    assert find_browser(env) == Browser(command=mcp, chromium=chromium)


def test_the_command_is_found_on_path_by_name(
    tmp_path: Path, chromium: Path, empty_checkout: Path
) -> None:
    mcp = executable(tmp_path / "image-bin" / "playwright-mcp")
    env = {"PATH": str(mcp.parent), "PRAKTOR_BROWSER_CHROMIUM": str(chromium)}
    found = find_browser(env, checkout=empty_checkout)
    assert found is not None
    assert found.command == mcp


def test_a_checkouts_own_install_is_used_when_nothing_is_on_path(
    tmp_path: Path, chromium: Path, empty_checkout: Path
) -> None:
    local = executable(empty_checkout / CHECKOUT_MCP)
    env = {"PATH": str(tmp_path / "nothing-here"), "PRAKTOR_BROWSER_CHROMIUM": str(chromium)}
    found = find_browser(env, checkout=empty_checkout)
    assert found is not None
    assert found.command == local


@pytest.mark.parametrize("value", ["off", "OFF", "none", "0", "false"])
def test_the_browser_can_be_switched_off(tmp_path: Path, chromium: Path, value: str) -> None:
    mcp = executable(tmp_path / "bin" / "playwright-mcp")
    env = {"PATH": str(mcp.parent), "PRAKTOR_BROWSER_MCP": value}
    assert find_browser(env | {"PRAKTOR_BROWSER_CHROMIUM": str(chromium)}) is None


def test_no_browser_without_chromium(tmp_path: Path) -> None:
    mcp = executable(tmp_path / "bin" / "playwright-mcp")
    env = {"PRAKTOR_BROWSER_MCP": str(mcp), "PRAKTOR_BROWSER_CHROMIUM": str(tmp_path / "absent")}
    assert find_browser(env) is None


def test_no_browser_without_its_mcp_server(
    tmp_path: Path, chromium: Path, empty_checkout: Path
) -> None:
    env = {"PATH": str(tmp_path / "nothing-here"), "PRAKTOR_BROWSER_CHROMIUM": str(chromium)}
    assert find_browser(env, checkout=empty_checkout) is None
    missing = {"PRAKTOR_BROWSER_MCP": str(tmp_path / "gone"), "PRAKTOR_BROWSER_CHROMIUM": "x"}
    assert find_browser(missing, checkout=empty_checkout) is None


def test_the_checkout_root_is_where_the_runner_source_lives() -> None:
    assert (checkout_root() / "agent-runner" / "src" / "praktor_agent_runner").is_dir()


def test_claude_code_starts_a_headless_unsandboxed_chromium_with_no_background_traffic(
    tmp_path: Path,
) -> None:
    browser = Browser(command=Path("/opt/mcp/playwright-mcp"), chromium=Path("/usr/bin/chromium"))
    server = browser.server(tmp_path / "home" / ".praktor")
    assert server["type"] == "stdio"
    assert server["command"] == "/opt/mcp/playwright-mcp"
    args = server["args"]
    config_file = Path(args[args.index("--config") + 1])
    assert {"--headless", "--no-sandbox"} <= set(args)
    assert args[args.index("--idle-timeout") + 1] == str(IDLE_TIMEOUT_MS)
    config = json.loads(config_file.read_text())
    assert config == browser.config()
    launch = config["browser"]["launchOptions"]
    assert launch["executablePath"] == "/usr/bin/chromium"
    assert launch["headless"] is True
    assert launch["chromiumSandbox"] is False
    assert launch["args"] == list(CHROMIUM_ARGS)
    assert "--disable-background-networking" in launch["args"]
    assert config["browser"]["isolated"] is True, "parallel turns must not share a profile"


async def test_the_prompt_describes_the_browser_only_when_offered_and_never_for_routing(
    env: dict[str, str],
) -> None:
    settings = load_settings(env)
    offered = PromptSource(settings, browser_tools=tool_prefix())
    assert tool_prefix() == "mcp__browser__"
    assert "## Browser" in await offered.system_prompt()
    assert "mcp__browser__browser_navigate" in await offered.system_prompt()
    assert "## Browser" not in await offered.system_prompt(routing=True)
    assert "## Browser" not in await PromptSource(settings).system_prompt()
    inputs = await offered.inputs()
    assert build_system_prompt(inputs) == await offered.system_prompt()
