"""Wiring: read the environment, take a place on the bus, run turns until told to stop.

Exit codes: 0 after a clean stop (SIGTERM, SIGINT, ``shutdown``), 2 for a bad
environment, 1 when the bus could not be joined. On a stop, no more input is
pulled, waiting inputs are handed back at once, a running turn gets
:data:`SHUTDOWN_GRACE` seconds to finish (its result published and acknowledged)
and is otherwise interrupted and handed back unacknowledged, so the next
runner gets it again.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from typing import Final

import structlog
from claude_agent_sdk import McpServerConfig

from praktor_agent_runner import browser, embedding
from praktor_agent_runner.bus import AgentBus, BusStartError
from praktor_agent_runner.filesend import file_servers
from praktor_agent_runner.home import (
    cli_environment,
    ensure_agent_md,
    isolate_environment,
    prepare_home,
)
from praktor_agent_runner.ipc import IpcClient
from praktor_agent_runner.session import PromptSource, Sessions
from praktor_agent_runner.settings import AgentSettings, SettingsError, load_settings
from praktor_agent_runner.tools import AgentTools, memory_index
from praktor_agent_runner.turns import TurnManager
from praktor_agent_runner.uploads import ipc_uploads
from praktor_common.runtime.logging import configure_logging

log = structlog.get_logger(__name__)

SHUTDOWN_GRACE: Final = 5.0
"""A stop gives a running turn this long to finish (runtimes stop with a 10 s timeout)."""
MEMORY_INDEX_TIMEOUT: Final = 3.0
BROWSER_CONFIG_DIR: Final = ".praktor"
"""Under the agent's home: the browser's configuration file."""


async def run(settings: AgentSettings, inherited: dict[str, str]) -> int:
    """Serve the agent until a stop; the exit code."""
    prepare_home(settings)
    if ensure_agent_md(settings.workspace):
        log.info("identity template written", path=str(settings.workspace / "AGENT.md"))
    env = cli_environment(settings, inherited)
    isolate_environment(env)

    bus = AgentBus(settings)
    try:
        await bus.connect()
    except BusStartError as exc:
        log.error("cannot join the bus", error=str(exc))
        await bus.close()
        return 1
    ipc = IpcClient(settings.agent_id, bus.request)
    index_ipc = IpcClient(settings.agent_id, bus.request, timeout=MEMORY_INDEX_TIMEOUT)
    servers: dict[str, McpServerConfig] = dict(AgentTools(ipc).servers())
    found = browser.find_browser(inherited)
    if found is not None:
        servers[browser.SERVER] = found.server(settings.home / BROWSER_CONFIG_DIR)
        log.info("browser offered", command=str(found.command), chromium=str(found.chromium))
    else:
        log.info("no browser: its MCP server or Chromium is not installed")
    prompts = PromptSource(
        settings,
        memory_index=memory_index(index_ipc),
        browser_tools=browser.tool_prefix() if found is not None else None,
    )
    sessions = Sessions(
        settings,
        prompts,
        mcp_servers=servers,
        env=env,
        turn_servers=file_servers(ipc, settings.workspace),
    )
    turns = TurnManager(
        settings.agent_id,
        sessions,
        bus.sink,
        max_parallel_tasks=settings.max_parallel_tasks,
        uploads=ipc_uploads(ipc),
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    bus.serve(turns, on_shutdown=stop.set)
    # the embedding model loads in a worker thread while Claude Code starts
    model_loading = asyncio.create_task(asyncio.to_thread(embedding.warm_up))
    try:
        await bus.start()
        await sessions.prewarm()
        await stop.wait()
        log.info("stopping")
        await bus.stop_intake()
        await turns.shutdown(SHUTDOWN_GRACE)
    finally:
        await sessions.close()
        await bus.close()
        await asyncio.wait({model_loading})
    log.info("stopped")
    return 0


def main() -> None:
    """Console entry point (``praktor-agent-runner``)."""
    inherited = dict(os.environ)
    try:
        settings = load_settings(inherited)
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        sys.exit(2)
    configure_logging("agent-runner", settings.log_level, settings.log_format)
    structlog.contextvars.bind_contextvars(
        agent_id=settings.agent_id, install_id=settings.install_id
    )
    sys.exit(asyncio.run(run(settings, inherited)))
