"""The agent's browser: the Playwright MCP server over the machine's Chromium.

Claude Code starts it as an external stdio MCP server named :data:`SERVER`
(tools ``mcp__browser__browser_navigate``, ``…_snapshot``, ``…_click``,
``…_close`` …), only when both parts are installed:

* the MCP server's command — ``PRAKTOR_BROWSER_MCP`` when set (``off``: no
  browser), else ``playwright-mcp`` on ``PATH`` (the agent image), else a
  source checkout's ``.tools/node/node_modules/.bin/playwright-mcp`` (what
  ``scripts/browser-setup.sh`` installs for runners started as processes);
* Chromium — ``PRAKTOR_BROWSER_CHROMIUM``, default ``/usr/bin/chromium``
  (Debian's ``chromium``). Playwright never downloads a browser of its own.

The browser is headless, without Chromium's sandbox (the agent's container is
the boundary, and Chromium's sandbox cannot start as root or without user
namespaces), without background traffic, with an in-memory profile (parallel
task turns each get a browser; they would fight over one profile directory),
and closes itself after :data:`IDLE_TIMEOUT_MS` without a call (spec §7.9).
Its configuration is a JSON file written under the agent's home.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from claude_agent_sdk.types import McpStdioServerConfig

from praktor_agent_runner import toolnames as t

SERVER: Final = t.BROWSER_SERVER
MCP_VAR: Final = "PRAKTOR_BROWSER_MCP"
CHROMIUM_VAR: Final = "PRAKTOR_BROWSER_CHROMIUM"
MCP_COMMAND: Final = "playwright-mcp"
DEFAULT_CHROMIUM: Final = "/usr/bin/chromium"
CHECKOUT_MCP: Final = Path(".tools/node/node_modules/.bin/playwright-mcp")
"""Where ``scripts/browser-setup.sh`` puts the command, relative to the checkout."""
DISABLED: Final = frozenset({"off", "none", "false", "0", "no"})
IDLE_TIMEOUT_MS: Final = 180_000
CHROMIUM_ARGS: Final = (
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


@dataclass(frozen=True)
class Browser:
    """An installed browser: the MCP server's command and the Chromium it drives."""

    command: Path
    chromium: Path

    def config(self) -> dict[str, Any]:
        """The Playwright MCP configuration (its ``--config`` file)."""
        return {
            "browser": {
                "browserName": "chromium",
                "isolated": True,
                "launchOptions": {
                    "executablePath": str(self.chromium),
                    "headless": True,
                    "chromiumSandbox": False,
                    "args": list(CHROMIUM_ARGS),
                },
            },
        }

    def server(self, config_dir: Path) -> McpStdioServerConfig:
        """The SDK's stdio server entry; writes the configuration file into ``config_dir``."""
        config_dir.mkdir(parents=True, exist_ok=True)
        config_file = config_dir / "playwright-mcp.json"
        config_file.write_text(json.dumps(self.config(), indent=2), encoding="utf-8")
        return {
            "type": "stdio",
            "command": str(self.command),
            "args": [
                "--config",
                str(config_file),
                "--headless",
                "--no-sandbox",
                "--idle-timeout",
                str(IDLE_TIMEOUT_MS),
            ],
        }


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def checkout_root() -> Path:
    """The source checkout this package runs from (``<root>/agent-runner/src/...``)."""
    return Path(__file__).resolve().parents[3]


def find_browser(env: Mapping[str, str], *, checkout: Path | None = None) -> Browser | None:
    """The browser to offer, or ``None`` when its MCP server or Chromium is missing."""
    raw = (env.get(MCP_VAR) or "").strip()
    if raw.lower() in DISABLED:
        return None
    command: Path | None
    if raw:
        found = shutil.which(raw, path=env.get("PATH"))
        command = Path(found) if found else None
    else:
        on_path = shutil.which(MCP_COMMAND, path=env.get("PATH"))
        local = (checkout if checkout is not None else checkout_root()) / CHECKOUT_MCP
        command = Path(on_path) if on_path else (local if _executable(local) else None)
    chromium = Path((env.get(CHROMIUM_VAR) or "").strip() or DEFAULT_CHROMIUM)
    if command is None or not _executable(chromium):
        return None
    return Browser(command=command, chromium=chromium)


def tool_prefix() -> str:
    """How Claude Code names the browser's tools: ``mcp__browser__``."""
    return t.mcp_tool(SERVER, "")
